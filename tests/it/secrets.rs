//! Secrets in layers and in the config (issue 19), through the binary: every rule on a
//! hand-made layer, a key a later layer deletes, the files the search skips, look-alikes that
//! are no secret, the config's `Env`, labels and history, the image buildah built
//! (`testdata/secrets`), and no output that prints a value.
//!
//! Expected findings come from the test's own strings (where each value lies in the file the
//! test wrote, its length, what a quarter of it up to 4 characters is) and, for the buildah
//! image, from its layers read with the `tar` crate and its config read as JSON.

use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use crate::fixtures::compress::{gzip, layer_tar};
use crate::fixtures::digest::sha256;
use crate::fixtures::layout::{CONFIG, GZIP_LAYER, Layout, MANIFEST, Oci};
use crate::fixtures::run::{analyze_json, run, strata};
use crate::fixtures::tar::{E, tar_of};
use crate::fixtures::{image, image_arg, testdata};

/// AWS's documented example key pair.
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// The throwaway keys of `testdata/secrets/context` (see its README).
fn key(name: &str) -> String {
    fs::read_to_string(testdata("secrets/context").join(name)).expect("throwaway key")
}

/// Writes an OCI layout at `dir`: one gzip layer per tar, a config with `config` and
/// `history` (one entry per layer when `history` is null), a manifest and the index.
fn layout(dir: &Path, tars: &[Vec<u8>], config: Value, history: Value) {
    let oci = Oci::new(dir);
    let history = if history.is_null() {
        (0..tars.len())
            .map(|i| json!({"created_by": format!("hand-made layer {i}")}))
            .collect()
    } else {
        history
    };
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": tars.iter().map(|t| sha256(t)).collect::<Vec<_>>()},
        "history": history,
    });
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": oci.blob(CONFIG, config.to_string().as_bytes()),
        "layers": tars.iter().map(|t| oci.blob(GZIP_LAYER, &gzip(t))).collect::<Vec<_>>(),
    });
    oci.index(&[oci.blob(MANIFEST, manifest.to_string().as_bytes())]);
}

/// One secret finding as the JSON gives it: id, layer shipped and hidden by, path, rule,
/// offset, length, prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    id: String,
    shipped: Option<u64>,
    hidden: Option<u64>,
    path: Option<String>,
    rule: String,
    offset: Option<u64>,
    length: u64,
    prefix: String,
}

