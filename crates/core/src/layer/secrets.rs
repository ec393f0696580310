//! Secrets in the files a layer ships, found in the single read of the layer: private keys,
//! cloud keys, tokens, and the credential files tools write (`.env`, `.npmrc`, `.pypirc`,
//! `.netrc`, `.git-credentials`, a registry login in docker's `config.json`, kubeconfigs).
//!
//! Each regular file of at most [`MAX_FILE`] bytes whose first [`BINARY_PROBE`] bytes hold no
//! NUL is searched as it passes by. One Aho-Corasick automaton, built once, finds the literal
//! each rule hangs on (`AKIA`, `ghp_`, `PRIVATE KEY-----`, `AccountKey=`…); every candidate is
//! then checked exactly by hand on its neighbourhood (the characters a key id is made of, a PEM
//! body and its `-----END` line, a JSON key and its value). A file whose name says what it is
//! (`.env`, `.npmrc`…, see [`Named`]) is read line by line by its own parser as well.
//!
//! What is kept is never the secret: the path, the rule, the byte offset, the value's length
//! and at most its first four characters ([`Hit::prefix`]; none of a private key). The same
//! checks read strings of the config ([`in_text`]) and mask them in commands ([`redact`]).
//!
//! Cost: the search runs on the reader's thread, on the bytes the tar walker hands over, and
//! allocates nothing per file: a file that arrives whole (nearly all: it lies in the reader's
//! buffer) is searched in place, one that arrives in pieces is gathered in a buffer kept for
//! the whole layer. Work is linear in the bytes searched: every check looks at a bounded
//! neighbourhood, and the two that look further (an AWS secret key beside its id, a
//! service-account key in its JSON) run a bounded number of times per file.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

/// The largest file searched: 1 MiB. Credential files are small (a 16384-bit RSA key in PEM is
/// 12.7 KB, a service-account JSON 2.3 KB, `.env`, `.npmrc` and kubeconfigs a few KB), so the
/// cap leaves a margin of 80 over the largest, while the files above it are the bulk of an
/// image's text bytes that hold no credential (bundled JavaScript, data, documentation). It
/// also bounds the buffer that gathers a file arriving in pieces.
pub const MAX_FILE: u64 = 1 << 20;
/// A NUL among the first 8 KiB marks a binary (as git and grep decide): not searched.
pub const BINARY_PROBE: usize = 8 << 10;
/// The most hits kept per layer; more are counted ([`Secrets::dropped`]).
pub const MAX_HITS: usize = 4096;
/// The most bytes of paths kept with the hits of one layer (a tar name may be 1 MiB long).
pub const MAX_PATH_BYTES: u64 = 4 << 20;
/// The most values one file reports before its search stops (hits past it are of the same
/// few rules, which the finding counts from the first ones).
const MAX_PER_FILE: usize = 64;
/// Each of the three checks that look beyond the candidate runs at most this often per file.
const MAX_WIDE_CHECKS: u32 = 16;
/// The longest YAML value read (a kubeconfig's `client-key-data` holds a whole PEM key in
/// base64: 4.3 KB for an RSA-4096 key).
const MAX_YAML_VALUE: usize = 64 << 10;
/// The longest value read after a name in a string of the config (`TOKEN=…`).
const MAX_VALUE: usize = 4096;
/// How far from an AWS access key id its secret key is looked for.
const AWS_NEIGHBOURHOOD: usize = 256;

/// What found a secret. Its [`Rule::id`] is stable (JSON, the layer cache stores the code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A PEM or OpenSSH private key (`-----BEGIN … PRIVATE KEY-----` with its body and end).
    PrivateKey,
    /// `AKIA`/`ASIA` and 16 of `[A-Z2-7]`.
    AwsAccessKeyId,
    /// 40 characters of base64 named as one (`aws_secret_access_key =`) or beside an id.
    AwsSecretAccessKey,
    /// A JSON key file with `"type": "service_account"` and its `private_key`.
    GcpServiceAccount,
    /// `AccountKey=` of an Azure storage connection string.
    AzureStorageKey,
    /// `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and 36 characters, `github_pat_` and 82.
    GithubToken,
    /// `glpat-` and 20 characters or more.
    GitlabToken,
    /// `xoxb-`, `xoxa-`, `xoxp-`, `xoxr-`, `xoxs-` and the numbered parts.
    SlackToken,
    /// `sk_live_`, `rk_live_`.
    StripeKey,
    /// `npm_` and 36 characters.
    NpmToken,
    /// A variable named as a credential (`*_PASSWORD`, `*_SECRET`, `*_TOKEN`, `*_KEY`) with a
    /// value, in an `.env` file.
    Dotenv,
    /// `_authToken`, `_auth` or `_password` in an `.npmrc`.
    Npmrc,
    /// `password` in a `.pypirc`.
    Pypirc,
    /// `password` in a `.netrc`.
    Netrc,
    /// `scheme://user:password@host` in `.git-credentials`.
    GitCredentials,
    /// `auth` or `identitytoken` under `auths` in docker's `config.json` (or containers'
    /// `auth.json`).
    DockerAuth,
    /// `client-key-data`, `token` or `password` in a kubeconfig.
    Kubeconfig,
    /// A variable, label or build argument named as a credential, with a value (the config).
    NamedCredential,
}

impl Rule {
    pub const ALL: [Rule; 18] = [
        Rule::PrivateKey,
        Rule::AwsAccessKeyId,
        Rule::AwsSecretAccessKey,
        Rule::GcpServiceAccount,
        Rule::AzureStorageKey,
        Rule::GithubToken,
        Rule::GitlabToken,
        Rule::SlackToken,
        Rule::StripeKey,
        Rule::NpmToken,
        Rule::Dotenv,
        Rule::Npmrc,
        Rule::Pypirc,
        Rule::Netrc,
        Rule::GitCredentials,
        Rule::DockerAuth,
        Rule::Kubeconfig,
        Rule::NamedCredential,
    ];

    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Rule::PrivateKey => "private-key",
            Rule::AwsAccessKeyId => "aws-access-key-id",
            Rule::AwsSecretAccessKey => "aws-secret-access-key",
            Rule::GcpServiceAccount => "gcp-service-account",
            Rule::AzureStorageKey => "azure-storage-key",
            Rule::GithubToken => "github-token",
            Rule::GitlabToken => "gitlab-token",
            Rule::SlackToken => "slack-token",
            Rule::StripeKey => "stripe-key",
            Rule::NpmToken => "npm-token",
            Rule::Dotenv => "dotenv",
            Rule::Npmrc => "npmrc",
            Rule::Pypirc => "pypirc",
            Rule::Netrc => "netrc",
            Rule::GitCredentials => "git-credentials",
            Rule::DockerAuth => "docker-auth",
            Rule::Kubeconfig => "kubeconfig",
            Rule::NamedCredential => "credential",
        }
    }

    /// The rule an id names.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// A stable one-byte code (the layer cache stores it).
    #[must_use]
    pub fn code(self) -> u8 {
        Rule::ALL.iter().position(|&r| r == self).unwrap_or(0) as u8
    }

    #[must_use]
    pub fn from_code(code: u8) -> Option<Rule> {
        Rule::ALL.get(usize::from(code)).copied()
    }
}

/// One rule's secrets in one file: where the first is, what little of it may be shown, and how
/// many the file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The tar name, without a leading `./` or `/`.
    pub path: Vec<u8>,
    pub rule: Rule,
    /// Byte offset of the first value in the file.
    pub offset: u64,
    /// Bytes of that value.
    pub len: u32,
    /// Values of this rule in the file (at least 1).
    pub count: u32,
    /// xxh3 of the file's content: tells which of two copies of a path in one layer it is.
    pub hash: u64,
    prefix: [u8; 4],
    prefix_len: u8,
}

impl Hit {
    /// A hit whose value began with `prefix` (kept as far as [`masked_prefix`] allows).
    #[must_use]
    pub fn new(path: Vec<u8>, rule: Rule, offset: u64, len: u32, prefix: &[u8]) -> Hit {
        let (p, n) = masked_prefix(prefix, len as usize, true);
        Hit {
            path,
            rule,
            offset,
            len,
            count: 1,
            hash: 0,
            prefix: p,
            prefix_len: n,
        }
    }

    /// A hit as the layer cache stored it, its prefix masked again (a cache file is read
    /// without trusting it).
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn stored(
        path: Vec<u8>,
        rule: Rule,
        offset: u64,
        len: u32,
        count: u32,
        hash: u64,
        prefix: &[u8],
    ) -> Hit {
        let (p, n) = masked_prefix(prefix, len as usize, !prefix.is_empty());
        Hit {
            path,
            rule,
            offset,
            len,
            count,
            hash,
            prefix: p,
            prefix_len: n,
        }
    }

