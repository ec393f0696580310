//! The HTML report (`--format html`): one self-contained page, drawn by its own script.
//!
//! The pages are rendered by a real browser, headless Chromium (Debian's `chromium`), which
//! writes a screenshot and the DOM as the script left it (`--dump-dom`); its log
//! (`--enable-logging=stderr`) holds a `CONSOLE` line for every message the page logs, an
//! uncaught error or a load the page's policy refused among them. What is checked there:
//! - a screenshot is written (a PNG, not empty);
//! - the DOM holds what `strata … --format json` says (layer digests, efficiency, verdict),
//!   and the cells the script drew, sized as the test computes them from the bytes it wrote;
//! - the page logged nothing (no `CONSOLE` line) and its error box (`#errors`, which the
//!   script fills from `window.onerror`, rejections and policy violations) is empty;
//! - a path or command holding markup is text in the DOM and runs nothing.
//!
//! The directory shown and the colouring are also checked through the page's address
//! (`#path=/a&colour=waste`, which the script reads as it draws). Interaction needs input
//! events, which `--dump-dom` cannot send: a small Python driver ([`DRIVER`]) speaks Chromium's
//! DevTools protocol over a pipe and sends real Tab, Shift+Tab, Enter, Escape, mouse moves and
//! clicks, reading back what has the focus, the directory shown, the tooltip and the details.
//!
//! Without a browser: the page's bytes hold no network reference, and a synthetic image of
//! 100,000 files gives a page under 2 MB whose treemap still adds up to every byte.
//!
//! The Chromium tests need it installed (`#[ignore = "needs chromium…"]`, run by `.ci/run`,
//! where a missing browser fails them); each run of Chromium, the driver or strata has a time
//! limit.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixtures::compress::gzip;
use crate::fixtures::digest::sha256;
use crate::fixtures::image_arg;
use crate::fixtures::layout::{CONFIG, GZIP_LAYER, MANIFEST, Oci};
use crate::fixtures::run::{analyze_json, run, strata};
use crate::fixtures::tar::{E, tar_of};
use crate::fixtures::tools::require;

/// How long one run of strata or Chromium may take.
const LIMIT: Duration = Duration::from_secs(120);

/// `strata ARGS` must succeed within [`LIMIT`]; its stdout.
fn strata_ok(args: &[&str]) -> String {
    let r = run(strata().args(args).timeout(LIMIT));
    r.expect_code(0);
    r.stdout
}

/// `strata analyze IMAGE --format html`, written to `dir/NAME`.
fn page(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, strata_ok(args)).expect("write the page");
    path
}

/// What Chromium made of a page.
struct Rendered {
    dom: String,
    png: Vec<u8>,
    /// The page's console messages.
    console: Vec<String>,
}

/// Renders `page` (with `#fragment` when not empty) in headless Chromium at 1280×1600: the
/// DOM after the scripts ran, a screenshot, and what the page logged.
fn render(page: &Path, fragment: &str) -> Rendered {
    let chromium = require("chromium", "apt-get install chromium");
    let work = tempfile::tempdir().expect("tempdir");
    let png = work.path().join("shot.png");
    let (out, err) = (work.path().join("dom.html"), work.path().join("log.txt"));
    let mut url = format!("file://{}", page.display());
    if !fragment.is_empty() {
        url = format!("{url}#{fragment}");
    }
    let child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,1600",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--dump-dom")
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("create dom.html"))
        .stderr(fs::File::create(&err).expect("create log.txt"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium.display()));
    let status = finish_within(child, &url);
    let log = fs::read_to_string(&err).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({status}) on {url}:\n{log}"
    );
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Rendered {
        dom: fs::read_to_string(&out).expect("read the DOM"),
        png: fs::read(&png).unwrap_or_else(|e| panic!("no screenshot of {url}: {e}\n{log}")),
        console,
    }
}

