//! rpm's `rpmdb.sqlite` (rpm ≥ 4.16: RHEL 9, Fedora ≥ 36, CBL-Mariner): an SQLite file whose
//! table `Packages(hnum, blob)` holds one [header](super::header) per installed package.
//!
//! The file is hostile input. SQLite (bundled, so the same everywhere) opens a copy of the
//! captured bytes in memory, read only, defensive, with no trust in the schema, no value
//! longer than the file and a bound on its work; only a plain table is read, at most
//! [`MAX_PACKAGES`] rows. A bad database is one error; a bad header is counted and skipped.

use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, MAIN_DB};

use super::header::{BadHeader, Header, parse_header};

/// The most packages read from one database (a full Fedora workstation has 2,500).
pub const MAX_PACKAGES: usize = 1 << 16;
/// SQLite's virtual machine steps between two checks of the work budget, and the budget: a
/// scan of a real database takes a few thousand steps per package.
const STEPS_PER_CHECK: i32 = 10_000;
const MAX_CHECKS: u32 = 20_000;

/// What one database holds.
#[derive(Debug, Default)]
pub struct Database {
    /// The packages whose headers could be read, in `hnum` order.
    pub headers: Vec<Header>,
    /// Headers that could not be read, and the first one's record number (-1: not known) and
    /// reason.
    pub bad: usize,
    pub first_bad: Option<(i64, BadHeader)>,
    /// More than [`MAX_PACKAGES`] rows: the rest were not read.
    pub truncated: bool,
}

/// Why a database could not be read (this one, or a BerkeleyDB one: [`super::bdb`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not an SQLite database")]
    NotSqlite,
    #[error("it has no table Packages")]
    NoPackages,
    #[error("its Packages is not a plain table")]
    NotPlain,
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("not a Berkeley DB hash database")]
    NotBerkeley,
    #[error("Berkeley DB: {0}")]
    Berkeley(&'static str),
}

/// The rows of `Packages`, each header parsed (`files`: with its file list).
pub fn read_sqlite(bytes: &[u8], files: bool) -> Result<Database, DbError> {
    let conn = open(bytes)?;
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_schema WHERE name = 'Packages'",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    match kind.as_deref() {
        None => return Err(DbError::NoPackages),
        Some("table") => {}
        Some(_) => return Err(DbError::NotPlain),
    }
    // A generated or hidden column computes its value from the schema's SQL: not rpm's table.
    let hidden: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_table_xinfo('Packages') WHERE hidden != 0",
        [],
        |r| r.get(0),
    )?;
    if hidden != 0 {
        return Err(DbError::NotPlain);
    }
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum LIMIT ?1")?;
    let mut rows = stmt.query([MAX_PACKAGES as i64 + 1])?;
    let mut db = Database::default();
    let mut seen = 0;
    while let Some(row) = rows.next()? {
        seen += 1;
        if seen > MAX_PACKAGES {
            db.truncated = true;
            break;
        }
        let hnum = row.get_ref(0)?.as_i64().unwrap_or(-1);
        let parsed = match row.get_ref(1)? {
            ValueRef::Blob(b) => parse_header(b, files),
            _ => Err(BadHeader::Short(0)),
        };
        match parsed {
            Ok(h) => db.headers.push(h),
            Err(why) => {
                db.bad += 1;
                db.first_bad.get_or_insert((hnum, why));
            }
        }
    }
    Ok(db)
}

