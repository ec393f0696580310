//! Layer alignment: the shared base (leading layers with the same diff_id), then the remaining
//! layers paired by command (a longest common subsequence of normalised commands).

use serde::Serialize;

/// How a row of the alignment pairs the two stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alignment {
    /// Part of the shared base: the same diff_id at the same position, all layers below shared.
    Shared,
    /// Above the shared base, the same (normalised) command in both.
    Matched,
    /// A layer only A has.
    OnlyA,
    /// A layer only B has.
    OnlyB,
}

/// What alignment needs of one layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Key<'a> {
    pub diff_id: Option<&'a str>,
    pub command: Option<&'a str>,
}

/// Aligns two layer stacks: rows of (A's index, B's index, how), bottom to top. Every layer of
/// each side appears exactly once, in order. Between two matches, A's unmatched layers come
/// before B's.
pub fn align(a: &[Key<'_>], b: &[Key<'_>]) -> Vec<(Option<usize>, Option<usize>, Alignment)> {
    let shared = a
        .iter()
        .zip(b)
        .take_while(|(x, y)| x.diff_id.is_some() && x.diff_id == y.diff_id)
        .count();
    let mut rows: Vec<_> = (0..shared)
        .map(|i| (Some(i), Some(i), Alignment::Shared))
        .collect();
    let ca: Vec<Option<String>> = a[shared..]
        .iter()
        .map(|k| k.command.map(normalize))
        .collect();
    let cb: Vec<Option<String>> = b[shared..]
        .iter()
        .map(|k| k.command.map(normalize))
        .collect();
    let same = |i: usize, j: usize| ca[i].is_some() && ca[i] == cb[j];
    // lcs[i][j]: the longest common subsequence of ca[i..] and cb[j..].
    let (n, m) = (ca.len(), cb.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if same(i, j) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && same(i, j) && lcs[i][j] == lcs[i + 1][j + 1] + 1 {
            rows.push((Some(shared + i), Some(shared + j), Alignment::Matched));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            rows.push((Some(shared + i), None, Alignment::OnlyA));
            i += 1;
        } else {
            rows.push((None, Some(shared + j), Alignment::OnlyB));
            j += 1;
        }
    }
    rows
}

