//! Text from an image made safe to print: file names, `created_by`, comments, tags and the
//! messages built from them reach a terminal or a CI log only through [`text`] (or, for JSON,
//! through [`write_json`]), applied where the text is printed, not where it is made.
//!
//! An image is written by strangers; printed raw, a name holding `ESC ] 0 ; … BEL` sets the
//! window title, `ESC [2J` clears the screen, a `\r` or `\n` rewrites or adds a line (a fake
//! "all checks passed" in a CI log), and a bidi override (Trojan Source, CVE-2021-42574) makes a
//! name read differently than it is. Escaped, each such character shows as a short visible
//! spelling:
//!
//! | character | shown as |
//! |---|---|
//! | tab, line feed, carriage return | `\t`, `\n`, `\r` |
//! | other C0 controls (U+0000–U+001F), DEL (U+007F) | `\x1b`, `\x7f`: two lower-case hex digits |
//! | C1 controls (U+0080–U+009F; some terminals obey U+009B as CSI) | `\u{9b}` |
//! | bidi embeddings, overrides, isolates and marks: U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C | `\u{202e}` |
//! | line and paragraph separators U+2028, U+2029 (new lines to some viewers) | `\u{2028}` |
//!
//! Each spelling names one character, and no character that is shown raw can start a line,
//! move the cursor or reorder the text around it: every line strata prints is exactly one
//! line, whatever the image holds, and the report's own line breaks and table layout are the
//! printer's, never the image's.
//!
//! A backslash is printed as it is. Doubling it would make the spelling reversible (a name
//! holding the four characters `\x1b` would differ from one holding ESC), but shell commands
//! are full of backslashes, and strata's own messages already quote names with Rust's `{:?}`
//! (`"a\u{1b}b"`), which doubled backslashes would turn into `"a\\u{1b}b"`. Where the exact
//! bytes matter, the JSON output has them.
//!
//! JSON keeps every string exact: serde_json escapes C0 controls, `"` and `\`; [`write_json`]
//! adds `\u00XX` (or `\uXXXX`) for the other characters above, which a JSON reader decodes back
//! to the same string.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

/// Whether `c` is escaped by [`text`]: C0, DEL, C1, the bidi controls and the line separators.
/// (Their UTF-8 starts with a byte below 0x20, 0x7f, 0xc2, 0xd8 or 0xe2: [`SafeFormatter`]
/// looks for those.)
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // Cc: U+0000–U+001F, U+007F, U+0080–U+009F
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every unsafe character spelled out (see the module documentation); borrowed when
/// nothing needed it. The result holds no control character and no line break.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) && u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`text`] of bytes that may not be UTF-8 (a name from a tar): invalid sequences become U+FFFD.
pub fn bytes(b: &[u8]) -> String {
    text(&String::from_utf8_lossy(b)).into_owned()
}