/// Waits for `child` (the leader of its process group) at most [`LIMIT`], then kills the group.
fn finish_within(mut child: std::process::Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status;
        }
        if start.elapsed() > LIMIT {
            // The browser and every process it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!("{what}: still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Rendered {
    /// A screenshot, the page's script ran to the end, and nothing went wrong.
    fn assert_clean(&self) {
        assert!(
            self.png.starts_with(b"\x89PNG\r\n\x1a\n") && self.png.len() > 10_000,
            "the screenshot is no PNG of a drawn page ({} bytes)",
            self.png.len()
        );
        assert!(
            self.console.is_empty(),
            "the page logged:\n{}",
            self.console.join("\n")
        );
        assert!(
            self.dom
                .contains(r#"<div id="errors" role="alert" hidden=""></div>"#),
            "the page's error box is not empty: {}",
            self.element_text("errors")
        );
        assert!(!self.dom.contains("data-errors="), "errors were reported");
        assert!(
            self.dom.contains("<footer>"),
            "the script did not run to the end"
        );
    }

    /// The start of the element with `id`, for messages.
    fn element_text(&self, id: &str) -> String {
        let at = self.dom.find(&format!("id=\"{id}\"")).unwrap_or(0);
        self.dom[at..].chars().take(600).collect()
    }

    /// The treemap's cells as drawn: (node's name, tab index, width × height in pixels).
    fn cells(&self) -> Vec<Cell> {
        self.dom
            .split("<div class=\"cell")
            .skip(1)
            .map(|tag| {
                let tag = &tag[..tag.find('>').expect("a cell's tag ends")];
                let attr = |name: &str| -> String {
                    let at = tag
                        .find(&format!(" {name}=\""))
                        .unwrap_or_else(|| panic!("a cell without {name}: {tag}"))
                        + name.len()
                        + 3;
                    tag[at..at + tag[at..].find('"').expect("attribute ends")].to_string()
                };
                let style = attr("style");
                let px = |prop: &str| -> f64 {
                    let at = style
                        .find(&format!("{prop}: "))
                        .unwrap_or_else(|| panic!("no {prop} in {style}"))
                        + prop.len()
                        + 2;
                    let rest = &style[at..];
                    rest[..rest.find("px").expect("px")]
                        .parse()
                        .expect("a number")
                };
                Cell {
                    label: html_text(&attr("aria-label")),
                    top_level: attr("tabindex") == "0",
                    area: px("width") * px("height"),
                }
            })
            .collect()
    }
}

#[derive(Debug)]
struct Cell {
    /// `name, size, …` as the cell tells a screen reader.
    label: String,
    /// Reached with the tab key (the directory shown's own entries).
    top_level: bool,
    area: f64,
}

/// An attribute's or a text's characters as the DOM serialiser escaped them, unescaped.
fn html_text(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// `s` as the DOM serialiser writes a text node.
fn as_dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// An OCI layout at `dir` with one gzip layer per entry list, made by `commands`.
fn layout(dir: &Path, layers: &[Vec<E<'_>>], commands: &[&str]) -> String {
    let oci = Oci::new(dir);
    let tars: Vec<Vec<u8>> = layers.iter().map(|l| tar_of(l)).collect();
    let descs: Vec<Value> = tars
        .iter()
        .map(|t| oci.blob(GZIP_LAYER, &gzip(t)))
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": tars.iter().map(|t| sha256(t)).collect::<Vec<_>>()},
        "history": commands.iter().map(|c| json!({"created_by": c})).collect::<Vec<_>>(),
    });
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": oci.blob(CONFIG, config.to_string().as_bytes()),
        "layers": descs,
    });
    let desc = oci.blob(MANIFEST, manifest.to_string().as_bytes());
    oci.index(&[desc]);
    dir.to_string_lossy().into_owned()
}

/// The page's data: the JSON island, parsed.
fn island(page: &str) -> Value {
    let open = r#"<script type="application/json" id="data">"#;
    let start = page.find(open).expect("the data island") + open.len();
    let end = start + page[start..].find("</script>").expect("the island ends");
    serde_json::from_str(&page[start..end]).expect("the island is JSON")
}