    /// At most the first four characters of the value (fewer for a short one, none of a
    /// private key), printable ASCII only.
    #[must_use]
    pub fn prefix(&self) -> &str {
        let p = &self.prefix[..usize::from(self.prefix_len.min(4))];
        // masked_prefix keeps printable ASCII only.
        std::str::from_utf8(p).unwrap_or("")
    }
}

/// The first characters of a `len`-byte value that may be shown: a quarter of it, at most 4,
/// printable ASCII only, none when `reveal` is false (keys).
#[must_use]
pub fn masked_prefix(value: &[u8], len: usize, reveal: bool) -> ([u8; 4], u8) {
    let mut out = [0u8; 4];
    if !reveal {
        return (out, 0);
    }
    let n = (len / 4).min(4).min(value.len());
    let mut k = 0;
    while k < n && value[k].is_ascii_graphic() {
        out[k] = value[k];
        k += 1;
    }
    (out, k as u8)
}

/// How a secret is shown: its masked prefix and its length (`ghp_…(40 characters)`).
#[must_use]
pub fn mask(prefix: &str, len: u64) -> String {
    let unit = if len == 1 { "character" } else { "characters" };
    format!("{prefix}…({len} {unit})")
}

/// The secrets of one layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    hits: Vec<Hit>,
    /// Hits not kept: past [`MAX_HITS`] or [`MAX_PATH_BYTES`].
    pub dropped: u64,
    path_bytes: u64,
}

impl Secrets {
    #[must_use]
    pub fn hits(&self) -> &[Hit] {
        &self.hits
    }

    /// Keeps a hit, or counts it when the layer's caps are reached.
    pub fn push(&mut self, hit: Hit) {
        let bytes = hit.path.len() as u64;
        if self.hits.len() >= MAX_HITS || self.path_bytes + bytes > MAX_PATH_BYTES {
            self.dropped += 1;
            return;
        }
        self.path_bytes += bytes;
        self.hits.push(hit);
    }
}

/// A file read by its name as well as its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Dotenv,
    Npmrc,
    Pypirc,
    Netrc,
    GitCredentials,
    DockerConfig,
    Kubeconfig,
}

/// What a tar name says the file is. Called for every regular file: the last component's
/// ends rule out nearly all names, and the parent directory is looked at only for the few
/// names that need it. Names are short: a scan from the end beats a SIMD search's setup.
#[must_use]
pub fn named(path: &[u8]) -> Option<Named> {
    let cut = |p: &[u8]| match p.iter().rposition(|&b| b == b'/') {
        Some(at) => (at, p.len() - at - 1),
        None => (0, p.len()),
    };
    let (slash, n) = cut(path);
    let name = &path[path.len() - n..];
    let (&first, &last) = (name.first()?, name.last()?);
    // Every name below starts with `.`, `_`, `n`, `c`, `a` or `k`, or ends with `f`, `v`, `l`
    // or `g` (`.conf`, `.env`, `.yaml`/`.yml`, `kubeconfig`).
    if !matches!(first, b'.' | b'_' | b'n' | b'c' | b'a' | b'k')
        && !matches!(last, b'f' | b'v' | b'l' | b'g')
    {
        return None;
    }
    let parent = || {
        let dir = super::capture::relative(&path[..slash]);
        &dir[dir.len() - cut(dir).1..]
    };
    match name {
        b".npmrc" | b"npmrc" => Some(Named::Npmrc),
        b".pypirc" => Some(Named::Pypirc),
        b".netrc" | b"_netrc" => Some(Named::Netrc),
        b".git-credentials" => Some(Named::GitCredentials),
        b"credentials" if parent() == b"git" => Some(Named::GitCredentials),
        b"config.json" if parent() == b".docker" => Some(Named::DockerConfig),
        b"auth.json" if parent() == b"containers" => Some(Named::DockerConfig),
        b"config" if parent() == b".kube" => Some(Named::Kubeconfig),
        _ if name.ends_with(b".conf") && parent() == b"kubernetes" => Some(Named::Kubeconfig),
        _ if name.starts_with(b"kubeconfig")
            || [&b"kubeconfig"[..], b"kubeconfig.yaml", b"kubeconfig.yml"]
                .iter()
                .any(|s| name.ends_with(s)) =>
        {
            Some(Named::Kubeconfig)
        }
        _ if is_dotenv(name) => Some(Named::Dotenv),
        _ => None,
    }
}

/// `.env`, `.env.local`, `prod.env`; not the templates committed beside them
/// (`.env.example`, `.sample`, `.template`, `.dist`), which hold placeholders by design (a
/// real token there is still found by its content).
fn is_dotenv(name: &[u8]) -> bool {
    if name == b".env" || (name.len() > 4 && name.ends_with(b".env")) {
        return true;
    }
    let Some(rest) = name.strip_prefix(b".env.") else {
        return false;
    };
    !matches!(
        rest,
        b"example" | b"sample" | b"template" | b"dist" | b"defaults" | b"schema" | b"tpl"
    )
}

/// What the literal a candidate starts from says to check.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// `PRIVATE KEY-----` or `PRIVATE KEY BLOCK-----`: the `-----BEGIN` before, the body after.
    Pem,
    AwsId,
    /// A name for the AWS secret key; the value follows.
    AwsSecretNamed,
    /// `"service_account"`: the `"type"` before, a `"private_key"` in the file.
    Gcp,
    Azure,
    /// A GitHub prefix and how many characters follow it.
    Github(usize),
    Gitlab,
    Slack,
    Stripe,
    Npm,
    /// `client-key-data`: a kubeconfig's key.
    KubeKeyData,
}

/// Every literal the automaton looks for, the bytes that must stand right before it, and its
/// check. The literal is each rule's rarest part: the SIMD prefilter (Teddy) matches the first
/// three bytes of every literal at once and checks the rest where they match, so a literal
/// starting with a common trigram (`cli` of `client-key-data`, `git` of `github_pat_`, `sk_`
/// of `task_`) would stop it in every few lines of code or prose. The bytes before it are
/// compared once it is found.
const PATTERNS: [(&str, &str, Check); 24] = [
    ("E KEY-----", "PRIVAT", Check::Pem),
    ("E KEY BLOCK-----", "PRIVAT", Check::Pem),
    ("AKIA", "", Check::AwsId),
    ("ASIA", "", Check::AwsId),
    ("aws_secret_access_key", "", Check::AwsSecretNamed),
    ("AWS_SECRET_ACCESS_KEY", "", Check::AwsSecretNamed),
    ("tAccessKey", "Secre", Check::AwsSecretNamed),
    ("_account\"", "\"service", Check::Gcp),
    ("ntKey=", "Accou", Check::Azure),
    ("ghp_", "", Check::Github(36)),
    ("gho_", "", Check::Github(36)),
    ("ghu_", "", Check::Github(36)),
    ("ghs_", "", Check::Github(36)),
    ("ghr_", "", Check::Github(36)),
    ("b_pat_", "githu", Check::Github(82)),
    ("glpat-", "", Check::Gitlab),
    ("xoxb-", "", Check::Slack),
    ("xoxa-", "", Check::Slack),
    ("xoxp-", "", Check::Slack),
    ("xoxr-", "", Check::Slack),
    ("xoxs-", "", Check::Slack),
    // `sk_live_` and `rk_live_`: the byte before is checked by `stripe`.
    ("k_live_", "", Check::Stripe),
    ("npm_", "", Check::Npm),
    ("t-key-data", "clien", Check::KubeKeyData),
];

/// The automaton, built once. Leftmost-first matching lets it use its SIMD prefilter (Teddy).
fn automaton() -> &'static AhoCorasick {
    static AC: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(PATTERNS.iter().map(|p| p.0))
            // Fixed literals, far below every limit: building them cannot fail.
            .unwrap_or_else(|e| unreachable!("secret patterns: {e}"))
    });
    &AC
}

/// A value found in a file or a string: its rule, where it lies, and whether its first
/// characters may be shown (then, once the search is over, what of them may be).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    rule: Rule,
    value: Range<usize>,
    /// The variable's, key's or argument's name, where the rule reads one (config strings).
    name: Option<Range<usize>>,
    reveal: bool,
    prefix: ([u8; 4], u8),
}

impl Found {
    fn new(rule: Rule, value: Range<usize>, reveal: bool) -> Found {
        Found {
            rule,
            value,
            name: None,
            reveal,
            prefix: ([0; 4], 0),
        }
    }
}

