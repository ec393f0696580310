//! The catalogue beyond the waste: each rule on a filesystem or layers made for it, with the
//! expected paths, counts and bytes computed here from what the test put in.

use super::*;
use crate::analysis::LayerSummary;
use crate::analysis::packages::{Manager, Package};
use crate::layer::Compression;
use crate::overlay::testkit::{E, build};

/// A layer summary with its command and the bytes it ships.
fn summary(index: usize, created_by: &str, shipped: u64) -> LayerSummary {
    LayerSummary {
        index,
        digest: None,
        diff_id: None,
        created_by: Some(created_by.to_string()),
        comment: None,
        compression: Compression::Gzip,
        compressed_bytes: 0,
        tar_bytes: 0,
        shipped_bytes: shipped,
        wasted_bytes: 0,
        hidden_lower_bytes: 0,
        entries: 0,
        added: 0,
        modified: 0,
        metadata_only: 0,
        removed: 0,
        whiteouts: 0,
        opaque_dirs: 0,
        packages: Vec::new(),
        source: None,
        base: None,
    }
}

#[test]
fn setuid_and_world_writable_paths_are_found_outside_the_temporary_directories() {
    let fs = build(&[&[
        E::Dir("usr"),
        E::Dir("usr/bin"),
        E::FileMode("usr/bin/su", "suid", 0o4755),
        E::FileMode("usr/bin/wall", "sgid", 0o2755),
        E::FileMode("usr/bin/ls", "plain", 0o755),
        E::DirMode("tmp", 0o1777),
        E::FileMode("tmp/scratch", "anyone", 0o666),
        E::DirMode("data", 0o777),
        E::FileMode("app.conf", "anyone!", 0o666),
        E::Sym("link", "app.conf"),
    ]]);
    let found = final_walk(&fs).0;
    let setuid = found
        .iter()
        .find(|f| f.kind == FindingKind::SetuidFile)
        .expect("setuid");
    assert_eq!(setuid.files, 2);
    assert_eq!(setuid.bytes, ("suid".len() + "sgid".len()) as u64);
    assert_eq!(setuid.paths, ["/usr/bin/su", "/usr/bin/wall"]);
    assert_eq!(setuid.severity, Severity::Note);
    let writable = found
        .iter()
        .find(|f| f.kind == FindingKind::WorldWritable)
        .expect("world-writable");
    // /tmp is sticky and skipped with what is in it; a symlink's mode means nothing.
    assert_eq!(writable.paths, ["/app.conf", "/data"]);
    assert_eq!(writable.files, 2);
    assert_eq!(writable.severity, Severity::Warning);
    // Nothing of the kind: nothing found.
    let clean = build(&[&[E::Dir("tmp"), E::FileMode("bin", "x", 0o755)]]);
    assert!(final_walk(&clean).0.is_empty());
}

#[test]
fn the_config_says_who_runs_and_whether_health_is_checked() {
    let kinds = |config: serde_json::Value| -> Vec<FindingKind> {
        config_findings(&config, &[])
            .iter()
            .map(|f| f.kind)
            .collect()
    };
    let hc = serde_json::json!({"Test": ["CMD", "true"]});
    assert_eq!(
        kinds(serde_json::json!({"config": {}})),
        [FindingKind::RunsAsRoot, FindingKind::NoHealthcheck]
    );
    assert_eq!(
        kinds(serde_json::json!({"config": {"User": "app", "Healthcheck": hc}})),
        []
    );
    assert_eq!(
        kinds(serde_json::json!({"config": {"User": "0:0", "Healthcheck": hc}})),
        [FindingKind::RunsAsRoot]
    );
    assert_eq!(
        kinds(serde_json::json!({"config": {"User": "1000", "Healthcheck": {"Test": ["NONE"]}}})),
        [FindingKind::NoHealthcheck]
    );
    // No config at all (a synthetic image): nothing said of it.
    assert_eq!(kinds(serde_json::Value::Null), []);
}

