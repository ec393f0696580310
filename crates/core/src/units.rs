//! Byte sizes, counts, percentages and ratios: how strata prints them and how it reads them.
//!
//! Printed, sizes are SI as dive prints them (`1.50 MB`, powers of 1000, two decimals unless
//! the number is whole: [`size`]), or exact with an SI hint where a threshold is compared
//! ([`bytes_text`]: `20000000 bytes (20.0 MB)`). Ratios print as percentages with one decimal
//! ([`percent`]) or, beside a threshold, with as many decimals as it takes to tell them apart
//! ([`ratio_texts`]).
//!
//! Read, they follow dive's syntax (Go `strconv.ParseFloat`, go-humanize `ParseBytes`) and the
//! few harmless extensions strata adds (`90%`, `Disabled`, surrounding spaces). Each parser
//! returns `Ok(None)` for `disabled`, `Ok(Some(_))` for a value, and a [`ParseError`] whose line
//! says what is wrong and what was expected; the caller adds where the value came from.

// ---- Printing ----

/// Bytes for people: SI units as dive prints them (`1.50 MB`, `45 kB`, `0 B`). Two decimals
/// unless the scaled number is whole; the unit is chosen before rounding, so 999 999 bytes
/// print as `1000.00 kB`.
#[must_use]
pub fn size(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::DECIMAL)
}

/// A signed byte difference (`+45 kB`, `-613 kB`, `0 B`).
#[must_use]
pub fn signed_size(delta: i64) -> String {
    match delta.signum() {
        1 => format!("+{}", size(delta.unsigned_abs())),
        -1 => format!("-{}", size(delta.unsigned_abs())),
        _ => "0 B".to_string(),
    }
}

/// A byte count as a signed number, for differences (saturating: no image holds 2^63 bytes).
#[must_use]
pub fn as_signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count and its noun in the right number: `1 layer`, `2 layers`, `0 files`.
#[must_use]
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A ratio as a percentage with one decimal (`87.3%`); `n/a` for NaN.
#[must_use]
pub fn percent(ratio: f64) -> String {
    if ratio.is_nan() {
        "n/a".to_string()
    } else {
        format!("{:.1}%", ratio * 100.0)
    }
}

/// Two ratios and their distance, with as many decimals (2 to 12) as it takes for different
/// values to print differently: `0.80000000` vs `0.80000001`, not `0.80` vs `0.80`.
#[allow(
    clippy::float_cmp,
    reason = "equal values need no extra decimals, however close"
)]
#[must_use]
pub fn ratio_texts(a: f64, b: f64) -> (String, String, String) {
    let mut places = 2;
    while places < 12 && a != b && format!("{a:.places$}") == format!("{b:.places$}") {
        places += 1;
    }
    let d = (a - b).abs();
    (
        format!("{a:.places$}"),
        format!("{b:.places$}"),
        format!("{d:.places$}"),
    )
}

/// A byte count for messages that compare it with a threshold: exact, with an SI rendering
/// when that is easier to read (`20000000 bytes (20.0 MB)`).
#[must_use]
pub fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if n == 1 {
        return "1 byte".into();
    }
    if n < 10_000 {
        return format!("{n} bytes");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut scaled = n as f64 / 1000.0;
    let mut unit = 0;
    while scaled >= 1000.0 && unit < UNITS.len() - 1 {
        scaled /= 1000.0;
        unit += 1;
    }
    format!("{n} bytes ({scaled:.1} {})", UNITS[unit])
}

// ---- Reading ----

/// How a value was written, which decides how numbers are read.
///
/// dive reads its file through YAML, so a plain `1e3` or `0x7d0` is a number before it is text
/// (`highestWastedBytes: 1e3` is 1000 bytes), while the same text on the command line is only
/// text (`--highestWastedBytes 1e3` is an error: `e3` is not a size unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// A command-line flag: raw text.
    Flag,
    /// A plain (unquoted) YAML scalar: YAML 1.2 numbers are numbers.
    YamlPlain,
    /// A quoted or block YAML scalar: text.
    YamlQuoted,
}

