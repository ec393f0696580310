//! Secrets: in the files of any layer (found as the layers were read, `layer::secrets`), and in
//! the config where anyone who pulls the image reads them (`docker inspect`, `docker history`):
//! `Env`, labels, and the history's commands (a build argument shows there as
//! `|1 TOKEN=… /bin/sh -c …`).
//!
//! A file's secret is a finding whether the final filesystem still holds it or a later layer
//! deleted it: the layer that shipped it still does, and anyone who pulls the image gets it.
//! Nothing here holds a secret's value: the hits carry its length and masked prefix only.

use hashbrown::HashMap;
use serde::Serialize;
use serde_json::Value;

use super::{Finding, FindingKind, Severity};
use crate::layer::LayerScan;
use crate::layer::secrets::{self, Rule, TextSecret};
use crate::overlay::{Fs, NodeId, ROOT};

/// Where a secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// A file a layer ships (the finding's `paths`).
    File,
    /// The config's `Env`.
    Env,
    /// The config's `Labels`.
    Label,
    /// A history entry's `created_by` or `comment`.
    History,
    /// A build argument the image's provenance attestation records (`--build-arg`).
    BuildArg,
}

/// What a secret finding says of its secret: never the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Secret {
    /// The rule that found it (`private-key`, `github-token`, `dotenv`… `credential` for a name
    /// that says it is one).
    pub rule: &'static str,
    pub place: Place,
    /// The variable's, label's or build argument's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The history entry (from 0, empty layers counted), for [`Place::History`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<usize>,
    /// Byte offset of the (first) value in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// At most its first 4 characters, fewer for a short value, none of a private key.
    pub prefix: String,
    /// Its length in bytes.
    pub length: u64,
    /// How many the rule found in the file, or how many history entries repeat it.
    pub count: u64,
}

/// One finding per rule and file of every layer, with the layer that shipped it and the one
/// that deleted (or replaced) it, if one did; and a warning per layer with more hits than kept.
#[must_use]
pub fn file_secrets(fs: &Fs, scans: &[LayerScan]) -> (Vec<Finding>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (k, scan) in scans.iter().enumerate() {
        for hit in scan.secrets.hits() {
            let node = node_of(fs, &hit.path);
            let hidden_by = node.and_then(|n| hidden(fs, n, k, hit.hash));
            let path = node.map_or_else(
                || crate::overlay::path::display(&crate::overlay::path::components(&hit.path)),
                |n| fs.path(n),
            );
            out.push(Finding {
                shipped_by: Some(k),
                hidden_by,
                paths: vec![path],
                files: 1,
                secret: Some(Secret {
                    rule: hit.rule.id(),
                    place: Place::File,
                    name: None,
                    entry: None,
                    offset: Some(hit.offset),
                    prefix: hit.prefix().to_string(),
                    length: u64::from(hit.len),
                    count: u64::from(hit.count),
                }),
                ..Finding::new(FindingKind::Secret, Severity::Error)
            });
        }
        if scan.secrets.dropped > 0 {
            warnings.push(format!(
                "layer {k}: {} more secrets found than strata keeps per layer ({}): the first \
                 are reported",
                scan.secrets.dropped,
                secrets::MAX_HITS
            ));
        }
    }
    (out, warnings)
}

/// The node a tar name is, looked up literally as the layer wrote it.
fn node_of(fs: &Fs, name: &[u8]) -> Option<NodeId> {
    let mut node = ROOT;
    for part in crate::overlay::path::components(name) {
        node = fs.child(node, part)?;
    }
    (node != ROOT).then_some(node)
}

/// The layer that made the bytes layer `k` shipped at `node` (content hash `hash`)
/// unreachable: `k` itself when it shipped the path again, over them.
fn hidden(fs: &Fs, node: NodeId, k: usize, hash: u64) -> Option<usize> {
    let state = fs.event_at(node, k).and_then(|e| fs.event_state(e))?;
    if state.hash != hash {
        return Some(k);
    }
    let object = fs.object(state.object()?);
    if object.visible() {
        None
    } else {
        object.killed_by().map(usize::from)
    }
}