/// The state of the per-file checks that may look far: how often they ran, and the
/// service-account key's value once located.
#[derive(Default)]
struct Budget {
    aws: u32,
    gcp: u32,
    kube: u32,
    gcp_key: Option<Option<Range<usize>>>,
}

/// Every content rule's values in `text`, appended to `out` (at most [`MAX_PER_FILE`]).
fn find_tokens(text: &[u8], out: &mut Vec<Found>) {
    let mut budget = Budget::default();
    for m in automaton().find_iter(text) {
        if out.len() >= MAX_PER_FILE {
            return;
        }
        let (_, back, check) = PATTERNS[m.pattern().as_usize()];
        let Some(start) = m.start().checked_sub(back.len()) else {
            continue;
        };
        if &text[start..m.start()] != back.as_bytes() {
            continue;
        }
        let end = m.end();
        let found = match check {
            Check::Pem => pem(text, start, end),
            Check::AwsId => {
                let id = aws_id(text, start);
                if let Some(f) = &id
                    && budget.aws < MAX_WIDE_CHECKS
                {
                    budget.aws += 1;
                    if let Some(secret) = aws_secret_beside(text, f.value.clone()) {
                        push_unique(out, f.clone());
                        push_unique(out, secret);
                        continue;
                    }
                }
                id
            }
            Check::AwsSecretNamed => aws_secret_named(text, start, end),
            Check::Gcp => gcp(text, start, &mut budget),
            Check::Azure => azure(text, start, end),
            Check::Github(n) => exact_token(text, start, end, n, Rule::GithubToken),
            Check::Gitlab => gitlab(text, start, end),
            Check::Slack => slack(text, start, end),
            Check::Stripe => stripe(text, start, end),
            Check::Npm => exact_token(text, start, end, 36, Rule::NpmToken),
            Check::KubeKeyData if budget.kube < MAX_WIDE_CHECKS => {
                budget.kube += 1;
                yaml_value(text, end)
                    .filter(|v| v.len() >= 16)
                    .map(|v| Found::new(Rule::Kubeconfig, v, false))
            }
            Check::KubeKeyData => None,
        };
        if let Some(f) = found {
            push_unique(out, f);
        }
    }
}