/// The page without its data island: the template, the style and the script.
fn code_of(page: &str) -> String {
    let open = r#"<script type="application/json" id="data">"#;
    let start = page.find(open).expect("the data island") + open.len();
    let end = start + page[start..].find("</script>").expect("the island ends");
    format!("{}{}", &page[..start], &page[end..])
}

#[test]
#[ignore = "needs chromium: bash .ci/setup; run by .ci/run"]
fn an_analysis_renders_with_its_digests_efficiency_and_treemap() {
    let img = image_arg("overlay-oci");
    let (json, _) = analyze_json(&[&img]);
    let dir = tempfile::tempdir().expect("tempdir");
    let page = page(
        dir.path(),
        "report.html",
        &["analyze", &img, "--format", "html"],
    );
    let r = render(&page, "");
    r.assert_clean();
    let layers = json["layers"].as_array().expect("layers");
    assert!(layers.len() > 2);
    for l in layers {
        let digest = l["digest"].as_str().expect("a layer digest");
        assert!(
            r.dom.contains(digest),
            "the DOM lacks layer digest {digest}"
        );
    }
    let efficiency = json["waste"]["efficiency"].as_f64().expect("efficiency");
    let shown = format!("{:.1}%", efficiency * 100.0);
    let card = r.element_text("efficiency");
    assert!(
        card.contains(&format!("<div class=\"value\">{shown}</div>")),
        "the efficiency card does not say {shown}: {card}"
    );
    let cells = r.cells();
    assert!(cells.len() >= 3, "{cells:#?}");
    // The largest file of the image is drawn, and named.
    assert!(
        cells.iter().any(|c| c.label.starts_with("busybox, ")),
        "{cells:#?}"
    );
}

#[test]
#[ignore = "needs chromium: bash .ci/setup; run by .ci/run"]
fn treemap_cells_are_sized_by_bytes_and_the_address_opens_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zeros = vec![0u8; 600_000];
    let img = layout(
        &dir.path().join("img"),
        &[
            vec![
                E::File("a/one", 0o644, &zeros[..400_000]),
                E::File("a/two", 0o644, &zeros[..200_000]),
                E::File("b/three", 0o644, &zeros[..300_000]),
            ],
            vec![E::File("c/four", 0o644, &zeros[..100_000])],
        ],
        &["ADD rootfs.tar /", "RUN make c"],
    );
    let page = page(
        dir.path(),
        "report.html",
        &["analyze", &img, "--format", "html"],
    );

    let r = render(&page, "");
    r.assert_clean();
    let cells = r.cells();
    let top: Vec<&Cell> = cells.iter().filter(|c| c.top_level).collect();
    let total: f64 = top.iter().map(|c| c.area).sum();
    for (name, bytes) in [("a", 600_000.0), ("b", 300_000.0), ("c", 100_000.0)] {
        let cell = top
            .iter()
            .find(|c| c.label.starts_with(&format!("{name}, ")))
            .unwrap_or_else(|| panic!("no cell for /{name}: {top:#?}"));
        let share = cell.area / total;
        let expected = bytes / 1_000_000.0;
        assert!(
            (share - expected).abs() < 0.01,
            "/{name} covers {share:.3} of the map, its bytes {expected}"
        );
    }
    assert_eq!(top.len(), 3, "{top:#?}");
    // The directories' files are drawn inside them, one level down (not tab stops).
    for name in ["one, ", "two, ", "three, ", "four, "] {
        assert!(
            cells
                .iter()
                .any(|c| !c.top_level && c.label.starts_with(name)),
            "{name}: {cells:#?}"
        );
    }

    // #path=/a: a's files are the cells the tab key reaches; the colouring by waste is on.
    let r = render(&page, "path=/a&colour=waste");
    r.assert_clean();
    let cells = r.cells();
    let top: Vec<&str> = cells
        .iter()
        .filter(|c| c.top_level)
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(top.len(), 2, "{top:#?}");
    assert!(
        top[0].starts_with("one, 400 kB") && top[1].starts_with("two, 200 kB"),
        "{top:#?}"
    );
    assert!(
        r.dom.contains(r#"aria-current="true">a</button>"#),
        "the path shown is not /a: {}",
        r.element_text("treemap")
    );
    assert!(
        r.dom.contains("of the bytes shipped at a path wasted"),
        "the legend is not the waste ramp"
    );
}

