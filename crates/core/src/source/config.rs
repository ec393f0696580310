//! The image config, read leniently: `rootfs.diff_ids`, `history` and the platform, from JSON
//! that real tools write with missing fields, odd digests and wrong types.
//!
//! Fields are picked out of a [`serde_json::Value`] by hand: a field with an unexpected type is
//! treated as absent instead of failing the whole image.

use serde_json::Value;

use crate::error::{Error, NotAnImage, Result};
use crate::image::{LayerRef, Platform};

/// One `history` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct History {
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub created: Option<String>,
    pub empty_layer: bool,
}

/// What strata reads from a config.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub value: Value,
    /// `rootfs.diff_ids`, if present as a list of strings.
    pub diff_ids: Option<Vec<String>>,
    pub history: Vec<History>,
    /// `os`/`architecture`/`variant`, if both of the first two are present.
    pub platform: Option<Platform>,
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Parses a config blob; only invalid JSON or a non-object is an error.
pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<Config> {
    let value: Value = super::blob::parse_json(bytes, what)?;
    if !value.is_object() {
        return Err(Error::NotAnImage {
            what: what.to_string(),
            why: NotAnImage::ConfigNotObject,
        });
    }
    let diff_ids = value
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .map(|id| id.as_str().unwrap_or_default().to_string())
                .collect()
        });
    let history = value
        .get("history")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|h| History {
                    created_by: string(h, "created_by"),
                    comment: string(h, "comment"),
                    created: string(h, "created"),
                    empty_layer: h.get("empty_layer").and_then(Value::as_bool) == Some(true),
                })
                .collect()
        })
        .unwrap_or_default();
    let platform = match (string(&value, "os"), string(&value, "architecture")) {
        (Some(os), Some(architecture)) if !os.is_empty() && !architecture.is_empty() => {
            Some(Platform {
                os,
                architecture,
                variant: string(&value, "variant").filter(|v| !v.is_empty()),
            })
        }
        _ => None,
    };
    Ok(Config {
        value,
        diff_ids,
        history,
        platform,
    })
}

/// Fills each layer's `diff_id` and history from the config.
///
/// - `diff_ids`: when their count differs from the layers', the pairing is unknowable: strata
///   warns and leaves every `diff_id` empty (the engine then checks only blob digests) rather
///   than refuse an image it can still show. A runtime would refuse it; the warning says so.
/// - History: entries with `empty_layer: true` make no layer. When the remaining count differs
///   from the layers', strata warns and maps none, rather than shift commands onto wrong layers.
pub(crate) fn apply(config: &Config, layers: &mut [LayerRef], warnings: &mut Vec<String>) {
    match &config.diff_ids {
        Some(ids) if ids.len() == layers.len() => {
            for (layer, id) in layers.iter_mut().zip(ids) {
                layer.diff_id = Some(id.clone()).filter(|id| !id.is_empty());
            }
        }
        Some(ids) => warnings.push(format!(
            "config lists {} diff_ids for {} layers: layer contents are not checked against \
             the config, and a container runtime would refuse this image",
            ids.len(),
            layers.len()
        )),
        None => warnings.push(
            "config has no rootfs.diff_ids: layer contents are not checked against the config"
                .to_string(),
        ),
    }

    let made_layers: Vec<&History> = config.history.iter().filter(|h| !h.empty_layer).collect();
    if made_layers.len() == layers.len() {
        for (layer, h) in layers.iter_mut().zip(made_layers) {
            layer.created_by.clone_from(&h.created_by);
            layer.comment.clone_from(&h.comment);
            layer.created.clone_from(&h.created);
        }
    } else if !config.history.is_empty() {
        let (made, n) = (made_layers.len(), layers.len());
        warnings.push(format!(
            "config history has {made} {} that make layers, but the image has {n} {}: \
             commands are not shown per layer",
            if made == 1 { "entry" } else { "entries" },
            if n == 1 { "layer" } else { "layers" },
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layers(n: usize) -> Vec<LayerRef> {
        (0..n)
            .map(|index| LayerRef::at(index, format!("l{index}")))
            .collect()
    }

    fn cfg(v: Value) -> Config {
        parse(v.to_string().as_bytes(), "config").unwrap()
    }

    #[test]
    fn history_skips_empty_layers() {
        let c = cfg(json!({
            "rootfs": {"diff_ids": ["sha256:a", "sha256:b"]},
            "history": [
                {"created_by": "ADD base", "created": "2024-01-01T00:00:00Z"},
                {"created_by": "ENV X=1", "empty_layer": true},
                {"created_by": "RUN make", "comment": "buildkit"},
                {"created_by": "CMD [\"sh\"]", "empty_layer": true},
            ],
        }));
        let mut l = layers(2);
        let mut w = Vec::new();
        apply(&c, &mut l, &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(l[0].created_by.as_deref(), Some("ADD base"));
        assert_eq!(l[0].created.as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(l[1].created_by.as_deref(), Some("RUN make"));
        assert_eq!(l[1].comment.as_deref(), Some("buildkit"));
        assert_eq!(l[1].diff_id.as_deref(), Some("sha256:b"));
    }

    #[test]
    fn history_mismatch_warns_and_maps_nothing() {
        let c = cfg(json!({
            "rootfs": {"diff_ids": ["sha256:a", "sha256:b"]},
            "history": [{"created_by": "ADD base"}, {"created_by": "RUN a"}, {"created_by": "RUN b"}],
        }));
        let mut l = layers(2);
        let mut w = Vec::new();
        apply(&c, &mut l, &mut w);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("3 entries") && w[0].contains("2 layers"),
            "{w:?}"
        );
        assert!(l.iter().all(|l| l.created_by.is_none()));
        assert_eq!(l[0].diff_id.as_deref(), Some("sha256:a"));
    }

    #[test]
    fn diff_ids_mismatch_warns_and_sets_none() {
        let c = cfg(json!({"rootfs": {"diff_ids": ["sha256:a"]}}));
        let mut l = layers(2);
        let mut w = Vec::new();
        apply(&c, &mut l, &mut w);
        assert!(
            w.iter().any(|w| w.contains("1 diff_ids for 2 layers")),
            "{w:?}"
        );
        assert!(l.iter().all(|l| l.diff_id.is_none()));
    }

    #[test]
    fn lenient_about_missing_and_mistyped_fields() {
        let c = cfg(json!({"architecture": 5, "history": "nope", "rootfs": {"diff_ids": [1]}}));
        assert!(c.platform.is_none());
        assert!(c.history.is_empty());
        assert_eq!(c.diff_ids, Some(vec![String::new()]));
        let c = cfg(json!({"os": "linux", "architecture": "arm", "variant": "v7"}));
        assert_eq!(c.platform.unwrap().to_string(), "linux/arm/v7");
        assert!(
            parse(b"[1]", "cfg")
                .unwrap_err()
                .to_string()
                .contains("not a JSON object")
        );
    }
}