/// The part of a `created_by` that says what the step does, so one step built twice compares
/// equal: whitespace collapsed; the shell prefix (`/bin/sh -c`, `#(nop)`), Docker's build-arg
/// prefix (`|2 A=1 B=2 `) and BuildKit's `# buildkit` suffix dropped; the content hash of a
/// classic `COPY`/`ADD` source (`file:3c98…`, `dir:…`, `multi:…`) removed, so a COPY to the
/// same destination aligns even when the copied bytes changed.
pub fn normalize(command: &str) -> String {
    let mut words: Vec<&str> = command.split_whitespace().collect();
    // |N K=V … : N build arguments precede the command.
    if let Some(n) = words
        .first()
        .and_then(|w| w.strip_prefix('|'))
        .and_then(|n| n.parse::<usize>().ok())
        && words.len() > n
        && words[1..=n].iter().all(|w| w.contains('='))
    {
        words.drain(..=n);
    }
    if words.starts_with(&["/bin/sh", "-c"]) {
        words.drain(..2);
    }
    if words.first() == Some(&"#(nop)") {
        words.remove(0);
    }
    if words.last() == Some(&"buildkit") && words.len() >= 2 && words[words.len() - 2] == "#" {
        words.truncate(words.len() - 2);
    }
    let hashed = |w: &str| {
        ["file:", "dir:", "multi:"].iter().find_map(|p| {
            w.strip_prefix(p)
                .filter(|h| h.len() >= 16 && h.bytes().all(|c| c.is_ascii_hexdigit()))
                .map(|_| *p)
        })
    };
    words
        .iter()
        .map(|w| hashed(w).unwrap_or(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::Alignment::{Matched, OnlyA, OnlyB, Shared};
    use super::*;

    /// Layers from `(diff_id, command)` pairs.
    fn keys<'a>(layers: &[(&'a str, &'a str)]) -> Vec<Key<'a>> {
        layers
            .iter()
            .map(|&(d, c)| Key {
                diff_id: (!d.is_empty()).then_some(d),
                command: (!c.is_empty()).then_some(c),
            })
            .collect()
    }

    type Row = (Option<usize>, Option<usize>, Alignment);

    fn check(a: &[(&str, &str)], b: &[(&str, &str)], expected: &[Row]) {
        assert_eq!(align(&keys(a), &keys(b)), expected);
    }

    #[test]
    fn shared_base_is_the_leading_run_of_equal_diff_ids() {
        check(
            &[("d0", "base"), ("d1", "RUN a"), ("d2", "RUN b")],
            &[("d0", "base"), ("d1", "RUN a"), ("x2", "RUN b")],
            &[
                (Some(0), Some(0), Shared),
                (Some(1), Some(1), Shared),
                (Some(2), Some(2), Matched),
            ],
        );
    }

    #[test]
    fn a_diff_id_equal_above_a_difference_is_not_shared() {
        // Layer 2 has the same diff_id, but the layers below differ: not a shared base.
        check(
            &[("d0", "base"), ("a1", "RUN a"), ("d2", "RUN c")],
            &[("d0", "base"), ("b1", "RUN b"), ("d2", "RUN c")],
            &[
                (Some(0), Some(0), Shared),
                (Some(1), None, OnlyA),
                (None, Some(1), OnlyB),
                (Some(2), Some(2), Matched),
            ],
        );
    }

    #[test]
    fn missing_diff_ids_share_nothing() {
        check(
            &[("", "base")],
            &[("", "base")],
            &[(Some(0), Some(0), Matched)],
        );
    }

    #[test]
    fn insertions_and_removals_keep_the_rest_aligned() {
        check(
            &[
                ("d0", "base"),
                ("a1", "RUN install"),
                ("a2", "RUN legacy"),
                ("a3", "RUN finish"),
            ],
            &[
                ("d0", "base"),
                ("b1", "RUN install"),
                ("b2", "RUN cache"),
                ("b3", "RUN extra"),
                ("b4", "RUN finish"),
            ],
            &[
                (Some(0), Some(0), Shared),
                (Some(1), Some(1), Matched),
                (Some(2), None, OnlyA),
                (None, Some(2), OnlyB),
                (None, Some(3), OnlyB),
                (Some(3), Some(4), Matched),
            ],
        );
    }

    #[test]
    fn everything_different_lists_a_then_b() {
        check(
            &[("a0", "FROM a"), ("a1", "RUN x")],
            &[("b0", "FROM b")],
            &[
                (Some(0), None, OnlyA),
                (Some(1), None, OnlyA),
                (None, Some(0), OnlyB),
            ],
        );
    }

    #[test]
    fn empty_stacks() {
        check(&[], &[], &[]);
        check(&[("d0", "base")], &[], &[(Some(0), None, OnlyA)]);
        check(&[], &[("d0", "base")], &[(None, Some(0), OnlyB)]);
    }

    #[test]
    fn layers_without_history_never_match() {
        check(
            &[("a0", "")],
            &[("b0", "")],
            &[(Some(0), None, OnlyA), (None, Some(0), OnlyB)],
        );
    }

    #[test]
    fn repeated_commands_match_in_order() {
        check(
            &[("a0", "RUN x"), ("a1", "RUN x")],
            &[("b0", "RUN x")],
            &[(Some(0), Some(0), Matched), (Some(1), None, OnlyA)],
        );
    }

    #[test]
    fn commands_are_normalised() {
        let cases = [
            ("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", "CMD [\"/bin/sh\"]"),
            ("/bin/sh -c apt-get   update", "apt-get update"),
            (
                "/bin/sh -c #(nop) COPY file:3c982b974cdbb6b8abce7304da590b44140f4321 in /x ",
                "COPY file: in /x",
            ),
            (
                "/bin/sh -c #(nop) COPY dir:322abddf76c59c4d8188b691c0cb0efeb789abbe in /src/",
                "COPY dir: in /src/",
            ),
            ("|2 A=1 B=two /bin/sh -c make", "make"),
            ("|1 A=1 make", "make"),
            ("RUN /bin/sh -c make # buildkit", "RUN /bin/sh -c make"),
            ("COPY file:short in /x", "COPY file:short in /x"),
            ("|x not args", "|x not args"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn a_copy_of_changed_bytes_to_the_same_place_aligns() {
        check(
            &[
                ("d0", "base"),
                (
                    "a1",
                    "/bin/sh -c #(nop) COPY file:aaaaaaaaaaaaaaaaaaaa in /etc/x",
                ),
            ],
            &[
                ("d0", "base"),
                (
                    "b1",
                    "/bin/sh -c #(nop) COPY file:bbbbbbbbbbbbbbbbbbbb in /etc/x",
                ),
            ],
            &[(Some(0), Some(0), Shared), (Some(1), Some(1), Matched)],
        );
    }
}