#[test]
fn large_layers_and_many_layers_are_notes() {
    let config =
        serde_json::json!({"config": {"User": "app", "Healthcheck": {"Test": ["CMD", "true"]}}});
    let mut layers: Vec<LayerSummary> = (0..MANY_LAYERS)
        .map(|k| summary(k, "RUN true", 10))
        .collect();
    layers[3].shipped_bytes = LARGE_LAYER + 1;
    let found = config_findings(&config, &layers);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind, FindingKind::LargeLayer);
    assert_eq!(found[0].shipped_by, Some(3));
    assert_eq!(found[0].bytes, LARGE_LAYER + 1);
    layers.push(summary(MANY_LAYERS, "RUN true", 10));
    let found = config_findings(&config, &layers);
    let many = found
        .iter()
        .find(|f| f.kind == FindingKind::ManyLayers)
        .expect("many layers");
    assert_eq!(many.value.as_deref(), Some("51"));
    assert_eq!(many.severity, Severity::Note);
}

#[test]
fn a_copy_of_the_context_before_an_install_is_a_cache_order_finding() {
    let layers = [
        summary(0, "/bin/sh -c #(nop) ADD file:abc in / ", 5_000_000),
        summary(1, "COPY . /app # buildkit", 2_000),
        summary(2, "RUN /bin/sh -c npm ci # buildkit", 3_000_000),
        summary(3, "RUN /bin/sh -c npm run build # buildkit", 10),
    ];
    let found = cache_order(&layers);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!((f.trigger, f.shipped_by), (Some(1), Some(2)));
    assert_eq!(f.bytes, 3_000_000);
    assert_eq!(f.value.as_deref(), Some("npm ci"));
    assert_eq!(f.severity, Severity::Warning);
    // Manifests first, then the install, then the sources: nothing to say.
    let good = [
        summary(0, "COPY package.json package-lock.json ./ # buildkit", 100),
        summary(1, "RUN /bin/sh -c npm ci # buildkit", 3_000_000),
        summary(2, "COPY . . # buildkit", 2_000),
    ];
    assert!(cache_order(&good).is_empty());
    // A classic builder's history hides the sources (`COPY dir:…`): nothing is guessed.
    let classic = [
        summary(0, "/bin/sh -c #(nop) COPY dir:0123 in /app ", 2_000),
        summary(1, "/bin/sh -c npm ci", 3_000_000),
    ];
    assert!(cache_order(&classic).is_empty());
}

#[test]
fn context_files_copied_in_are_leaks_with_their_dockerignore_lines() {
    let fs = build(&[
        &[
            E::Dir("usr"),
            E::Dir("usr/lib"),
            E::Dir("usr/lib/node_modules"),
            E::File("usr/lib/node_modules/npm", "npm"),
        ],
        &[
            E::Dir("app"),
            E::Dir("app/.git"),
            E::File("app/.git/HEAD", "ref: refs/heads/main\n"),
            E::File("app/.git/config", "[core]\n"),
            E::File("app/.env", "TOKEN=x\n"),
            E::File("app/.env.example", "TOKEN=\n"),
            E::File("app/Dockerfile", "FROM x\n"),
            E::File("app/main.js", "console.log(1)\n"),
        ],
    ]);
    let layers = [
        summary(0, "/bin/sh -c #(nop) ADD file:abc in / ", 3),
        summary(1, "/bin/sh -c #(nop) COPY dir:0123 in /app ", 60),
    ];
    let leaks = final_walk(&fs).1;
    let f = context_leaked(&leaks, &layers, &[]).expect("a leak");
    // The base's node_modules came with its root filesystem: not the context's.
    let git = "ref: refs/heads/main\n".len() + "[core]\n".len();
    let env = "TOKEN=x\n".len();
    let dockerfile = "FROM x\n".len();
    assert_eq!(f.bytes, (git + env + dockerfile) as u64);
    assert_eq!(f.files, 4);
    assert_eq!(f.shipped_by, Some(1));
    assert_eq!(f.value.as_deref(), Some("**/.env\n.git\nDockerfile"));
    assert_eq!(f.paths, ["/app/.git", "/app/.env", "/app/Dockerfile"]);
    assert_eq!(f.severity, Severity::Error, "an .env is an error");
    // The same files from a RUN (git clone in the build) are no leak of the context.
    let run = [
        summary(0, "/bin/sh -c #(nop) ADD file:abc in / ", 3),
        summary(1, "/bin/sh -c git clone https://example.org/x /app", 60),
    ];
    assert!(context_leaked(&leaks, &run, &[]).is_none());
    // A `COPY --from` of a stage that copied the context carries its files.
    let staged = [
        summary(0, "/bin/sh -c #(nop) ADD file:abc in / ", 3),
        summary(1, "COPY --from=build /src /app # buildkit", 60),
    ];
    assert!(context_leaked(&leaks, &staged, &[]).is_none());
    let via = [false, true];
    let f = context_leaked(&leaks, &staged, &via).expect("a leak through the stage");
    assert_eq!(f.paths, ["/app/.git", "/app/.env", "/app/Dockerfile"]);
    assert_eq!(f.shipped_by, Some(1));
}

