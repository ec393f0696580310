//! Small JSON blobs (indexes, manifests, configs): read with a size cap, verified against their
//! digest, parsed with messages that name the blob and serde's line and column.

use std::io::Read;

use serde::de::DeserializeOwned;

use super::store::{BlobStore, blob_path};
use crate::error::{BadDigest, Error, Hashed, NotAnImage, Result, Sized, TooLarge};
use crate::layer::{Algorithm, shown};

/// The largest JSON document strata reads; real manifests and configs are a few KiB.
pub(crate) const JSON_LIMIT: u64 = 16 << 20;

/// Reads a whole small file from a store, refusing anything over [`JSON_LIMIT`].
pub(crate) fn read_small(store: &dyn BlobStore, location: &str, what: &str) -> Result<Vec<u8>> {
    let (reader, len) = store.open(location)?;
    if len > JSON_LIMIT {
        return Err(Error::TooLarge {
            what: what.to_string(),
            limit: TooLarge::JsonDocument {
                size: Some(len),
                limit: JSON_LIMIT,
            },
        });
    }
    let mut bytes = Vec::new();
    reader
        .take(JSON_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read(what, e))?;
    if bytes.len() as u64 > JSON_LIMIT {
        return Err(Error::TooLarge {
            what: what.to_string(),
            limit: TooLarge::JsonDocument {
                size: None,
                limit: JSON_LIMIT,
            },
        });
    }
    Ok(bytes)
}

/// Checks `bytes` against a digest `alg:hex`: an error when it does not match, or when its
/// algorithm is not one strata can compute (the content would otherwise be taken on trust).
pub(crate) fn verify(bytes: &[u8], expected: &str, what: &str) -> Result<()> {
    let algorithm = Algorithm::of(expected).map_err(|alg| Error::BadDigest {
        what: what.to_string(),
        why: BadDigest::UnknownAlgorithm {
            digest: shown(expected),
            algorithm: shown(alg),
            verifies: Algorithm::NAMES,
        },
    })?;
    let found = algorithm.digest(bytes);
    if !found.eq_ignore_ascii_case(expected) {
        return Err(Error::Digest {
            what: what.to_string(),
            kind: Hashed::Digest,
            expected: expected.to_string(),
            found,
        });
    }
    Ok(())
}

/// Parses JSON; the error names `what` and carries serde's line and column.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::json(what, e))
}

/// Parses a JSON document that must be an object (an index, a manifest). serde reads a struct
/// from a list too, field by field, so `[]` would be an index that lists nothing; a list is the
/// only other document a struct parses from, and it starts with `[` (JSON allows only
/// whitespace before it).
pub(crate) fn parse_object<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    let value = parse_json(bytes, what)?;
    if bytes.trim_ascii_start().starts_with(b"[") {
        return Err(Error::NotAnImage {
            what: what.to_string(),
            why: NotAnImage::JsonList,
        });
    }
    Ok(value)
}

/// What becomes of a digest or size that does not match (or cannot be checked) on an index,
/// a manifest or a config: an error, or with `lenient` (`--ignore-errors`, `strata verify`) a
/// line in `gone_past` and the bytes used as they are, as dive and go-containerregistry do.
#[derive(Debug, Default)]
pub(crate) struct Integrity {
    pub lenient: bool,
    pub gone_past: Vec<String>,
}

impl Integrity {
    pub(crate) fn new(lenient: bool) -> Integrity {
        Integrity {
            lenient,
            gone_past: Vec::new(),
        }
    }

    /// Passes a check's result on, or notes its failure and goes past it when lenient.
    pub(crate) fn check(&mut self, result: Result<()>) -> Result<()> {
        match result {
            Err(e) if self.lenient => {
                self.gone_past.push(e.to_string());
                Ok(())
            }
            other => other,
        }
    }
}

/// Checks `bytes` against a descriptor's `size` (when given) and `digest`.
pub(crate) fn check_descriptor(
    bytes: &[u8],
    digest: &str,
    size: Option<u64>,
    what: &str,
    integrity: &mut Integrity,
) -> Result<()> {
    if let Some(size) = size
        && size != bytes.len() as u64
    {
        integrity.check(Err(Error::SizeMismatch {
            what: what.to_string(),
            of: Sized::Document,
            expected: size,
            found: bytes.len() as u64,
        }))?;
    }
    integrity.check(verify(bytes, digest, what))
}