/// Appends `f` unless the same value was found already (a secret key both named and beside
/// its id).
fn push_unique(out: &mut Vec<Found>, f: Found) {
    if !out.iter().any(|o| o.value == f.value) {
        out.push(f);
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Whether the byte before `at` is not one of `part` (the candidate starts a word).
fn starts_word(text: &[u8], at: usize, part: fn(u8) -> bool) -> bool {
    at == 0 || !part(text[at - 1])
}

/// The length of the run of `part` bytes from `at`, counted up to `max + 1`.
fn run(text: &[u8], at: usize, part: impl Fn(u8) -> bool, max: usize) -> usize {
    text.get(at..)
        .unwrap_or_default()
        .iter()
        .take(max + 1)
        .take_while(|&&b| part(b))
        .count()
}

/// A PEM private key: `-----BEGIN [WORDS ]PRIVATE KEY-----` (or `… KEY BLOCK-----`), a body
/// of base64 (line breaks as bytes or as `\n` escapes, as in JSON and env values; the
/// `Proc-Type:`/`DEK-Info:` headers of an encrypted key), and an `-----END … PRIVATE KEY`
/// line. A constant naming the header in code, a certificate or a public key is none.
fn pem(text: &[u8], start: usize, end: usize) -> Option<Found> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let from = start.saturating_sub(BEGIN.len() + 24);
    let head = memchr::memmem::rfind(&text[from..start], BEGIN)? + from;
    let words = &text[head + BEGIN.len()..start];
    if !words
        .iter()
        .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
    {
        return None;
    }
    // The body: stops at the first `-` that starts `-----`, or at any other byte.
    let mut at = end;
    let mut base64 = 0usize;
    while at < text.len() {
        let b = text[at];
        if b == b'-' {
            if text[at..].starts_with(b"-----") {
                break;
            }
        } else if is_base64(b) || b == b'=' {
            base64 += 1;
        } else if !(b.is_ascii_whitespace() || matches!(b, b'\\' | b':' | b',')) {
            return None;
        }
        at += 1;
    }
    let tail = text.get(at..)?.strip_prefix(b"-----END ")?;
    let close = memchr::memmem::find(&tail[..tail.len().min(40)], b"-----")?;
    let what = &tail[..close];
    let is_private = memchr::memmem::find(what, b"PRIVATE KEY").is_some();
    let stop = at + b"-----END ".len() + close + 5;
    (is_private && base64 >= 64).then(|| Found::new(Rule::PrivateKey, head..stop, false))
}

/// `AKIA`/`ASIA` and 16 of `[A-Z2-7]`, alone (no letter or digit on either side).
fn aws_id(text: &[u8], start: usize) -> Option<Found> {
    let stop = start + 20;
    let body = text.get(start + 4..stop)?;
    let ok = starts_word(text, start, |b| b.is_ascii_alphanumeric())
        && body
            .iter()
            .all(|&b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        && text.get(stop).is_none_or(|b| !b.is_ascii_alphanumeric());
    ok.then(|| Found::new(Rule::AwsAccessKeyId, start..stop, true))
}

/// Whether 40 bytes of base64 look like an AWS secret key rather than a hash or a word: both
/// cases of letters, and a digit or `/` or `+` (a hex digest has no capital).
fn aws_secret_shape(v: &[u8]) -> bool {
    v.len() == 40
        && v.iter().all(|&b| is_base64(b))
        && v.iter().any(u8::is_ascii_uppercase)
        && v.iter().any(u8::is_ascii_lowercase)
        && v.iter()
            .any(|&b| b.is_ascii_digit() || b == b'/' || b == b'+')
}

/// A run of exactly 40 base64 characters near an access key id (the two stand together in
/// credentials files, CSV exports and code): the first such run within
/// [`AWS_NEIGHBOURHOOD`] bytes on either side.
fn aws_secret_beside(text: &[u8], id: Range<usize>) -> Option<Found> {
    let from = id.start.saturating_sub(AWS_NEIGHBOURHOOD);
    let to = (id.end + AWS_NEIGHBOURHOOD).min(text.len());
    let mut at = from;
    while at < to {
        if !is_base64(text[at]) {
            at += 1;
            continue;
        }
        let n = run(text, at, is_base64, 40);
        let v = &text[at..at + n];
        let alone = starts_word(text, at, |b| is_base64(b) || b == b'=');
        if n == 40 && alone && text.get(at + n) != Some(&b'=') && aws_secret_shape(v) {
            return Some(Found::new(Rule::AwsSecretAccessKey, at..at + n, true));
        }
        at += n.max(1);
    }
    None
}

/// The value after a name for the AWS secret key: `= `, `: `, quotes, then 40 characters.
fn aws_secret_named(text: &[u8], start: usize, end: usize) -> Option<Found> {
    if !starts_word(text, start, |b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let gap = run(text, end, |b| matches!(b, b' ' | b'\t' | b'"' | b'\''), 8);
    let sep = end + gap;
    if !matches!(text.get(sep), Some(b'=' | b':')) {
        return None;
    }
    let at = sep
        + 1
        + run(
            text,
            sep + 1,
            |b| matches!(b, b' ' | b'\t' | b'"' | b'\''),
            8,
        );
    let n = run(text, at, is_base64, 40);
    let v = text.get(at..at + n)?;
    (n == 40 && v.iter().all(|&b| is_base64(b)))
        .then(|| Found::new(Rule::AwsSecretAccessKey, at..at + n, true))
}

/// `"type": "service_account"` in a JSON key file holding a `"private_key"` that is a PEM key:
/// the key's value is the secret.
fn gcp(text: &[u8], start: usize, budget: &mut Budget) -> Option<Found> {
    let before = text[..start].trim_ascii_end().strip_suffix(b":")?;
    if !before.trim_ascii_end().ends_with(b"\"type\"") {
        return None;
    }
    if budget.gcp_key.is_none() {
        if budget.gcp >= MAX_WIDE_CHECKS {
            return None;
        }
        budget.gcp += 1;
        budget.gcp_key = Some(json_string_after(text, b"\"private_key\""));
    }
    let value = budget.gcp_key.clone().flatten()?;
    text[value.clone()]
        .starts_with(b"-----BEGIN")
        .then(|| Found::new(Rule::GcpServiceAccount, value, false))
}

/// The string value of the first `key` (with its quotes) in a JSON text that has one.
fn json_string_after(text: &[u8], key: &[u8]) -> Option<Range<usize>> {
    let mut from = 0;
    while let Some(k) = memchr::memmem::find(&text[from..], key) {
        from += k + key.len();
        if let Some(v) = json_string_at(text, from) {
            return Some(v);
        }
    }
    None
}

/// The string value after a JSON key ending at `after` (`: "…"`): the bytes between its
/// quotes, escapes left as they are; `None` when no string follows or it is not closed.
fn json_string_at(text: &[u8], after: usize) -> Option<Range<usize>> {
    let rest = text[after..].trim_ascii_start().strip_prefix(b":")?;
    let body = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let open = text.len() - body.len();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return Some(open..open + i),
            _ => i += 1,
        }
    }
    None
}

/// `AccountKey=` and its base64 value, up to `;`, a quote or a space.
fn azure(text: &[u8], start: usize, end: usize) -> Option<Found> {
    if !starts_word(text, start, |b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let n = run(text, end, |b| is_base64(b) || b == b'=', 200);
    let closed = text
        .get(end + n)
        .is_none_or(|&b| matches!(b, b';' | b'"' | b'\'') || b.is_ascii_whitespace());
    ((40..=200).contains(&n) && closed)
        .then(|| Found::new(Rule::AzureStorageKey, end..end + n, true))
}

/// A prefix and exactly `n` letters, digits (or `_`, for GitHub's fine-grained tokens), alone.
fn exact_token(text: &[u8], start: usize, end: usize, n: usize, rule: Rule) -> Option<Found> {
    if !starts_word(text, start, is_word) {
        return None;
    }
    let part: fn(u8) -> bool = if n == 82 {
        is_word
    } else {
        |b: u8| b.is_ascii_alphanumeric()
    };
    let got = run(text, end, part, n);
    let alone = text.get(end + got).is_none_or(|&b| !is_word(b));
    (got == n && alone).then(|| Found::new(rule, start..end + n, true))
}

/// `glpat-` and 20 to 64 of `[A-Za-z0-9_-]`.
fn gitlab(text: &[u8], start: usize, end: usize) -> Option<Found> {
    let part = |b: u8| is_word(b) || b == b'-' || b == b'.';
    if !starts_word(text, start, is_word) {
        return None;
    }
    let n = run(text, end, part, 64);
    (20..=64)
        .contains(&n)
        .then(|| Found::new(Rule::GitlabToken, start..end + n, true))
}

/// `xox?-`, then numbered parts: a digit first, a `-` among them, 10 to 255 characters.
fn slack(text: &[u8], start: usize, end: usize) -> Option<Found> {
    if !starts_word(text, start, is_word) {
        return None;
    }
    let n = run(text, end, |b| b.is_ascii_alphanumeric() || b == b'-', 255);
    let v = &text[end..end + n];
    let ok = (10..=255).contains(&n)
        && v[0].is_ascii_digit()
        && v.contains(&b'-')
        && text.get(end + n).is_none_or(|&b| !is_word(b));
    ok.then(|| Found::new(Rule::SlackToken, start..end + n, true))
}

/// `sk_live_`/`rk_live_` (`start` is at `k_live_`) and 16 to 247 letters and digits.
fn stripe(text: &[u8], start: usize, end: usize) -> Option<Found> {
    let start = start.checked_sub(1)?;
    if !matches!(text[start], b's' | b'r') || !starts_word(text, start, is_word) {
        return None;
    }
    let n = run(text, end, |b| b.is_ascii_alphanumeric(), 247);
    let ok = (16..=247).contains(&n) && text.get(end + n).is_none_or(|&b| !is_word(b));
    ok.then(|| Found::new(Rule::StripeKey, start..end + n, true))
}

/// The value of a YAML (or JSON) key whose name ends at `end`: after `:` and an optional
/// quote, to the end of the line or the closing quote; `None` when empty.
fn yaml_value(text: &[u8], end: usize) -> Option<Range<usize>> {
    let mut at = end;
    if text.get(at) == Some(&b'"') {
        at += 1;
    }
    at += run(text, at, |b| b == b' ' || b == b'\t', 16);
    if text.get(at) != Some(&b':') {
        return None;
    }
    at += 1;
    at += run(text, at, |b| b == b' ' || b == b'\t', 64);
    let quote = match text.get(at) {
        Some(&q @ (b'"' | b'\'')) => {
            at += 1;
            Some(q)
        }
        _ => None,
    };
    // A value ends with its line; a line longer than a key's base64 is no YAML value.
    let window = &text[at..text.len().min(at + MAX_YAML_VALUE)];
    let line_end = memchr::memchr(b'\n', window).map_or(at + window.len(), |n| at + n);
    let stop = match quote {
        Some(q) => memchr::memchr(q, &text[at..line_end]).map_or(line_end, |n| at + n),
        None => at + text[at..line_end].trim_ascii_end().len(),
    };
    (stop > at).then_some(at..stop)
}

/// Whether a variable's (label's, argument's) name says it holds a credential: its last word
/// is `PASSWORD`, `PASSWD`, `PASS`, `PWD`, `SECRET`, `TOKEN` or `APIKEY`, or `KEY` after
/// another word (but for public keys: `GPG_KEY` is a fingerprint), or a word is `SECRET` or
/// `PASSWORD` and the last is none of those that name where or what rather than the value
/// (`_FILE`, `_PATH`, `_NAME`…). Words are split at `_`, `-`, `.`; case is ignored.
#[must_use]
pub fn credential_name(name: &str) -> bool {
    let mut words = name.split(['_', '-', '.']).filter(|w| !w.is_empty()).rev();
    let Some(last) = words.next() else {
        return false;
    };
    let prev = words.clone().next();
    let is = |w: &str, names: &[&str]| names.iter().any(|n| w.eq_ignore_ascii_case(n));
    if is(last, &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY"]) {
        return true;
    }
    if is(last, &["PASS", "PWD"]) {
        // `PWD` alone is the working directory.
        return prev.is_some();
    }
    if is(last, &["KEY"]) {
        return prev.is_some_and(|p| !is(p, &["GPG", "PGP", "PUBLIC", "PUB", "PUBLISHABLE"]));
    }
    let named = std::iter::once(last)
        .chain(words)
        .any(|w| is(w, &["SECRET", "PASSWORD", "PASSWD"]));
    named
        && !is(
            last,
            &[
                "FILE", "PATH", "DIR", "NAME", "URL", "ID", "ENABLED", "REQUIRED", "LENGTH",
            ],
        )
}

/// Whether a value is one: not empty, not a reference to another variable (`$X`, `${X}`) nor a
/// placeholder in angle brackets.
#[must_use]
pub fn credential_value(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    !(v.is_empty() || v[0] == b'$' || (v[0] == b'<' && v.ends_with(b">")))
}

/// The lines of `text` with each one's offset.
fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |n| at + n);
        let line = (at, &text[at..end]);
        at = end + 1;
        Some(line)
    })
}

/// The range of `part` (a sub-slice of `text`) in `text`.
fn range_in(text: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    start..start + part.len()
}

/// `KEY=VALUE` (or `KEY: VALUE` with `colon`) on one line: the key and the value, trimmed and
/// unquoted (an unquoted value ends at ` #`).
fn key_value(line: &[u8], colon: bool) -> Option<(&[u8], &[u8])> {
    let at = line
        .iter()
        .position(|&b| b == b'=' || (colon && b == b':'))?;
    let key = line[..at].trim_ascii();
    let raw = line[at + 1..].trim_ascii();
    let value = match raw.first() {
        Some(&q @ (b'"' | b'\'')) => {
            let body = &raw[1..];
            &body[..memchr::memchr(q, body).unwrap_or(body.len())]
        }
        _ => {
            let cut = memchr::memmem::find(raw, b" #").unwrap_or(raw.len());
            raw[..cut].trim_ascii_end()
        }
    };
    Some((key, value))
}

