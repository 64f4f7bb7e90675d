//! The provisioning log in the SQLite file or in PostgreSQL: [`ServerLog`], the engine's
//! [`ProvisioningLog`] over the `scimkit_server_log` table, with the queries the
//! admin page and `scimkit log export` need (counts, per-hour/day statistics,
//! JSON-lines export) and retention.
//!
//! Entries never hold tokens, passwords or bodies: the engine writes only
//! ids, names, statuses and the SCIM error sent to the client.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::types::ToSql;
use rusqlite::{Connection, params, params_from_iter};
use scimkit::store::{StoreError, StoreResult, fold_case};
use scimkit::{BatchingLog, LogEntry, LogQuery, Outcome, ProvisioningLog, ResourceKind};
use time::OffsetDateTime;

use crate::db::DbError;
use crate::pg::PgDb;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scimkit_server_log (
    seq           INTEGER PRIMARY KEY,
    time          TEXT NOT NULL,
    tenant        TEXT NOT NULL,
    token_id      TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    operation     TEXT NOT NULL,
    resource_type TEXT,
    resource_id   TEXT,
    name          TEXT,
    name_key      TEXT,
    status        INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    scim_type     TEXT,
    detail        TEXT
);
CREATE INDEX IF NOT EXISTS scimkit_server_log_by_time ON scimkit_server_log (time);
CREATE INDEX IF NOT EXISTS scimkit_server_log_by_tenant ON scimkit_server_log (tenant, time);
CREATE INDEX IF NOT EXISTS scimkit_server_log_by_resource ON scimkit_server_log (resource_id, time);
CREATE INDEX IF NOT EXISTS scimkit_server_log_by_name ON scimkit_server_log (name_key, time);
CREATE INDEX IF NOT EXISTS scimkit_server_log_by_outcome ON scimkit_server_log (outcome, time);
CREATE INDEX IF NOT EXISTS scimkit_server_log_by_request ON scimkit_server_log (request_id);
";

const COLUMNS: &str = "time, tenant, token_id, request_id, method, path, operation, resource_type, \
                       resource_id, name, status, outcome, scim_type, detail";

/// Requests per time bucket (for the admin page's charts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// The bucket's start: `YYYY-MM-DD` (days) or `YYYY-MM-DDTHH` (hours).
    pub(crate) start: String,
    /// Entries in it.
    pub(crate) total: u64,
    /// Of which failed.
    pub(crate) failures: u64,
}

/// A tenant's totals since some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantTotals {
    pub(crate) tenant: String,
    pub(crate) total: u64,
    pub(crate) failures: u64,
}

/// The provisioning log table: on its own SQLite connection, or in
/// PostgreSQL (shared by every replica).
pub(crate) enum ServerLog {
    /// In the SQLite file.
    Sqlite(Mutex<Connection>),
    /// In PostgreSQL, next to the server's other tables.
    Postgres(Arc<PgDb>),
}

/// The log as the admin page and the CLI read it: entries the engine has
/// handed to the [`BatchingLog`] writer are written before each read.
#[derive(Debug, Clone)]
pub(crate) struct LogReader {
    log: Arc<ServerLog>,
    writer: Option<Arc<BatchingLog>>,
}

impl LogReader {
    /// Reads of `log`, which `writer` (if any) writes to in the background.
    pub(crate) fn new(log: Arc<ServerLog>, writer: Option<Arc<BatchingLog>>) -> Self {
        Self { log, writer }
    }

    /// The log, with every entry recorded so far written. Blocks: call it off
    /// the async executor.
    pub(crate) fn current(&self) -> &ServerLog {
        if let Some(w) = &self.writer {
            w.flush();
        }
        &self.log
    }
}

impl std::fmt::Debug for ServerLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLog").finish_non_exhaustive()
    }
}

fn other(e: rusqlite::Error) -> StoreError {
    StoreError::other(e)
}