#[test]
#[ignore = "needs chromium: bash .ci/setup; run by .ci/run"]
fn markup_in_paths_and_commands_is_text_and_runs_nothing() {
    const SCRIPT: &str = "</script><img src=x onerror=alert(1)>";
    const PWN: &str = "<img src=x onerror=document.documentElement.setAttribute('pwned','1')>";
    const COMMENT: &str = "<!--<script>";
    const CONTROLS: &str = "ctl\u{1}\u{1b}[31m\u{2028}\u{202e}end";
    const COMMAND: &str =
        "ADD </script><script>document.documentElement.setAttribute('pwned','2')</script> /";
    let dir = tempfile::tempdir().expect("tempdir");
    let body = vec![b'x'; 50_000];
    let img = layout(
        &dir.path().join("img"),
        &[
            vec![
                E::File(SCRIPT, 0o644, &body),
                E::File(PWN, 0o644, &body[..40_000]),
                E::File(COMMENT, 0o644, &body[..30_000]),
                E::File(CONTROLS, 0o644, &body[..20_000]),
            ],
            // Rewritten: the first copy is a wasted path, listed by its full name.
            vec![E::File(SCRIPT, 0o644, b"short")],
        ],
        &[COMMAND, "RUN echo '<!--' \u{2028} done"],
    );
    let page = page(
        dir.path(),
        "report.html",
        &["analyze", &img, "--format", "html"],
    );
    let bytes = fs::read_to_string(&page).expect("read the page");
    // Two script elements end; nothing from the image ends one, opens a tag or a comment.
    assert_eq!(bytes.matches("</script>").count(), 2);
    for raw in ["<img", "<!--", "\u{2028}", "\u{1b}", "\u{202e}"] {
        assert!(!bytes.contains(raw), "the page holds {raw:?} raw");
    }
    let data = island(&bytes);
    assert_eq!(data["paths"][0]["path"], format!("/{SCRIPT}"));

    let r = render(&page, "");
    r.assert_clean();
    assert!(!r.dom.contains("<img"), "an image element was made");
    // The payloads would set a `pwned` attribute on the page; their text names it only quoted.
    assert!(!r.dom.contains(" pwned=\""), "markup from the image ran");
    assert!(r.dom.contains("setAttribute('pwned','1')"));
    for text in [
        format!("/{SCRIPT}"),
        COMMAND.to_string(),
        "script&gt;&lt;img src=x onerror=alert(1)&gt;".into(),
    ] {
        let shown = if text.contains('&') {
            text
        } else {
            as_dom_text(&text)
        };
        assert!(
            r.dom.contains(&shown),
            "the DOM does not show {shown} as text"
        );
    }
    let cells = r.cells();
    for name in [PWN, COMMENT] {
        assert!(
            cells
                .iter()
                .any(|c| c.label.starts_with(&format!("{name}, "))),
            "no cell is named {name}: {cells:#?}"
        );
    }
    // Controls, the bidi override and the line separator are spelled as the text output
    // spells them.
    assert!(
        r.dom.contains(r"ctl\x01\x1b[31m\u{2028}\u{202e}end"),
        "the control characters are not spelled out"
    );
    for raw in ['\u{1}', '\u{1b}', '\u{2028}', '\u{202e}'] {
        assert!(!r.dom.contains(raw), "the DOM holds {raw:?} raw");
    }
}