/// The values a credential file holds, by its own syntax.
fn parse_named(kind: Named, text: &[u8], out: &mut Vec<Found>) {
    let mut push = |rule: Rule, value: &[u8], reveal: bool| {
        if out.len() < MAX_PER_FILE && credential_value(value) {
            out.push(Found::new(rule, range_in(text, value), reveal));
        }
    };
    match kind {
        Named::Dotenv => {
            for (_, line) in lines(text) {
                let line = line.trim_ascii_start();
                let line = line.strip_prefix(b"export ").unwrap_or(line);
                if line.starts_with(b"#") {
                    continue;
                }
                if let Some((key, value)) = key_value(line, false)
                    && let Ok(key) = std::str::from_utf8(key)
                    && !key.contains(char::is_whitespace)
                    && credential_name(key)
                {
                    push(Rule::Dotenv, value, true);
                }
            }
        }
        Named::Npmrc => {
            for (_, line) in lines(text) {
                if let Some((key, value)) = key_value(line, false)
                    && [&b"_authToken"[..], b"_auth", b"_password"]
                        .iter()
                        .any(|k| key.ends_with(k))
                {
                    push(Rule::Npmrc, value, true);
                }
            }
        }
        Named::Pypirc => {
            for (_, line) in lines(text) {
                if let Some((key, value)) = key_value(line, true)
                    && key.eq_ignore_ascii_case(b"password")
                {
                    push(Rule::Pypirc, value, true);
                }
            }
        }
        Named::Netrc => {
            let mut words = text
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty());
            while let Some(w) = words.next() {
                if w == b"password"
                    && let Some(value) = words.next()
                {
                    push(Rule::Netrc, value, true);
                }
            }
        }
        Named::GitCredentials => {
            for (_, line) in lines(text) {
                let line = line.trim_ascii();
                let Some(scheme) = memchr::memmem::find(line, b"://") else {
                    continue;
                };
                let rest = &line[scheme + 3..];
                let authority = &rest[..memchr::memchr(b'/', rest).unwrap_or(rest.len())];
                let Some(at) = memchr::memrchr(b'@', authority) else {
                    continue;
                };
                let userinfo = &authority[..at];
                if let Some(colon) = memchr::memchr(b':', userinfo) {
                    push(Rule::GitCredentials, &userinfo[colon + 1..], true);
                }
            }
        }
        Named::DockerConfig => {
            if memchr::memmem::find(text, b"\"auths\"").is_none() {
                return;
            }
            for key in [&b"\"auth\""[..], b"\"identitytoken\""] {
                let mut from = 0;
                while let Some(k) = memchr::memmem::find(&text[from..], key) {
                    from += k + key.len();
                    if let Some(v) = json_string_at(text, from) {
                        push(Rule::DockerAuth, &text[v], true);
                    }
                }
            }
        }
        Named::Kubeconfig => {
            for (_, line) in lines(text) {
                let l = line.trim_ascii_start();
                let l = l.strip_prefix(b"- ").unwrap_or(l).trim_ascii_start();
                for (key, reveal) in [
                    (&b"token"[..], true),
                    (b"password", true),
                    (b"client-key-data", false),
                ] {
                    if l.starts_with(key)
                        && let Some(v) = yaml_value(l, key.len())
                    {
                        push(Rule::Kubeconfig, &l[v], reveal);
                    }
                }
            }
        }
    }
}

/// Everything found in one file's content, cleaned: a value two rules found is the content
/// rule's (more precise than the file's own syntax), and a private key inside a
/// service-account key is that key.
fn search(text: &[u8], named: Option<Named>, out: &mut Vec<Found>) {
    let head = &text[..text.len().min(BINARY_PROBE)];
    if memchr::memchr(0, head).is_some() {
        return;
    }
    find_tokens(text, out);
    let tokens = out.len();
    if let Some(kind) = named {
        parse_named(kind, text, out);
    }
    let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
    let mut k = 0;
    while k < out.len() {
        let f = &out[k];
        let shadowed = (k >= tokens && out[..tokens].iter().any(|t| overlaps(&t.value, &f.value)))
            || (f.rule == Rule::PrivateKey
                && out
                    .iter()
                    .any(|g| g.rule == Rule::GcpServiceAccount && overlaps(&g.value, &f.value)));
        if shadowed {
            out.remove(k);
        } else {
            k += 1;
        }
    }
    for f in out.iter_mut() {
        f.prefix = masked_prefix(&text[f.value.clone()], f.value.len(), f.reveal);
    }
}

/// Files up to this size are searched together ([`FileScanner`]): a search has a fixed cost
/// (the prefilter's setup, ~100 ns here) that is most of the cost of a file of a few hundred
/// bytes, and copying one costs less. benches/secrets.rs, files of 100 B to 2 KB: 4.3 GB/s
/// batched up to 1 KiB, 5.5 GB/s up to 4 KiB; searched one by one, 40-byte files cost 217 ns
/// each, batched 32 ns.
pub const SMALL_FILE: u64 = 4 << 10;
/// The shortest value a content rule finds (`xoxb-` and 10 characters): a smaller file that
/// no name marks holds none.
const SHORTEST: u64 = 15;
/// The small files' bytes gathered before one search runs over them all.
const BATCH: usize = 64 << 10;

/// Searches the regular files of one layer as they stream by (see the module's docs). One per
/// layer read; nothing is allocated per file once its buffers have grown.
///
/// A file of up to [`SMALL_FILE`] bytes that is read by its content alone is not searched at
/// once: its bytes join a batch (each followed by a NUL, which no literal holds), and one
/// search of the automaton over the batch, every [`BATCH`] bytes and at the end of the layer
/// ([`FileScanner::end`]), names the few files worth searching alone. Path-heavy layers (a
/// million files of 40 bytes) then cost a copy per file instead of a search per file.
#[derive(Default)]
pub struct FileScanner {
    /// The current file, when it arrives in pieces.
    buf: Vec<u8>,
    state: State,
    size: u64,
    named: Option<Named>,
    /// The current file's values.
    found: Vec<Found>,
    /// Small files' bytes, each followed by a NUL.
    batch: Vec<u8>,
    /// Their names (relative), end to end.
    batch_names: Vec<u8>,
    /// Where each one is in the two.
    batched: Vec<Batched>,
}

/// A small file waiting in the batch.
#[derive(Debug, Clone, Copy)]
struct Batched {
    at: usize,
    len: usize,
    name_at: usize,
    name_len: usize,
    hash: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Not searching this file.
    #[default]
    Skip,
    /// Nothing of it seen yet.
    Start,
    /// Gathering its pieces in `buf`.
    Gathering,
    /// Searched whole.
    Done,
    /// Its bytes are the batch's last (from this offset), to be named at `finish`.
    InBatch(usize),
}

impl FileScanner {
    #[must_use]
    pub fn new() -> FileScanner {
        FileScanner::default()
    }

    /// Starts a regular file of `size` bytes named `path`: whether it is to be searched (not
    /// above [`MAX_FILE`], and long enough to hold a secret or named as a credential file).
    pub fn start(&mut self, path: &[u8], size: u64) -> bool {
        self.state = State::Skip;
        if size == 0 || size > MAX_FILE {
            return false;
        }
        self.named = named(path);
        if size < SHORTEST && self.named.is_none() {
            return false;
        }
        self.size = size;
        self.state = State::Start;
        true
    }

    /// The next piece of the file's content.
    pub fn feed(&mut self, chunk: &[u8]) {
        match self.state {
            State::Skip => {}
            State::Start if chunk.len() as u64 == self.size => {
                if self.size <= SMALL_FILE && self.named.is_none() {
                    let at = self.batch.len();
                    self.batch.extend_from_slice(chunk);
                    self.batch.push(0);
                    self.state = State::InBatch(at);
                } else {
                    search(chunk, self.named, &mut self.found);
                    self.state = State::Done;
                }
            }
            State::Start | State::Gathering => {
                let probe = BINARY_PROBE.saturating_sub(self.buf.len()).min(chunk.len());
                if memchr::memchr(0, &chunk[..probe]).is_some() {
                    self.state = State::Skip;
                    self.buf.clear();
                    return;
                }
                if self.state == State::Start {
                    // At most MAX_FILE: the size was checked in `start`.
                    self.buf.reserve(self.size as usize);
                }
                self.buf.extend_from_slice(chunk);
                self.state = State::Gathering;
            }
            State::Done | State::InBatch(_) => {
                debug_assert!(chunk.is_empty(), "content past its size");
            }
        }
    }

    /// Ends the file named `path` whose content hashed to `hash`: its values become hits in
    /// `out`, one per rule (the first, and how many), now or when its batch is searched.
    pub fn finish(&mut self, path: &[u8], hash: u64, out: &mut Secrets) {
        match std::mem::take(&mut self.state) {
            State::Gathering => {
                search(&self.buf, self.named, &mut self.found);
                self.buf.clear();
                emit(&mut self.found, path, hash, out);
            }
            State::Done => emit(&mut self.found, path, hash, out),
            State::InBatch(at) => {
                let name = super::capture::relative(path);
                self.batched.push(Batched {
                    at,
                    len: self.batch.len() - 1 - at,
                    name_at: self.batch_names.len(),
                    name_len: name.len(),
                    hash,
                });
                self.batch_names.extend_from_slice(name);
                if self.batch.len() >= BATCH {
                    self.flush(out);
                }
            }
            State::Skip | State::Start => {}
        }
    }