fn secrets_of(analysis: &Value) -> Vec<Seen> {
    let mut seen: Vec<Seen> = analysis["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["id"].as_str().is_some_and(|id| id.starts_with("secret")))
        .map(|f| {
            let s = &f["secret"];
            Seen {
                id: f["id"].as_str().expect("id").into(),
                shipped: f["shipped_by"].as_u64(),
                hidden: f["hidden_by"].as_u64(),
                path: f["paths"][0].as_str().map(Into::into),
                rule: s["rule"].as_str().expect("rule").into(),
                offset: s["offset"].as_u64(),
                length: s["length"].as_u64().expect("length"),
                prefix: s["prefix"].as_str().expect("prefix").into(),
            }
        })
        .collect();
    seen.sort();
    seen
}

/// What the finding of `value` in the file `path` of layer `layer` (content `content`) must
/// say: computed here from the strings.
fn expected_file(
    layer: u64,
    path: &str,
    content: &str,
    rule: &str,
    value: &str,
    shown: bool,
) -> Seen {
    let at = content
        .find(value)
        .unwrap_or_else(|| panic!("{value} in {path}"));
    let prefix = if shown {
        value.chars().take((value.len() / 4).min(4)).collect()
    } else {
        String::new()
    };
    Seen {
        id: "secret".into(),
        shipped: Some(layer),
        hidden: None,
        path: Some(format!("/{path}")),
        rule: rule.into(),
        offset: Some(at as u64),
        length: value.len() as u64,
        prefix,
    }
}

/// Made-up tokens of each shape (none is real).
struct Tokens {
    github: String,
    github_pat: String,
    gitlab: String,
    slack: String,
    stripe: String,
    npm: String,
    azure: String,
}

fn tokens() -> Tokens {
    Tokens {
        github: format!("ghp_{}", "Str4ta".repeat(6)),
        github_pat: format!("github_pat_{}", "Str4ta_Test".repeat(7) + "Made_"),
        gitlab: "glpat-Str4taTestMadeUp-xyz".into(),
        slack: "xoxb-1234567890-0987654321-Str4taTestMadeUpTokenAb".into(),
        stripe: "sk_live_Str4taTestMadeUpKey0123456789".into(),
        npm: format!("npm_{}", "Str4taTestMadeUp00".repeat(2)),
        azure: format!(
            "{}==",
            "Str4taTestMadeUpAzureKey0123456789abcdef+/".repeat(2)
        ),
    }
}

/// Every file of the rules' layer: (path, content, rule, value, shown).
fn rule_files() -> Vec<(String, String, &'static str, String, bool)> {
    let t = tokens();
    let rsa = key("id_rsa");
    let ed = key("id_ed25519");
    let escaped = rsa.trim_end().replace('\n', "\\n");
    let sa = format!(
        "{{\"type\": \"service_account\", \"project_id\": \"p\", \"private_key_id\": \"1\", \"private_key\": \"{escaped}\\n\", \"client_email\": \"x@p.iam.gserviceaccount.com\"}}\n"
    );
    let f =
        |p: &str, c: String, rule, v: &str, shown| (p.to_string(), c, rule, v.to_string(), shown);
    vec![
        f("root/.ssh/id_rsa", rsa.clone(), "private-key", rsa.trim_end(), false),
        f("home/app/.ssh/id_ed25519", ed.clone(), "private-key", ed.trim_end(), false),
        f("app/keys/aws.py", format!("KEY_ID = \"{AWS_ID}\"\n"), "aws-access-key-id", AWS_ID, true),
        f("app/keys/sa.json", sa, "gcp-service-account", &format!("{escaped}\\n"), false),
        f(
            "app/keys/azure.cfg",
            format!("DefaultEndpointsProtocol=https;AccountName=a;AccountKey={};EndpointSuffix=core.windows.net\n", t.azure),
            "azure-storage-key",
            &t.azure,
            true,
        ),
        f("app/keys/gh.txt", format!("{}\n", t.github), "github-token", &t.github, true),
        f("app/keys/pat.txt", format!("pat: {}\n", t.github_pat), "github-token", &t.github_pat, true),
        f("app/keys/gl.yml", format!("token: '{}'\n", t.gitlab), "gitlab-token", &t.gitlab, true),
        f("app/keys/slack.js", format!("const s = \"{}\";\n", t.slack), "slack-token", &t.slack, true),
        f("app/keys/pay.rb", format!("Stripe.api_key = '{}'\n", t.stripe), "stripe-key", &t.stripe, true),
        f("app/keys/ci.sh", format!("echo {} | npm login\n", t.npm), "npm-token", &t.npm, true),
        f("app/.env", "DB_HOST=db\nDB_PASSWORD=tr0ub4dor&3\n".into(), "dotenv", "tr0ub4dor&3", true),
        f("root/.npmrc", "//registry.npmjs.org/:_authToken=Str4taNpmrcToken\n".into(), "npmrc", "Str4taNpmrcToken", true),
        f("root/.pypirc", "[pypi]\nusername = bob\npassword = Str4taPypi\n".into(), "pypirc", "Str4taPypi", true),
        f("root/.netrc", "machine example.org\n  login bob\n  password Str4taNetrc\n".into(), "netrc", "Str4taNetrc", true),
        f("root/.git-credentials", "https://bob:Str4taGitPass@example.org\n".into(), "git-credentials", "Str4taGitPass", true),
        f(
            "root/.docker/config.json",
            "{\"auths\": {\"registry.example.org\": {\"auth\": \"Ym9iOlN0cjR0YURvY2tlcg==\"}}}\n".into(),
            "docker-auth",
            "Ym9iOlN0cjR0YURvY2tlcg==",
            true,
        ),
        f(
            "root/.kube/config",
            "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: Str4taKubeBearerToken\n".into(),
            "kubeconfig",
            "Str4taKubeBearerToken",
            true,
        ),
    ]
}

/// The rules' image: a base layer, then one layer holding a file per rule.
fn rules_image(dir: &Path) {
    let files = rule_files();
    let entries: Vec<E<'_>> = files
        .iter()
        .map(|(p, c, ..)| E::File(p, 0o600, c.as_bytes()))
        .collect();
    let base = tar_of(&[E::File("bin/sh", 0o755, b"#!shell")]);
    layout(
        dir,
        &[base, tar_of(&entries)],
        json!({"User": "1000"}),
        Value::Null,
    );
}

#[test]
fn every_rule_finds_its_value_in_a_layer() {
    let dir = tempfile::tempdir().expect("tempdir");
    rules_image(dir.path());
    let (analysis, _) = analyze_json(&[dir.path().to_str().expect("utf-8")]);
    let mut expected: Vec<Seen> = rule_files()
        .iter()
        .map(|(p, c, rule, v, shown)| expected_file(1, p, c, rule, v, *shown))
        .collect();
    expected.sort();
    assert_eq!(secrets_of(&analysis), expected);
    // Every one is an error, and says the image still holds it.
    for f in analysis["findings"].as_array().expect("findings") {
        if f["id"] == "secret" {
            assert_eq!(f["severity"], "error");
            let m = f["message"].as_str().expect("message");
            assert!(
                m.contains("in the final image") && m.contains("rotate it"),
                "{m}"
            );
        }
    }
}

#[test]
fn an_aws_secret_key_beside_its_id_is_found_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ini =
        format!("[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n");
    let csv = format!("User,Access key ID,Secret access key\nci,{AWS_ID},{AWS_SECRET}\n");
    let tar = tar_of(&[
        E::File("root/.aws/credentials", 0o600, ini.as_bytes()),
        E::File("tmp/keys.csv", 0o600, csv.as_bytes()),
    ]);
    layout(dir.path(), &[tar], json!({}), Value::Null);
    let (analysis, _) = analyze_json(&[dir.path().to_str().expect("utf-8")]);
    let mut expected = vec![
        expected_file(
            0,
            "root/.aws/credentials",
            &ini,
            "aws-access-key-id",
            AWS_ID,
            true,
        ),
        expected_file(
            0,
            "root/.aws/credentials",
            &ini,
            "aws-secret-access-key",
            AWS_SECRET,
            true,
        ),
        expected_file(0, "tmp/keys.csv", &csv, "aws-access-key-id", AWS_ID, true),
        expected_file(
            0,
            "tmp/keys.csv",
            &csv,
            "aws-secret-access-key",
            AWS_SECRET,
            true,
        ),
    ];
    expected.sort();
    assert_eq!(secrets_of(&analysis), expected);
}