#[test]
fn a_copy_from_a_stage_that_copied_the_context_is_told_from_other_copies() {
    let dockerfile = crate::dockerfile::parse::parse(
        "FROM golang:1.22 AS deps\n\
         COPY go.mod go.sum ./\n\
         RUN go mod download\n\
         FROM deps AS Build\n\
         COPY . /src\n\
         RUN go build -o /out/app ./...\n\
         FROM build AS test\n\
         RUN go test ./...\n\
         FROM alpine:3.20 AS assets\n\
         COPY static/ /static/\n\
         FROM alpine:3.20\n\
         COPY --from=assets /static /static\n\
         COPY --from=test /src /src\n\
         COPY --from=1 /out/app /app\n\
         COPY --from=deps /go/pkg /go/pkg\n\
         COPY --from=alpine:3.20 /etc/apk /etc/apk\n\
         COPY --from=9 /x /x\n\
         ADD . /ctx\n",
    )
    .expect("parses");
    let copied = |i: &str| context_stage(&dockerfile, i);
    // A stage that copied the context, named in any case or by index, or one starting FROM
    // it; the label is the stage the copy names.
    assert_eq!(
        copied("COPY --from=build /src /src").as_deref(),
        Some("build")
    );
    assert_eq!(
        copied("copy --from=BUILD /src /src").as_deref(),
        Some("build")
    );
    assert_eq!(
        copied("COPY --from=test /src /src").as_deref(),
        Some("test")
    );
    assert_eq!(
        copied("COPY --chown=1:1 --from=1 /out/app /app").as_deref(),
        Some("build")
    );
    // Stages that copied only named files, images, stages that do not exist, other words.
    for no in [
        "COPY --from=assets /static /static",
        "COPY --from=deps /go/pkg /go/pkg",
        "COPY --from=alpine:3.20 /etc/apk /etc/apk",
        "COPY --from=9 /x /x",
        "COPY . /ctx",
        "RUN --from=build true",
        "COPY /src --from=build /dst",
    ] {
        assert_eq!(copied(no), None, "{no}");
    }
}

#[test]
fn identical_large_files_are_duplicates_a_hard_link_would_spare() {
    let big: &'static str = Box::leak("x".repeat(600 << 10).into_boxed_str());
    let other: &'static str = Box::leak("y".repeat(600 << 10).into_boxed_str());
    let fs = build(&[
        &[E::File("a/lib.so", big), E::File("b/other", other)],
        &[
            E::File("c/lib.so", big),
            E::Hard("c/link", "c/lib.so"),
            E::File("d/lib.so", big),
        ],
    ]);
    let found = duplicates(&fs);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    // Three objects hold the bytes (the hard link shares one): two copies too many.
    assert_eq!(f.files, 3);
    assert_eq!(f.bytes, 2 * big.len() as u64);
    assert_eq!(f.paths, ["/a/lib.so", "/c/lib.so", "/d/lib.so"]);
    assert_eq!(f.shipped_by, Some(1));
    // One copy too many of 600 KiB is under the megabyte reported.
    let fs = build(&[&[E::File("a/x", big), E::File("b/x", big)]]);
    assert!(duplicates(&fs).is_empty());
}