/// The hint every ratio error ends with.
const RATIO_EXPECTED: &str = "expected a number from 0 to 1 (0.9, or 90%) or `disabled`";
/// The hint every size error ends with.
const BYTES_EXPECTED: &str = "expected a size such as 20MB (20×10^6 bytes), 20MiB (20×2^20 bytes) \
                              or 20000000, or `disabled`";

/// A value [`parse_ratio`] or [`parse_bytes`] could not read: what is wrong with `text` (as
/// written, spaces trimmed), then what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A ratio that is no number.
    #[error("`{text}` is not a number; {RATIO_EXPECTED}")]
    NotANumber { text: String },
    /// A ratio that is NaN or infinite.
    #[error("`{text}` is not a finite number; {RATIO_EXPECTED}")]
    NotFinite { text: String },
    /// A ratio below 0 or above 1 (`95` meant as a percentage, most likely).
    #[error("`{text}` is outside 0 to 1 (ten percent is 0.1 or 10%); {RATIO_EXPECTED}")]
    OutOfRange { text: String },
    /// A size below zero.
    #[error("`{text}` is negative; {BYTES_EXPECTED}")]
    Negative { text: String },
    /// A size that starts with neither a digit nor a point.
    #[error("`{text}` does not start with a digit; {BYTES_EXPECTED}")]
    NoDigit { text: String },
    /// A size whose leading digits and points are no number (`2..0k`).
    #[error("`{text}`: `{number}` is not a number; {BYTES_EXPECTED}")]
    BadNumber { text: String, number: String },
    /// A size whose unit is none of go-humanize's.
    #[error("`{text}`: unknown size unit `{unit}`; {BYTES_EXPECTED}")]
    UnknownUnit { text: String, unit: String },
    /// A size of 2^64 bytes or more.
    #[error("`{text}` is too large; {BYTES_EXPECTED}")]
    TooLarge { text: String },
}

fn is_disabled(text: &str) -> bool {
    // dive accepts only `disabled`; any case is accepted here, it cannot mean anything else.
    text.eq_ignore_ascii_case("disabled")
}

/// A ratio from 0 to 1 (`lowestEfficiency`, `highestUserWastedPercent`).
///
/// dive: `strconv.ParseFloat`, then `value < 0 || value > 1` is rejected ("outside allowed range
/// (0-1)"). strata also takes `90%` (= 0.9), and rejects NaN and infinities, which dive lets
/// through (`.nan` makes a rule that can never fail).
pub fn parse_ratio(text: &str, written: Written) -> Result<Option<f64>, ParseError> {
    let text = text.trim();
    if is_disabled(text) {
        return Ok(None);
    }
    let value = if let Some(percent) = text.strip_suffix('%') {
        parse_decimal(percent.trim_end()).map(|v| v / 100.0)
    } else if written == Written::YamlPlain {
        yaml_number(text)
    } else {
        parse_decimal(text)
    };
    let text = || text.to_string();
    let Some(value) = value else {
        return Err(ParseError::NotANumber { text: text() });
    };
    if !value.is_finite() {
        return Err(ParseError::NotFinite { text: text() });
    }
    if !(0.0..=1.0).contains(&value) {
        return Err(ParseError::OutOfRange { text: text() });
    }
    Ok(Some(value))
}

/// A byte count (`highestWastedBytes`), as go-humanize `ParseBytes` reads it.
///
/// The number is the leading run of digits, `.` and `,` (commas are dropped), read as a float;
/// the rest, trimmed and lower-cased, must be a unit: `b`, SI `k kb m mb g gb t tb p pb e eb`
/// (powers of 1000) or IEC `ki kib mi mib …` (powers of 1024), or nothing. The product is
/// truncated toward zero (`1.9KiB` is 1945). So `-1`, `+5` and ` 5` are errors, `2e` is two
/// exabytes, and `2,000` is 2000. In a file, a plain YAML number (`1e3`, `0x7d0`) counts as
/// that number, as it does in dive.
pub fn parse_bytes(text: &str, written: Written) -> Result<Option<u64>, ParseError> {
    let text = text.trim();
    if is_disabled(text) {
        return Ok(None);
    }
    let humanized = humanize_parse_bytes(text);
    if humanized.is_err()
        && written == Written::YamlPlain
        && let Some(number) = yaml_number(text)
    {
        return bytes_from_f64(number, text).map(Some);
    }
    humanized.map(Some)
}