    /// Ends the layer: the small files still waiting are searched.
    pub fn end(&mut self, out: &mut Secrets) {
        self.flush(out);
    }

    /// Searches the batch once; each file holding a candidate is then searched alone.
    fn flush(&mut self, out: &mut Secrets) {
        let FileScanner {
            batch,
            batch_names,
            batched,
            found,
            ..
        } = self;
        let mut last = None;
        for m in automaton().find_iter(&batch[..]) {
            // The file whose bytes hold the candidate (a NUL ends each, and no literal has one).
            let Some(i) = batched
                .partition_point(|b| b.at <= m.start())
                .checked_sub(1)
            else {
                continue;
            };
            if last == Some(i) {
                continue;
            }
            last = Some(i);
            let b = batched[i];
            search(&batch[b.at..b.at + b.len], None, found);
            let name = &batch_names[b.name_at..b.name_at + b.name_len];
            emit(found, name, b.hash, out);
        }
        batch.clear();
        batch_names.clear();
        batched.clear();
    }
}

/// A file's values as hits in `out`, one per rule (the first, and how many); `found` is left
/// empty.
fn emit(found: &mut Vec<Found>, path: &[u8], hash: u64, out: &mut Secrets) {
    // Unstable: no allocation (a file has a few values at most).
    found.sort_unstable_by_key(|f| (f.rule, f.value.start));
    let mut k = 0;
    while k < found.len() {
        let f = &found[k];
        let same = found[k..].iter().take_while(|g| g.rule == f.rule).count();
        out.push(Hit {
            path: super::capture::relative(path).to_vec(),
            rule: f.rule,
            offset: f.value.start as u64,
            len: u32::try_from(f.value.len()).unwrap_or(u32::MAX),
            count: u32::try_from(same).unwrap_or(u32::MAX),
            hash,
            prefix: f.prefix.0,
            prefix_len: f.prefix.1,
        });
        k += same;
    }
    found.clear();
}

/// A secret in a string of the config (an `Env` value, a label, a history command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSecret {
    pub rule: Rule,
    /// Where the value is in the string.
    pub value: Range<usize>,
    /// The name it is given (`TOKEN` in `TOKEN=…`), where one is.
    pub name: Option<Range<usize>>,
    /// What may be shown of it: [`mask`]'s prefix.
    pub prefix: String,
}

/// The secrets in a string: every content rule's, and each `NAME=VALUE` whose name is a
/// credential's ([`credential_name`]) with a value ([`credential_value`]): a build argument
/// as the history records it (`|1 TOKEN=… /bin/sh -c …`), an `ENV`, a variable set in a
/// `RUN`. A value is one word, or quoted.
#[must_use]
pub fn in_text(text: &str) -> Vec<TextSecret> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    find_tokens(bytes, &mut found);
    let tokens = found.len();
    let mut at = 0;
    while let Some(eq) = memchr::memchr(b'=', &bytes[at..]).map(|n| at + n) {
        at = eq + 1;
        let name_len = bytes[..eq]
            .iter()
            .rev()
            .take_while(|&&b| is_word(b) || b == b'.' || b == b'-')
            .count();
        let start = eq - name_len;
        let first_ok = bytes
            .get(start)
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
        let bounded = start == 0
            || bytes[start - 1].is_ascii_whitespace()
            || matches!(bytes[start - 1], b'|' | b';' | b'&' | b'(' | b'"' | b'\'');
        if name_len == 0 || !first_ok || !bounded || !credential_name(&text[start..eq]) {
            continue;
        }
        let value = match bytes.get(eq + 1) {
            Some(&q @ (b'"' | b'\'')) => {
                let open = eq + 2;
                let window = &bytes[open..bytes.len().min(open + MAX_VALUE)];
                open..open + memchr::memchr(q, window).unwrap_or(window.len())
            }
            _ => {
                let n = bytes[eq + 1..]
                    .iter()
                    .take(MAX_VALUE)
                    .take_while(|&&b| !b.is_ascii_whitespace() && !matches!(b, b';' | b'&' | b'|'))
                    .count();
                eq + 1..eq + 1 + n
            }
        };
        if !credential_value(&bytes[value.clone()]) {
            continue;
        }
        let overlaps = found[..tokens]
            .iter()
            .any(|t| t.value.start < value.end && value.start < t.value.end);
        if let Some(t) = found[..tokens].iter_mut().find(|t| t.value == value) {
            t.name = Some(start..eq);
        } else if !overlaps {
            found.push(Found {
                rule: Rule::NamedCredential,
                value,
                name: Some(start..eq),
                reveal: true,
                prefix: ([0; 4], 0),
            });
        }
    }
    found.sort_by_key(|f| f.value.start);
    found
        .into_iter()
        .map(|f| {
            let v = &bytes[f.value.clone()];
            let (p, n) = masked_prefix(v, v.len(), f.reveal);
            TextSecret {
                rule: f.rule,
                value: f.value,
                name: f.name,
                prefix: String::from_utf8_lossy(&p[..usize::from(n)]).into_owned(),
            }
        })
        .collect()
}

