//! Python distributions: `NAME-VERSION.dist-info/RECORD` (one CSV row per installed file, the
//! path relative to the directory holding the `.dist-info`, `../` climbing out of it for
//! scripts) and `NAME-VERSION[-pyX.Y].egg-info/installed-files.txt` (one path per line,
//! relative to the `.egg-info` directory). The name and version come from the directory's
//! name, as installers write it.

/// The name and version a `.dist-info` or `.egg-info` directory's name carries.
pub fn name_version(dir_name: &[u8]) -> Option<(String, String)> {
    let name = String::from_utf8_lossy(dir_name);
    let stem = name
        .strip_suffix(".dist-info")
        .or_else(|| name.strip_suffix(".egg-info"))?;
    let (dist, rest) = stem.split_once('-')?;
    // An egg's name may carry the Python it was built for: `PyYAML-6.0-py3.11`.
    let version = rest.split_once("-py").map_or(rest, |(v, _)| v);
    (!dist.is_empty() && !version.is_empty()).then(|| (dist.to_string(), version.to_string()))
}

/// The paths of a RECORD file (its first CSV column; a quoted path may hold commas).
pub fn record_paths(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .filter_map(first_field)
        .collect()
}

/// The first field of a CSV row.
fn first_field(row: &[u8]) -> Option<Vec<u8>> {
    let Some(quoted) = row.strip_prefix(b"\"") else {
        let end = memchr::memchr(b',', row).unwrap_or(row.len());
        return (end > 0).then(|| row[..end].to_vec());
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < quoted.len() {
        match (quoted[i], quoted.get(i + 1)) {
            (b'"', Some(b'"')) => {
                out.push(b'"');
                i += 2;
            }
            (b'"', _) => return (!out.is_empty()).then_some(out),
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// The paths of an `installed-files.txt`.
pub fn egg_paths(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::dpkg::tests::fixture;
    use super::*;

    #[test]
    fn directory_names_carry_name_and_version() {
        assert_eq!(
            name_version(b"six-1.17.0.dist-info"),
            Some(("six".into(), "1.17.0".into()))
        );
        assert_eq!(
            name_version(b"PyYAML-6.0.1-py3.11.egg-info"),
            Some(("PyYAML".into(), "6.0.1".into()))
        );
        assert_eq!(name_version(b"broken.dist-info"), None);
        assert_eq!(name_version(b"six-1.17.0"), None);
    }

    #[test]
    fn quoted_paths_keep_their_commas() {
        let rows = b"a/b.py,sha256=x,10\n\"a/c,d.py\",sha256=y,3\r\n\"q\"\"uote.py\",,\n,,\n";
        let got = record_paths(rows);
        assert_eq!(
            got,
            [
                b"a/b.py".to_vec(),
                b"a/c,d.py".to_vec(),
                b"q\"uote.py".to_vec()
            ]
        );
    }

    /// The fixture's README verified the rows of these RECORDs (idna 22, six 8) against the
    /// files pip installed.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn real_records_have_their_rows() {
        let base = "python/pip-installed-cpython3.11/lib/python3.11/site-packages";
        for (dist, rows) in [("idna-3.13", 22), ("six-1.17.0", 8)] {
            let record = fixture(&format!("{base}/{dist}.dist-info/RECORD"));
            assert_eq!(record_paths(&record).len(), rows, "{dist}");
        }
    }
}