/// Deleting a key in a later layer does not take it out of the image: it is found in the layer
/// that shipped it, marked deleted by the later one, and said to be still shipped.
#[test]
fn a_key_deleted_by_a_later_layer_is_still_found_and_marked_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ed = key("id_ed25519");
    let rsa = key("id_rsa");
    let tars = [
        tar_of(&[E::File("bin/sh", 0o755, b"#!shell")]),
        tar_of(&[
            E::Dir("root/.ssh", 0o700),
            E::File("root/.ssh/id_ed25519", 0o600, ed.as_bytes()),
            E::File("root/.ssh/id_rsa", 0o600, rsa.as_bytes()),
        ]),
        tar_of(&[E::Whiteout("root/.ssh/id_ed25519")]),
        tar_of(&[E::File("etc/motd", 0o644, b"hi\n")]),
    ];
    layout(dir.path(), &tars, json!({}), Value::Null);
    let (analysis, _) = analyze_json(&[dir.path().to_str().expect("utf-8")]);
    let mut deleted = expected_file(
        1,
        "root/.ssh/id_ed25519",
        &ed,
        "private-key",
        ed.trim_end(),
        false,
    );
    deleted.hidden = Some(2);
    let mut expected = vec![
        deleted,
        expected_file(
            1,
            "root/.ssh/id_rsa",
            &rsa,
            "private-key",
            rsa.trim_end(),
            false,
        ),
    ];
    expected.sort();
    assert_eq!(secrets_of(&analysis), expected);
    let message = |path: &str| -> String {
        analysis["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["id"] == "secret" && f["paths"][0] == path)
            .and_then(|f| f["message"].as_str())
            .expect("message")
            .to_string()
    };
    let gone = message("/root/.ssh/id_ed25519");
    assert!(
        gone.starts_with("layer 1 (`hand-made layer 1`) ships a private key (")
            && gone.contains("deleted in layer 2 (`hand-made layer 2`), but still shipped: anyone who pulls the image can read it"),
        "{gone}"
    );
    assert!(message("/root/.ssh/id_rsa").contains("in the final image"));
}