/// The string with every secret [`in_text`] finds replaced by its [`mask`]: a command or a
/// Dockerfile line as the faces may print it.
#[must_use]
pub fn redact(text: &str) -> Cow<'_, str> {
    let found = in_text(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        if f.value.start < at {
            continue;
        }
        out.push_str(&text[at..f.value.start]);
        out.push_str(&mask(&f.prefix, f.value.len() as u64));
        at = f.value.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Throwaway keys made for these tests (`testdata/secrets/README.md`).
    const RSA: &str = include_str!("../../../../testdata/secrets/context/id_rsa");
    const ED25519: &str = include_str!("../../../../testdata/secrets/context/id_ed25519");
    /// AWS's documented example key pair.
    const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// The hits of one file, fed in pieces of `piece` bytes (0: whole).
    fn scan_in(path: &str, content: &[u8], piece: usize) -> Vec<Hit> {
        let mut s = FileScanner::new();
        let mut out = Secrets::default();
        if s.start(path.as_bytes(), content.len() as u64) {
            if piece == 0 {
                s.feed(content);
            } else {
                for c in content.chunks(piece) {
                    s.feed(c);
                }
            }
        }
        s.finish(path.as_bytes(), 7, &mut out);
        s.end(&mut out);
        out.hits().to_vec()
    }

    fn scan(path: &str, content: &str) -> Vec<Hit> {
        scan_in(path, content.as_bytes(), 0)
    }

    /// (rule, offset, length, prefix) of each hit.
    fn facts(hits: &[Hit]) -> Vec<(Rule, u64, u32, String)> {
        hits.iter()
            .map(|h| (h.rule, h.offset, h.len, h.prefix().to_string()))
            .collect()
    }

    /// What a hit on `value` inside `content` must say, computed from the strings: its offset,
    /// its length, and a quarter of it up to 4 characters when it may be shown.
    fn expect(rule: Rule, content: &str, value: &str, reveal: bool) -> (Rule, u64, u32, String) {
        let at = content.find(value).unwrap();
        let shown = if reveal {
            value.chars().take((value.len() / 4).min(4)).collect()
        } else {
            String::new()
        };
        (rule, at as u64, value.len() as u32, shown)
    }

    #[test]
    fn each_rule_finds_its_value_and_shows_at_most_four_characters() {
        let gh = format!("ghp_{}", "Ab12".repeat(9));
        let pat = format!("github_pat_{}", "Ab1_".repeat(20) + "xy");
        let npm = format!("npm_{}", "Zz09".repeat(9));
        let gl = "glpat-AbCdEfGh1234567890xY";
        let slack = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
        let stripe = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
        let azure = format!(
            "{}==",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw"
        );
        let cases: Vec<(&str, String, Rule, String, bool)> = vec![
            (
                "root/.ssh/id_rsa",
                RSA.into(),
                Rule::PrivateKey,
                RSA.trim_end().into(),
                false,
            ),
            (
                "home/u/.ssh/id_ed25519",
                ED25519.into(),
                Rule::PrivateKey,
                ED25519.trim_end().into(),
                false,
            ),
            (
                "app/config.py",
                format!("AWS_ACCESS_KEY_ID = '{AWS_ID}'\n"),
                Rule::AwsAccessKeyId,
                AWS_ID.into(),
                true,
            ),
            (
                "srv/gh.txt",
                format!("token: {gh}\n"),
                Rule::GithubToken,
                gh.clone(),
                true,
            ),
            (
                "srv/pat.txt",
                format!("x={pat};"),
                Rule::GithubToken,
                pat.clone(),
                true,
            ),
            (
                "srv/gl.txt",
                format!("\"{gl}\""),
                Rule::GitlabToken,
                gl.into(),
                true,
            ),
            (
                "srv/slack.js",
                format!("const t = '{slack}';"),
                Rule::SlackToken,
                slack.into(),
                true,
            ),
            (
                "srv/pay.rb",
                format!("Stripe.api_key = \"{stripe}\""),
                Rule::StripeKey,
                stripe.into(),
                true,
            ),
            (
                "srv/ci.sh",
                format!("echo {npm} > x"),
                Rule::NpmToken,
                npm.clone(),
                true,
            ),
            (
                "srv/appsettings.json",
                format!(
                    "\"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={azure};EndpointSuffix=core.windows.net\""
                ),
                Rule::AzureStorageKey,
                azure.clone(),
                true,
            ),
            (
                "app/.env",
                "# db\nexport DB_PASSWORD=\"p4ss word\"\nDEBUG=1\n".into(),
                Rule::Dotenv,
                "p4ss word".into(),
                true,
            ),
            (
                "app/prod.env",
                "SECRET_KEY_BASE=abcdef0123 # rails\n".into(),
                Rule::Dotenv,
                "abcdef0123".into(),
                true,
            ),
            (
                "root/.npmrc",
                "//registry.npmjs.org/:_authToken=0123456789abcdef\n".into(),
                Rule::Npmrc,
                "0123456789abcdef".into(),
                true,
            ),
            (
                "root/.pypirc",
                "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n".into(),
                Rule::Pypirc,
                "pypi-AgEIcHlwaS5vcmc".into(),
                true,
            ),
            (
                "root/.netrc",
                "machine example.org login bob password s3cretpw\n".into(),
                Rule::Netrc,
                "s3cretpw".into(),
                true,
            ),
            (
                "root/.git-credentials",
                "https://bob:gitpass99@example.org\n".into(),
                Rule::GitCredentials,
                "gitpass99".into(),
                true,
            ),
            (
                "root/.docker/config.json",
                "{\"auths\": {\"registry.example.org\": {\"auth\": \"Ym9iOmh1bnRlcjI=\"}}}".into(),
                Rule::DockerAuth,
                "Ym9iOmh1bnRlcjI=".into(),
                true,
            ),
            (
                "root/.kube/config",
                "users:\n- name: admin\n  user:\n    token: eyJhbGciOiJSUzI1NiJ9.e30.sig\n".into(),
                Rule::Kubeconfig,
                "eyJhbGciOiJSUzI1NiJ9.e30.sig".into(),
                true,
            ),
            (
                "etc/any.yaml",
                "  client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2\n".into(),
                Rule::Kubeconfig,
                "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2".into(),
                false,
            ),
        ];
        for (path, content, rule, value, reveal) in &cases {
            let hits = scan(path, content);
            assert_eq!(
                facts(&hits),
                [expect(*rule, content, value, *reveal)],
                "{path}"
            );
            assert_eq!(hits[0].path, path.as_bytes());
            assert!(hits[0].prefix().len() <= 4);
        }
    }

    #[test]
    fn an_aws_secret_key_is_found_beside_its_id_or_by_its_name() {
        let csv = format!("Access key ID,Secret access key\n{AWS_ID},{AWS_SECRET}\n");
        assert_eq!(
            facts(&scan("tmp/keys.csv", &csv)),
            [
                expect(Rule::AwsAccessKeyId, &csv, AWS_ID, true),
                expect(Rule::AwsSecretAccessKey, &csv, AWS_SECRET, true),
            ]
        );
        let ini = format!(
            "[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n"
        );
        assert_eq!(
            facts(&scan("root/.aws/credentials", &ini)),
            [
                expect(Rule::AwsAccessKeyId, &ini, AWS_ID, true),
                expect(Rule::AwsSecretAccessKey, &ini, AWS_SECRET, true),
            ],
            "the named key is the one beside the id: found once"
        );
        // A git hash beside an id is no secret key: no capital.
        let log = format!("{AWS_ID} 3f786850e387550fdab836ed7e6dc881de23001b\n");
        assert_eq!(
            facts(&scan("tmp/log", &log)),
            [expect(Rule::AwsAccessKeyId, &log, AWS_ID, true)]
        );
    }

    #[test]
    fn a_service_account_key_is_one_secret_not_two() {
        let escaped = RSA.trim_end().replace('\n', "\\n");
        let json = format!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"p\",\n  \"private_key_id\": \"0123\",\n  \"private_key\": \"{escaped}\\n\",\n  \"client_email\": \"a@p.iam.gserviceaccount.com\"\n}}\n"
        );
        let value = format!("{escaped}\\n");
        assert_eq!(
            facts(&scan("app/sa.json", &json)),
            [expect(Rule::GcpServiceAccount, &json, &value, false)]
        );
        // The same key in a JSON that is no service account is a private key.
        let other = json.replace("service_account", "authorized_user");
        assert_eq!(
            facts(&scan("app/sa.json", &other))
                .iter()
                .map(|f| f.0)
                .collect::<Vec<_>>(),
            [Rule::PrivateKey]
        );
    }

    #[test]
    fn look_alikes_are_not_secrets() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\nRTESMBAGA1UEChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYD\n-----END CERTIFICATE-----\n";
        let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApGPBAQFfoaAj3Y1HkNWL\nDaGp0z4mkSQ0toEhJVKv2+DNgmTyTqm+2Ok5r/8/jCANhq+yM2OAYstrwQ2GfIMc\n-----END PUBLIC KEY-----\n";
        let cases = [
            (
                "app/.env.example",
                "DB_PASSWORD=\nAPI_KEY=\nGITHUB_TOKEN=\n",
            ),
            (
                "app/.env",
                "DB_PASSWORD=\nAPI_KEY=''\nNPM_TOKEN=${NPM_TOKEN}\nPWD=/app\n",
            ),
            (
                "app/.env",
                "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D\nPATH=/bin\n",
            ),
            ("etc/ssl/certs/ca.pem", cert),
            ("etc/ssh/key.pub", public),
            (
                "usr/lib/x.py",
                "PEM = b'-----BEGIN RSA PRIVATE KEY-----'\nif line == PEM:\n",
            ),
            (
                "app/ids.txt",
                "AKIAiosfodnn7example AKIAIOSFODNN7EXAMPL AKIAIOSFODNN7EXAMPLE1\n",
            ),
            (
                "app/x.js",
                "process.env.npm_config_cache; npm_package_name; ghp_short;\n",
            ),
            (
                "app/y.js",
                "const a = 'xghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';\n",
            ),
            (
                "root/.npmrc",
                "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
            ),
            (
                "root/.docker/config.json",
                "{\"auths\": {\"r.example.org\": {}}, \"credsStore\": \"pass\"}",
            ),
            ("app/conf", "AccountKey=short;\n"),
            (
                "app/sa.json",
                "{\"type\": \"service_account\", \"private_key\": \"\"}",
            ),
            ("root/.git-credentials", "https://example.org/path@x\n"),
        ];
        for (path, content) in cases {
            assert_eq!(facts(&scan(path, content)), [], "{path}");
        }
    }

    #[test]
    fn a_file_in_pieces_is_searched_as_a_whole_one() {
        let mut content = "x".repeat(5000);
        content.push_str(&format!("\naws_access_key_id = {AWS_ID}\n"));
        content.push_str(RSA);
        let whole = facts(&scan_in("tmp/f", content.as_bytes(), 0));
        assert_eq!(whole.len(), 2, "{whole:?}");
        for piece in [1, 7, 512, 4999, 5010, content.len() - 1] {
            assert_eq!(
                facts(&scan_in("tmp/f", content.as_bytes(), piece)),
                whole,
                "{piece}"
            );
        }
    }

    /// A NUL in the first 8 KiB marks a binary, not searched, whole or in pieces; one past
    /// them does not.
    #[test]
    fn binaries_and_files_over_the_cap_are_not_searched() {
        for at in [0, 100, BINARY_PROBE - 1] {
            let mut bytes = vec![b'x'; BINARY_PROBE + 100];
            bytes[at] = 0;
            bytes.extend_from_slice(AWS_ID.as_bytes());
            for piece in [0, 64, 4096] {
                assert!(
                    scan_in("usr/bin/tool", &bytes, piece).is_empty(),
                    "{at} {piece}"
                );
            }
        }
        let mut late = vec![b'x'; BINARY_PROBE];
        late.push(0);
        late.extend_from_slice(format!(" {AWS_ID}").as_bytes());
        assert_eq!(scan_in("usr/share/x", &late, 0).len(), 1);
        // Over the cap: not searched at all (a key at its very start is not found).
        let mut big = RSA.as_bytes().to_vec();
        big.resize(MAX_FILE as usize + 1, b'\n');
        assert!(!FileScanner::new().start(b"root/id_rsa", big.len() as u64));
        assert!(scan_in("root/id_rsa", &big, 0).is_empty());
        big.truncate(MAX_FILE as usize);
        assert_eq!(
            scan_in("root/id_rsa", &big, 0).len(),
            1,
            "at the cap it is searched"
        );
    }

    /// A file shorter than the shortest token is not searched, unless its name marks it.
    #[test]
    fn tiny_files_are_searched_only_when_named() {
        let mut s = FileScanner::new();
        assert!(!s.start(b"app/VERSION", SHORTEST - 1));
        assert!(s.start(b"app/VERSION", SHORTEST));
        let env = "A_KEY=x1\n";
        assert_eq!(
            facts(&scan("app/.env", env)),
            [expect(Rule::Dotenv, env, "x1", true)]
        );
    }

    #[test]
    fn a_file_counts_its_values_of_a_rule_and_keeps_the_first() {
        let content = format!("a {AWS_ID}\nb ASIAQWERTYUIOPASDFGH\n");
        let hits = scan("app/keys", &content);
        assert_eq!(
            facts(&hits),
            [expect(Rule::AwsAccessKeyId, &content, AWS_ID, true)]
        );
        assert_eq!(hits[0].count, 2);
        assert_eq!(hits[0].hash, 7);
    }

    /// Hostile files cost time linear in their size: 1 MiB of key headers, ids and JSON keys.
    #[test]
    fn repeated_candidates_stay_bounded() {
        for unit in [
            "-----BEGIN PRIVATE KEY-----\n",
            "AKIAIOSFODNN7EXAMPLE ",
            "\"type\": \"service_account\" ",
            "client-key-data: x ",
            "aws_secret_access_key = ",
        ] {
            let content = unit.repeat((MAX_FILE as usize) / unit.len());
            let hits = scan("tmp/h", &content);
            assert!(
                hits.iter().all(|h| h.count as usize <= MAX_PER_FILE),
                "{unit}"
            );
        }
    }

    /// Small files are searched in batches: each one's hits are its own (offset, hash, name),
    /// whether its batch is searched when full or at the end of the layer, and a binary among
    /// them is still no text.
    #[test]
    fn small_files_searched_together_keep_their_own_hits() {
        let mut s = FileScanner::new();
        let mut out = Secrets::default();
        let mut expected = Vec::new();
        let n = 3 * BATCH / 40;
        for i in 0..n {
            let name = format!("./d/f{i}");
            let content = match i % 97 {
                5 => format!("k={AWS_ID}"),
                17 => format!("x\0{AWS_ID}"),
                _ => format!("plain text {i} npm_ AKIA xoxb- -----BEGIN"),
            };
            assert!(s.start(name.as_bytes(), content.len() as u64));
            s.feed(content.as_bytes());
            s.finish(name.as_bytes(), i as u64, &mut out);
            if i % 97 == 5 {
                expected.push((format!("d/f{i}").into_bytes(), 2u64, i as u64));
            }
        }
        let before_end = out.hits().len();
        s.end(&mut out);
        assert!(
            before_end > 0 && before_end < expected.len(),
            "{before_end}"
        );
        let got: Vec<(Vec<u8>, u64, u64)> = out
            .hits()
            .iter()
            .map(|h| {
                assert_eq!(
                    (h.rule, h.len, h.prefix()),
                    (Rule::AwsAccessKeyId, 20, "AKIA")
                );
                (h.path.clone(), h.offset, h.hash)
            })
            .collect();
        assert_eq!(got, expected);
        // The scanner is empty again: a new layer starts from nothing.
        s.end(&mut out);
        assert_eq!(out.hits().len(), expected.len());
    }

    #[test]
    fn names_say_which_files_hold_credentials() {
        let yes = [
            ("app/.env", Named::Dotenv),
            ("./app/.env.production", Named::Dotenv),
            ("srv/prod.env", Named::Dotenv),
            ("root/.npmrc", Named::Npmrc),
            ("usr/etc/npmrc", Named::Npmrc),
            ("root/.pypirc", Named::Pypirc),
            ("root/.netrc", Named::Netrc),
            ("root/.git-credentials", Named::GitCredentials),
            ("root/.config/git/credentials", Named::GitCredentials),
            ("root/.docker/config.json", Named::DockerConfig),
            ("kaniko/.docker/config.json", Named::DockerConfig),
            ("run/containers/0/containers/auth.json", Named::DockerConfig),
            ("root/.kube/config", Named::Kubeconfig),
            ("etc/kubernetes/admin.conf", Named::Kubeconfig),
            ("app/prod.kubeconfig", Named::Kubeconfig),
        ];
        for (path, kind) in yes {
            assert_eq!(named(path.as_bytes()), Some(kind), "{path}");
        }
        for path in [
            "app/.env.example",
            "app/.env.sample",
            "app/env",
            "app/.envrc",
            "app/config.json",
            "etc/kube/config",
            "root/.ssh/config",
            ".env/x",
        ] {
            assert_eq!(named(path.as_bytes()), None, "{path}");
        }
    }

    #[test]
    fn credential_names() {
        for n in [
            "PASSWORD",
            "DB_PASSWORD",
            "mysql_root_password",
            "API_TOKEN",
            "CLIENT_SECRET",
            "AWS_SECRET_ACCESS_KEY",
            "STRIPE_API_KEY",
            "SSH_KEY",
            "SECRET_KEY_BASE",
            "REDIS_PASS",
            "DB_PWD",
            "deploy.secret",
            "x-api-token",
        ] {
            assert!(credential_name(n), "{n}");
        }
        for n in [
            "PWD",
            "KEY",
            "GPG_KEY",
            "NODE_GPG_KEY",
            "PUBLIC_KEY",
            "STRIPE_PUBLISHABLE_KEY",
            "POSTGRES_PASSWORD_FILE",
            "SECRET_NAME",
            "TOKEN_URL",
            "AWS_ACCESS_KEY_ID",
            "PASSWORDLESS",
            "PATH",
            "",
        ] {
            assert!(!credential_name(n), "{n}");
        }
    }

    #[test]
    fn strings_of_the_config_are_read_and_masked() {
        let gh = format!("ghp_{}", "Ab12".repeat(9));
        let cmd =
            format!("|2 NPM_TOKEN=npmsecret99 GH={gh} /bin/sh -c make DB_PASS=x && echo done");
        let found = in_text(&cmd);
        let got: Vec<(Rule, &str, Option<&str>, &str)> = found
            .iter()
            .map(|f| {
                (
                    f.rule,
                    &cmd[f.value.clone()],
                    f.name.clone().map(|r| &cmd[r]),
                    f.prefix.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    Rule::NamedCredential,
                    "npmsecret99",
                    Some("NPM_TOKEN"),
                    "np"
                ),
                (Rule::GithubToken, gh.as_str(), None, "ghp_"),
                (Rule::NamedCredential, "x", Some("DB_PASS"), ""),
            ]
        );
        let masked = redact(&cmd);
        assert_eq!(
            masked,
            format!(
                "|2 NPM_TOKEN=np…(11 characters) GH=ghp_…(40 characters) /bin/sh -c make \
                 DB_PASS=…(1 character) && echo done"
            )
        );
        assert!(!masked.contains("npmsecret") && !masked.contains(&gh[..5]));
        assert!(matches!(redact("RUN make"), Cow::Borrowed(_)));
        // A quoted value is the whole quote.
        let env = "ENV API_KEY=\"two words\" X=1";
        assert_eq!(redact(env), "ENV API_KEY=\"tw…(9 characters)\" X=1");
    }

    #[test]
    fn a_layer_keeps_so_many_hits() {
        let mut s = Secrets::default();
        for _ in 0..MAX_HITS + 3 {
            s.push(Hit::new(b"p".to_vec(), Rule::NpmToken, 0, 40, b"npm_"));
        }
        assert_eq!((s.hits().len(), s.dropped), (MAX_HITS, 3));
        let mut s = Secrets::default();
        let long = vec![b'a'; (MAX_PATH_BYTES / 2) as usize];
        for _ in 0..3 {
            s.push(Hit::new(long.clone(), Rule::NpmToken, 0, 40, b"npm_"));
        }
        assert_eq!((s.hits().len(), s.dropped), (2, 1));
    }

    #[test]
    fn rule_codes_and_ids_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::from_code(r.code()), Some(r));
            assert_eq!(Rule::from_id(r.id()), Some(r));
        }
        assert_eq!(Rule::from_code(Rule::ALL.len() as u8), None);
    }
}
