//! Images in a Docker or Podman engine: the Docker Engine API over a unix socket,
//! `GET /images/{name}/get`, which streams a `docker save` tar, read once by `stream.rs`.
//! A small HTTP/1.1 client: one request, `Connection: close`, chunked or sized bodies.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::location::Engine;
use super::opened::Opened;
use super::want::Want;
use crate::error::{Error, Remote, Result};
use crate::image::Format;
use crate::layer::ScanOptions;

/// The most bytes of status line and headers read.
const HEAD_LIMIT: usize = 64 << 10;

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Docker => "Docker",
            Engine::Podman => "Podman",
        }
    }

    /// The variable that names the engine's socket, as its own client reads it.
    fn host_var(self) -> &'static str {
        match self {
            Engine::Docker => "DOCKER_HOST",
            Engine::Podman => "CONTAINER_HOST",
        }
    }

    /// The sockets to try, in order: `DOCKER_HOST` (Docker) or `CONTAINER_HOST` (Podman) if
    /// set, else the default places.
    fn sockets(self) -> Result<Vec<PathBuf>> {
        let var = self.host_var();
        if let Some(host) = std::env::var(var).ok().filter(|h| !h.is_empty()) {
            return match host.strip_prefix("unix://") {
                Some(path) => Ok(vec![PathBuf::from(path)]),
                None => Err(Error::Usage(format!(
                    "{var}={host}: strata talks to engines over a unix socket only \
                     (unix:///path/to/socket)"
                ))),
            };
        }
        Ok(match self {
            Engine::Docker => vec![PathBuf::from("/var/run/docker.sock")],
            Engine::Podman => {
                let mut v = Vec::new();
                if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
                    v.push(PathBuf::from(dir).join("podman/podman.sock"));
                }
                v.push(PathBuf::from("/run/podman/podman.sock"));
                v
            }
        })
    }
}

/// The first socket of the engines given that exists, with its engine.
fn find_socket(engines: &[Engine]) -> Result<Option<(Engine, PathBuf)>> {
    for &engine in engines {
        for socket in engine.sockets()? {
            if socket.exists() {
                return Ok(Some((engine, socket)));
            }
        }
    }
    Ok(None)
}

/// The places [`find_socket`] looks for these engines, said for a message: each engine's
/// variable when set (`DOCKER_HOST=unix:///x`), else that it is unset and the default sockets.
fn tried(engines: &[Engine]) -> String {
    let mut places = Vec::new();
    for &engine in engines {
        let var = engine.host_var();
        match std::env::var(var).ok().filter(|h| !h.is_empty()) {
            Some(host) if host.starts_with("unix://") => places.push(format!("{var}={host}")),
            Some(host) => places.push(format!("{var}={host} (not a unix socket)")),
            None => {
                places.push(format!("{var} unset"));
                places.extend(
                    engine
                        .sockets()
                        .unwrap_or_default()
                        .iter()
                        .map(|p| p.display().to_string()),
                );
            }
        }
    }
    places.join(", ")
}

/// What to do instead when `NAME` named no file and no engine could give it.
fn instead(name: &str) -> String {
    // The file name `docker save` could write: the repository's last part, tag and all cut.
    let repo = name.split(['@']).next().unwrap_or(name);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    let last = last.split(':').next().unwrap_or(last);
    let file: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .collect();
    let file = if file.is_empty() { "image" } else { &file };
    format!(
        "give a file instead (docker save {name} -o {file}.tar, then strata {file}.tar) or read \
         it from a registry (strata docker://{name})"
    )
}

/// `strata NAME[:TAG]` (no prefix) that names no file here: the image is asked of an engine,
/// as dive does, and every way that can fail says that the name was taken for an engine image,
/// where strata looked, and how to give a file or a registry instead.
///
/// # Errors
/// No socket, a socket nobody answers on, an image the engine does not have, or anything
/// reading the archive can report.
pub(crate) fn load_implicit(name: &str, want: &Want<'_>, options: ScanOptions) -> Result<Opened> {
    let engines = [Engine::Docker, Engine::Podman];
    let taken = format!("{name}: no such file here, so taken for an engine image");
    // A variable that is not a unix socket is passed over here (the other engine may be
    // there); `docker-daemon:` and `podman:` refuse it outright.
    let found = engines.iter().find_map(|&engine| {
        let sockets = engine.sockets().ok()?;
        sockets
            .into_iter()
            .find(|s| s.exists())
            .map(|s| (engine, s))
    });
    let Some((engine, socket)) = found else {
        return Err(Error::NotFound(format!(
            "{taken}, but no Docker or Podman engine socket is there (tried {}); {}",
            tried(&engines),
            instead(name)
        )));
    };
    fetch(engine, &socket, name, want, options).map_err(|e| match e {
        Fetch::Connect(why) => Error::NotFound(format!(
            "{taken}, but the {} engine does not answer on {} ({why}); start it, or {}",
            engine.name(),
            socket.display(),
            instead(name)
        )),
        Fetch::Missing(said) => Error::NotFound(format!(
            "{taken}, but the {} engine at {} has no such image{said}; pull it first, or {}",
            engine.name(),
            socket.display(),
            instead(name)
        )),
        Fetch::Other(e) => e,
    })
}