/// A serde_json formatter that also escapes DEL, C1 and the bidi and separator characters
/// (as `\u007f`, `\u009b`, `\u202e`): the rest of the formatting is `F`'s.
pub struct SafeFormatter<F>(pub F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json has already taken out C0, `"` and `\`: what is left is escaped here. Only
        // the characters whose first UTF-8 byte is one of the unsafe ones' are decoded (a
        // char-by-char scan made a million-path JSON three times slower to write).
        let bytes = fragment.as_bytes();
        let (mut start, mut i) = (0, 0);
        let mut next_d8 = memchr::memchr(0xd8, bytes);
        loop {
            if next_d8.is_some_and(|d| d < i) {
                next_d8 = memchr::memchr(0xd8, &bytes[i..]).map(|o| o + i);
            }
            let next = memchr::memchr3(0x7f, 0xc2, 0xe2, &bytes[i..]).map(|o| o + i);
            let at = match (next, next_d8) {
                (Some(a), Some(d)) => a.min(d),
                (a, d) => match a.or(d) {
                    Some(at) => at,
                    None => break,
                },
            };
            // A lead byte starts a character.
            let Some(c) = fragment[at..].chars().next() else {
                break;
            };
            if is_unsafe(c) {
                w.write_all(&bytes[start..at])?;
                write!(w, "\\u{:04x}", u32::from(c))?;
                start = at + c.len_utf8();
            }
            i = at + c.len_utf8();
        }
        w.write_all(&bytes[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Writes `value` as pretty JSON (as `serde_json::to_writer_pretty`) with every unsafe
/// character escaped, so the output holds none of them raw and decodes to the same strings.
pub fn write_json<W: io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    value: &T,
) -> serde_json::Result<()> {
    let formatter = SafeFormatter(serde_json::ser::PrettyFormatter::new());
    value.serialize(&mut serde_json::Serializer::with_formatter(w, formatter))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_spelled_out() {
        let cases = [
            ("plain/path.txt", "plain/path.txt"),
            ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
            ("\x1b[2J", "\\x1b[2J"),
            ("a\rb\nc\td", "a\\rb\\nc\\td"),
            ("\0\x7f", "\\x00\\x7f"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("\u{85}", "\\u{85}"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            (
                "\u{2066}\u{2069}\u{200e}\u{200f}\u{61c}",
                "\\u{2066}\\u{2069}\\u{200e}\\u{200f}\\u{61c}",
            ),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            // Not controls: printable Unicode, joiners, the replacement character.
            (
                "café 日本 👩\u{200d}💻 \u{fffd}",
                "café 日本 👩\u{200d}💻 \u{fffd}",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(text(input), want, "{input:?}");
        }
    }

    #[test]
    fn backslashes_and_debug_quoting_pass_unchanged() {
        for s in [r"sed 's/\.$//' a\b", r"printf 'a\n'", r#""a\u{1b}b""#] {
            assert!(matches!(text(s), Cow::Borrowed(t) if t == s), "{s}");
        }
    }

    #[test]
    fn padding_applies_to_the_escaped_text() {
        assert_eq!(format!("[{:<6}]", text("a\tb")), "[a\\tb  ]");
    }

    /// Every character up to U+3000 (all the unsafe ones, and the safe ones sharing their
    /// first UTF-8 byte: `¡`, `…`, Arabic letters), alone and among others.
    #[test]
    fn json_escapes_exactly_the_unsafe_characters() {
        let all: Vec<char> = (0..0x3000).filter_map(char::from_u32).collect();
        let joined: String = all.iter().flat_map(|&c| [c, 'a', '\u{2026}']).collect();
        for s in all.iter().map(|c| c.to_string()).chain([joined]) {
            let mut out = Vec::new();
            write_json(&mut out, &s).unwrap();
            let json = String::from_utf8(out).unwrap();
            assert!(!json.chars().any(is_unsafe), "{s:?}: {json:?}");
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s);
            if s.chars().count() == 1 && !is_unsafe(s.chars().next().unwrap()) {
                let c = s.chars().next().unwrap();
                if c != '\\' && c != '"' {
                    assert_eq!(json, format!("\"{c}\""), "{c:?} kept as it is");
                }
            }
        }
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_and_decodes_back() {
        let value = serde_json::json!({
            "name\u{202e}": ["\x1b[2J\r\n\u{9b}1m\u{7f}", "\u{2066}x\u{2069}", "plain é \\ \""],
        });
        let mut out = Vec::new();
        write_json(&mut out, &value).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.chars().any(|c| is_unsafe(c) && c != '\n'),
            "raw control in {text:?}"
        );
        for spelled in [
            "\\u202e", "\\u001b", "\\u009b", "\\u007f", "\\u2066", "\\r", "\\n",
        ] {
            assert!(text.contains(spelled), "{spelled} in {text}");
        }
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // The layout is serde_json's pretty one.
        assert_eq!(
            text.replace("\\u202e", "\u{202e}")
                .replace("\\u009b", "\u{9b}")
                .replace("\\u007f", "\u{7f}")
                .replace("\\u2066", "\u{2066}")
                .replace("\\u2069", "\u{2069}"),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