/// The search skips what cannot be a credential file cheaply told: files above 1 MiB (a key
/// at the very start of one is not found; one of exactly 1 MiB is searched) and binaries (a
/// NUL among the first 8 KiB; one after them does not make a binary).
#[test]
fn files_above_the_cap_and_binaries_are_not_searched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = tokens();
    let mib = 1usize << 20;
    let padded = |head: &str, size: usize| {
        let mut v = head.as_bytes().to_vec();
        v.resize(size, b'\n');
        v
    };
    let over = padded(&format!("{}\n", t.github), mib + 1);
    let at_cap = padded(&format!("{}\n", t.github), mib);
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    elf.extend_from_slice(format!(" {} ", t.github).as_bytes());
    let mut late_nul = vec![b'x'; 8 << 10];
    late_nul.push(0);
    late_nul.extend_from_slice(format!(" {} ", t.github).as_bytes());
    let tar = tar_of(&[
        E::File("data/over-the-cap.txt", 0o644, &over),
        E::File("data/at-the-cap.txt", 0o644, &at_cap),
        E::File("usr/bin/tool", 0o755, &elf),
        E::File("usr/share/late-nul.dat", 0o644, &late_nul),
    ]);
    layout(dir.path(), &[tar], json!({}), Value::Null);
    let (analysis, _) = analyze_json(&[dir.path().to_str().expect("utf-8")]);
    let paths: Vec<Option<String>> = secrets_of(&analysis).into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [
            Some("/data/at-the-cap.txt".to_string()),
            Some("/usr/share/late-nul.dat".to_string())
        ]
    );
}

/// What looks like a secret and is none: templates with empty values, a certificate and a
/// public key, a header named in code, an id of the wrong alphabet, a variable reference, a
/// public key's fingerprint named `GPG_KEY`.
#[test]
fn look_alikes_are_not_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\nRTESMBAGA1UEChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYD\nVQQDExlCYWx0aW1vcmUgQ3liZXJUcnVzdCBSb290MB4XDTAwMDUxMjE4NDYwMFoX\n-----END CERTIFICATE-----\n";
    let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApGPBAQFfoaAj3Y1HkNWL\nDaGp0z4mkSQ0toEhJVKv2+DNgmTyTqm+2Ok5r/8/jCANhq+yM2OAYstrwQ2GfIMc\n-----END PUBLIC KEY-----\n";
    let files: [(&str, &str); 8] = [
        (
            "app/.env.example",
            "DB_PASSWORD=\nAPI_KEY=\nGITHUB_TOKEN=\n",
        ),
        (
            "app/.env",
            "DB_PASSWORD=\nAPI_KEY=\"\"\nNPM_TOKEN=${NPM_TOKEN}\nGPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D\n",
        ),
        ("etc/ssl/certs/ca.pem", cert),
        ("etc/ssh/host.pub", public),
        (
            "usr/lib/python3/pem.py",
            "RSA = '-----BEGIN RSA PRIVATE KEY-----'\nif line.startswith(RSA):\n",
        ),
        (
            "app/ids.txt",
            "akia AKIAiosfodnn7example AKIAIOSFODNN7EXAMPLEX\n",
        ),
        (
            "app/run.js",
            "process.env.npm_config_cache || process.env.npm_package_name\n",
        ),
        (
            "root/.npmrc",
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
        ),
    ];
    let entries: Vec<E<'_>> = files
        .iter()
        .map(|(p, c)| E::File(p, 0o644, c.as_bytes()))
        .collect();
    let config = json!({
        "Env": ["PATH=/usr/bin", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D", "API_KEY=", "POSTGRES_PASSWORD_FILE=/run/secrets/db"],
        "Labels": {"org.opencontainers.image.source": "https://example.org/x"},
    });
    layout(dir.path(), &[tar_of(&entries)], config, Value::Null);
    let (analysis, _) = analyze_json(&[dir.path().to_str().expect("utf-8")]);
    assert_eq!(secrets_of(&analysis), []);
}