#[test]
#[ignore = "needs chromium: bash .ci/setup; run by .ci/run"]
fn a_comparison_renders_both_stacks_the_verdict_and_the_difference_chart() {
    let (a, b) = (
        image_arg("compare-service-day1"),
        image_arg("compare-service-day2"),
    );
    let json: Value =
        serde_json::from_str(&strata_ok(&["compare", &a, &b, "--format", "json"])).expect("JSON");
    let dir = tempfile::tempdir().expect("tempdir");
    let page = page(
        dir.path(),
        "compare.html",
        &["compare", &a, &b, "--format", "html"],
    );
    let r = render(&page, "");
    r.assert_clean();
    let verdict = json["verdict"].as_str().expect("verdict");
    assert!(
        r.dom.contains(&as_dom_text(verdict)),
        "the DOM lacks the verdict {verdict}"
    );
    let rows = json["layers"].as_array().expect("layers");
    assert_eq!(
        r.dom
            .matches("<tr tabindex=\"0\" aria-label=\"A layer")
            .count(),
        rows.len()
    );
    let changed = json["cache_miss"]["changed_paths"][0]
        .as_str()
        .expect("a path");
    assert!(r.dom.contains(&format!("1 path differs ({changed})")));
    let groups = json["groups"].as_array().expect("groups");
    assert!(groups.len() >= 2);
    for g in groups {
        let path = g["path"].as_str().expect("path");
        let delta = g["delta_bytes"].as_i64().expect("delta");
        let at = r
            .dom
            .find(&format!("<code>{}</code>", as_dom_text(path)))
            .unwrap_or_else(|| panic!("no row for {path}"));
        let row = &r.dom[at..at + r.dom[at..].find("</tr>").expect("the row ends")];
        let bar = if delta > 0 {
            "<span class=\"grow\""
        } else {
            "<span class=\"shrink\""
        };
        assert!(
            row.contains(bar),
            "{path} ({delta:+}) has no {bar} bar: {row}"
        );
    }
}

#[test]
fn pages_hold_no_network_reference() {
    let (a, b) = (
        image_arg("compare-service-day1"),
        image_arg("compare-service-day2"),
    );
    let overlay = image_arg("overlay-oci");
    for args in [
        vec!["analyze", overlay.as_str(), "--format", "html"],
        vec!["compare", &a, &b, "--format", "html"],
    ] {
        let page = strata_ok(&args);
        let code = code_of(&page);
        for needle in [
            "http:",
            "https:",
            "ftp:",
            "ws://",
            "wss://",
            "file:",
            "data:",
            "src=",
            "href=",
            "url(",
            "@import",
            "fetch",
            "XMLHttpRequest",
            "import(",
            "WebSocket",
            "EventSource",
            "sendBeacon",
            "Worker(",
            ".src",
            ".href",
            "srcdoc",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "Function(",
            "<link",
            "<iframe",
            "<img",
            "<object",
            "<embed",
            "<form",
            "<base",
            "<a ",
            "<svg",
            "<use",
        ] {
            assert!(
                !code.contains(needle),
                "{args:?}: the page's code holds {needle}"
            );
        }
        assert!(
            code.contains(
                r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none';"#
            ),
            "{args:?}: no policy forbidding loads"
        );
        // The data is JSON without markup: nothing in it is a reference a browser follows.
        let data_len = page.len() - code.len();
        let data = &page[page.find(r#"id="data">"#).expect("island") + 10..][..data_len];
        assert!(!data.contains('<') && !data.contains('>'), "{args:?}");
        assert!(island(&page).is_object());
    }
}

#[test]
fn ci_refuses_html_before_reading_the_image() {
    let r = run(strata()
        .args(["ci", "/no/such/image", "--format", "html"])
        .timeout(LIMIT));
    crate::fixtures::run::assert_one_line_error(&r, &["--format html", "strata analyze"]);
}

/// A synthetic image of 100,000 files in 500 directories of 50 over two layers (built once),
/// and the bytes of its files.
fn large_image() -> &'static (String, u64) {
    static LARGE: OnceLock<(String, u64)> = OnceLock::new();
    LARGE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-100000-files");
        let _ = fs::remove_dir_all(&dir);
        let zeros = vec![0u8; 512];
        let mut names = Vec::new();
        // 200 files a directory: more than a directory keeps, so each folds its smaller ones.
        for p in 0..50 {
            for s in 0..10 {
                for f in 0..200 {
                    let n = p * 2000 + s * 200 + f;
                    // 1 to 500 bytes: one data block each.
                    let len = n * 7919 % 500 + 1;
                    names.push((p, format!("pkg{p:02}/sub{s}/file-{f:03}.dat"), len));
                }
            }
        }
        let total: u64 = names.iter().map(|(_, _, len)| *len as u64).sum();
        let layer = |half: std::ops::Range<usize>| -> Vec<E<'_>> {
            names
                .iter()
                .filter(|(p, _, _)| half.contains(p))
                .map(|(_, name, len)| E::File(name, 0o644, &zeros[..*len]))
                .collect()
        };
        let img = layout(
            &dir,
            &[layer(0..25), layer(25..50)],
            &["ADD first-half.tar /", "ADD second-half.tar /"],
        );
        (img, total)
    })
}