/// Percent-encodes an image name for a path; `/`, `:` and `@` stay, as the engines expect.
fn encode_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A response body with `Transfer-Encoding: chunked`.
struct Chunked<R> {
    inner: R,
    /// Bytes left in the current chunk; `None` before the first chunk and after each.
    left: Option<u64>,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        (&mut self.inner).take(4096).read_line(&mut line)?;
        if !line.ends_with('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked body: a size line without an end",
            ));
        }
        Ok(line.trim().to_string())
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let left = match self.left {
            Some(n) if n > 0 => n,
            _ => {
                if self.left == Some(0) {
                    // The CRLF after a chunk's data.
                    self.line()?;
                }
                let line = self.line()?;
                let size = line.split(';').next().unwrap_or_default().trim();
                let size = u64::from_str_radix(size, 16).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("chunked body: bad chunk size {size:?}"),
                    )
                })?;
                if size == 0 {
                    // Trailers up to the empty line.
                    while !self.line()?.is_empty() {}
                    self.done = true;
                    return Ok(0);
                }
                size
            }
        };
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the engine closed the connection inside a chunk",
            ));
        }
        self.left = Some(left - n as u64);
        Ok(n)
    }
}

/// An answer's status line and headers (names lowercased), at most [`HEAD_LIMIT`] bytes.
fn read_head(reader: &mut impl BufRead) -> Result<(u16, Vec<(String, String)>), Remote> {
    let mut head_bytes = 0;
    let mut status_line = String::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader
            .take(4096)
            .read_line(&mut line)
            .map_err(|e| Remote::ReadAnswer { why: e.to_string() })?;
        head_bytes += n;
        if n == 0 || head_bytes > HEAD_LIMIT {
            return Err(Remote::NotHttp { status_line: None });
        }
        let line = line.trim_end();
        if status_line.is_empty() {
            status_line = line.to_string();
            continue;
        }
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/1."));
    match status {
        Some(status) => Ok((status, headers)),
        None => Err(Remote::NotHttp {
            status_line: Some(status_line),
        }),
    }
}

/// `GET path` on a connected unix socket: the status, and the body as a reader.
fn get(mut stream: UnixStream, socket: &Path, path: &str) -> Result<(u16, Box<dyn Read + Send>)> {
    let shown = socket.display().to_string();
    let fail = |why| Error::Remote {
        what: shown.clone(),
        why,
    };
    // A daemon that accepts and never answers should not hang strata forever.
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(|e| fail(Remote::SetTimeout { why: e.to_string() }))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strata/{}\r\n\
         Accept: application/x-tar, application/json\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream.write_all(request.as_bytes()).map_err(|e| {
        fail(Remote::Send {
            path: path.to_string(),
            why: e.to_string(),
        })
    })?;
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    // The answer's failures name the request too.
    let (status, headers) = read_head(&mut reader).map_err(|why| Error::Remote {
        what: format!("{shown}: GET {path}"),
        why,
    })?;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body: Box<dyn Read + Send> = if chunked {
        Box::new(Chunked {
            inner: reader,
            left: None,
            done: false,
        })
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<u64>().ok()) {
        Box::new(reader.take(len))
    } else {
        Box::new(reader)
    };
    Ok((status, body))
}

/// How fetching an image from an engine failed: the two ways a caller words for itself, and
/// everything else.
enum Fetch {
    /// The socket is there but nobody answers (the engine stopped, a stale socket): why.
    Connect(String),
    /// The engine has no such image: its own words, ` (…)`, or empty.
    Missing(String),
    Other(Error),
}

impl From<Error> for Fetch {
    fn from(e: Error) -> Self {
        Fetch::Other(e)
    }
}

