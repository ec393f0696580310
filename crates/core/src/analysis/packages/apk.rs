//! apk's database, `lib/apk/db/installed`: one record per installed package (`P:` name, `V:`
//! version, `A:` architecture), its files as `F:` directories each followed by their `R:`
//! files, records separated by blank lines.

/// One installed package and the files it installed (relative to the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub version: String,
    pub arch: Option<String>,
    pub files: Vec<Vec<u8>>,
}

/// The records of an `installed` file, in file order. A record without a name or a version is
/// left out (apk cannot have installed it).
pub fn parse_installed(bytes: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut cur = Partial::default();
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            out.extend(cur.take());
            continue;
        }
        let (Some(&key), Some(b':')) = (line.first(), line.get(1)) else {
            continue;
        };
        let value = &line[2..];
        match key {
            b'P' => cur.name = text(value),
            b'V' => cur.version = text(value),
            b'A' => cur.arch = text(value),
            b'F' => cur.dir = value.to_vec(),
            b'R' => {
                let mut path = cur.dir.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(value);
                cur.files.push(path);
            }
            _ => {}
        }
    }
    out.extend(cur.take());
    out
}

fn text(value: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(value).trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[derive(Default)]
struct Partial {
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    dir: Vec<u8>,
    files: Vec<Vec<u8>>,
}

impl Partial {
    fn take(&mut self) -> Option<Record> {
        let p = std::mem::take(self);
        Some(Record {
            name: p.name?,
            version: p.version?,
            arch: p.arch,
            files: p.files,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::dpkg::tests::fixture;
    use super::*;

    /// trivy's test of this database expects these packages and, for each, these installed
    /// files (regular files, not directories).
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn reads_what_trivy_reads() {
        let db = fixture("apk/trivy-mixed/lib/apk/db/installed");
        let want: serde_json::Value =
            serde_json::from_slice(&fixture("apk/trivy-mixed/expected-trivy.json")).unwrap();
        let mut got: Vec<(String, String, Vec<String>)> = parse_installed(&db)
            .into_iter()
            .map(|r| {
                let mut files: Vec<String> = r
                    .files
                    .iter()
                    .map(|f| String::from_utf8(f.clone()).unwrap())
                    .collect();
                files.sort();
                (r.name, r.version, files)
            })
            .collect();
        let mut want: Vec<(String, String, Vec<String>)> = want["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut files: Vec<String> = p["InstalledFiles"]
                    .as_array()
                    .map(|a| a.iter().map(|f| f.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                files.sort();
                (
                    p["Name"].as_str().unwrap().to_string(),
                    p["Version"].as_str().unwrap().to_string(),
                    files,
                )
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got.len(), 15);
        assert_eq!(got, want);
    }

    #[test]
    fn files_join_their_directory() {
        let db = b"P:a\nV:1\nA:x86_64\nF:usr\nF:usr/bin\nR:a\nR:b\nF:etc\nR:a.conf\n\nP:b\nV:2\nR:top\n\nV:3\nR:x\n";
        let got = parse_installed(db);
        assert_eq!(got.len(), 2);
        let files: Vec<&[u8]> = got[0].files.iter().map(Vec::as_slice).collect();
        assert_eq!(files, [&b"usr/bin/a"[..], b"usr/bin/b", b"etc/a.conf"]);
        assert_eq!(got[1].files, [b"top".to_vec()]);
        assert_eq!(got[0].arch.as_deref(), Some("x86_64"));
    }
}