fn bytes_from_f64(number: f64, text: &str) -> Result<u64, ParseError> {
    if number.is_nan() || number < 0.0 {
        return Err(ParseError::Negative { text: text.into() });
    }
    if number >= TWO_POW_64 {
        return Err(ParseError::TooLarge { text: text.into() });
    }
    // Truncation toward zero, as Go's `uint64(f)`; the range was checked above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(number as u64)
}

/// `math.MaxUint64` as a float64 rounds to 2^64; humanize rejects `f >= that`.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// go-humanize `ParseBytes` (v1), unit table included.
fn humanize_parse_bytes(text: &str) -> Result<u64, ParseError> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: String = number.chars().filter(|&c| c != ',').collect();
    let Some(number) = parse_decimal(&number) else {
        // humanize says the same of `-1` as of `abc`; strata names the sign.
        let negative = text
            .strip_prefix('-')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'));
        let text = text.into();
        return Err(if negative {
            ParseError::Negative { text }
        } else if number.is_empty() {
            ParseError::NoDigit { text }
        } else {
            ParseError::BadNumber { text, number }
        });
    };
    let unit_lower = unit.trim().to_ascii_lowercase();
    let Some(multiplier) = unit_multiplier(&unit_lower) else {
        return Err(ParseError::UnknownUnit {
            text: text.into(),
            unit: unit.trim().into(),
        });
    };
    #[allow(clippy::cast_precision_loss)]
    bytes_from_f64(number * multiplier as f64, text)
}

fn unit_multiplier(unit: &str) -> Option<u64> {
    const K: u64 = 1000;
    const KI: u64 = 1024;
    let m = match unit {
        "" | "b" => 1,
        "k" | "kb" => K,
        "m" | "mb" => K.pow(2),
        "g" | "gb" => K.pow(3),
        "t" | "tb" => K.pow(4),
        "p" | "pb" => K.pow(5),
        "e" | "eb" => K.pow(6),
        "ki" | "kib" => KI,
        "mi" | "mib" => KI.pow(2),
        "gi" | "gib" => KI.pow(3),
        "ti" | "tib" => KI.pow(4),
        "pi" | "pib" => KI.pow(5),
        "ei" | "eib" => KI.pow(6),
        _ => return None,
    };
    Some(m)
}

/// A decimal float as Go's `ParseFloat` reads one (`1`, `.5`, `2.`, `1e-3`, `+0.5`, `inf`).
/// Go's hexadecimal floats (`0x1p-1`) are not taken.
fn parse_decimal(text: &str) -> Option<f64> {
    if text.is_empty() || text.contains('_') {
        return None;
    }
    text.parse::<f64>().ok()
}