#[test]
fn a_page_of_100000_files_stays_under_2_mb_and_adds_up() {
    let (img, total) = large_image();
    let page = strata_ok(&["analyze", img, "--format", "html"]);
    println!("{} bytes for 100,000 files", page.len());
    assert!(page.len() < 2_000_000, "{} bytes", page.len());
    let tree = &island(&page)["tree"];
    let column = |name: &str| -> Vec<i64> {
        tree[name]
            .as_array()
            .unwrap_or_else(|| panic!("tree.{name}"))
            .iter()
            .map(|v| v.as_i64().expect("a number"))
            .collect()
    };
    let (parent, bytes, files) = (column("parent"), column("bytes"), column("files"));
    assert_eq!(bytes[0], *total as i64, "the root holds every byte");
    assert_eq!(files[0], 100_000);
    assert!(
        parent.len() < 100_000,
        "nothing was folded: {} nodes",
        parent.len()
    );
    let kinds = tree["kind"].as_str().expect("tree.kind");
    assert!(kinds.contains('a'), "no directory folds its smaller files");
    // Every directory broken down holds exactly what its nodes hold.
    let mut sums = vec![(0i64, 0i64, false); parent.len()];
    for i in 1..parent.len() {
        let p = usize::try_from(parent[i]).expect("a parent");
        assert!(p < i, "node {i} comes before its parent");
        sums[p].0 += bytes[i];
        sums[p].1 += files[i];
        sums[p].2 = true;
    }
    for (i, (b, f, has)) in sums.iter().enumerate() {
        if *has {
            assert_eq!((bytes[i], files[i]), (*b, *f), "node {i}");
        }
    }
}

#[test]
#[ignore = "needs chromium: bash .ci/setup; run by .ci/run"]
fn a_page_of_100000_files_renders_without_error() {
    let (img, _) = large_image();
    let dir = tempfile::tempdir().expect("tempdir");
    let page = page(
        dir.path(),
        "large.html",
        &["analyze", img, "--format", "html"],
    );
    let r = render(&page, "");
    r.assert_clean();
    let cells = r.cells();
    assert!(cells.len() > 100, "{} cells", cells.len());
    assert_eq!(
        cells.iter().filter(|c| c.top_level).count(),
        50,
        "the 50 pkg directories"
    );
}

/// Drives a page in Chromium through the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// commands on fd 3, answers on fd 4, NUL-terminated JSON) with real key and mouse events, and
/// prints what the page shows after each: the focused element's label, the directory shown,
/// the tooltip, the details box and the error box.
const DRIVER: &str = r###"
import fcntl, json, os, subprocess, sys, time

chromium, url, profile = sys.argv[1:4]
deadline = time.time() + 90

def high(fd):
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 20)
    os.close(fd)
    return moved

