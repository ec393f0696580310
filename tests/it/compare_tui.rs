//! The compare screen (`strata compare A B` on a terminal), through the hidden
//! `--keys SCRIPT --print --screen WxH` replay, and the text it leaves to pipes.

use crate::fixtures::image_arg;
use crate::fixtures::run::strata;

/// Replays `keys` on the compare screen of A and B; returns (exit code, screen, stderr).
fn screen(a: &str, b: &str, keys: &str, extra: &[&str]) -> (i32, String, String) {
    let out = strata()
        .args(["compare", &image_arg(a), &image_arg(b), "--quiet"])
        .args(["--keys", keys, "--print", "--screen", "120x35"])
        .args(extra)
        .output()
        .expect("run strata");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
}

/// The text of the boxes down the left of the screen, lines joined by spaces.
fn left_box(screen: &str) -> String {
    let rows: Vec<String> = screen
        .lines()
        .filter_map(|l| l.strip_prefix('│'))
        .map(|l| l.split('│').next().unwrap_or("").trim().to_string())
        .collect();
    rows.join(" ")
}

#[test]
fn program_builds_side_by_side_with_the_toolchain_opened() {
    // Open /opt/toolchain, then its largest subdirectory (libexec) down to its file.
    let (code, text, err) = screen(
        "compare-program-single",
        "compare-program-multi",
        "space j right",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(text.lines().count(), 35, "{text}");
    // Totals above the layers.
    assert!(
        line_with(&text, "Uncompressed").contains("(-25.4%)"),
        "{text}"
    );
    // The shared base layer row.
    let shared = line_with(&text, " shared ");
    assert!(shared.contains("0  0"), "{shared}");
    // The group with its difference and counts, expanded to a subgroup and its file.
    let group = line_with(&text, "/opt/toolchain");
    assert!(group.contains("-613 kB"), "{group}");
    assert!(group.contains("▾"), "{group}");
    let file = line_with(&text, "cc1");
    assert!(
        file.contains("-250 kB") && file.contains("removed"),
        "{file}"
    );
    assert!(line_with(&text, "libexec").contains("▾"), "{text}");
    assert!(line_with(&text, "bin").contains("▸"), "collapsed: {text}");
    // Still closed: the files of /src.
    assert!(!text.contains("main.c"), "{text}");
    // The verdict (wrapped in the totals block).
    let totals = left_box(&text);
    assert!(
        totals.contains("Verdict: B is 25.4% smaller: 678.23 kB less, mostly /opt/toolchain"),
        "{totals}"
    );
}

#[test]
fn expand_all_lists_every_file_and_the_limit_keeps_its_exit_code() {
    let (code, text, err) = screen(
        "compare-service-day1",
        "compare-service-day2",
        "ctrl+space",
        &["--fail-if-larger", "1%"],
    );
    assert_eq!(code, 1, "B grew by 2.6%: {err}");
    assert!(text.contains("FAIL"), "{text}");
    let removed = line_with(&text, "legacy.dat");
    assert!(
        removed.contains("-20 kB") && removed.contains("removed"),
        "{removed}"
    );
    for file in ["libicu", "libssl", "legacy.dat", "deps.list"] {
        assert!(text.contains(file), "{file} in\n{text}");
    }
    assert!(
        line_with(&text, "/usr/lib/deps").contains("+45 kB"),
        "{text}"
    );

    let (code, text, _) = screen(
        "compare-service-day1",
        "compare-service-day2",
        "tab G ?",
        &["--fail-if-larger", "5%"],
    );
    assert_eq!(code, 0);
    assert!(text.contains("PASS"), "{text}");
    // The help lists this screen's keys from the keymap, not the explorer's others.
    assert!(text.contains("collapse / expand all"), "{text}");
    assert!(!text.contains("export"), "{text}");
}

#[test]
fn without_a_terminal_compare_prints_text() {
    let out = strata()
        .args([
            "compare",
            &image_arg("compare-service-day1"),
            &image_arg("compare-service-day2"),
        ])
        .arg("--quiet")
        .output()
        .expect("run strata");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verdict: B is 2.6% larger"), "{text}");
    assert!(text.starts_with("A  "), "{text}");
}

#[test]
fn keys_without_print_or_a_bad_screen_fail_before_reading() {
    let out = strata()
        .args(["compare", "/nonexistent/a", "/nonexistent/b", "--keys", "j"])
        .output()
        .expect("run strata");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--print"));
    let out = strata()
        .args([
            "compare",
            "/nonexistent/a",
            "/nonexistent/b",
            "--keys",
            "j",
            "--print",
        ])
        .args(["--screen", "5x5"])
        .output()
        .expect("run strata");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--screen"));
}