/// A PostgreSQL failure of the log as the engine sees it: unavailable (503
/// where it matters) or other.
fn pg_store_error(e: DbError) -> StoreError {
    match e {
        DbError::Unavailable(_) => StoreError::Unavailable {
            retry_after: 1,
            source: Box::new(e),
        },
        e => StoreError::other(e),
    }
}

/// The WHERE clause and parameters of a query's conditions.
fn conditions(q: &LogQuery) -> (String, Vec<Box<dyn ToSql>>) {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(t) = &q.tenant {
        clauses.push("tenant = ?");
        args.push(Box::new(t.clone()));
    }
    if let Some(s) = &q.since {
        clauses.push("time >= ?");
        args.push(Box::new(s.clone()));
    }
    if let Some(u) = &q.until {
        clauses.push("time < ?");
        args.push(Box::new(u.clone()));
    }
    if let Some(r) = &q.resource_id {
        clauses.push("resource_id = ?");
        args.push(Box::new(r.clone()));
    }
    if let Some(n) = &q.name {
        clauses.push("name_key = ?");
        args.push(Box::new(fold_case(n)));
    }
    if let Some(o) = q.outcome {
        clauses.push("outcome = ?");
        args.push(Box::new(o.as_str()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}

/// A count column (SQLite integers are signed).
fn get_u64(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: Option<i64> = r.get(i)?;
    Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
}

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
    let resource_type: Option<String> = r.get(7)?;
    let outcome: String = r.get(11)?;
    Ok(LogEntry {
        time: r.get(0)?,
        tenant: r.get(1)?,
        token_id: r.get(2)?,
        request_id: r.get(3)?,
        method: r.get(4)?,
        path: r.get(5)?,
        operation: r.get(6)?,
        resource_type: resource_type.and_then(|t| {
            ResourceKind::ALL
                .into_iter()
                .find(|k| k.as_str() == t.as_str())
        }),
        resource_id: r.get(8)?,
        name: r.get(9)?,
        status: r.get(10)?,
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failure),
        scim_type: r.get(12)?,
        detail: r.get(13)?,
    })
}

impl ServerLog {
    /// Open the log table (creating it) in the SQLite file at `path`.
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        // A crash may lose the last entries, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self::Sqlite(Mutex::new(conn)))
    }

    /// How many entries match the query's conditions (offset/limit ignored).
    pub(crate) fn count(&self, q: &LogQuery) -> Result<u64, DbError> {
        let conn = match self {
            Self::Sqlite(conn) => conn,
            Self::Postgres(pg) => return pg.log_count(q),
        };
        let (w, args) = conditions(q);
        Ok(conn.lock().query_row(
            &format!("SELECT count(*) FROM scimkit_server_log{w}"),
            params_from_iter(args.iter()),
            |r| get_u64(r, 0),
        )?)
    }

    /// Every entry matching the query's conditions, oldest first, as JSON lines
    /// (offset/limit ignored). Returns how many were written.
    pub(crate) fn export(&self, q: &LogQuery, out: &mut dyn Write) -> Result<u64, crate::Error> {
        let conn = match self {
            Self::Sqlite(conn) => conn.lock(),
            Self::Postgres(pg) => return pg.log_export(q, out),
        };
        let (w, args) = conditions(q);
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM scimkit_server_log{w} ORDER BY time, seq"
        ))?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let e = row_to_entry(r)?;
            serde_json::to_writer(&mut *out, &e.to_json())?;
            out.write_all(b"\n")?;
            n += 1;
        }
        out.flush()?;
        Ok(n)
    }

    /// Entries and failures per hour (`hourly`) or day since `since`,
    /// optionally of one tenant, oldest bucket first (empty buckets left out).
    pub(crate) fn buckets(
        &self,
        tenant: Option<&str>,
        since: &str,
        hourly: bool,
    ) -> Result<Vec<Bucket>, DbError> {
        let conn = match self {
            Self::Sqlite(conn) => conn.lock(),
            Self::Postgres(pg) => return pg.log_buckets(tenant, since, hourly),
        };
        let len = if hourly { 13 } else { 10 };
        let mut stmt = conn.prepare(&format!(
            "SELECT substr(time, 1, {len}) AS b, count(*), sum(outcome = 'failure')
               FROM scimkit_server_log
              WHERE time >= ?1 AND (?2 IS NULL OR tenant = ?2)
              GROUP BY b ORDER BY b"
        ))?;
        let rows = stmt.query_map(params![since, tenant], |r| {
            Ok(Bucket {
                start: r.get(0)?,
                total: get_u64(r, 1)?,
                failures: get_u64(r, 2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Entries and failures per tenant since `since` (rejected credentials
    /// under the empty tenant), by tenant name.
    pub(crate) fn totals(&self, since: &str) -> Result<Vec<TenantTotals>, DbError> {
        let conn = match self {
            Self::Sqlite(conn) => conn.lock(),
            Self::Postgres(pg) => return pg.log_totals(since),
        };
        let mut stmt = conn.prepare(
            "SELECT tenant, count(*), sum(outcome = 'failure') FROM scimkit_server_log
              WHERE time >= ?1 GROUP BY tenant ORDER BY tenant",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok(TenantTotals {
                tenant: r.get(0)?,
                total: get_u64(r, 1)?,
                failures: get_u64(r, 2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Delete entries older than `days` days; returns how many.
    pub(crate) fn prune_days(&self, days: u32) -> StoreResult<usize> {
        let before = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
        self.prune(&scimkit::time::format(before))
    }
}

impl ProvisioningLog for ServerLog {
    fn record(&self, e: &LogEntry) -> StoreResult<()> {
        self.record_batch(std::slice::from_ref(e))
    }

    /// One transaction for the batch (one commit: what makes [`BatchingLog`]
    /// cheaper than a commit per request).
    fn record_batch(&self, entries: &[LogEntry]) -> StoreResult<()> {
        let conn = match self {
            Self::Sqlite(conn) => conn,
            Self::Postgres(pg) => return pg.log_record_batch(entries).map_err(pg_store_error),
        };
        let conn = conn.lock();
        let tx = conn.unchecked_transaction().map_err(other)?;
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "INSERT INTO scimkit_server_log ({COLUMNS}, name_key)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                ))
                .map_err(other)?;
            for e in entries {
                stmt.execute(params![
                    e.time,
                    e.tenant,
                    e.token_id,
                    e.request_id,
                    e.method,
                    e.path,
                    e.operation,
                    e.resource_type.map(ResourceKind::as_str),
                    e.resource_id,
                    e.name,
                    e.status,
                    e.outcome.as_str(),
                    e.scim_type,
                    e.detail,
                    e.name.as_deref().map(fold_case),
                ])
                .map_err(other)?;
            }
        }
        tx.commit().map_err(other)
    }

    fn query(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        let conn = match self {
            Self::Sqlite(conn) => conn.lock(),
            Self::Postgres(pg) => return pg.log_query(q).map_err(pg_store_error),
        };
        let (w, mut args) = conditions(q);
        args.push(Box::new(
            i64::try_from(q.effective_limit()).unwrap_or(i64::MAX),
        ));
        args.push(Box::new(i64::try_from(q.offset).unwrap_or(i64::MAX)));
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM scimkit_server_log{w}
                  ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?"
            ))
            .map_err(other)?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), row_to_entry)
            .map_err(other)?;
        rows.collect::<Result<_, _>>().map_err(other)
    }

    fn prune(&self, before: &str) -> StoreResult<usize> {
        let conn = match self {
            Self::Sqlite(conn) => conn,
            Self::Postgres(pg) => return pg.log_prune(before).map_err(pg_store_error),
        };
        conn.lock()
            .execute("DELETE FROM scimkit_server_log WHERE time < ?1", [before])
            .map_err(other)
    }
}

/// A time given on the command line or in a form: RFC 3339
/// (`2024-05-01T12:00:00Z`), a date (`2024-05-01`, midnight UTC), or an age
/// (`90m`, `24h`, `7d`: that long ago). Returns the fixed-width UTC form the
/// log sorts by.
pub(crate) fn parse_time(s: &str) -> Result<String, String> {
    let s = s.trim();
    let err = || {
        format!(
            "invalid time {s:?}: use RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01) or an age (90m, 24h, 7d)"
        )
    };
    if let Some((num, unit)) = s
        .char_indices()
        .last()
        .map(|(i, c)| (&s[..i], c))
        .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        let n: i64 = num.parse().map_err(|_| err())?;
        let d = match unit {
            'm' => time::Duration::minutes(n),
            'h' => time::Duration::hours(n),
            'd' => time::Duration::days(n),
            _ => return Err(err()),
        };
        let t = OffsetDateTime::now_utc().checked_sub(d).ok_or_else(err)?;
        return Ok(scimkit::time::format(t));
    }
    if let Ok(t) = scimkit::time::parse(s) {
        return Ok(scimkit::time::format(t));
    }
    let date = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| err())?;
    Ok(scimkit::time::format(date.midnight().assume_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: &str, tenant: &str, id: &str, name: &str, status: u16) -> LogEntry {
        LogEntry {
            time: time.into(),
            tenant: tenant.into(),
            token_id: "abcd0123".into(),
            request_id: format!("req-{time}-{id}"),
            method: "POST".into(),
            path: "/Users".into(),
            operation: "create".into(),
            resource_type: Some(ResourceKind::User),
            resource_id: Some(id.into()),
            name: Some(name.into()),
            status,
            outcome: if status < 400 {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            scim_type: (status == 409).then(|| "uniqueness".into()),
            detail: (status == 409).then(|| "userName taken".into()),
        }
    }

    fn log() -> (tempfile::TempDir, ServerLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = ServerLog::open(&dir.path().join("l.db")).unwrap();
        (dir, log)
    }

    fn filled() -> (tempfile::TempDir, ServerLog) {
        let (dir, log) = log();
        for e in [
            entry(
                "2024-01-01T10:00:00.000Z",
                "a",
                "u1",
                "Alice@Contoso.com",
                201,
            ),
            entry(
                "2024-01-01T11:00:00.000Z",
                "a",
                "u2",
                "bob@contoso.com",
                409,
            ),
            entry(
                "2024-01-02T09:00:00.000Z",
                "b",
                "u3",
                "carol@fabrikam.com",
                201,
            ),
            entry(
                "2024-01-03T09:30:00.000Z",
                "a",
                "u1",
                "alice@contoso.com",
                200,
            ),
        ] {
            log.record(&e).unwrap();
        }
        (dir, log)
    }

    #[test]
    fn record_and_query_round_trip_newest_first() {
        let (_d, log) = filled();
        let all = log.query(&LogQuery::default()).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].time, "2024-01-03T09:30:00.000Z");
        assert_eq!(
            all[2],
            entry(
                "2024-01-01T11:00:00.000Z",
                "a",
                "u2",
                "bob@contoso.com",
                409
            )
        );
    }

    #[test]
    fn query_filters_agree_with_log_query_accepts() {
        let (_d, log) = filled();
        let all = log.query(&LogQuery::default()).unwrap();
        let queries = [
            LogQuery {
                tenant: Some("a".into()),
                ..Default::default()
            },
            LogQuery {
                name: Some("ALICE@contoso.com".into()),
                ..Default::default()
            },
            LogQuery {
                resource_id: Some("u1".into()),
                outcome: Some(Outcome::Success),
                ..Default::default()
            },
            LogQuery {
                outcome: Some(Outcome::Failure),
                ..Default::default()
            },
            LogQuery {
                since: Some("2024-01-01T11:00:00.000Z".into()),
                until: Some("2024-01-03T00:00:00.000Z".into()),
                ..Default::default()
            },
        ];
        for q in queries {
            let got = log.query(&q).unwrap();
            let want: Vec<LogEntry> = all.iter().filter(|e| q.accepts(e)).cloned().collect();
            assert_eq!(got, want, "{q:?}");
            assert_eq!(log.count(&q).unwrap(), want.len() as u64);
        }
    }

    #[test]
    fn paging_with_offset_and_limit() {
        let (_d, log) = filled();
        let q = |offset, limit| LogQuery {
            offset,
            limit,
            ..Default::default()
        };
        let p1 = log.query(&q(0, 3)).unwrap();
        let p2 = log.query(&q(3, 3)).unwrap();
        assert_eq!((p1.len(), p2.len()), (3, 1));
        assert_eq!(p2[0].time, "2024-01-01T10:00:00.000Z");
        assert!(log.query(&q(4, 3)).unwrap().is_empty());
    }

    #[test]
    fn prune_deletes_only_older_entries() {
        let (_d, log) = filled();
        assert_eq!(log.prune("2024-01-02T00:00:00.000Z").unwrap(), 2);
        assert_eq!(log.count(&LogQuery::default()).unwrap(), 2);
        assert_eq!(log.prune("2024-01-02T00:00:00.000Z").unwrap(), 0);
        // Retention in days: everything from 2024 is far older than 90 days.
        assert_eq!(log.prune_days(90).unwrap(), 2);
    }

    #[test]
    fn export_writes_json_lines_oldest_first() {
        let (_d, log) = filled();
        let mut out = Vec::new();
        let q = LogQuery {
            tenant: Some("a".into()),
            since: Some("2024-01-01T10:30:00.000Z".into()),
            ..Default::default()
        };
        assert_eq!(log.export(&q, &mut out).unwrap(), 2);
        let lines: Vec<serde_json::Value> = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["status"], 409);
        assert_eq!(lines[0]["scimType"], "uniqueness");
        assert_eq!(lines[1]["time"], "2024-01-03T09:30:00.000Z");
        assert_eq!(lines[1]["tenant"], "a");
    }

    #[test]
    fn buckets_and_totals() {
        let (_d, log) = filled();
        let days = log.buckets(Some("a"), "2024-01-01", false).unwrap();
        assert_eq!(
            days,
            [
                Bucket {
                    start: "2024-01-01".into(),
                    total: 2,
                    failures: 1
                },
                Bucket {
                    start: "2024-01-03".into(),
                    total: 1,
                    failures: 0
                }
            ]
        );
        let hours = log.buckets(None, "2024-01-01", true).unwrap();
        assert_eq!(hours.len(), 4);
        assert_eq!(hours[0].start, "2024-01-01T10");
        let totals = log.totals("2024-01-01").unwrap();
        assert_eq!(
            totals,
            [
                TenantTotals {
                    tenant: "a".into(),
                    total: 3,
                    failures: 1
                },
                TenantTotals {
                    tenant: "b".into(),
                    total: 1,
                    failures: 0
                }
            ]
        );
    }

    #[test]
    fn times_parse_as_rfc3339_dates_or_ages() {
        assert_eq!(
            parse_time("2024-05-01T12:00:00+02:00").unwrap(),
            "2024-05-01T10:00:00.000Z"
        );
        assert_eq!(
            parse_time("2024-05-01").unwrap(),
            "2024-05-01T00:00:00.000Z"
        );
        let day_ago = parse_time("1d").unwrap();
        let now = scimkit::time::now();
        assert!(day_ago < now && day_ago.len() == 24);
        assert!(parse_time("24h").unwrap() <= parse_time("90m").unwrap());
        for bad in ["", "yesterday", "7w", "d", "2024-13-01"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