#[test]
fn build_time_packages_left_in_are_one_finding() {
    let package = |name: &str, bytes: u64, build: bool, layer: usize| Package {
        manager: Manager::Dpkg,
        name: name.into(),
        version: "1".into(),
        arch: None,
        layer: Some(layer),
        layers: vec![layer],
        files: 2,
        visible_bytes: bytes,
        wasted_bytes: 0,
        build_time: build,
    };
    let packages = [
        package("libc6", 9_000_000, false, 0),
        package("cpp-12", 35_000_000, true, 1),
        package("gcc-12", 70_000_000, true, 1),
        package("make", 1_500_000, true, 2),
    ];
    let f = build_toolchain(&packages).expect("toolchain");
    assert_eq!(f.bytes, 106_500_000);
    assert_eq!(f.packages, ["gcc-12", "cpp-12", "make"]);
    assert_eq!(f.files, 6);
    assert_eq!(f.shipped_by, Some(1));
    assert!(build_toolchain(&packages[..1]).is_none());
}

#[test]
fn ids_are_stable_and_round_trip() {
    for k in FindingKind::ALL {
        assert_eq!(FindingKind::from_id(k.id()), Some(k));
        // The JSON kind is the id with underscores.
        let json = serde_json::to_value(k).expect("json");
        assert_eq!(
            json.as_str().map(|s| s.replace('_', "-")).as_deref(),
            Some(k.id())
        );
    }
    assert_eq!(Severity::parse("Warning"), Some(Severity::Warning));
    assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Note);
}

/// A mode finding names the layer that set the mode, so that reports point at the line that
/// ran the chmod (on a buildah image they pointed at the image, not at its `RUN`): of its
/// paths, the layer most set, the first of equals. A later layer that carries a path again
/// with the same mode (a parent directory repeated, as builders do; a rewrite) did not set it.
#[test]
fn mode_findings_name_the_layer_that_set_the_mode() {
    let fs = build(&[
        &[
            E::Dir("usr"),
            E::Dir("usr/bin"),
            E::FileMode("usr/bin/su", "suid", 0o4755),
        ],
        &[E::Dir("app"), E::FileMode("app/a.log", "", 0o644)],
        &[
            E::Dir("app"),
            E::FileMode("app/a.log", "", 0o666),
            E::DirMode("app/up", 0o777),
            E::Dir("usr"),
            E::Dir("usr/local"),
            E::Dir("usr/local/bin"),
            E::FileMode("usr/local/bin/tool", "tool", 0o4755),
            E::FileMode("usr/local/bin/tool2", "tool2", 0o2755),
        ],
        &[
            E::Dir("app"),
            E::DirMode("app/up", 0o777),
            E::FileMode("app/up/x", "x", 0o644),
            E::FileMode("app/a.log", "rewritten", 0o666),
        ],
        &[
            E::FileMode("b.log", "", 0o666),
            E::FileMode("c.log", "", 0o666),
        ],
    ]);
    let found = final_walk(&fs).0;
    let layer_of = |kind: FindingKind| {
        found
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.shipped_by)
            .expect("found")
    };
    // su from layer 0; tool and tool2 from layer 2.
    assert_eq!(layer_of(FindingKind::SetuidFile), Some(2));
    // a.log and up from layer 2 (not 3, which repeats up and rewrites a.log with its mode),
    // b.log and c.log from layer 4: two each, the first of equals.
    assert_eq!(layer_of(FindingKind::WorldWritable), Some(2));
}