cmd_r, cmd_w = os.pipe()
out_r, out_w = os.pipe()
cmd_r, cmd_w, out_r, out_w = high(cmd_r), high(cmd_w), high(out_r), high(out_w)
os.dup2(cmd_r, 3)
os.dup2(out_w, 4)
browser = subprocess.Popen(
    [chromium, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
     '--remote-debugging-pipe', '--window-size=1280,1600', '--user-data-dir=' + profile,
     'about:blank'],
    pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL)
for fd in (3, 4, cmd_r, out_w):
    os.close(fd)
buf, last, session = b'', 0, None

def message():
    global buf
    while b'\0' not in buf:
        if time.time() > deadline:
            raise SystemExit('chromium did not answer in time')
        chunk = os.read(out_r, 65536)
        if not chunk:
            raise SystemExit('chromium closed the pipe')
        buf += chunk
    raw, buf = buf.split(b'\0', 1)
    return json.loads(raw)

def call(method, **params):
    global last
    last += 1
    msg = {'id': last, 'method': method, 'params': params}
    if session:
        msg['sessionId'] = session
    os.write(cmd_w, json.dumps(msg).encode() + b'\0')
    while True:
        m = message()
        if m.get('id') == last:
            if 'error' in m:
                raise SystemExit(method + ': ' + json.dumps(m['error']))
            return m.get('result', {})

def js(expr):
    r = call('Runtime.evaluate', expression=expr, returnByValue=True)
    if 'exceptionDetails' in r:
        raise SystemExit('script: ' + json.dumps(r['exceptionDetails']))
    return r['result'].get('value')

def key(name, code, modifiers=0):
    for kind in ('keyDown', 'keyUp'):
        call('Input.dispatchKeyEvent', type=kind, key=name, code=name,
             windowsVirtualKeyCode=code, nativeVirtualKeyCode=code, modifiers=modifiers)

def state():
    return js('''(function () {
      var a = document.activeElement;
      var cur = document.querySelector('nav.crumbs [aria-current="true"]');
      var tip = document.getElementById('tip');
      var s = a && a.closest ? a.closest('section') : null;
      return {
        focused: a ? (a.getAttribute('aria-label') || a.tagName) : null,
        tag: a ? a.tagName : null,
        section: s ? s.id : null,
        shown: cur ? cur.textContent : null,
        tip: tip.hidden ? null : tip.innerText,
        details: document.querySelector('.details').innerText,
        errors: document.getElementById('errors').textContent
      };
    })()''')

def tab_to(tag, section):
    for n in range(300):
        key('Tab', 9)
        s = state()
        if s['tag'] == tag and s['section'] == section:
            return n + 1
    return None

seen = {}
try:
    target = call('Target.createTarget', url=url)['targetId']
    session = call('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
    while not js('!!document.querySelector("footer")'):
        time.sleep(0.05)
    seen['tabs'] = tab_to('DIV', 'treemap')
    seen['first'] = state()
    key('Tab', 9)
    seen['second'] = state()
    key('Tab', 9)
    key('Tab', 9)
    key('Tab', 9, 8)
    key('Tab', 9, 8)
    seen['shift_tab'] = state()
    key('Tab', 9, 8)
    key('Enter', 13)
    seen['enter'] = state()
    key('Escape', 27)
    seen['escape'] = state()
    x, y = js('''(function () {
      var r = document.querySelector('.cell[tabindex="0"]').getBoundingClientRect();
      return [r.left + 8, r.top + 8]; })()''')
    call('Input.dispatchMouseEvent', type='mouseMoved', x=x, y=y)
    seen['hover'] = state()
    for kind in ('mousePressed', 'mouseReleased'):
        call('Input.dispatchMouseEvent', type=kind, x=x, y=y, button='left', clickCount=1)
    seen['click'] = state()
    seen['row_tabs'] = tab_to('TR', 'layers')
    seen['row'] = state()
    print(json.dumps(seen))
finally:
    try:
        session = None
        call('Browser.close')
        browser.wait(10)
    except BaseException:
        browser.kill()
        browser.wait()
"###;

/// What [`DRIVER`] saw after one step.
fn step<'a>(seen: &'a Value, name: &str) -> &'a Value {
    let s = &seen[name];
    assert!(s.is_object(), "no step {name}: {seen:#}");
    assert_eq!(s["errors"], "", "errors after {name}: {seen:#}");
    s
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or("")
}