/// Reads, size-checks and verifies a blob named by its descriptor. The returned bytes match
/// `digest` and `size` (when given), unless `integrity` went past a mismatch.
pub(crate) fn read_verified(
    store: &dyn BlobStore,
    digest: &str,
    size: Option<u64>,
    what: &str,
    integrity: &mut Integrity,
) -> Result<Vec<u8>> {
    let location = blob_path(digest, store.name())?;
    read_verified_at(store, &location, digest, size, what, integrity)
}

/// [`read_verified`] from a given location (a registry serves manifests apart from blobs).
pub(crate) fn read_verified_at(
    store: &dyn BlobStore,
    location: &str,
    digest: &str,
    size: Option<u64>,
    what: &str,
    integrity: &mut Integrity,
) -> Result<Vec<u8>> {
    let bytes = read_small(store, location, what)?;
    check_descriptor(&bytes, digest, size, what, integrity)?;
    Ok(bytes)
}

/// `sha256:ab12…` shortened for messages that list several digests.
pub(crate) fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::source::testutil::sha256;

    #[test]
    fn verify_accepts_match_and_rejects_mismatch() {
        let d = sha256(b"hello");
        verify(b"hello", &d, "x").unwrap();
        verify(b"hello", &d.to_uppercase().replace("SHA256", "sha256"), "x").unwrap();
        let err = verify(b"hellO", &d, "index.json").unwrap_err();
        assert!(matches!(err, Error::Digest { .. }));
        assert!(
            err.to_string().starts_with("index.json: digest mismatch"),
            "{err}"
        );
    }

    #[test]
    fn verify_checks_sha384_and_sha512() {
        // From Python's hashlib: hashlib.new(alg, b"hello").hexdigest().
        for digest in [
            "sha384:59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bd\
             f5f6a13de828684f",
            "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d\
             7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
        ] {
            verify(b"hello", digest, "x").unwrap();
            let err = verify(b"hellO", digest, "manifest")
                .unwrap_err()
                .to_string();
            let alg = digest.split_once(':').unwrap().0;
            assert!(err.starts_with("manifest: digest mismatch"), "{err}");
            assert!(err.contains(&format!("found {alg}:")), "{err}");
        }
    }

    #[test]
    fn verify_refuses_an_unknown_algorithm() {
        for (digest, alg) in [
            ("blake3:abcd", "blake3"),
            ("noalgorithm", "noalgorithm"),
            ("sha256+b64u:LCa0a2j", "sha256+b64u"),
        ] {
            let err = verify(b"hello", digest, "index.json").unwrap_err();
            let want = BadDigest::UnknownAlgorithm {
                digest: digest.to_string(),
                algorithm: alg.to_string(),
                verifies: "sha256, sha384 and sha512",
            };
            assert!(
                matches!(&err, Error::BadDigest { what, why } if what == "index.json" && *why == want),
                "{err:?}"
            );
        }
    }

    #[test]
    fn invalid_json_names_blob_and_position() {
        let err = parse_json::<serde_json::Value>(b"{\n  \"a\": ,\n}", "img.tar: manifest.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("img.tar: manifest.json: invalid JSON"),
            "{err}"
        );
        assert!(err.contains("line 2 column"), "{err}");
    }

    /// A control character in a digest is escaped in the value as in the line.
    #[test]
    fn an_unknown_algorithm_is_kept_escaped() {
        let err = verify(b"x", "bad\x1b[31m:00", "m").unwrap_err();
        let Error::BadDigest {
            why: BadDigest::UnknownAlgorithm {
                digest, algorithm, ..
            },
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(digest, "bad\\u{1b}[31m:00");
        assert_eq!(algorithm, "bad\\u{1b}[31m");
        assert!(!err.to_string().contains('\x1b'));
    }

    #[test]
    fn a_list_is_not_an_object() {
        #[derive(Debug, serde::Deserialize)]
        struct Doc {
            #[allow(dead_code)]
            manifests: Option<Vec<u8>>,
        }
        let err = parse_object::<Doc>(b" \n[null]", "index.json").unwrap_err();
        assert!(
            matches!(&err, Error::NotAnImage { what, why: NotAnImage::JsonList } if what == "index.json"),
            "{err:?}"
        );
    }
}