/// A plain YAML 1.2 scalar that resolves to a number: decimal, `0x` hex, `0o` octal integers,
/// floats, `.inf`, `.nan`. `None` when the scalar is text.
fn yaml_number(text: &str) -> Option<f64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let radix = |prefix: &str, radix: u32| {
        digits.strip_prefix(prefix).and_then(|d| {
            u64::from_str_radix(d, radix).ok().map(|v| {
                #[allow(clippy::cast_precision_loss)]
                let v = v as f64;
                if negative { -v } else { v }
            })
        })
    };
    if let Some(v) = radix("0x", 16).or_else(|| radix("0o", 8)) {
        return Some(v);
    }
    match digits {
        ".inf" | ".Inf" | ".INF" => {
            return Some(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        ".nan" | ".NaN" | ".NAN" if text == digits => return Some(f64::NAN),
        _ => {}
    }
    // YAML 1.2 core float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int)
        && all_digits(frac)
        && (!int.is_empty() || (mantissa.contains('.') && !frac.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    if mantissa_ok && exponent_ok {
        text.parse::<f64>().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios() {
        use Written::{Flag, YamlPlain, YamlQuoted};
        let cases: &[(&str, Written, Option<Option<f64>>)] = &[
            // (text, how written, Some(result) or None for an error)
            ("0.9", Flag, Some(Some(0.9))),
            ("0.95", YamlPlain, Some(Some(0.95))),
            (".8", Flag, Some(Some(0.8))),
            ("8e-1", Flag, Some(Some(0.8))),
            ("2.", Flag, None), // parses, but is out of range
            ("0", Flag, Some(Some(0.0))),
            ("1", Flag, Some(Some(1.0))),
            ("+0.5", Flag, Some(Some(0.5))),
            (" 0.8 ", Flag, Some(Some(0.8))), // dive: error with leading space; harmless here
            ("90%", Flag, Some(Some(0.9))),
            ("90 %", YamlQuoted, Some(Some(0.9))),
            ("100%", YamlPlain, Some(Some(1.0))),
            ("0x1", YamlPlain, Some(Some(1.0))), // YAML hex integer, as dive reads it
            ("0x1", Flag, None),                 // on the command line it is text
            ("0o1", YamlPlain, Some(Some(1.0))),
            ("disabled", Flag, Some(None)),
            ("Disabled", YamlQuoted, Some(None)),
            ("1.5", Flag, None),
            ("-0.1", YamlPlain, None),
            ("150%", Flag, None),
            ("abc", Flag, None),
            ("", YamlQuoted, None),
            ("true", YamlPlain, None),
            ("nan", Flag, None),
            (".nan", YamlPlain, None), // dive accepts it and never fails the rule
            (".inf", YamlPlain, None),
            ("inf", Flag, None),
            ("0x1p-1", Flag, None), // Go hex float: not taken
            ("1_0", Flag, None),
        ];
        for &(text, written, expected) in cases {
            let got = parse_ratio(text, written);
            match expected {
                Some(value) => assert_eq!(got, Ok(value), "{text:?} {written:?}"),
                None => assert!(got.is_err(), "{text:?} {written:?} gave {got:?}"),
            }
        }
    }

    #[test]
    fn ratio_errors_say_what_is_expected() {
        let err = parse_ratio(" 95 ", Written::Flag).expect_err("95 is out of range");
        assert_eq!(err, ParseError::OutOfRange { text: "95".into() });
        assert_eq!(
            err.to_string(),
            "`95` is outside 0 to 1 (ten percent is 0.1 or 10%); expected a number from 0 to 1 \
             (0.9, or 90%) or `disabled`"
        );
        let err = parse_ratio("lots", Written::Flag).expect_err("not a number");
        assert_eq!(
            err,
            ParseError::NotANumber {
                text: "lots".into()
            }
        );
        assert!(
            err.to_string()
                .starts_with("`lots` is not a number; expected a number")
        );
        let err = parse_ratio(".inf", Written::YamlPlain).expect_err("infinite");
        assert_eq!(
            err,
            ParseError::NotFinite {
                text: ".inf".into()
            }
        );
    }

    #[test]
    fn bytes() {
        use Written::{Flag, YamlPlain, YamlQuoted};
        const MB: u64 = 1_000_000;
        const MIB: u64 = 1 << 20;
        let cases: &[(&str, Written, Option<Option<u64>>)] = &[
            ("2000", Flag, Some(Some(2000))),
            ("20MB", Flag, Some(Some(20 * MB))),
            ("20mb", Flag, Some(Some(20 * MB))),
            ("20 MB", Flag, Some(Some(20 * MB))),
            ("20M", Flag, Some(Some(20 * MB))),
            ("20MiB", Flag, Some(Some(20 * MIB))),
            ("20mib", YamlPlain, Some(Some(20 * MIB))),
            ("20 Mi", Flag, Some(Some(20 * MIB))),
            ("1.5GB", Flag, Some(Some(1_500_000_000))),
            ("1.5 GiB", Flag, Some(Some(1_610_612_736))),
            ("2kB", Flag, Some(Some(2000))),
            ("2KB", Flag, Some(Some(2000))),
            ("1.999kB", Flag, Some(Some(1999))),
            ("1.9KiB", Flag, Some(Some(1945))), // 1945.6 truncated, as dive reported
            ("1.95 ki", Flag, Some(Some(1996))),
            ("0.0019MB", Flag, Some(Some(1900))),
            ("2000b", Flag, Some(Some(2000))),
            ("2000.9", Flag, Some(Some(2000))),
            (".5k", Flag, Some(Some(500))),
            ("2.k", Flag, Some(Some(2000))),
            ("2,000", Flag, Some(Some(2000))),
            ("2,0,0,0", Flag, Some(Some(2000))), // humanize drops every comma
            ("2e", Flag, Some(Some(2_000_000_000_000_000_000))), // `e` is exabytes
            ("1EB", Flag, Some(Some(1_000_000_000_000_000_000))),
            ("0", Flag, Some(Some(0))),
            ("disabled", Flag, Some(None)),
            ("DISABLED", YamlQuoted, Some(None)),
            // YAML numbers count in a file (dive: viper turns them into "1000", "2000")...
            ("1e3", YamlPlain, Some(Some(1000))),
            ("0x7d0", YamlPlain, Some(Some(2000))),
            ("+2000", YamlPlain, Some(Some(2000))),
            ("2000.5", YamlPlain, Some(Some(2000))),
            // ...but not on the command line or quoted.
            ("1e3", Flag, None),
            ("0x7d0", Flag, None),
            ("1e3", YamlQuoted, None),
            ("+2000", Flag, None),
            ("-1", Flag, None),
            ("-2000", YamlPlain, None),
            ("-1e3", YamlPlain, None),
            (".nan", YamlPlain, None),
            (".inf", YamlPlain, None),
            ("2000 bytes", Flag, None),
            ("1_000", Flag, None),
            ("2..0k", Flag, None),
            ("abc", Flag, None),
            ("", YamlQuoted, None),
            ("true", YamlPlain, None),
            ("18446744073709551615", Flag, None), // rounds to 2^64: too large, as in dive
            ("20EB", Flag, None),
            ("15EB", Flag, Some(Some(15_000_000_000_000_000_000))),
        ];
        for &(text, written, expected) in cases {
            let got = parse_bytes(text, written);
            match expected {
                Some(value) => assert_eq!(got, Ok(value), "{text:?} {written:?}"),
                None => assert!(got.is_err(), "{text:?} {written:?} gave {got:?}"),
            }
        }
    }

    #[test]
    fn byte_errors_name_the_problem() {
        const HINT: &str = "; expected a size such as 20MB (20×10^6 bytes), 20MiB (20×2^20 \
                            bytes) or 20000000, or `disabled`";
        let cases: &[(&str, Written, &str)] = &[
            ("20 MX", Written::Flag, "`20 MX`: unknown size unit `MX`"),
            ("-5", Written::YamlPlain, "`-5` is negative"),
            ("-1", Written::Flag, "`-1` is negative"),
            ("-20MB", Written::Flag, "`-20MB` is negative"),
            ("-.5k", Written::Flag, "`-.5k` is negative"),
            ("-x", Written::Flag, "`-x` does not start with a digit"),
            ("2..0k", Written::Flag, "`2..0k`: `2..0` is not a number"),
            ("20EB", Written::Flag, "`20EB` is too large"),
            ("1e30", Written::YamlPlain, "`1e30` is too large"),
        ];
        for &(text, written, problem) in cases {
            let err = parse_bytes(text, written).expect_err(text);
            // The hint comes once: a size too large for go-humanize once got it twice.
            assert_eq!(err.to_string(), format!("{problem}{HINT}"), "{text:?}");
        }
        assert_eq!(
            parse_bytes("20 MX", Written::Flag),
            Err(ParseError::UnknownUnit {
                text: "20 MX".into(),
                unit: "MX".into()
            })
        );
    }

    #[test]
    fn yaml_numbers() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1", Some(1.0)),
            ("-1", Some(-1.0)),
            ("1.", Some(1.0)),
            (".5", Some(0.5)),
            ("1e3", Some(1000.0)),
            ("1E+3", Some(1000.0)),
            ("0x10", Some(16.0)),
            ("0o10", Some(8.0)),
            ("-.inf", Some(f64::NEG_INFINITY)),
            (".", None),
            ("e3", None),
            ("1e", None),
            ("inf", None),
            ("nan", None),
            ("0x", None),
            ("1,000", None),
            ("20MB", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(yaml_number(text), expected, "{text:?}");
        }
        assert!(yaml_number(".nan").is_some_and(f64::is_nan));
    }

    /// humansize's DECIMAL rule, written out: divide by 1000 while the number is 1000 or
    /// more, then two decimals unless it is whole.
    fn si(n: u64) -> String {
        const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
        #[allow(clippy::cast_precision_loss)]
        let mut x = n as f64;
        let mut unit = 0;
        while x >= 1000.0 {
            x /= 1000.0;
            unit += 1;
        }
        if x.fract() == 0.0 {
            format!("{x:.0} {}", UNITS[unit])
        } else {
            format!("{x:.2} {}", UNITS[unit])
        }
    }

    /// Sizes around every unit boundary and a few in between.
    fn sample_sizes() -> Vec<u64> {
        let mut out = vec![0, 1, 7, 42, 999];
        let mut unit: u64 = 1000;
        for _ in 0..6 {
            out.extend([unit - 1, unit, unit + 1, unit / 2 * 3, unit / 1000 * 999]);
            out.extend(unit.checked_mul(7).map(|n| n + 123));
            unit = unit.saturating_mul(1000);
        }
        out
    }

    #[test]
    fn sizes_are_si_with_two_decimals_unless_whole() {
        for n in sample_sizes() {
            assert_eq!(size(n), si(n), "{n}");
        }
        // The edges, spelled out.
        assert_eq!(size(0), "0 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1000), "1 kB");
        assert_eq!(size(1_500_000), "1.50 MB");
        assert_eq!(size(999_990), "999.99 kB");
        // The unit is chosen before rounding: 999.999 kB rounds up within kB.
        assert_eq!(size(999_999), "1000.00 kB");
        assert_eq!(size(1_000_001), "1.00 MB");
    }

    #[test]
    fn printed_sizes_read_back_within_their_rounding() {
        for n in sample_sizes() {
            let printed = size(n);
            let read = parse_bytes(&printed, Written::Flag)
                .unwrap_or_else(|e| panic!("{printed}: {e}"))
                .unwrap_or_else(|| panic!("{printed}: disabled?"));
            // Two decimals of the unit printed: off by at most half of the last one, plus the
            // truncation to whole bytes.
            let unit = match printed.rsplit_once(' ').map(|(_, u)| u) {
                Some("B") => 1,
                Some("kB") => 1000,
                Some("MB") => 1000u64.pow(2),
                Some("GB") => 1000u64.pow(3),
                Some("TB") => 1000u64.pow(4),
                Some("PB") => 1000u64.pow(5),
                Some("EB") => 1000u64.pow(6),
                other => panic!("{printed}: unit {other:?}"),
            };
            assert!(
                read.abs_diff(n) <= unit / 200 + 1,
                "{n} printed {printed} read {read}"
            );
        }
    }

    #[test]
    fn exact_byte_texts_read_back_exactly() {
        let cases: &[(u64, &str)] = &[
            (0, "0 bytes"),
            (1, "1 byte"),
            (9999, "9999 bytes"),
            (10_000, "10000 bytes (10.0 kB)"),
            (20_971_520, "20971520 bytes (21.0 MB)"),
            (u64::MAX, "18446744073709551615 bytes (18.4 EB)"),
        ];
        for &(n, text) in cases {
            assert_eq!(bytes_text(n), text);
        }
        // go-humanize reads the number as a float64, as dive does: exact up to 2^53, then to
        // float64's precision (999999999999999999 reads as 10^18).
        for n in sample_sizes() {
            let text = bytes_text(n);
            let exact = text.split(" byte").next().unwrap_or_default();
            let read = parse_bytes(exact, Written::Flag);
            if n <= 1 << 53 {
                assert_eq!(read, Ok(Some(n)), "{text}");
            } else {
                let read = read.ok().flatten().unwrap_or_default();
                assert!(read.abs_diff(n) <= n >> 52, "{text} read {read}");
            }
        }
        assert_eq!(
            parse_bytes("999999999999999999", Written::Flag),
            Ok(Some(1_000_000_000_000_000_000))
        );
    }

    /// go-humanize, as dive reads sizes: `kB`, `K` and `k` are 1000, `KiB` and `Ki` are 1024,
    /// in any case, for every prefix up to exa.
    #[test]
    fn si_and_iec_prefixes_read_as_dive_reads_them() {
        for (i, p) in ["k", "m", "g", "t", "p", "e"].into_iter().enumerate() {
            let power = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let (si, iec) = (1000u64.pow(power), 1024u64.pow(power));
            let up = p.to_ascii_uppercase();
            for text in [
                format!("1{p}B"),
                format!("1 {up}B"),
                format!("1{up}"),
                format!("1{p}"),
            ] {
                assert_eq!(parse_bytes(&text, Written::Flag), Ok(Some(si)), "{text}");
            }
            for text in [format!("1{up}iB"), format!("1 {p}ib"), format!("1{up}i")] {
                assert_eq!(parse_bytes(&text, Written::Flag), Ok(Some(iec)), "{text}");
            }
        }
        assert_eq!(parse_bytes("1.5 KiB", Written::Flag), Ok(Some(1536)));
        assert_eq!(parse_bytes("1.5 kB", Written::Flag), Ok(Some(1500)));
    }

    #[test]
    fn signed_sizes_and_differences() {
        assert_eq!(signed_size(45_000), "+45 kB");
        assert_eq!(signed_size(-613_000), "-613 kB");
        assert_eq!(signed_size(0), "0 B");
        assert_eq!(signed_size(i64::MIN), format!("-{}", si(1 << 63)));
        assert_eq!(as_signed(7), 7);
        assert_eq!(as_signed(u64::MAX), i64::MAX);
    }

    #[test]
    fn percentages_and_counts() {
        assert_eq!(percent(0.8734), "87.3%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.99951), "100.0%");
        assert_eq!(percent(f64::NAN), "n/a");
        assert_eq!(count(1, "layer", "layers"), "1 layer");
        assert_eq!(count(0, "file", "files"), "0 files");
        assert_eq!(count(2, "directory", "directories"), "2 directories");
    }

    #[test]
    fn ratios_print_with_the_decimals_that_tell_them_apart() {
        let t = |a, b| {
            let (a, b, d) = ratio_texts(a, b);
            [a, b, d]
        };
        assert_eq!(t(0.62, 0.9), ["0.62", "0.90", "0.28"]);
        assert_eq!(t(0.8, 0.8), ["0.80", "0.80", "0.00"]);
        assert_eq!(
            t(0.8, 0.800_000_01),
            ["0.80000000", "0.80000001", "0.00000001"]
        );
        // At most 12 decimals, even when they still print alike.
        let (a, b, _) = ratio_texts(0.5, 0.5 + 1e-15);
        assert_eq!((a.len(), a == b), ("0.".len() + 12, true));
    }
}