/// The config's secrets: an `Env` variable named as one, a token in another, a label, and a
/// build argument that two RUN steps record (one finding, on the first).
#[test]
fn secrets_in_the_config_are_found_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = tokens();
    let config = json!({
        "Env": ["PATH=/usr/bin", "DB_PASSWORD=Str4taDbPass", format!("SOME_URL=https://x/?t={}", t.github)],
        "Labels": {"deploy.api-token": "Str4taLabelTok"},
    });
    let history = json!([
        {"created_by": "ADD rootfs.tar /"},
        {"created_by": "ARG NPM_TOKEN", "empty_layer": true},
        {"created_by": format!("|1 NPM_TOKEN={} /bin/sh -c npm ci", t.npm)},
        {"created_by": format!("|1 NPM_TOKEN={} /bin/sh -c npm run build", t.npm)},
    ]);
    let tars = [
        tar_of(&[E::File("bin/sh", 0o755, b"#!shell")]),
        tar_of(&[E::File("app/a", 0o644, b"a")]),
        tar_of(&[E::File("app/b", 0o644, b"b")]),
    ];
    layout(dir.path(), &tars, config, history);
    let (analysis, _) = analyze_json(&[dir.path().to_str().expect("utf-8")]);
    let config_secret = |shipped: Option<u64>, rule: &str, value: &str| Seen {
        id: "secret-in-config".into(),
        shipped,
        hidden: None,
        path: None,
        rule: rule.into(),
        offset: None,
        length: value.len() as u64,
        prefix: value.chars().take((value.len() / 4).min(4)).collect(),
    };
    let mut expected = vec![
        config_secret(None, "credential", "Str4taDbPass"),
        config_secret(None, "github-token", &t.github),
        config_secret(None, "credential", "Str4taLabelTok"),
        // History entry 2 made layer 1.
        config_secret(Some(1), "npm-token", &t.npm),
    ];
    expected.sort();
    assert_eq!(secrets_of(&analysis), expected);
    let history_finding = analysis["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["secret"]["place"] == "history")
        .expect("history finding");
    assert_eq!(history_finding["secret"]["name"], "NPM_TOKEN");
    assert_eq!(history_finding["secret"]["entry"], 2);
    assert_eq!(history_finding["secret"]["count"], 2);
}

/// One layer as the `tar` crate reads it: its regular files with their content, and the paths
/// its whiteouts delete.
type LayerFiles = (Vec<(String, Vec<u8>)>, Vec<String>);

/// The layers of a committed OCI layout, uncompressed, read with flate2 and the `tar` crate.
fn layers_of(layout: &Layout) -> Vec<LayerFiles> {
    layout
        .layer_digests()
        .iter()
        .map(|d| {
            let tar = layer_tar(&fs::read(layout.blob_path(d)).expect("blob"));
            let mut files = Vec::new();
            let mut whiteouts = Vec::new();
            let mut archive = tar::Archive::new(&tar[..]);
            for entry in archive.entries().expect("tar") {
                let mut entry = entry.expect("entry");
                let path = entry.path().expect("path").to_string_lossy().into_owned();
                let path = path.trim_start_matches("./").to_string();
                if let Some((dir, name)) = path.rsplit_once("/.wh.") {
                    whiteouts.push(format!("{dir}/{name}"));
                } else if entry.header().entry_type().is_file() {
                    let mut content = Vec::new();
                    entry.read_to_end(&mut content).expect("content");
                    files.push((path, content));
                }
            }
            (files, whiteouts)
        })
        .collect()
}