/// The secrets the config shows: each `Env` value and label named as a credential or holding
/// a token, and each secret in the history's commands (one finding per value, however many
/// entries repeat it; none for a value the `Env` or a label already reported); then each
/// build argument of the provenance attestation (`args`, BuildKit's `--build-arg`s, which
/// anyone who pulls the image's attestations reads) that is one, unless the config showed
/// its value already. `layers` is the image's layer count, to name the layer of a history
/// entry.
#[must_use]
pub fn config_secrets(config: &Value, layers: usize, args: &[(String, String)]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    // Each value's finding, by the value: a config may repeat one in thousands of history
    // entries, and a lookup keeps that linear.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let run = config.get("config");
    let env = run
        .and_then(|c| c.get("Env"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|e| e.split_once('='));
    let labels = run
        .and_then(|c| c.get("Labels"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)));
    for (place, (name, value)) in env
        .map(|p| (Place::Env, p))
        .chain(labels.map(|p| (Place::Label, p)))
    {
        named_value(&mut out, &mut seen, place, name, value);
    }
    let history = config
        .get("history")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let empty = |h: &Value| h.get("empty_layer").and_then(Value::as_bool) == Some(true);
    // History entries name layers only when those that make one are as many as the layers
    // (as the loader pairs them).
    let mapped = history.iter().filter(|h| !empty(h)).count() == layers;
    let mut layer = 0;
    for (entry, h) in history.iter().enumerate() {
        let made = (!empty(h)).then_some(layer);
        if made.is_some() {
            layer += 1;
        }
        for field in ["created_by", "comment"] {
            let Some(text) = h.get(field).and_then(Value::as_str) else {
                continue;
            };
            for f in secrets::in_text(text) {
                let value = &text[f.value.clone()];
                if let Some(&i) = seen.get(value) {
                    if let Some(s) = out[i].secret.as_mut()
                        && s.place == Place::History
                    {
                        s.count += 1;
                    }
                    continue;
                }
                let name = f.name.clone().map(|r| text[r].to_string());
                let secret = text_secret(&f, Place::History, name, Some(entry));
                let shipped = made.filter(|_| mapped);
                add(&mut out, &mut seen, value, config_finding(secret, shipped));
            }
        }
    }
    for (name, value) in args {
        if !seen.contains_key(value.as_str()) {
            named_value(&mut out, &mut seen, Place::BuildArg, name, value);
        }
    }
    out
}

/// The secrets of one named value (an `Env` variable, a label, a build argument): the tokens
/// in it, or the whole value when its name says it is a credential and it looks like one.
fn named_value(
    out: &mut Vec<Finding>,
    seen: &mut HashMap<String, usize>,
    place: Place,
    name: &str,
    value: &str,
) {
    let found = secrets::in_text(value);
    if found.is_empty() {
        if secrets::credential_name(name) && secrets::credential_value(value.as_bytes()) {
            let (prefix, n) = secrets::masked_prefix(value.as_bytes(), value.len(), true);
            let prefix = String::from_utf8_lossy(&prefix[..usize::from(n)]).into_owned();
            let secret = Secret {
                rule: Rule::NamedCredential.id(),
                place,
                name: Some(name.to_string()),
                entry: None,
                offset: None,
                prefix,
                length: value.len() as u64,
                count: 1,
            };
            add(out, seen, value, config_finding(secret, None));
        }
        return;
    }
    for f in found {
        let inner = f.name.clone().map(|r| value[r].to_string());
        let secret = text_secret(&f, place, inner.or_else(|| Some(name.to_string())), None);
        add(
            out,
            seen,
            &value[f.value.clone()],
            config_finding(secret, None),
        );
    }
}

/// Keeps finding `f` of secret `value`, remembering where the value's first finding is.
fn add(out: &mut Vec<Finding>, seen: &mut HashMap<String, usize>, value: &str, f: Finding) {
    seen.entry(value.to_string()).or_insert(out.len());
    out.push(f);
}

/// The facts of a secret found in a string of the config.
fn text_secret(f: &TextSecret, place: Place, name: Option<String>, entry: Option<usize>) -> Secret {
    Secret {
        rule: f.rule.id(),
        place,
        name,
        entry,
        offset: None,
        prefix: f.prefix.clone(),
        length: f.value.len() as u64,
        count: 1,
    }
}

