//! Printers: they read an [`Analysis`](crate::analysis::Analysis) and write it out.

pub mod compare;
pub mod escape;
pub mod json;
pub mod text;
pub mod verify;
pub mod words;

use crate::units::percent;

/// What the layer blobs' size is called: "compressed" when every blob is, "stored" when some
/// blob is a plain tar (a `docker save`), whose size is larger than the files in it.
pub fn stored_name(image: &crate::analysis::ImageSummary) -> &'static str {
    if image.all_compressed {
        "compressed"
    } else {
        "stored"
    }
}

/// dive's user wasted percent for people: a percentage, or dive's `+Inf` / `NaN` with what
/// it means (the layers above the base hold no bytes) and what dive's rule then does.
pub fn dive_user_wasted(d: &crate::analysis::DiveMetrics) -> String {
    match d.user_wasted_nonfinite() {
        None => percent(d.user_wasted_ratio()),
        Some("NaN") => "NaN (nothing above the base layer, nothing wasted: dive passes)".into(),
        Some(go) => format!("{go} (wasted, but nothing above the base layer: dive fails)"),
    }
}

/// Shortens a command for one line: collapses whitespace, drops buildah's `/bin/sh -c`
/// prefix, and cuts at `width` characters with an ellipsis.
pub fn short_command(cmd: &str, width: usize) -> String {
    let mut s: String = cmd.split_whitespace().collect::<Vec<_>>().join(" ");
    for prefix in ["/bin/sh -c #(nop) ", "/bin/sh -c "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
            break;
        }
    }
    if s.chars().count() > width {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_shortened_for_one_line() {
        assert_eq!(
            short_command("/bin/sh -c #(nop)  ADD file:abc in / ", 40),
            "ADD file:abc in /"
        );
        assert_eq!(
            short_command("/bin/sh -c apt-get   update", 40),
            "apt-get update"
        );
        assert_eq!(short_command("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn dive_user_wasted_spells_inf_and_nan_as_dive() {
        let d = |r: Option<f64>| crate::analysis::DiveMetrics {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted_percent: r,
        };
        assert_eq!(dive_user_wasted(&d(Some(0.915_328))), "91.5%");
        assert!(dive_user_wasted(&d(Some(f64::INFINITY))).starts_with("+Inf ("));
        assert!(dive_user_wasted(&d(None)).starts_with("NaN ("));
    }
}
