//! Images where users keep them, against real servers on this machine: Debian's
//! `docker-registry` on loopback (anonymous, htpasswd basic auth, and token auth with a token
//! service written here), and `podman system service` on a temporary socket. Every result must
//! equal analysing the same image from its file.
//!
//! Nothing here skips: a missing tool fails the test and names the package (`bash .ci/setup`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::fixtures::compress::gzip;
use crate::fixtures::digest::sha256;
use crate::fixtures::image;
use crate::fixtures::run::{Run, assert_one_line_error, run, strata};
use crate::fixtures::tools::require;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits (bounded) until something answers HTTP on a loopback port.
fn wait_http(port: u16, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the server exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .is_ok()
            {
                let mut buf = [0u8; 12];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "no answer on 127.0.0.1:{port} within 30 s: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// A `docker-registry` on a free loopback port with its own storage; killed when dropped.
pub(crate) struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry; `auth` is the YAML of its `auth:` section, if any.
    pub(crate) fn start(auth: &str) -> Registry {
        let bin = require("docker-registry", "apt-get install docker-registry");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: strata-test-secret\n{auth}",
            dir.path().join("storage").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let log = dir.path().join("registry.log");
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(std::fs::File::create(dir.path().join("registry.err")).expect("log"))
            .spawn()
            .expect("start docker-registry");
        let mut r = Registry { child, port, dir };
        wait_http(port, &mut r.child, &r.dir.path().join("registry.err"));
        r
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `skopeo copy` of a committed image into this registry.
    pub(crate) fn push(&self, from: &str, repo: &str, creds: Option<&str>, all: bool) {
        let skopeo = require("skopeo", "apt-get install skopeo");
        let mut cmd = Command::new(skopeo);
        cmd.args(["copy", "-q", "--dest-tls-verify=false"]);
        if all {
            cmd.arg("--all");
        }
        if let Some(c) = creds {
            cmd.arg("--dest-creds").arg(c);
        }
        // No stray auth file or policy of this machine changes what skopeo does.
        let policy = self.dir.path().join("policy.json");
        std::fs::write(
            &policy,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("policy");
        cmd.arg("--policy").arg(&policy);
        cmd.env("REGISTRY_AUTH_FILE", self.dir.path().join("no-auth.json"));
        cmd.arg(from)
            .arg(format!("docker://{}/{repo}", self.host()));
        let out = cmd.output().expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy {from} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `layout:latest` of a committed OCI layout, for skopeo.
fn oci(name: &str) -> String {
    format!("oci:{}:latest", image(name).display())
}

/// What must not depend on where the image was read from.
fn essentials(v: &Value) -> Value {
    let mut image = v["image"].clone();
    if let Some(o) = image.as_object_mut() {
        for k in ["source", "format", "reference", "manifest_digest"] {
            o.remove(k);
        }
    }
    let layers: Vec<Value> = v["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            let mut l = l.clone();
            if let Some(o) = l.as_object_mut() {
                // docker save archives name layers by path, registries by digest.
                o.remove("digest");
                o.remove("compression");
                o.remove("compressed_bytes");
            }
            l
        })
        .collect();
    serde_json::json!({"image": image, "waste": v["waste"], "dive": v["dive"], "layers": layers})
}

fn analyze(args: &[&str]) -> Run {
    let mut cmd = strata();
    cmd.arg("analyze")
        .args(args)
        .args(["--format", "json", "--top", "0"]);
    // The machine's own credentials never leak into these tests.
    cmd.env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .env("DOCKER_CONFIG", "/nonexistent");
    run(&mut cmd)
}

fn analyze_ok(args: &[&str]) -> Value {
    let r = analyze(args);
    assert_eq!(r.code, 0, "strata {args:?} failed: {}", r.stderr);
    r.json()
}

fn from_file(name: &str, extra: &[&str]) -> Value {
    let path = image(name);
    let mut args = vec![path.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    analyze_ok(&args)
}

#[test]
#[ignore = "needs docker-registry, skopeo: bash .ci/setup; run by .ci/run"]
fn registry_anonymous_equals_the_file() {
    let reg = Registry::start("");
    reg.push(&oci("overlay-oci"), "strata/overlay:latest", None, false);
    reg.push(&oci("multi-oci"), "strata/multi:latest", None, true);
    let host = reg.host();

    let remote = analyze_ok(&[
        &format!("docker://{host}/strata/overlay:latest"),
        "--insecure",
    ]);
    let local = from_file("overlay-oci", &[]);
    assert_eq!(essentials(&remote), essentials(&local));
    assert_eq!(remote["image"]["format"], "registry");
    assert_eq!(
        remote["image"]["reference"],
        format!("{host}/strata/overlay:latest")
    );
    // The layer blobs are the layout's, byte for byte.
    let digests = |v: &Value| -> Vec<Value> {
        v["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|l| l["digest"].clone())
            .collect()
    };
    assert_eq!(digests(&remote), digests(&local));

    // Pinned by digest, and the bare name with --source registry (default tag latest).
    let digest = remote["image"]["manifest_digest"].as_str().expect("digest");
    let pinned = analyze_ok(&[
        &format!("docker://{host}/strata/overlay@{digest}"),
        "--insecure",
    ]);
    assert_eq!(essentials(&pinned), essentials(&local));
    let bare = analyze_ok(&[
        &format!("{host}/strata/overlay"),
        "--source",
        "registry",
        "--insecure",
    ]);
    assert_eq!(essentials(&bare), essentials(&local));

    // A multi-platform index: the platform is chosen as in a layout.
    for platform in ["linux/amd64", "linux/arm64"] {
        let remote = analyze_ok(&[
            &format!("docker://{host}/strata/multi:latest"),
            "--insecure",
            "--platform",
            platform,
        ]);
        let local = from_file("multi-oci", &["--platform", platform]);
        assert_eq!(essentials(&remote), essentials(&local), "{platform}");
        assert_eq!(remote["image"]["platform"], local["image"]["platform"]);
    }
    let r = analyze(&[
        &format!("docker://{host}/strata/multi:latest"),
        "--insecure",
        "--platform",
        "linux/s390x",
    ]);
    assert_one_line_error(&r, &["linux/s390x", "platforms present", "linux/arm64"]);

    // 404s name the URL and what is missing.
    let r = analyze(&[&format!("docker://{host}/strata/nope:latest"), "--insecure"]);
    assert_one_line_error(
        &r,
        &[
            "404",
            &format!("http://{host}/v2/strata/nope/manifests/latest"),
        ],
    );
    let r = analyze(&[&format!("docker://{host}/strata/overlay:v9"), "--insecure"]);
    assert_one_line_error(&r, &["404", "manifests/v9"]);
}

#[test]
#[ignore = "needs docker-registry: bash .ci/setup; run by .ci/run"]
fn registry_network_errors_name_the_url() {
    let port = free_port();
    let r = analyze(&[&format!("docker://127.0.0.1:{port}/a/b:c"), "--insecure"]);
    assert_one_line_error(&r, &[&format!("127.0.0.1:{port}/v2/"), "cannot connect"]);
    // Without --insecure, strata speaks HTTPS only and says how to reach a plain-HTTP one.
    let reg = Registry::start("");
    let r = analyze(&[&format!("docker://{}/a/b:c", reg.host())]);
    assert_one_line_error(&r, &[&format!("https://{}/v2/", reg.host()), "--insecure"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, htpasswd: bash .ci/setup; run by .ci/run"]
fn registry_behind_basic_auth() {
    let htpasswd = require("htpasswd", "apt-get install apache2-utils");
    let dir = tempfile::tempdir().expect("tempdir");
    let users = dir.path().join("htpasswd");
    let out = Command::new(htpasswd)
        .args(["-Bbn", "strata", "s3cret:pw"])
        .output()
        .expect("htpasswd");
    assert!(out.status.success(), "htpasswd failed");
    std::fs::write(&users, &out.stdout).expect("write htpasswd");
    let reg = Registry::start(&format!(
        "auth:\n  htpasswd:\n    realm: strata-test\n    path: {}\n",
        users.display()
    ));
    reg.push(
        &oci("overlay-oci"),
        "strata/overlay:latest",
        Some("strata:s3cret:pw"),
        false,
    );
    let spec = format!("docker://{}/strata/overlay:latest", reg.host());
    let local = essentials(&from_file("overlay-oci", &[]));

    let r = analyze(&[&spec, "--insecure", "--creds", "strata:s3cret:pw"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(essentials(&r.json()), local);

    // Without credentials: 401, naming the URL and the way out.
    let r = analyze(&[&spec, "--insecure"]);
    let line = assert_one_line_error(&r, &["401", "manifests/latest", "--creds"]);
    assert!(line.contains(&reg.host()), "{line}");
    // Wrong ones: refused, and the password is never printed.
    let r = analyze(&[&spec, "--insecure", "--creds", "strata:wrong-pw"]);
    let line = assert_one_line_error(&r, &["401", "refused"]);
    assert!(!line.contains("wrong-pw"), "{line}");

    // From an auth file: REGISTRY_AUTH_FILE, and Docker's config.json under DOCKER_CONFIG.
    let auth = base64::engine::general_purpose::STANDARD.encode("strata:s3cret:pw");
    let file = dir.path().join("auth.json");
    std::fs::write(
        &file,
        format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, reg.host()),
    )
    .expect("auth.json");
    let mut cmd = strata();
    cmd.args([
        "analyze",
        &spec,
        "--insecure",
        "--format",
        "json",
        "--top",
        "0",
    ])
    .env("REGISTRY_AUTH_FILE", &file)
    .env("DOCKER_CONFIG", "/nonexistent");
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(essentials(&r.json()), local);

    let docker_dir = dir.path().join("docker");
    std::fs::create_dir(&docker_dir).expect("mkdir");
    std::fs::copy(&file, docker_dir.join("config.json")).expect("copy");
    let mut cmd = strata();
    cmd.args([
        "analyze",
        &spec,
        "--insecure",
        "--format",
        "json",
        "--top",
        "0",
    ])
    .env_remove("REGISTRY_AUTH_FILE")
    .env("DOCKER_CONFIG", &docker_dir);
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(essentials(&r.json()), local);
}

/// base64url without padding, as JWTs are written.
fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A self-signed RSA certificate for `subject` and its key, written by openssl.
fn self_signed(openssl: &Path, subject: &str, key: &Path, cert: &Path) {
    let out = Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", subject, "-keyout"])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("openssl req");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An RS256 JWT for the registry's token auth, signed with openssl: the certificate travels in
/// the `x5c` header and is the registry's `rootcertbundle`.
fn signed_token(dir: &Path, service: &str, issuer: &str, repos: &[&str]) -> (PathBuf, String) {
    let openssl = require("openssl", "apt-get install openssl");
    let key = dir.join("token.key");
    let cert = dir.join("token.pem");
    self_signed(&openssl, "/CN=strata-token-signer", &key, &cert);
    let der = Command::new(&openssl)
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl x509");
    assert!(der.status.success(), "openssl x509");
    let x5c = base64::engine::general_purpose::STANDARD.encode(&der.stdout);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let access: Vec<Value> = repos
        .iter()
        .map(|r| serde_json::json!({"type": "repository", "name": r, "actions": ["pull", "push"]}))
        .collect();
    let claims = serde_json::json!({
        "iss": issuer, "sub": "strata", "aud": service,
        "exp": now + 3600, "nbf": now - 60, "iat": now - 60, "jti": "strata-test",
        "access": access,
    });
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let to_sign = dir.join("jwt-input");
    std::fs::write(&to_sign, &input).expect("write");
    let sig = Command::new(&openssl)
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key)
        .arg(&to_sign)
        .output()
        .expect("openssl dgst");
    assert!(sig.status.success(), "openssl dgst");
    (cert, format!("{input}.{}", b64url(&sig.stdout)))
}

/// A token service on loopback: `GET /token` with the right basic credentials gets the token,
/// anything else 401. Counts the tokens handed out; stops when dropped.
struct TokenService {
    port: u16,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenService {
    fn start(token: String, basic: String) -> TokenService {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let served = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&served), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(600);
            while !st.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut authorized = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                        && v.trim() == basic
                    {
                        authorized = true;
                    }
                }
                let ok = authorized && request_line.starts_with("GET /token?");
                let (status, body) = if ok {
                    s.fetch_add(1, Ordering::Relaxed);
                    (
                        "200 OK",
                        serde_json::json!({"token": token, "expires_in": 3600}).to_string(),
                    )
                } else {
                    (
                        "401 Unauthorized",
                        r#"{"details":"bad credentials"}"#.to_string(),
                    )
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenService {
            port,
            served,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
#[ignore = "needs docker-registry, skopeo, openssl: bash .ci/setup; run by .ci/run"]
fn registry_behind_token_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, issuer) = ("strata-registry", "strata-test-issuer");
    let (cert, token) = signed_token(dir.path(), service, issuer, &["strata/overlay"]);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("tok:en-pw")
    );
    let tokens = TokenService::start(token, basic);
    let reg = Registry::start(&format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {service}\n    \
         issuer: {issuer}\n    rootcertbundle: {}\n",
        tokens.port,
        cert.display()
    ));
    reg.push(
        &oci("overlay-oci"),
        "strata/overlay:latest",
        Some("tok:en-pw"),
        false,
    );
    let spec = format!("docker://{}/strata/overlay:latest", reg.host());

    let before = tokens.served.load(Ordering::Relaxed);
    let r = analyze(&[&spec, "--insecure", "--creds", "tok:en-pw"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        essentials(&r.json()),
        essentials(&from_file("overlay-oci", &[]))
    );
    // One token for the repository's pull scope, reused for the manifest, config and layers.
    assert_eq!(tokens.served.load(Ordering::Relaxed) - before, 1);

    // The token service refuses anonymous requests: its URL and status are the message.
    let r = analyze(&[&spec, "--insecure"]);
    assert_one_line_error(
        &r,
        &[
            &format!("token service http://127.0.0.1:{}/token", tokens.port),
            "401",
        ],
    );
}

/// `podman system service` on a temporary socket, with its own storage; killed when dropped.
struct Podman {
    child: Child,
    dir: tempfile::TempDir,
}

impl Podman {
    fn base(dir: &Path) -> Command {
        let mut cmd = Command::new(require("podman", "apt-get install podman"));
        cmd.arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file"])
            .env("XDG_RUNTIME_DIR", dir.join("xdg"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(Stdio::null());
        cmd
    }

    /// Loads `archives` and starts the API service.
    fn start(archives: &[&str]) -> Podman {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("xdg")).expect("mkdir");
        for a in archives {
            let out = Self::base(dir.path())
                .arg("load")
                .arg("-i")
                .arg(image(a))
                .output()
                .expect("podman load");
            assert!(
                out.status.success(),
                "podman load {a}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let socket = dir.path().join("podman.sock");
        let log = dir.path().join("service.log");
        let child = Self::base(dir.path())
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("podman system service");
        let mut p = Podman { child, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!(
                    "podman system service exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "no podman socket within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("podman.sock")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with_engine(engine_var: &str, socket: &Path, args: &[&str]) -> Run {
    let mut cmd = strata();
    cmd.arg("analyze")
        .args(args)
        .args(["--format", "json", "--top", "0"])
        .env_remove("DOCKER_HOST")
        .env_remove("CONTAINER_HOST")
        .env(engine_var, format!("unix://{}", socket.display()));
    run(&mut cmd)
}

#[test]
#[ignore = "needs podman: bash .ci/setup; run by .ci/run"]
fn engine_api_equals_the_file() {
    let podman = Podman::start(&["overlay-docker.tar", "two-images-docker.tar"]);
    let socket = podman.socket();
    let local = essentials(&from_file("overlay-docker.tar", &[]));

    let r = with_engine(
        "DOCKER_HOST",
        &socket,
        &["docker-daemon:strata/overlay:latest"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(essentials(&v), local);
    assert_eq!(v["image"]["format"], "engine");

    // dive's --source podman, over CONTAINER_HOST; and a bare NAME:TAG that is no path.
    let r = with_engine(
        "CONTAINER_HOST",
        &socket,
        &["strata/overlay:latest", "--source", "podman"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(essentials(&r.json()), local);
    let r = with_engine("DOCKER_HOST", &socket, &["strata/overlay:latest"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(essentials(&r.json()), local);

    // Another image of the same engine.
    let r = with_engine("DOCKER_HOST", &socket, &["docker-daemon:strata/base:1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let base = analyze_ok(&[
        image("two-images-docker.tar").to_str().expect("utf-8"),
        "--tag",
        "strata/base:1",
    ]);
    assert_eq!(essentials(&r.json()), essentials(&base));

    // An image the engine does not have: one line, exit 2, the engine's words.
    let r = with_engine("DOCKER_HOST", &socket, &["docker-daemon:strata/nope:1"]);
    let line = assert_one_line_error(&r, &["strata/nope:1", "no image"]);
    assert!(line.contains(socket.to_str().expect("utf-8")), "{line}");
}

#[test]
fn engine_socket_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("docker.sock");
    let r = with_engine("DOCKER_HOST", &socket, &["docker-daemon:alpine:3"]);
    let line = assert_one_line_error(&r, &["alpine:3", "no docker engine socket"]);
    assert!(line.contains(socket.to_str().expect("utf-8")), "{line}");
    // A socket file nobody listens on.
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    drop(listener);
    let r = with_engine("DOCKER_HOST", &socket, &["docker-daemon:alpine:3"]);
    assert_one_line_error(&r, &["docker.sock", "cannot connect"]);
    let mut cmd = strata();
    cmd.args(["analyze", "docker-daemon:alpine"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:2375");
    assert_one_line_error(&run(&mut cmd), &["DOCKER_HOST", "unix"]);
}

/// `docker save img | strata analyze -`: read once, as it streams, equal to the file.
#[test]
fn docker_save_on_stdin() {
    for (name, extra) in [
        ("overlay-docker.tar", vec![]),
        ("docker25-containerd.tar", vec![]),
        ("docker25-graphdriver.tar", vec![]),
        ("two-images-docker.tar", vec!["--tag", "strata/base:1"]),
    ] {
        let local = essentials(&from_file(name, &extra));
        let mut cmd = strata();
        cmd.args(["analyze", "-", "--format", "json", "--top", "0"])
            .args(&extra)
            .pipe_stdin(image(name))
            .expect("stdin");
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert_eq!(essentials(&r.json()), local, "{name}");
    }
    // `docker save | gzip | strata -`: decompressed as it streams, equal to the file.
    let gz = gzip(&std::fs::read(image("overlay-docker.tar")).expect("read"));
    let mut cmd = strata();
    cmd.args(["analyze", "-", "--format", "json", "--top", "0"])
        .write_stdin(gz);
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        essentials(&r.json()),
        essentials(&from_file("overlay-docker.tar", &[]))
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile registries: hand-written servers on loopback that answer as an attacker would. Each
// run of strata gets short limits through the registry client's test knobs, so that a test
// proves in seconds what takes 30 s (a stalled body) or 2 minutes (the deadline) by default.

/// The low-speed window (seconds) and the deadline of a small exchange given to strata here.
const TEST_STALL: &str = "1";
const TEST_DEADLINE: &str = "3";
/// How long a hostile server keeps dripping or streaming at most: well past what strata
/// must take, so that a run which ends before it was cut by strata, not by the server.
const HOSTILE_FOR: Duration = Duration::from_secs(25);

/// One request a hostile server received.
#[derive(Debug, Clone)]
struct Seen {
    /// `GET /v2/...`.
    line: String,
    authorization: Option<String>,
}

/// What a handler may use: whether to stop, and a counter of the bytes it sent.
struct Ctl {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    began: Instant,
}

impl Ctl {
    /// Whether a dripping or streaming handler must end.
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.began.elapsed() > HOSTILE_FOR
    }

    /// Writes and counts; false once the client has gone.
    fn send(&self, stream: &mut TcpStream, bytes: &[u8]) -> bool {
        let ok = stream.write_all(bytes).is_ok();
        if ok {
            self.sent.fetch_add(bytes.len(), Ordering::Relaxed);
        }
        ok
    }
}

type Handler = dyn Fn(&Seen, &mut TcpStream, &Ctl) + Send + Sync;

/// A plain-HTTP server on loopback whose every connection is answered by `handler` on its own
/// thread (a drip must not hold the others); records the requests; stops when dropped.
struct Hostile {
    port: u16,
    seen: Arc<std::sync::Mutex<Vec<Seen>>>,
    sent: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hostile {
    fn start(handler: impl Fn(&Seen, &mut TcpStream, &Ctl) + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (seen2, sent2, stop2) = (Arc::clone(&seen), Arc::clone(&sent), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let began = Instant::now();
            let mut workers = Vec::new();
            while !stop2.load(Ordering::Relaxed) && began.elapsed() < Duration::from_secs(300) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let (seen, sent, stop, handler) = (
                    Arc::clone(&seen2),
                    Arc::clone(&sent2),
                    Arc::clone(&stop2),
                    Arc::clone(&handler),
                );
                workers.push(std::thread::spawn(move || {
                    serve_one(
                        stream,
                        &seen,
                        &*handler,
                        &Ctl {
                            stop,
                            sent,
                            began: Instant::now(),
                        },
                    );
                }));
            }
            for w in workers {
                let _ = w.join();
            }
        });
        Hostile {
            port,
            seen,
            sent,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads the requests of one connection (keep-alive) and hands each to the handler. A TLS
/// handshake (strata tries HTTPS first) is closed at once, as a plain-HTTP server would.
fn serve_one(stream: TcpStream, seen: &std::sync::Mutex<Vec<Seen>>, handler: &Handler, ctl: &Ctl) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut first = [0u8; 1];
    if stream.peek(&mut first).map_or(true, |n| n == 0) || first[0] == 0x16 {
        return;
    }
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut authorization = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("authorization")
            {
                authorization = Some(v.trim().to_string());
            }
        }
        let request = Seen {
            line: line.trim().to_string(),
            authorization,
        };
        seen.lock().expect("lock").push(request.clone());
        handler(&request, reader.get_mut(), ctl);
        if ctl.done() {
            return;
        }
    }
}

/// A whole answer with a Content-Length.
fn reply(stream: &mut TcpStream, ctl: &Ctl, status: &str, headers: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    );
    let _ = ctl.send(stream, head.as_bytes()) && ctl.send(stream, body);
}

/// The committed `overlay-oci` layout, served as a registry would: its manifest, and its
/// blobs by digest.
struct Served {
    manifest: Vec<u8>,
    dir: PathBuf,
}

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The 180-byte layer of `overlay-oci` (layer 13).
const SMALL_LAYER: &str = "sha256:8f8731e2d0d720e298625538aeb90a14ea6408a10e0938e2aac8245df7e423b4";

impl Served {
    fn overlay() -> Served {
        let dir = image("overlay-oci");
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
                .expect("index JSON");
        let digest = index["manifests"][0]["digest"].as_str().expect("digest");
        let manifest = std::fs::read(
            dir.join("blobs/sha256")
                .join(digest.strip_prefix("sha256:").expect("sha256")),
        )
        .expect("manifest");
        Served { manifest, dir }
    }

    fn blob(&self, digest: &str) -> Option<Vec<u8>> {
        let hex = digest.strip_prefix("sha256:")?;
        std::fs::read(self.dir.join("blobs/sha256").join(hex)).ok()
    }

    /// Answers `/v2/`, the manifest for any tag and the blobs; false when the path is none of
    /// those (the caller decides).
    fn answer(&self, request: &Seen, stream: &mut TcpStream, ctl: &Ctl) -> bool {
        let path = request.line.split(' ').nth(1).unwrap_or_default();
        if path == "/v2/" {
            reply(stream, ctl, "200 OK", "", b"{}");
        } else if path.contains("/manifests/") {
            let headers = format!("Content-Type: {MANIFEST_TYPE}\r\n");
            reply(stream, ctl, "200 OK", &headers, &self.manifest);
        } else if let Some((_, digest)) = path.split_once("/blobs/")
            && let Some(bytes) = self.blob(digest)
        {
            reply(stream, ctl, "200 OK", "", &bytes);
        } else {
            return false;
        }
        true
    }
}

/// `strata analyze` of a hostile registry's image with the test limits; how long it took.
fn analyze_hostile(spec: &str, extra: &[&str]) -> (Run, Duration) {
    let mut cmd = strata();
    cmd.args([
        "analyze",
        spec,
        "--insecure",
        "--format",
        "json",
        "--top",
        "0",
    ])
    .args(extra)
    .env("STRATA_REGISTRY_STALL_SECS", TEST_STALL)
    .env("STRATA_REGISTRY_DEADLINE_SECS", TEST_DEADLINE)
    .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
    .env("DOCKER_CONFIG", "/nonexistent");
    let began = Instant::now();
    let r = run(&mut cmd);
    (r, began.elapsed())
}

/// Asserts a run ended well before the hostile server would have given up by itself.
fn assert_quick(took: Duration, case: &str) {
    assert!(
        took < Duration::from_secs(12),
        "{case}: strata took {took:?}; the limits should have cut it within seconds"
    );
}

/// A server that drips, goes silent or streams forever is cut by the low-speed rule or the
/// deadline, with one line naming the URL and what happened.
#[test]
fn registry_slow_servers_are_cut() {
    let served = Served::overlay();
    let server = Hostile::start(move |request, stream, ctl| {
        let path = request
            .line
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let repo = path.split('/').nth(2).unwrap_or_default();
        let drip = |stream: &mut TcpStream, every: Duration, chunk: &[u8]| {
            while !ctl.done() && ctl.send(stream, chunk) {
                std::thread::sleep(every);
            }
        };
        match repo {
            // A blob whose body comes a byte every 200 ms: 5 B/s.
            "drip-blob" if path.contains(&format!("/blobs/{SMALL_LAYER}")) => {
                let _ = ctl.send(stream, b"HTTP/1.1 200 OK\r\nContent-Length: 180\r\n\r\n");
                drip(stream, Duration::from_millis(200), b"x");
            }
            // A blob whose headers come, then nothing.
            "silent-blob" if path.contains(&format!("/blobs/{SMALL_LAYER}")) => {
                let _ = ctl.send(stream, b"HTTP/1.1 200 OK\r\nContent-Length: 180\r\n\r\n");
                drip(stream, Duration::from_millis(200), b"");
            }
            // A manifest that never ends, fast enough for the low-speed rule (8 KiB/s).
            "endless-manifest" if path.contains("/manifests/") => {
                let _ = ctl.send(
                    stream,
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {MANIFEST_TYPE}\r\n\
                         Content-Length: 3000000\r\n\r\n{{\"schemaVersion\": 2"
                    )
                    .as_bytes(),
                );
                drip(stream, Duration::from_millis(250), &[b' '; 2048]);
            }
            // Headers that never end: a header line of one byte every 100 ms.
            "endless-headers" if path.contains("/manifests/") => {
                let _ = ctl.send(stream, b"HTTP/1.1 200 OK\r\nX-Drip: ");
                drip(stream, Duration::from_millis(100), b"a");
            }
            // 503 with Retry-After: 10, every time.
            "busy" if path.contains("/manifests/") => {
                reply(
                    stream,
                    ctl,
                    "503 Service Unavailable",
                    "Retry-After: 10\r\n",
                    b"busy",
                );
            }
            _ => {
                if !served.answer(request, stream, ctl) {
                    reply(stream, ctl, "404 Not Found", "", b"");
                }
            }
        }
    });
    let host = server.host();
    for (repo, needles) in [
        (
            "drip-blob",
            vec![SMALL_LAYER, "too slow", "blobs/sha256:8f87"],
        ),
        ("silent-blob", vec![SMALL_LAYER, "nothing received for 1 s"]),
        (
            "endless-manifest",
            vec!["manifests/latest", "deadline of 3 s"],
        ),
        (
            "endless-headers",
            vec!["manifests/latest", "deadline of 3 s"],
        ),
        ("busy", vec!["manifests/latest", "503"]),
    ] {
        let (r, took) = analyze_hostile(&format!("docker://{host}/{repo}/x:latest"), &[]);
        assert_one_line_error(&r, &needles);
        assert_quick(took, repo);
        // The blob is asked for once: when the layer reader opens it again to explain the
        // failure, the store answers with the same failure instead of a second transfer.
        let prefix = format!("GET /v2/{repo}/x/blobs/{SMALL_LAYER}");
        let asked = server
            .seen()
            .iter()
            .filter(|s| s.line.starts_with(&prefix))
            .count();
        assert!(asked <= 1, "{repo}: the blob was asked for {asked} times");
    }
}

/// Streams `head`, then `fill` bytes until `total` were sent or the client goes, on a body
/// delimited by the connection's end (no Content-Length unless `headers` gives one).
fn stream_body(
    stream: &mut TcpStream,
    ctl: &Ctl,
    headers: &str,
    head: &[u8],
    fill: u8,
    total: usize,
) {
    let start = format!("HTTP/1.1 200 OK\r\n{headers}Connection: close\r\n\r\n");
    if !ctl.send(stream, start.as_bytes()) || !ctl.send(stream, head) {
        return;
    }
    let chunk = vec![fill; 64 << 10];
    let mut sent = head.len();
    while sent < total && !ctl.done() && ctl.send(stream, &chunk) {
        sent += chunk.len();
    }
    // The end of the connection is the end of the body.
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// A server that sends more than it promised is stopped at the promise: a blob at its
/// descriptor's size, a manifest at 4 MiB (or its descriptor's size), a token answer at
/// 64 KiB; a server that sends less is named.
#[test]
fn registry_oversized_answers_are_refused() {
    let served = Served::overlay();
    let manifest = served.manifest.clone();
    let manifest_digest = sha256(&manifest);
    let small = served.blob(SMALL_LAYER).expect("the 180-byte layer");
    assert_eq!(small.len(), 180);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": MANIFEST_TYPE, "digest": manifest_digest, "size": manifest.len()}],
    })
    .to_string();
    let index_digest = sha256(index.as_bytes());
    let child = serde_json::json!({
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": index_digest,
        "size": index.len(),
    });
    let nested =
        serde_json::json!({"schemaVersion": 2, "manifests": [child, child, child]}).to_string();
    let nested_digest = sha256(nested.as_bytes());
    let nested_child = format!("GET /v2/nested/x/manifests/{index_digest}");
    let child_path = format!("manifests/{manifest_digest}");
    // The manifest with 5 MiB of annotation: valid, and over containerd's 4 MiB.
    let mut padded: Value = serde_json::from_slice(&manifest).expect("manifest JSON");
    padded["annotations"] = serde_json::json!({"pad": "a".repeat(5 << 20)});
    let padded = padded.to_string();
    let padded_length = format!("Content-Length {}", padded.len());
    let server = Hostile::start(move |request, stream, ctl| {
        let path = request
            .line
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let repo = path.split('/').nth(2).unwrap_or_default();
        let small_blob = path.ends_with(&format!("/blobs/{SMALL_LAYER}"));
        let manifest_type = format!("Content-Type: {MANIFEST_TYPE}\r\n");
        match repo {
            "long-blob" if small_blob => {
                stream_body(stream, ctl, "", &small, 0, 256 << 20);
            }
            "lying-length" if small_blob => {
                stream_body(
                    stream,
                    ctl,
                    "Content-Length: 99999999999\r\n",
                    &small,
                    0,
                    256 << 20,
                );
            }
            "short-blob" if small_blob => {
                stream_body(stream, ctl, "", &small[..100], 0, 0);
            }
            "big-manifest" if path.contains("/manifests/") => {
                stream_body(stream, ctl, &manifest_type, padded.as_bytes(), 0, 0);
            }
            "big-manifest-length" if path.contains("/manifests/") => {
                reply(stream, ctl, "200 OK", &manifest_type, padded.as_bytes());
            }
            "index-child-long"
                if path.ends_with("/manifests/latest")
                    || path.ends_with(&format!("/manifests/{index_digest}")) =>
            {
                let headers = "Content-Type: application/vnd.oci.image.index.v1+json\r\n";
                reply(stream, ctl, "200 OK", headers, index.as_bytes());
            }
            // An index listing one child index three times.
            "nested"
                if path.ends_with("/manifests/latest")
                    || path.ends_with(&format!("/manifests/{nested_digest}")) =>
            {
                let headers = "Content-Type: application/vnd.oci.image.index.v1+json\r\n";
                reply(stream, ctl, "200 OK", headers, nested.as_bytes());
            }
            "nested" if path.ends_with(&format!("/manifests/{index_digest}")) => {
                let headers = "Content-Type: application/vnd.oci.image.index.v1+json\r\n";
                reply(stream, ctl, "200 OK", headers, index.as_bytes());
            }
            "index-child-long" if path.ends_with(&format!("/manifests/{manifest_digest}")) => {
                stream_body(stream, ctl, &manifest_type, &manifest, b' ', 10 << 20);
            }
            "big-token" if path.contains("/manifests/") => {
                let port = stream.local_addr().map(|a| a.port()).unwrap_or_default();
                let challenge =
                    format!("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\"\r\n");
                reply(stream, ctl, "401 Unauthorized", &challenge, b"");
            }
            _ if path.starts_with("/token") => {
                let token = serde_json::json!({"token": "t".repeat(200 << 10)}).to_string();
                reply(stream, ctl, "200 OK", "", token.as_bytes());
            }
            "noisy" if path.contains("/manifests/") => {
                // The registry's words: a new line, an escape sequence, 10 kB.
                let message = format!(
                    "gone\n\u{1b}]0;pwned\u{7}\u{1b}[2Jall checks passed{}",
                    "!".repeat(10_000)
                );
                let body = serde_json::json!({"errors": [{"message": message}]}).to_string();
                reply(stream, ctl, "404 Not Found", "", body.as_bytes());
            }
            _ => {
                if !served.answer(request, stream, ctl) {
                    reply(stream, ctl, "404 Not Found", "", b"");
                }
            }
        }
    });
    let host = server.host();
    for (repo, needles, most_sent) in [
        (
            "long-blob",
            vec![
                SMALL_LAYER,
                "/blobs/sha256:8f87",
                "sent more than the 180 bytes its descriptor gives",
            ],
            64 << 20,
        ),
        (
            "lying-length",
            vec![
                "/blobs/sha256:8f87",
                "Content-Length 99999999999",
                "descriptor gives 180 bytes",
            ],
            64 << 20,
        ),
        (
            "short-blob",
            vec![SMALL_LAYER, "ended after 100 of the 180 bytes"],
            usize::MAX,
        ),
        (
            "big-manifest",
            vec!["manifests/latest", "4194304-byte limit"],
            64 << 20,
        ),
        (
            "big-manifest-length",
            vec!["manifests/latest", &padded_length, "4194304-byte limit"],
            64 << 20,
        ),
        (
            "index-child-long",
            vec![&child_path, "more than the 3679 bytes"],
            64 << 20,
        ),
        (
            "big-token",
            vec!["token service http://127.0.0.1", "over 64 KiB"],
            usize::MAX,
        ),
    ] {
        let before = server.sent.load(Ordering::Relaxed);
        let (r, took) = analyze_hostile(&format!("docker://{host}/{repo}/x:latest"), &[]);
        assert_one_line_error(&r, &needles);
        assert_quick(took, repo);
        let sent = server.sent.load(Ordering::Relaxed) - before;
        assert!(sent < most_sent, "{repo}: the server got {sent} bytes out");
    }
    // A child index listed three times is fetched once.
    let (r, _) = analyze_hostile(&format!("docker://{host}/nested/x:latest"), &[]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let asked = server
        .seen()
        .iter()
        .filter(|s| s.line.starts_with(&nested_child))
        .count();
    assert_eq!(asked, 1, "the child index was asked for {asked} times");

    // The registry's own words come on the one line, escaped and cut.
    let (r, _) = analyze_hostile(&format!("docker://{host}/noisy/x:latest"), &[]);
    let line = assert_one_line_error(&r, &["404", "gone"]);
    assert!(
        !line.contains('\u{1b}') && !line.contains('\u{7}'),
        "{line:?}"
    );
    assert!(line.len() < 600, "{} characters: {line}", line.len());
}

/// `openssl s_server -HTTP` on loopback: an HTTPS server whose files (under `www`) are whole
/// HTTP answers, to play an HTTPS registry; killed when dropped.
struct TlsFiles {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TlsFiles {
    fn start(files: &[(&str, String)]) -> TlsFiles {
        let openssl = require("openssl", "apt-get install openssl");
        let dir = tempfile::tempdir().expect("tempdir");
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        self_signed(&openssl, "/CN=127.0.0.1", &key, &cert);
        let www = dir.path().join("www");
        std::fs::create_dir_all(www.join("v2")).expect("mkdir");
        for (path, answer) in files {
            let file = www.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(file, answer).expect("write");
        }
        let port = free_port();
        let child = Command::new(&openssl)
            .args(["s_server", "-quiet", "-HTTP", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .current_dir(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "openssl s_server did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsFiles { child, port, dir }
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

/// An HTTPS registry's credentials never go over plain HTTP: not to an `http://` token realm
/// it names, not along its redirect to an `http://` URL.
#[test]
#[ignore = "needs openssl: bash .ci/setup; run by .ci/run"]
fn registry_credentials_stay_on_https() {
    let served = Served::overlay();
    // The plain-HTTP side, as an attacker on the path would run it: hands out a token and the
    // manifest to whoever asks, and records who did.
    let plain = Hostile::start(move |request, stream, ctl| {
        let port = stream.local_addr().map(|a| a.port()).unwrap_or_default();
        if request.line.starts_with("GET /token") {
            reply(stream, ctl, "200 OK", "", br#"{"token": "t"}"#);
        } else if request.line.starts_with("GET /v2/plain-realm/")
            && request.authorization.as_deref() != Some("Bearer t")
        {
            let challenge =
                format!("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\"\r\n");
            reply(stream, ctl, "401 Unauthorized", &challenge, b"");
        } else if !served.answer(request, stream, ctl) {
            reply(stream, ctl, "404 Not Found", "", b"");
        }
    });
    let answer = |status: &str, header: String| {
        format!("HTTP/1.1 {status}\r\n{header}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    };
    let p = plain.port;
    let tls = TlsFiles::start(&[
        (
            "v2/realm/x/manifests/latest",
            answer(
                "401 Unauthorized",
                format!(
                    "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{p}/token\",service=\"s\""
                ),
            ),
        ),
        (
            "v2/redirect/x/manifests/latest",
            answer(
                "307 Temporary Redirect",
                format!("Location: http://127.0.0.1:{p}/v2/redirect/x/manifests/latest"),
            ),
        ),
    ]);
    let registry = format!("127.0.0.1:{}", tls.port);

    let (r, _) = analyze_hostile(
        &format!("docker://{registry}/realm/x:latest"),
        &["--creds", "me:secret"],
    );
    assert_one_line_error(
        &r,
        &[
            &format!("https://{registry}/v2/realm/x/manifests/latest"),
            &format!("http://127.0.0.1:{p}/token"),
            "plain http",
        ],
    );
    let leaked: Vec<Seen> = plain.seen();
    assert!(
        leaked.is_empty(),
        "the plain-HTTP realm was asked: {leaked:?}"
    );

    let (r, _) = analyze_hostile(
        &format!("docker://{registry}/redirect/x:latest"),
        &["--creds", "me:secret"],
    );
    assert_one_line_error(
        &r,
        &[
            "307",
            &format!("http://127.0.0.1:{p}/v2/redirect"),
            "plain http",
        ],
    );
    let leaked: Vec<Seen> = plain.seen();
    assert!(
        leaked.is_empty(),
        "the plain-HTTP redirect was followed: {leaked:?}"
    );

    // A plain-HTTP registry (--insecure) may name a plain-HTTP realm: the credentials go there.
    let (r, _) = analyze_hostile(
        &format!("docker://{}/plain-realm/x:latest", plain.host()),
        &["--creds", "me:secret"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("me:secret")
    );
    let asked: Vec<Seen> = plain
        .seen()
        .into_iter()
        .filter(|s| s.line.starts_with("GET /token"))
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].authorization.as_deref(), Some(basic.as_str()));
}