fn config_finding(secret: Secret, layer: Option<usize>) -> Finding {
    Finding {
        shipped_by: layer,
        secret: Some(secret),
        ..Finding::new(FindingKind::SecretInConfig, Severity::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::secrets::Hit;
    use crate::overlay::testkit::{E, build, layer};

    /// A fake token of the GitHub shape: `ghp_` and 36 characters, made here.
    fn github() -> String {
        format!("ghp_{}", "a1B2".repeat(9))
    }

    #[test]
    fn a_file_secret_is_found_in_its_layer_deleted_or_not() {
        let layers: [&[E]; 3] = [
            &[E::File("keep", "k"), E::File("app/.env", "PASSWORD=x")],
            &[E::File("root/key", "KEY"), E::File("app/creds", "AKIA")],
            &[E::Wh("root/key")],
        ];
        let fs = build(&layers);
        let mut scans: Vec<LayerScan> = layers.iter().map(|l| layer(l)).collect();
        let hash = |c: &str| twox_hash::XxHash3_64::oneshot(c.as_bytes());
        let mut hit = |k: usize, path: &str, rule, content: &str| {
            let mut h = Hit::new(path.into(), rule, 3, 20, b"AKIAIOSF");
            h.hash = hash(content);
            scans[k].secrets.push(h);
        };
        hit(1, "root/key", Rule::PrivateKey, "KEY");
        hit(1, "app/creds", Rule::AwsAccessKeyId, "AKIA");
        // A hash no copy of the path has: that copy was shipped again over in its own layer.
        hit(0, "app/.env", Rule::Dotenv, "PASSWORD=y");
        let (found, warnings) = file_secrets(&fs, &scans);
        assert!(warnings.is_empty());
        let got: Vec<(Option<usize>, Option<usize>, &str, &str)> = found
            .iter()
            .map(|f| {
                let s = f.secret.as_ref().expect("secret");
                (f.shipped_by, f.hidden_by, f.paths[0].as_str(), s.rule)
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some(0), Some(0), "/app/.env", "dotenv"),
                (Some(1), Some(2), "/root/key", "private-key"),
                (Some(1), None, "/app/creds", "aws-access-key-id"),
            ]
        );
        assert!(found.iter().all(|f| f.severity == Severity::Error));
        // 20 characters: a quarter is shown, no more than 4.
        assert_eq!(
            found[2].secret.as_ref().map(|s| s.prefix.as_str()),
            Some("AKIA")
        );
    }

    #[test]
    fn env_labels_and_build_arguments_are_found_once_each() {
        let token = github();
        let config = serde_json::json!({
            "config": {
                "Env": [
                    "PATH=/usr/bin",
                    format!("GITHUB_TOKEN={token}"),
                    "DB_PASSWORD=hunter22",
                    "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
                    "API_KEY=",
                    "NPM_TOKEN=${NPM_TOKEN}",
                ],
                "Labels": {"maintainer": "me", "deploy.secret": "s3cr3t-value"}
            },
            "history": [
                {"created_by": "ADD rootfs.tar /"},
                {"created_by": format!("ENV GITHUB_TOKEN={token}"), "empty_layer": true},
                {"created_by": "|1 NPM_TOKEN=abcdefgh12345678 /bin/sh -c npm ci"},
                {"created_by": "|1 NPM_TOKEN=abcdefgh12345678 /bin/sh -c npm run build"},
            ]
        });
        let found = config_secrets(&config, 3, &[]);
        type Facts<'a> = (
            Place,
            &'a str,
            Option<&'a str>,
            Option<usize>,
            u64,
            u64,
            &'a str,
        );
        let got: Vec<Facts<'_>> = found
            .iter()
            .map(|f| {
                let s = f.secret.as_ref().expect("secret");
                (
                    s.place,
                    s.rule,
                    s.name.as_deref(),
                    f.shipped_by,
                    s.length,
                    s.count,
                    s.prefix.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    Place::Env,
                    "github-token",
                    Some("GITHUB_TOKEN"),
                    None,
                    40,
                    1,
                    "ghp_"
                ),
                (
                    Place::Env,
                    "credential",
                    Some("DB_PASSWORD"),
                    None,
                    8,
                    1,
                    "hu"
                ),
                (
                    Place::Label,
                    "credential",
                    Some("deploy.secret"),
                    None,
                    12,
                    1,
                    "s3c"
                ),
                // Two RUN steps repeat the build argument: one finding, on the first.
                (
                    Place::History,
                    "credential",
                    Some("NPM_TOKEN"),
                    Some(1),
                    16,
                    2,
                    "abcd"
                ),
            ]
        );
        assert_eq!(found[3].secret.as_ref().and_then(|s| s.entry), Some(2));
        // Without a pairing of history and layers, no layer is named.
        assert_eq!(config_secrets(&config, 5, &[])[3].shipped_by, None);
    }

    #[test]
    fn build_arguments_of_the_provenance_are_read_as_env_is() {
        let token = github();
        // BuildKit records `--build-arg`s in its provenance only; this image's history never
        // shows them, except NPM_TOKEN, whose RUN the history records.
        let config = serde_json::json!({
            "history": [{"created_by": "|1 NPM_TOKEN=abcdefgh12345678 /bin/sh -c npm ci"}]
        });
        let args: Vec<(String, String)> = [
            ("VERSION", "1.2.3"),
            ("GH_TOKEN", token.as_str()),
            ("DB_PASSWORD", "hunter22"),
            ("NPM_TOKEN", "abcdefgh12345678"),
            ("API_KEY", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let found = config_secrets(&config, 1, &args);
        let got: Vec<(Place, &str, Option<&str>, u64)> = found
            .iter()
            .map(|f| {
                let s = f.secret.as_ref().expect("secret");
                (s.place, s.rule, s.name.as_deref(), s.length)
            })
            .collect();
        assert_eq!(
            got,
            [
                (Place::History, "credential", Some("NPM_TOKEN"), 16),
                (Place::BuildArg, "github-token", Some("GH_TOKEN"), 40),
                (Place::BuildArg, "credential", Some("DB_PASSWORD"), 8),
            ]
        );
        // The history's entry made the one layer; a build argument is no layer's.
        let layers: Vec<Option<usize>> = found.iter().map(|f| f.shipped_by).collect();
        assert_eq!(layers, [Some(0), None, None]);
        let json = serde_json::to_value(found[1].secret.as_ref().expect("secret"));
        assert_eq!(
            json.ok()
                .and_then(|v| v["place"].as_str().map(String::from))
                .as_deref(),
            Some("build_arg")
        );
    }
}
