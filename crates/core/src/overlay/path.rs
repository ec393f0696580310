//! Entry names as a runtime reads them: strip `/` and `./`, drop `.` and empty components,
//! and clamp `..` at the root, so no name from an image can point outside it.

use smallvec::SmallVec;

/// Splits a tar name into clean components. `..` never climbs above the root. No allocation
/// for the usual depths (it runs for every tar entry).
pub fn components(name: &[u8]) -> SmallVec<[&[u8]; 16]> {
    let mut out: SmallVec<[&[u8]; 16]> = SmallVec::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Joins components back into `/a/b` form for display (`/` for the root).
pub fn display(parts: &[&[u8]]) -> String {
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(p));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_a_runtime() {
        let cases: &[(&str, &[&str])] = &[
            ("a/b", &["a", "b"]),
            ("./a/b/", &["a", "b"]),
            ("/a//b/./c", &["a", "b", "c"]),
            ("a/../b", &["b"]),
            ("../../etc/passwd", &["etc", "passwd"]),
            ("a/b/../../..", &[]),
            ("./", &[]),
            ("", &[]),
        ];
        for (input, want) in cases {
            let got: Vec<&[u8]> = components(input.as_bytes()).into_vec();
            let want: Vec<&[u8]> = want.iter().map(|s| s.as_bytes()).collect();
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn displays_with_a_leading_slash() {
        assert_eq!(display(&[]), "/");
        assert_eq!(display(&[b"usr", b"bin"]), "/usr/bin");
    }
}