/// Streams `NAME[:TAG]` out of an engine and reads it.
///
/// # Errors
/// No socket, a socket nobody answers on, an image the engine does not have (its own words),
/// or anything reading the archive can report.
pub(crate) fn load(
    engine: Engine,
    name: &str,
    want: &Want<'_>,
    options: ScanOptions,
) -> Result<Opened> {
    let engines = &[engine];
    let Some((engine, socket)) = find_socket(engines)? else {
        let tried: Vec<String> = engines
            .iter()
            .filter_map(|e| e.sockets().ok())
            .flatten()
            .map(|p| p.display().to_string())
            .collect();
        let which = engines
            .iter()
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(" or ");
        let vars = engines
            .iter()
            .map(|e| format!("{}=unix:///path/to/socket", e.host_var()))
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(Error::NotFound(format!(
            "{name}: no {which} engine socket found (tried {}); start the engine, set {vars}, \
             or save the image to a file",
            tried.join(", ")
        )));
    };
    let shown = socket.display().to_string();
    fetch(engine, &socket, name, want, options).map_err(|e| match e {
        Fetch::Connect(why) => Error::Remote {
            what: shown,
            why: Remote::Connect { why },
        },
        Fetch::Missing(said) => Error::NotFound(format!(
            "{shown}: the {} engine has no image {name}{said}",
            engine.name()
        )),
        Fetch::Other(e) => e,
    })
}

/// `GET /images/{name}/get` on an engine's socket, the archive read as it streams.
fn fetch(
    engine: Engine,
    socket: &Path,
    name: &str,
    want: &Want<'_>,
    options: ScanOptions,
) -> Result<Opened, Fetch> {
    if name.is_empty() {
        return Err(Error::Usage("no image name given for the engine".to_string()).into());
    }
    let path = format!("/images/{}/get", encode_name(name));
    let shown = socket.display().to_string();
    let stream = UnixStream::connect(socket).map_err(|e| Fetch::Connect(e.to_string()))?;
    let (status, body) = get(stream, socket, &path)?;
    if status != 200 {
        let mut text = String::new();
        let _ = body.take(HEAD_LIMIT as u64).read_to_string(&mut text);
        let said = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_string))
            .unwrap_or_else(|| text.lines().next().unwrap_or_default().to_string());
        let said = (!said.is_empty()).then_some(said);
        return Err(if status == 404 {
            Fetch::Missing(said.map(|s| format!(" ({s})")).unwrap_or_default())
        } else {
            Error::Remote {
                what: format!("{shown}: GET {path}"),
                why: Remote::EngineStatus {
                    engine: engine.name().to_string(),
                    status,
                    said,
                },
            }
            .into()
        });
    }
    let what = format!("{shown}: {name}");
    let want = Want {
        reference: None,
        ..*want
    };
    let mut opened = super::stream::load(body, &what, &want, options, None)?;
    opened.image.format = Format::Engine;
    opened.image.reference = Some(name.to_string());
    Ok(opened)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dechunk(wire: &str) -> io::Result<String> {
        let mut out = String::new();
        Chunked {
            inner: io::Cursor::new(wire.as_bytes().to_vec()),
            left: None,
            done: false,
        }
        .read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            dechunk("5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n").unwrap(),
            "hello, world"
        );
        assert_eq!(dechunk("0\r\n\r\n").unwrap(), "");
        assert!(dechunk("zz\r\nhello").is_err());
        assert!(dechunk("10\r\nshort").is_err());
    }

    /// An engine on a socket in a fresh directory that answers the first request with
    /// `answer` and closes.
    fn engine(answer: String) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            (&stream).write_all(answer.as_bytes()).unwrap();
        });
        (dir, socket)
    }

    fn want() -> Want<'static> {
        Want {
            reference: None,
            platform: None,
            lenient: false,
        }
    }

    #[test]
    fn an_engine_s_refusal_is_its_status_and_words() {
        let message = "write /var/lib/docker/tmp: no space left on device";
        let body = serde_json::json!({ "message": message }).to_string();
        let answer = format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (_dir, socket) = engine(answer);
        let Err(Fetch::Other(Error::Remote { what, why })) = fetch(
            Engine::Podman,
            &socket,
            "a b",
            &want(),
            ScanOptions::default(),
        ) else {
            panic!("not a remote error");
        };
        assert_eq!(what, format!("{}: GET /images/a%20b/get", socket.display()));
        assert_eq!(
            why,
            Remote::EngineStatus {
                engine: "Podman".to_string(),
                status: 500,
                said: Some(message.to_string()),
            }
        );
    }

    #[test]
    fn a_socket_that_does_not_speak_http_says_so() {
        let (_dir, socket) = engine("SSH-2.0-OpenSSH_9.6\r\n\r\n".to_string());
        let stream = UnixStream::connect(&socket).unwrap();
        let Err(e) = get(stream, &socket, "/images/x/get") else {
            panic!("an answer");
        };
        let line = "SSH-2.0-OpenSSH_9.6";
        assert!(
            matches!(&e, Error::Remote { why: Remote::NotHttp { status_line: Some(l) }, .. }
                if l == line),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{}: GET /images/x/get: not an HTTP answer: {line:?}",
                socket.display()
            )
        );
    }

    #[test]
    fn names_in_paths() {
        assert_eq!(
            encode_name("strata/overlay:latest"),
            "strata/overlay:latest"
        );
        assert_eq!(encode_name("a b?c#"), "a%20b%3Fc%23");
    }
}