#[test]
#[ignore = "needs chromium and python3: bash .ci/setup; run by .ci/run"]
fn the_treemap_answers_tab_enter_escape_hover_and_click() {
    let chromium = require("chromium", "apt-get install chromium");
    let python = require("python3", "apt-get install python3");
    let dir = tempfile::tempdir().expect("tempdir");
    let zeros = vec![0u8; 400_000];
    let img = layout(
        &dir.path().join("img"),
        &[
            vec![
                E::File("a/one", 0o644, &zeros[..400_000]),
                E::File("a/two", 0o644, &zeros[..200_000]),
                E::File("b/three", 0o644, &zeros[..300_000]),
            ],
            vec![E::File("c/four", 0o644, &zeros[..100_000])],
        ],
        &["ADD rootfs.tar /", "RUN make c"],
    );
    let page = page(
        dir.path(),
        "report.html",
        &["analyze", &img, "--format", "html"],
    );
    let out = dir.path().join("seen.json");
    let child = Command::new(python)
        .arg("-c")
        .arg(DRIVER)
        .arg(&chromium)
        .arg(format!("file://{}", page.display()))
        .arg(dir.path().join("profile"))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("create seen.json"))
        .process_group(0)
        .spawn()
        .expect("run python3");
    let status = finish_within(child, "the key driver");
    let printed = fs::read_to_string(&out).unwrap_or_default();
    assert!(status.success(), "the driver failed ({status}): {printed}");
    let seen: Value = serde_json::from_str(&printed).expect("the driver's JSON");

    // Tab reaches the largest directory first, and focus shows what hovering shows.
    assert!(seen["tabs"].is_u64(), "Tab never reached a cell: {seen:#}");
    let first = step(&seen, "first");
    assert!(
        text(first, "focused").starts_with("a, 600 kB, directory"),
        "{first:#}"
    );
    for part in ["/a", "600 kB", "layer 0: ADD rootfs.tar /"] {
        assert!(
            text(first, "tip").contains(part),
            "tooltip lacks {part}: {first:#}"
        );
        assert!(
            text(first, "details").contains(part),
            "details lack {part}: {first:#}"
        );
    }
    assert!(text(step(&seen, "second"), "focused").starts_with("b, 300 kB"));
    // Tab past c and out of the map, Shift+Tab twice: back on b.
    assert!(text(step(&seen, "shift_tab"), "focused").starts_with("b, 300 kB"));
    // Enter on a opens it, its largest file focused; Escape goes back to a.
    let enter = step(&seen, "enter");
    assert_eq!(text(enter, "shown"), "a", "{enter:#}");
    assert!(
        text(enter, "focused").starts_with("one, 400 kB, file"),
        "{enter:#}"
    );
    let escape = step(&seen, "escape");
    assert_eq!(text(escape, "shown"), "/", "{escape:#}");
    assert!(
        text(escape, "focused").starts_with("a, 600 kB"),
        "{escape:#}"
    );
    // The mouse over a's corner (its title strip) names a; a click opens it.
    let hover = step(&seen, "hover");
    assert!(text(hover, "tip").starts_with("/a\n"), "{hover:#}");
    assert_eq!(text(step(&seen, "click"), "shown"), "a");
    // The layers table's rows are tab stops too.
    assert!(
        seen["row_tabs"].is_u64(),
        "Tab never reached a layer row: {seen:#}"
    );
    assert!(
        text(step(&seen, "row"), "focused").starts_with("layer 0, 900 kB: ADD rootfs.tar /"),
        "{seen:#}"
    );
}