/// The image buildah built from `testdata/secrets/Dockerfile`: the key its COPY layer ships
/// and a later RUN deletes, the `.env`, the token in `Env` and the build argument in the
/// history, each where the image's own layers and config say it is.
#[test]
fn the_image_buildah_built_shows_each_secret_where_it_is() {
    let l = Layout::committed("secrets-oci");
    let layers = layers_of(&l);
    let config = l.config();
    let ship = |path: &str| -> (u64, String) {
        layers
            .iter()
            .enumerate()
            .find_map(|(k, (files, _))| {
                files
                    .iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, c)| (k as u64, String::from_utf8(c.clone()).expect("text")))
            })
            .unwrap_or_else(|| panic!("no layer ships {path}"))
    };
    let (key_layer, key) = ship("root/.ssh/id_ed25519");
    assert_eq!(key, self::key("id_ed25519"), "the committed throwaway key");
    let deleting = layers
        .iter()
        .position(|(_, wh)| wh.iter().any(|w| w == "root/.ssh/id_ed25519"))
        .expect("a layer deletes the key") as u64;
    let (env_layer, env) = ship("app/.env");
    let password = env
        .lines()
        .find_map(|l| l.strip_prefix("DB_PASSWORD="))
        .expect("DB_PASSWORD");
    let stripe = env
        .lines()
        .find_map(|l| l.strip_prefix("STRIPE_SECRET_KEY="))
        .expect("STRIPE_SECRET_KEY");
    let token = config["config"]["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .filter_map(Value::as_str)
        .find_map(|e| e.strip_prefix("GITHUB_TOKEN="))
        .expect("GITHUB_TOKEN in Env");
    // The RUN whose history records the build argument, and the layer it made.
    let history = config["history"].as_array().expect("history");
    let run = history
        .iter()
        .position(|h| {
            h["created_by"]
                .as_str()
                .is_some_and(|c| c.starts_with("|1 NPM_TOKEN="))
        })
        .expect("the build argument in the history");
    let run_layer = history[..run]
        .iter()
        .filter(|h| h["empty_layer"] != true)
        .count() as u64;
    let npm = history[run]["created_by"]
        .as_str()
        .and_then(|c| c.strip_prefix("|1 NPM_TOKEN="))
        .and_then(|c| c.split_whitespace().next())
        .expect("npm token");
    assert!(
        deleting > key_layer,
        "the key is deleted after it is shipped"
    );

    let (analysis, _) = analyze_json(&[&image_arg("secrets-oci")]);
    let mut key_finding = expected_file(
        key_layer,
        "root/.ssh/id_ed25519",
        &key,
        "private-key",
        key.trim_end(),
        false,
    );
    key_finding.hidden = Some(deleting);
    let config_secret = |shipped: Option<u64>, rule: &str, value: &str| Seen {
        id: "secret-in-config".into(),
        shipped,
        hidden: None,
        path: None,
        rule: rule.into(),
        offset: None,
        length: value.len() as u64,
        prefix: value.chars().take((value.len() / 4).min(4)).collect(),
    };
    let mut expected = vec![
        key_finding,
        expected_file(env_layer, "app/.env", &env, "dotenv", password, true),
        expected_file(env_layer, "app/.env", &env, "stripe-key", stripe, true),
        config_secret(None, "github-token", token),
        config_secret(Some(run_layer), "npm-token", npm),
    ];
    expected.sort();
    assert_eq!(secrets_of(&analysis), expected);
}

/// Every value a test image holds, as the test wrote or read it.
fn all_values() -> Vec<String> {
    let t = tokens();
    let mut values: Vec<String> = rule_files().into_iter().map(|f| f.3).collect();
    values.extend([t.github, t.npm, AWS_ID.into(), AWS_SECRET.into()]);
    let l = Layout::committed("secrets-oci");
    for (files, _) in layers_of(&l) {
        for (path, content) in files {
            let text = || String::from_utf8(content.clone()).expect("text");
            if path == "app/.env" {
                let text = text();
                values.extend(
                    ["DB_PASSWORD=", "STRIPE_SECRET_KEY="]
                        .iter()
                        .filter_map(|k| text.lines().find_map(|l| l.strip_prefix(k)))
                        .map(str::to_string),
                );
            } else if path.starts_with("root/.ssh/") {
                values.push(text());
            }
        }
    }
    let config = l.config();
    for h in config["history"].as_array().expect("history") {
        if let Some(v) = h["created_by"]
            .as_str()
            .and_then(|c| c.strip_prefix("|1 NPM_TOKEN="))
        {
            values.push(v.split_whitespace().next().unwrap_or_default().to_string());
        }
    }
    for e in config["config"]["Env"].as_array().expect("Env") {
        if let Some(v) = e.as_str().and_then(|e| e.strip_prefix("GITHUB_TOKEN=")) {
            values.push(v.to_string());
        }
    }
    values.retain(|v| v.trim().len() > 4 && v != "db" && v != "1");
    values
}