/// An in-memory, read-only SQLite connection on a copy of `bytes`, set up for a hostile file.
fn open(bytes: &[u8]) -> Result<Connection, DbError> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    // The header's page size (at 16) and format bytes (18, 19) must be there to patch them.
    if bytes.len() < 100 || !bytes.starts_with(MAGIC) {
        return Err(DbError::NotSqlite);
    }
    let mut conn = Connection::open_in_memory()?;
    // rpm keeps its database in WAL mode (file format 2), which an in-memory database cannot
    // open (SQLITE_CANTOPEN): read it as the rollback-journal file it is once checkpointed.
    let head = [&bytes[..18], &[1, 1]].concat();
    let reader = std::io::Read::chain(head.as_slice(), &bytes[20..]);
    conn.deserialize_read_exact(MAIN_DB, reader, bytes.len(), true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    // No value can be longer than the file holding it.
    let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, len)?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA cell_size_check = ON;")?;
    let mut checks = 0u32;
    conn.progress_handler(
        STEPS_PER_CHECK,
        Some(move || {
            checks += 1;
            checks > MAX_CHECKS
        }),
    )?;
    Ok(conn)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::super::super::dpkg::tests::fixture;
    use super::super::header::tests::tool_header;
    use super::*;

    /// An rpmdb.sqlite holding these headers, as rpm's table.
    pub(crate) fn rpmdb(headers: &[Vec<u8>]) -> Vec<u8> {
        sqlite(RPM_TABLE, headers)
    }

    /// The database of CBL-Mariner 2.0 that go-rpmdb tests: every package `rpm -qa` lists
    /// (the fixture's README derived the TSV with rpm 4.18), with its epoch, version, release,
    /// arch and size.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn reads_what_rpm_qa_reads() {
        let db = read_sqlite(&fixture("rpm/go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite"), true).unwrap();
        assert_eq!((db.bad, db.truncated), (0, false));
        let tsv =
            String::from_utf8(fixture("rpm/go-rpmdb/cbl-mariner-2.0/expected-rpm-qa.tsv")).unwrap();
        let mut want: Vec<(String, String, String, String, String, u64)> = tsv
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let epoch = if f[1] == "(none)" { "" } else { f[1] };
                (
                    f[0].into(),
                    epoch.into(),
                    f[2].into(),
                    f[3].into(),
                    f[4].into(),
                    f[5].parse().unwrap(),
                )
            })
            .collect();
        let mut got: Vec<(String, String, String, String, String, u64)> = db
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.clone(),
                    h.epoch.map(|e| e.to_string()).unwrap_or_default(),
                    h.version.clone(),
                    h.release.clone(),
                    h.arch.clone().unwrap_or_default(),
                    h.size.unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), 129);
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }

    /// go-rpmdb's test of curl in that database: its six paths, with their modes and sizes.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn reads_curls_files_as_go_rpmdb_does() {
        let db = read_sqlite(&fixture("rpm/go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite"), true).unwrap();
        let want: serde_json::Value = serde_json::from_slice(&fixture(
            "rpm/go-rpmdb/cbl-mariner-2.0/expected-go-rpmdb.json",
        ))
        .unwrap();
        let curl = db.headers.iter().find(|h| h.name == "curl").unwrap();
        let p = &want["curl"]["package"];
        assert_eq!(curl.version, p["Version"].as_str().unwrap());
        assert_eq!(curl.release, p["Release"].as_str().unwrap());
        assert_eq!(curl.arch.as_deref(), p["Arch"].as_str());
        assert_eq!(curl.size, p["Size"].as_u64());
        let got: Vec<(String, u64, u64)> = curl
            .files
            .iter()
            .map(|f| {
                (
                    String::from_utf8(f.path.clone()).unwrap(),
                    u64::from(f.mode.unwrap()),
                    f.size.unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, u64, u64)> = want["curl"]["InstalledFiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["Path"].as_str().unwrap().to_string(),
                    f["Mode"].as_u64().unwrap(),
                    f["Size"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), 6);
        assert_eq!(got, want);
        assert_eq!(curl.files.iter().filter(|f| f.is_dir()).count(), 1);
    }

    /// An SQLite file made by SQLite itself, with `sql` run on an empty database.
    fn sqlite(sql: &str, blobs: &[Vec<u8>]) -> Vec<u8> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        for b in blobs {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap();
        }
        conn.serialize(MAIN_DB).unwrap().to_vec()
    }

    const RPM_TABLE: &str =
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);";

    /// A good header is read, a bad one and a value that is no blob are counted: the first
    /// bad row is named.
    #[test]
    fn bad_rows_are_counted_and_the_rest_read() {
        let db = sqlite(
            &format!("{RPM_TABLE} CREATE TABLE t (x);"),
            &[tool_header(), vec![0; 8]],
        );
        let mut with_text = Connection::open_in_memory().unwrap();
        with_text
            .deserialize_read_exact(MAIN_DB, db.as_slice(), db.len(), false)
            .unwrap();
        with_text
            .execute("INSERT INTO Packages (blob) VALUES ('text')", [])
            .unwrap();
        let db = with_text.serialize(MAIN_DB).unwrap().to_vec();
        let got = read_sqlite(&db, true).unwrap();
        assert_eq!(got.headers.len(), 1);
        assert_eq!(got.headers[0].name, "tool");
        assert_eq!((got.bad, got.truncated), (2, false));
        assert_eq!(got.first_bad, Some((2, BadHeader::Entries(0))));
    }

    /// Not SQLite, SQLite cut short, no table, a view or computed columns in its place: one
    /// error each, never a panic.
    #[test]
    fn a_database_that_is_not_rpms_is_refused() {
        assert!(matches!(
            read_sqlite(b"garbage", true),
            Err(DbError::NotSqlite)
        ));
        let mut bogus = b"SQLite format 3\0".to_vec();
        bogus.resize(4096, 0xff);
        assert!(matches!(read_sqlite(&bogus, true), Err(DbError::Sqlite(_))));
        let many: Vec<Vec<u8>> = (0..300).map(|_| tool_header()).collect();
        let whole = sqlite(RPM_TABLE, &many);
        assert_eq!(read_sqlite(&whole, false).unwrap().headers.len(), 300);
        for cut in [whole.len() / 2, 100, 1000] {
            assert!(
                read_sqlite(&whole[..cut], false).is_err(),
                "cut at {cut} of {}",
                whole.len()
            );
        }
        assert!(matches!(
            read_sqlite(&sqlite("CREATE TABLE other (x);", &[]), true),
            Err(DbError::NoPackages)
        ));
        let view = "CREATE TABLE t (hnum, blob); CREATE VIEW Packages AS \
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
            SELECT x AS hnum, zeroblob(100000000) AS blob FROM c;";
        assert!(matches!(
            read_sqlite(&sqlite(view, &[]), true),
            Err(DbError::NotPlain)
        ));
        let generated = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, \
            blob BLOB GENERATED ALWAYS AS (zeroblob(100000000)) VIRTUAL, x);";
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(generated).unwrap();
        conn.execute("INSERT INTO Packages (x) VALUES (1)", [])
            .unwrap();
        let db = conn.serialize(MAIN_DB).unwrap().to_vec();
        assert!(matches!(read_sqlite(&db, true), Err(DbError::NotPlain)));
    }

    /// At most MAX_PACKAGES rows are read, and the database says it had more.
    #[test]
    fn rows_past_the_bound_are_not_read() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(RPM_TABLE).unwrap();
        conn.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ?1) \
             INSERT INTO Packages (blob) SELECT x'00' FROM c",
            [MAX_PACKAGES as i64 + 5],
        )
        .unwrap();
        let db = conn.serialize(MAIN_DB).unwrap().to_vec();
        let got = read_sqlite(&db, true).unwrap();
        assert_eq!((got.bad, got.truncated), (MAX_PACKAGES, true));
    }
}