/// No 8 characters in a row of any value appear in `output` (a masked prefix is 4 at most),
/// except runs of one repeated character (`AAAAAAAA` in a key's padding says nothing).
fn assert_no_value(what: &str, output: &str, values: &[String]) {
    for v in values {
        let chars: Vec<char> = v.chars().collect();
        for w in chars.windows(8) {
            if w.iter().all(|&c| c == w[0]) {
                continue;
            }
            let piece: String = w.iter().collect();
            assert!(
                !output.contains(&piece),
                "{what} prints {piece:?} of a secret value"
            );
        }
    }
}

/// No face prints a secret: every format of `analyze` and `ci` (text, JSON, SARIF, Code
/// Quality, JUnit, Markdown, HTML), and the explorer's screen on every layer, for the image
/// buildah built and for the rules' image; what they show is the masked prefix and the length.
#[test]
fn no_output_prints_a_secret_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    rules_image(dir.path());
    let rules = dir.path().to_string_lossy().into_owned();
    let built = image_arg("secrets-oci");
    let values = all_values();
    for img in [&built, &rules] {
        let mut outputs = Vec::new();
        let mut runs: Vec<Vec<&str>> = Vec::new();
        for format in ["text", "json", "sarif", "codequality", "markdown", "html"] {
            runs.push(vec!["analyze", img.as_str(), "--format", format]);
        }
        for format in ["text", "json", "sarif", "codequality", "junit", "markdown"] {
            runs.push(vec!["ci", img.as_str(), "--format", format]);
        }
        for args in runs {
            let r = run(strata().args(&args));
            assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
            outputs.push((args.join(" "), r.stdout + &r.stderr));
        }
        for k in 0..4 {
            let keys = vec!["j"; k].join(" ");
            for script in [keys.clone(), format!("{keys} tab")] {
                let r = run(strata()
                    .arg(img)
                    .args(["--keys", &script, "--print", "--screen", "200x50"]));
                r.expect_code(0);
                outputs.push((format!("explorer {script:?}"), r.stdout));
            }
        }
        for (what, out) in &outputs {
            assert_no_value(&format!("{what} on {img}"), out, &values);
        }
        // What is shown instead: the masked prefix and the length.
        let text = &outputs[0].1;
        assert!(text.contains("characters)"), "{text}");
    }
    let text = &run(strata().args(["analyze", &built])).stdout;
    assert!(
        text.contains("|1 NPM_TOKEN=npm_…(40 characters) /bin/sh -c rm"),
        "{text}"
    );
    assert!(
        text.contains("a GitHub token (ghp_…, 40 characters)"),
        "{text}"
    );
}

/// The same findings from the layer cache as from a first read: the cache keeps the hits.
#[test]
fn the_layer_cache_keeps_the_secrets() {
    let cache = tempfile::tempdir().expect("tempdir");
    let img = image("secrets-oci");
    let img = img.to_str().expect("utf-8");
    let cached = |_: usize| {
        let r = run(strata()
            .env("STRATA_CACHE_DIR", cache.path())
            .args(["analyze", img, "--cache", "--format", "json"]));
        r.expect_code(0);
        secrets_of(&r.json())
    };
    let first = cached(0);
    assert!(!first.is_empty());
    assert!(
        fs::read_dir(cache.path())
            .expect("cache dir")
            .next()
            .is_some()
    );
    assert_eq!(cached(1), first);
}
