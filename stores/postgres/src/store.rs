//! [`PostgresStore`]: the [`UserStore`] implementation.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Row, Statement};
use r2d2::{ManageConnection, Pool};
use scimkit::ResourceKind;
use scimkit::store::{
    Ctx, GroupRef, Member, MemberChange, Members, Page, PageRequest, Query, StoreError,
    StoreResult, Stored, UserStore, fold_case,
};
use serde_json::Value;

use crate::columns::{Columns, MemberRows, normalize_time};
use crate::cursor::{self, Key, Position};
use crate::error::{
    Class, ConnectError, ConnectErrorKind, Target, classify, pool_error, store_error,
};
use crate::migrate;
use crate::options::PostgresOptions;
use crate::pushdown::{Cond, Translator, mentions_members};
use crate::sql::{Arg, number, typed};

type PgError = postgres::Error;

/// A [`UserStore`] in a PostgreSQL database, for one or several scimkit
/// processes (replicas) sharing it.
///
/// # Threading and replicas
///
/// `PostgresStore` is `Send + Sync`; share it with an `Arc` (the core
/// implements [`UserStore`] for `Arc<S>`). Each call takes a connection from a
/// pool ([`PostgresOptions::max_connections`]) and blocks its thread while
/// PostgreSQL works: call it from a thread that may block (the tower adapter
/// runs store calls off the async executor).
///
/// Every write is one transaction, and everything that must hold across
/// replicas is enforced by PostgreSQL: the unique indexes (userName per tenant,
/// ids per tenant), versions checked in the `UPDATE … WHERE version = $n`
/// itself, and membership changes as set-based statements under the group's
/// row lock. Serialization failures and deadlocks are retried
/// ([`PostgresOptions::retries`]), then reported as
/// [`StoreError::Unavailable`].
///
/// # When the server goes away
///
/// A call that cannot get a connection within
/// [`PostgresOptions::checkout_timeout`], or whose connection breaks, fails
/// with [`StoreError::Unavailable`] (503 with `Retry-After`); the process
/// keeps running. Broken connections are discarded and new ones opened on
/// demand, so the store recovers by itself when the server is back. A write
/// whose connection broke while it was being committed may or may not have
/// been applied (the client cannot know); every write that returned `Ok` is
/// durable.
pub struct PostgresStore {
    pool: Pool<Manager>,
    target: Target,
    options: PostgresOptions,
    growth: Growth,
}

/// When to refresh the planner statistics ([`PostgresOptions::analyze_on_growth`]).
#[derive(Debug)]
struct Growth {
    /// Resources this process created since the last refresh.
    created: AtomicU64,
    /// The rows of `scimkit_resources` at the last refresh (PostgreSQL's own
    /// estimate when the store opened).
    basis: AtomicU64,
}

/// The fewest creates that trigger a refresh of the statistics.
const ANALYZE_MIN_GROWTH: u64 = 500;

/// The tables whose statistics [`Growth`] refreshes.
const ANALYZE: &str = "ANALYZE scimkit_resources, scimkit_emails, scimkit_members";

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.state();
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .field("max_connections", &self.options.max_connections)
            .finish()
    }
}

/// The tenant as stored. PostgreSQL `text` cannot hold NUL, which the core
/// uses to separate a tenant from the shadow tenants of its hidden
/// (soft-deleted or review-queued) users, so a tenant containing NUL or
/// U+0001 is stored with U+0001 as an escape (U+0001 U+0001 for U+0001,
/// U+0001 `0` for NUL). Every other tenant is stored as it is. The mapping is
/// injective (escaped names, and only they, contain U+0001), and tenants are
/// only ever compared, never read back.
fn db_tenant(tenant: &str) -> std::borrow::Cow<'_, str> {
    if tenant.contains(['\u{0}', '\u{1}']) {
        tenant
            .replace('\u{1}', "\u{1}\u{1}")
            .replace('\u{0}', "\u{1}0")
            .into()
    } else {
        tenant.into()
    }
}

// ===== connections =====

/// The pool's connection manager: opens connections with the parsed config.
struct Manager {
    config: postgres::Config,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("target", &Target::of(&self.config))
            .finish()
    }
}

/// A pooled connection with its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// Set when a connection-level failure was seen: the pool discards it.
    broken: bool,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = PgError;

    fn connect(&self) -> Result<Conn, PgError> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), PgError> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// Logs the pool's background connection failures (they carry no password).
#[derive(Debug)]
struct LogErrors;

impl r2d2::HandleError<PgError> for LogErrors {
    fn handle_error(&self, error: PgError) {
        tracing::warn!(%error, "PostgreSQL store: cannot open a connection");
    }
}

/// Why an attempt failed.
enum Fail {
    /// The connection was found broken before anything was sent that could
    /// have changed data (at `BEGIN`): safe to retry on another connection.
    Stale(PgError),
    /// A PostgreSQL failure while working.
    Pg(PgError),
    /// A store-level outcome (not found, version mismatch, …).
    Store(StoreError),
}

impl From<PgError> for Fail {
    fn from(e: PgError) -> Self {
        Fail::Pg(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

fn at_begin(e: PgError) -> Fail {
    if classify(&e) == Class::Connection {
        Fail::Stale(e)
    } else {
        Fail::Pg(e)
    }
}

/// Whether an attempt may be repeated after its connection broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reads: always.
    Read,
    /// Writes: only if the connection broke before the transaction began.
    Write,
}

/// Statements on a connection or in a transaction, fixed statements prepared
/// once per connection.
struct Session<'s, C: GenericClient> {
    c: &'s mut C,
    statements: &'s mut HashMap<&'static str, Statement>,
}

impl<C: GenericClient> Session<'_, C> {
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, PgError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, PgError> {
        let s = self.prepared(sql)?;
        self.c.query(&s, params)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError> {
        let s = self.prepared(sql)?;
        self.c.query_opt(&s, params)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, PgError> {
        let s = self.prepared(sql)?;
        self.c.execute(&s, params)
    }

    /// A dynamically assembled statement (`?` placeholders), not cached: one
    /// round trip (parameter types given, no named statement).
    fn query_dyn(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>, PgError> {
        self.c.query_typed(number(sql).as_str(), &typed(args))
    }
}

impl PostgresStore {
    /// Connect to the database at `url` with default [`PostgresOptions`],
    /// applying pending schema migrations.
    ///
    /// `url` is a `postgresql://user:password@host:port/dbname?…` URL or a
    /// `host=… user=… dbname=…` connection string (TLS is not supported:
    /// connect over a trusted network or a Unix socket). Fails with a
    /// [`ConnectError`] when the URL does not parse, the server is unreachable,
    /// authentication fails, the database does not exist, or its scimkit
    /// schema is newer than this build. Errors and `Debug` output never contain
    /// the password.
    pub fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, &PostgresOptions::default())
    }

    /// Connect to the database at `url` with `options` (see
    /// [`PostgresStore::connect`]).
    pub fn connect_with(url: &str, options: &PostgresOptions) -> Result<Self, ConnectError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| ConnectError::new(Target::unparsed(), ConnectErrorKind::InvalidUrl(e)))?;
        let target = Target::of(&config);
        let fail = |kind| ConnectError::new(target.clone(), kind);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name(&options.application_name);
        }
        let mut client = config
            .connect(NoTls)
            .map_err(|e| fail(ConnectErrorKind::of_connect(e)))?;
        migrate::migrate(&mut client).map_err(fail)?;
        // reltuples is -1 before the first ANALYZE (or VACUUM) of the table.
        let rows = client
            .query_one(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = 'scimkit_resources'::regclass",
                &[],
            )
            .and_then(|r| r.try_get::<_, i64>(0))
            .map_err(ConnectErrorKind::Migration)
            .map_err(fail)?;
        drop(client);
        // r2d2's own worker pool runs its pending reaper once more after the
        // store is dropped, keeping its threads up to 30 s; discard it instead,
        // so no thread outlives the store (a C host may unload the library).
        let workers = scheduled_thread_pool::ScheduledThreadPool::builder()
            .num_threads(3)
            .thread_name_pattern("scimkit-pg-{}")
            .on_drop_behavior(scheduled_thread_pool::OnPoolDropBehavior::DiscardPendingScheduled)
            .build();
        let pool = Pool::builder()
            .thread_pool(std::sync::Arc::new(workers))
            .max_size(options.max_connections)
            .min_idle(Some(options.min_idle.min(options.max_connections)))
            .connection_timeout(options.checkout_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(LogErrors))
            .build_unchecked(Manager { config });
        tracing::debug!(target = %target, "opened PostgreSQL store");
        Ok(Self {
            pool,
            target,
            options: options.clone(),
            growth: Growth {
                created: AtomicU64::new(0),
                basis: AtomicU64::new(u64::try_from(rows).unwrap_or(0)),
            },
        })
    }

    /// Count one created resource; refresh the planner statistics when the
    /// creates since the last refresh reach the table's size then (one caller
    /// wins the refresh; the others go on).
    fn grew(&self) {
        if !self.options.analyze_on_growth {
            return;
        }
        let created = self.growth.created.fetch_add(1, Ordering::Relaxed) + 1;
        let basis = self.growth.basis.load(Ordering::Relaxed);
        if created < basis.max(ANALYZE_MIN_GROWTH)
            || self
                .growth
                .created
                .compare_exchange(created, 0, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.growth
            .basis
            .store(basis.saturating_add(created), Ordering::Relaxed);
        let started = std::time::Instant::now();
        match self.run(Mode::Write, |conn| {
            Ok(conn.client.batch_execute(ANALYZE)?)
        }) {
            Ok(()) => tracing::debug!(
                rows = basis.saturating_add(created),
                ms = started.elapsed().as_millis() as u64,
                "refreshed PostgreSQL planner statistics"
            ),
            Err(e) => tracing::warn!(error = %e, "could not refresh PostgreSQL planner statistics"),
        }
    }

    /// The server and database this store uses, without the password.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Check that the database answers (for readiness probes): `Ok` or
    /// [`StoreError::Unavailable`].
    pub fn ping(&self) -> StoreResult<()> {
        self.run(Mode::Read, |conn| {
            conn.client.simple_query("SELECT 1").map_err(at_begin)?;
            Ok(())
        })
    }

    fn unavailable(
        &self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError::Unavailable {
            retry_after: self.options.retry_after,
            source: source.into(),
        }
    }

    /// Run `f` on a pooled connection, retrying what may be retried: attempts
    /// whose connection turned out broken before they changed anything (any
    /// read), and transactions that lost a serialization conflict or deadlock.
    fn run<T>(
        &self,
        mode: Mode,
        mut f: impl FnMut(&mut Conn) -> Result<T, Fail>,
    ) -> StoreResult<T> {
        let retry_after = self.options.retry_after;
        let mut conflicts = 0u32;
        let mut stale = 0u32;
        loop {
            let mut conn = self.pool.get().map_err(|e| pool_error(e, retry_after))?;
            let (e, safe) = match f(&mut conn) {
                Ok(v) => return Ok(v),
                Err(Fail::Store(e)) => return Err(e),
                Err(Fail::Stale(e)) => (e, true),
                Err(Fail::Pg(e)) => (e, mode == Mode::Read),
            };
            match classify(&e) {
                Class::Connection => {
                    conn.broken = true;
                    drop(conn);
                    if safe && stale <= self.options.max_connections {
                        stale += 1;
                        tracing::debug!(error = %e, "PostgreSQL connection broken; retrying on another");
                        continue;
                    }
                    tracing::warn!(error = %e, "PostgreSQL store unavailable");
                    return Err(self.unavailable(e));
                }
                Class::Retry => {
                    drop(conn);
                    if conflicts < self.options.retries {
                        conflicts += 1;
                        std::thread::sleep(backoff(conflicts));
                        continue;
                    }
                    return Err(self.unavailable(e));
                }
                Class::Unique(_) | Class::Other => return Err(store_error(e, retry_after)),
            }
        }
    }

    /// Run `f` in a read-write transaction (read committed); commit if it
    /// succeeds.
    fn write<T>(
        &self,
        mut f: impl FnMut(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T, Fail>,
    ) -> StoreResult<T> {
        self.run(Mode::Write, |conn| {
            let Conn {
                client, statements, ..
            } = conn;
            let mut tx = client.transaction().map_err(at_begin)?;
            let out = f(&mut Session {
                c: &mut tx,
                statements,
            })?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Run `f` in a read-only repeatable-read transaction (one snapshot).
    fn snapshot<T>(
        &self,
        mut f: impl FnMut(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T, Fail>,
    ) -> StoreResult<T> {
        self.run(Mode::Read, |conn| {
            let Conn {
                client, statements, ..
            } = conn;
            let mut tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(at_begin)?;
            let out = f(&mut Session {
                c: &mut tx,
                statements,
            })?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Run one statement outside a transaction.
    fn read<T>(
        &self,
        mut f: impl FnMut(&mut Session<'_, Client>) -> Result<T, Fail>,
    ) -> StoreResult<T> {
        self.run(Mode::Read, |conn| {
            let Conn {
                client, statements, ..
            } = conn;
            f(&mut Session {
                c: client,
                statements,
            })
        })
    }
}

/// A short, growing, slightly jittered pause before retrying a conflict.
fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos() % 5_000));
    Duration::from_micros(u64::from(attempt) * 5_000 + jitter)
}

// ===== rows =====

fn id_of(resource: &Value) -> StoreResult<String> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::other("resource without id"))
}

fn version(v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(StoreError::other)
}

fn if_version(v: Option<u64>) -> StoreResult<Option<i64>> {
    v.map(i64::try_from)
        .transpose()
        .map_err(|_| StoreError::PreconditionFailed)
}

fn sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Split a group into (resource without members, members in first-seen order
/// without duplicates).
fn split_members(mut resource: Value) -> (Value, Vec<Member>) {
    let mut members = Vec::new();
    if let Some(Value::Array(list)) = resource.as_object_mut().and_then(|o| o.remove("members")) {
        let mut seen = HashSet::new();
        for m in list.iter().filter_map(Member::from_json) {
            if seen.insert(m.value.clone()) {
                members.push(m);
            }
        }
    }
    (resource, members)
}

fn attach_members(resource: &mut Value, members: Vec<Value>) {
    if members.is_empty() {
        return;
    }
    if let Some(o) = resource.as_object_mut() {
        o.insert("members".into(), Value::Array(members));
    }
}

const INSERT_RESOURCE: &str = "INSERT INTO scimkit_resources (tenant, kind, id, version, user_name_key, \
     external_id, display_name_key, email_key, active, created, last_modified, resource) \
     VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING pk";

const UPDATE_RESOURCE: &str = "UPDATE scimkit_resources SET version = version + 1, user_name_key = $5, \
     external_id = $6, display_name_key = $7, email_key = $8, active = $9, created = $10, \
     last_modified = $11, resource = $12 \
     WHERE tenant = $1 AND kind = $2 AND id = $3 AND ($4::bigint IS NULL OR version = $4) \
     RETURNING pk, version";

const DELETE_RESOURCE: &str = "DELETE FROM scimkit_resources \
     WHERE tenant = $1 AND kind = $2 AND id = $3 AND ($4::bigint IS NULL OR version = $4) RETURNING pk";

const EXISTS: &str = "SELECT 1 FROM scimkit_resources WHERE tenant = $1 AND kind = $2 AND id = $3";

/// The groups a member is in (`member_key`: the folded member id, as the
/// `members[value eq …]` filter compares), in id order: one prepared statement
/// on the `scimkit_members_member` index.
const GROUPS_OF: &str = "SELECT g.id, g.resource ->> 'displayName' FROM scimkit_members m \
     JOIN scimkit_resources g ON g.tenant = m.tenant AND g.id = m.group_id AND g.kind = 'Group' \
     WHERE m.tenant = $1 AND m.member_key = $2 ORDER BY g.id";

const GET: &str =
    "SELECT version, resource FROM scimkit_resources WHERE tenant = $1 AND kind = $2 AND id = $3";

const INSERT_EMAILS: &str = "INSERT INTO scimkit_emails (resource_pk, ord, tenant, value_key, type_key, is_primary) \
     SELECT $1, u.ord, $2, u.v, u.t, u.p FROM unnest($3::int4[], $4::text[], $5::text[], $6::bool[]) \
     AS u(ord, v, t, p)";

const DELETE_EMAILS: &str = "DELETE FROM scimkit_emails WHERE resource_pk = $1";

const INSERT_MEMBERS: &str = "INSERT INTO scimkit_members (tenant, group_id, member_id, member_key, type, display) \
     SELECT $1, $2, u.id, u.k, u.t, u.d FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) \
     AS u(id, k, t, d) ON CONFLICT DO NOTHING";

const DELETE_ALL_MEMBERS: &str = "DELETE FROM scimkit_members WHERE tenant = $1 AND group_id = $2";

const DELETE_SOME_MEMBERS: &str =
    "DELETE FROM scimkit_members WHERE tenant = $1 AND group_id = $2 AND member_id = ANY($3)";

const SELECT_MEMBERS: &str = "SELECT group_id, member_id, type, display FROM scimkit_members \
     WHERE tenant = $1 AND group_id = ANY($2) ORDER BY group_id, member_id";

/// Bump a group's version and set its `meta.lastModified` (the row lock this
/// takes serialises concurrent membership changes of the group).
const TOUCH_GROUP: &str = "UPDATE scimkit_resources SET version = version + 1, last_modified = $4, \
     resource = CASE WHEN jsonb_typeof(resource -> 'meta') = 'object' \
                THEN jsonb_set(resource, '{meta,lastModified}', to_jsonb($5::text)) ELSE resource END \
     WHERE tenant = $1 AND kind = 'Group' AND id = $2 AND ($3::bigint IS NULL OR version = $3) \
     RETURNING version, resource";

/// The groups `$3` is a member of, locked in a fixed order (fewer deadlocks
/// between concurrent cascades).
const LOCK_GROUPS_OF: &str = "SELECT g.pk FROM scimkit_resources g \
     JOIN scimkit_members m ON m.tenant = g.tenant AND m.group_id = g.id \
     WHERE m.tenant = $1 AND m.member_key = $2 AND m.member_id = $3 AND g.kind = 'Group' \
     ORDER BY g.pk FOR UPDATE OF g";

const TOUCH_GROUPS: &str = "UPDATE scimkit_resources SET version = version + 1, last_modified = $2, \
     resource = CASE WHEN jsonb_typeof(resource -> 'meta') = 'object' \
                THEN jsonb_set(resource, '{meta,lastModified}', to_jsonb($3::text)) ELSE resource END \
     WHERE pk = ANY($1)";

const DELETE_MEMBERSHIPS: &str =
    "DELETE FROM scimkit_members WHERE tenant = $1 AND member_key = $2 AND member_id = $3";

type Tx<'s, 't> = Session<'s, postgres::Transaction<'t>>;

fn insert_emails(s: &mut Tx<'_, '_>, tenant: &str, pk: i64, c: &Columns) -> Result<(), Fail> {
    if c.emails.ord.is_empty() {
        return Ok(());
    }
    s.execute(
        INSERT_EMAILS,
        &[
            &pk,
            &tenant,
            &c.emails.ord,
            &c.emails.value_key,
            &c.emails.type_key,
            &c.emails.primary,
        ],
    )?;
    Ok(())
}

fn insert_members(
    s: &mut Tx<'_, '_>,
    tenant: &str,
    group_id: &str,
    rows: &MemberRows,
) -> Result<(), Fail> {
    if rows.is_empty() {
        return Ok(());
    }
    s.execute(
        INSERT_MEMBERS,
        &[
            &tenant,
            &group_id,
            &rows.id,
            &rows.key,
            &rows.kind,
            &rows.display,
        ],
    )?;
    Ok(())
}

/// After an `UPDATE`/`DELETE … WHERE version = $n` matched nothing: the
/// resource is absent, or its version differs.
fn missing(s: &mut Tx<'_, '_>, tenant: &str, kind: ResourceKind, id: &str) -> Fail {
    match s.query_opt(EXISTS, &[&tenant, &kind.as_str(), &id]) {
        Ok(Some(_)) => Fail::Store(StoreError::PreconditionFailed),
        Ok(None) => Fail::Store(StoreError::NotFound),
        Err(e) => Fail::Pg(e),
    }
}

/// Remove `id` from every group of the tenant, bumping those groups' versions
/// and `meta.lastModified`.
fn cascade_membership(s: &mut Tx<'_, '_>, tenant: &str, id: &str) -> Result<(), Fail> {
    let key = fold_case(id);
    let groups: Vec<i64> = s
        .query(LOCK_GROUPS_OF, &[&tenant, &key, &id])?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if groups.is_empty() {
        return Ok(());
    }
    let now = scimkit::time::now();
    s.execute(TOUCH_GROUPS, &[&groups, &normalize_time(&now), &now])?;
    s.execute(DELETE_MEMBERSHIPS, &[&tenant, &key, &id])?;
    Ok(())
}

/// Load the members of `groups` (ids), in member id order.
fn load_members<C: GenericClient>(
    s: &mut Session<'_, C>,
    tenant: &str,
    groups: &[String],
) -> Result<HashMap<String, Vec<Value>>, Fail> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    if groups.is_empty() {
        return Ok(out);
    }
    for row in s.query(SELECT_MEMBERS, &[&tenant, &groups])? {
        let group: String = row.try_get(0)?;
        let m = Member {
            value: row.try_get(1)?,
            kind: row.try_get(2)?,
            display: row.try_get(3)?,
        };
        out.entry(group).or_default().push(m.to_json());
    }
    Ok(out)
}

// ===== queries =====

/// One row of a query result.
struct Hit {
    stored: Stored,
    /// The sort key (for keyset cursors).
    key: Key,
    /// Whether `stored.resource` carries the group's members.
    with_members: bool,
}

impl Hit {
    /// Read `id, version, resource[, key]`.
    fn read(row: &Row, key_col: Option<&'static str>) -> Result<Self, Fail> {
        let key = match key_col {
            None => Key::Null,
            Some("t.active") => row
                .try_get::<_, Option<bool>>(3)?
                .map_or(Key::Null, Key::Bool),
            Some(_) => row
                .try_get::<_, Option<String>>(3)?
                .map_or(Key::Null, Key::Text),
        };
        Ok(Self {
            stored: Stored {
                id: row.try_get(0)?,
                version: version(row.try_get(1)?)?,
                resource: row.try_get(2)?,
            },
            key,
            with_members: false,
        })
    }
}

/// Give every hit the members the caller asked for.
fn finish<C: GenericClient>(
    s: &mut Session<'_, C>,
    tenant: &str,
    kind: ResourceKind,
    hits: Vec<Hit>,
    members: Members,
) -> Result<Vec<Stored>, Fail> {
    if kind != ResourceKind::Group {
        return Ok(hits.into_iter().map(|h| h.stored).collect());
    }
    let wanted: Vec<String> = if members == Members::Include {
        hits.iter()
            .filter(|h| !h.with_members)
            .map(|h| h.stored.id.clone())
            .collect()
    } else {
        Vec::new()
    };
    let mut loaded = load_members(s, tenant, &wanted)?;
    Ok(hits
        .into_iter()
        .map(|mut h| {
            match (members, h.with_members) {
                (Members::Include, false) => {
                    let list = loaded.remove(&h.stored.id).unwrap_or_default();
                    attach_members(&mut h.stored.resource, list);
                }
                (Members::Exclude, true) => {
                    if let Some(o) = h.stored.resource.as_object_mut() {
                        o.remove("members");
                    }
                }
                _ => {}
            }
            h.stored
        })
        .collect())
}

/// The keyset condition "after (key, id)" for the order `c NULLS LAST, id`.
fn keyset(sort: Option<(&'static str, bool)>, key: &Key, id: &str) -> StoreResult<Cond> {
    let id = Arg::Text(id.to_owned());
    let key = match (sort, key) {
        (None, Key::Null) => return Ok(Cond::new("t.id > ?", vec![id])),
        (Some((c, _)), Key::Null) => {
            return Ok(Cond::new(format!("({c} IS NULL AND t.id > ?)"), vec![id]));
        }
        (Some(("t.active", _)), Key::Bool(b)) => Arg::Bool(*b),
        (Some((c, _)), Key::Text(s)) if c != "t.active" => Arg::Text(s.clone()),
        // A key of the wrong type: not a cursor this query issued.
        _ => return Err(StoreError::InvalidCursor),
    };
    let Some((c, descending)) = sort else {
        return Err(StoreError::InvalidCursor);
    };
    let op = if descending { "<" } else { ">" };
    Ok(Cond::new(
        format!("(({c} IS NOT NULL AND ({c} {op} ? OR ({c} = ? AND t.id > ?))) OR {c} IS NULL)"),
        vec![key.clone(), key, id],
    ))
}

/// A query entirely in SQL: filter, count, order and page.
fn query_sql(
    s: &mut Tx<'_, '_>,
    tenant: &str,
    kind: ResourceKind,
    q: &Query,
    cond: Option<Cond>,
    sort: Option<(&'static str, bool)>,
    fp: u64,
) -> Result<Page, Fail> {
    let mut where_sql = String::from("t.tenant = ? AND t.kind = ?");
    let mut params = vec![
        Arg::Text(tenant.to_owned()),
        Arg::Text(kind.as_str().to_owned()),
    ];
    if let Some(c) = cond {
        where_sql.push_str(" AND ");
        where_sql.push_str(&c.sql);
        params.extend(c.params);
    }
    // The count runs only when the page cannot tell it (see `total`).
    let count_params = params.clone();
    let count_sql = format!("SELECT count(*) FROM scimkit_resources t WHERE {where_sql}");
    let key_expr = sort.map_or("NULL::text", |(c, _)| c);
    let order = match sort {
        None => "t.id".to_owned(),
        Some((c, descending)) => format!(
            "{c} {} NULLS LAST, t.id",
            if descending { "DESC" } else { "ASC" }
        ),
    };
    let key_col = sort.map(|(c, _)| c);
    let (rows, next_cursor, known_total) = match &q.page {
        PageRequest::Index { start_index, count } => {
            let skipped = start_index.saturating_sub(1);
            if *count == 0 {
                (Vec::new(), None, None)
            } else {
                params.push(Arg::Int(sql_int(*count)));
                params.push(Arg::Int(sql_int(skipped)));
                let sql = if sort.is_none() {
                    // In id order, the rows skipped by OFFSET are read from
                    // the (tenant, kind, id) index alone, not fetched from
                    // the table: the last page of a large list costs about
                    // what the first does. The page's ids are computed once
                    // (MATERIALIZED), then each row is fetched by the unique
                    // (tenant, id) index. Written as `t.id IN (subquery)`,
                    // the planner may instead re-run the subquery for every
                    // row of the tenant when the table has no statistics yet
                    // (just after a bulk load, before autovacuum's first
                    // ANALYZE): 1 000 users then took a second per filter.
                    params.push(Arg::Text(tenant.to_owned()));
                    format!(
                        "WITH page AS MATERIALIZED \
                         (SELECT t.id FROM scimkit_resources t WHERE {where_sql} \
                          ORDER BY t.id LIMIT ? OFFSET ?) \
                         SELECT t.id, t.version, t.resource, NULL::text \
                         FROM page JOIN scimkit_resources t ON t.tenant = ? AND t.id = page.id \
                         ORDER BY t.id"
                    )
                } else {
                    format!(
                        "SELECT t.id, t.version, t.resource, {key_expr} FROM scimkit_resources t \
                         WHERE {where_sql} ORDER BY {order} LIMIT ? OFFSET ?"
                    )
                };
                let rows = s.query_dyn(&sql, &params)?;
                // A short page that is not empty past the start ends the
                // list: the total is what it skipped and holds.
                let known = (rows.len() < *count && (skipped == 0 || !rows.is_empty()))
                    .then(|| skipped.saturating_add(rows.len()));
                (rows, None, known)
            }
        }
        PageRequest::Cursor { cursor, count } => {
            let pos = match cursor {
                None => Position::Start,
                Some(c) => cursor::decode(c, fp)?,
            };
            match &pos {
                Position::Start => {}
                Position::After { key, id } => {
                    let k = keyset(sort, key, id)?;
                    where_sql.push_str(" AND ");
                    where_sql.push_str(&k.sql);
                    params.extend(k.params);
                }
                Position::Offset(_) => return Err(StoreError::InvalidCursor.into()),
            }
            params.push(Arg::Int(sql_int(count.saturating_add(1))));
            let sql = format!(
                "SELECT t.id, t.version, t.resource, {key_expr} FROM scimkit_resources t \
                 WHERE {where_sql} ORDER BY {order} LIMIT ?"
            );
            let mut rows = s.query_dyn(&sql, &params)?;
            let more = rows.len() > *count;
            rows.truncate(*count);
            // The first page holding every row: the total is its length.
            let known = (matches!(pos, Position::Start) && !more).then_some(rows.len());
            (rows, more.then_some(pos), known)
        }
    };
    let total = match known_total {
        Some(n) => n,
        None => {
            let n: i64 = s
                .query_dyn(&count_sql, &count_params)?
                .first()
                .map(|r| r.try_get(0))
                .transpose()?
                .unwrap_or(0);
            usize::try_from(n).map_err(StoreError::other)?
        }
    };
    let mut hits = Vec::with_capacity(rows.len());
    for row in &rows {
        hits.push(Hit::read(row, key_col)?);
    }
    let next_cursor = next_cursor.map(|pos| match hits.last() {
        Some(last) => cursor::encode(
            fp,
            &Position::After {
                key: last.key.clone(),
                id: last.stored.id.clone(),
            },
        ),
        None => cursor::encode(fp, &pos),
    });
    Ok(Page {
        resources: finish(s, tenant, kind, hits, q.members)?,
        total_results: total,
        next_cursor,
    })
}

/// A query the SQL cannot answer exactly: select the candidates `narrow` allows
/// (all of the tenant's resources of the kind without it), evaluate the filter
/// with the core's [`Query::matches`] unless `exact`, sort with
/// [`Query::compare`], page with offsets. Totals are exact either way.
#[allow(clippy::too_many_arguments)]
fn query_rust(
    s: &mut Tx<'_, '_>,
    tenant: &str,
    kind: ResourceKind,
    q: &Query,
    narrow: Option<Cond>,
    exact: bool,
    fp: u64,
) -> Result<Page, Fail> {
    let mut sql = String::from(
        "SELECT t.id, t.version, t.resource FROM scimkit_resources t WHERE t.tenant = ? AND t.kind = ?",
    );
    let mut params = vec![
        Arg::Text(tenant.to_owned()),
        Arg::Text(kind.as_str().to_owned()),
    ];
    if let Some(c) = narrow {
        sql.push_str(" AND ");
        sql.push_str(&c.sql);
        params.extend(c.params);
    }
    sql.push_str(" ORDER BY t.id");
    let need_members = kind == ResourceKind::Group
        && ((!exact && q.filter.as_ref().is_some_and(mentions_members))
            || q.sort
                .as_ref()
                .is_some_and(|s| s.path.uri.is_none() && s.path.name == "members"));
    let mut hits = Vec::new();
    for row in &s.query_dyn(&sql, &params)? {
        hits.push(Hit::read(row, None)?);
    }
    if need_members {
        let ids: Vec<String> = hits.iter().map(|h| h.stored.id.clone()).collect();
        let mut loaded = load_members(s, tenant, &ids)?;
        for h in &mut hits {
            let list = loaded.remove(&h.stored.id).unwrap_or_default();
            attach_members(&mut h.stored.resource, list);
            h.with_members = true;
        }
    }
    if !exact {
        hits.retain(|h| q.matches(&h.stored.resource));
    }
    if q.sort.is_some() {
        hits.sort_by(|a, b| q.compare(&a.stored.resource, &b.stored.resource));
    }
    let total = hits.len();
    let (start, end, next_cursor) = match &q.page {
        PageRequest::Index { start_index, count } => {
            let start = start_index.saturating_sub(1).min(total);
            (start, start.saturating_add(*count).min(total), None)
        }
        PageRequest::Cursor { cursor, count } => {
            let start = match cursor
                .as_deref()
                .map(|c| cursor::decode(c, fp))
                .transpose()?
            {
                None | Some(Position::Start) => 0,
                Some(Position::Offset(n)) if n <= total => n,
                Some(_) => return Err(StoreError::InvalidCursor.into()),
            };
            let end = start.saturating_add(*count).min(total);
            (
                start,
                end,
                (end < total).then(|| cursor::encode(fp, &Position::Offset(end))),
            )
        }
    };
    let page: Vec<Hit> = hits.drain(start..end).collect();
    Ok(Page {
        resources: finish(s, tenant, kind, page, q.members)?,
        total_results: total,
        next_cursor,
    })
}

// ===== UserStore =====

impl UserStore for PostgresStore {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        let id = id_of(&resource)?;
        let tenant = &*db_tenant(&ctx.tenant);
        let c = Columns::of(kind, &resource);
        let (mut bare, members) = match kind {
            ResourceKind::User => (resource, Vec::new()),
            ResourceKind::Group => split_members(resource),
        };
        let rows = MemberRows::of(&members);
        self.write(|s| {
            let pk: i64 = s
                .query_opt(
                    INSERT_RESOURCE,
                    &[
                        &tenant,
                        &kind.as_str(),
                        &id,
                        &c.user_name_key,
                        &c.external_id,
                        &c.display_name_key,
                        &c.email_key,
                        &c.active,
                        &c.created,
                        &c.last_modified,
                        &bare,
                    ],
                )?
                .ok_or_else(|| StoreError::other("INSERT returned no row"))?
                .try_get(0)?;
            insert_emails(s, tenant, pk, &c)?;
            insert_members(s, tenant, &id, &rows)
        })?;
        self.grew();
        attach_members(&mut bare, members.iter().map(Member::to_json).collect());
        Ok(Stored {
            id,
            resource: bare,
            version: 1,
        })
    }

    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>> {
        let tenant = &*db_tenant(&ctx.tenant);
        let params: [&(dyn ToSql + Sync); 3] = [&tenant, &kind.as_str(), &id];
        let read_row = |row: Option<Row>| -> Result<Option<Stored>, Fail> {
            let Some(row) = row else { return Ok(None) };
            Ok(Some(Stored {
                id: id.to_owned(),
                version: version(row.try_get(0)?)?,
                resource: row.try_get(1)?,
            }))
        };
        if kind == ResourceKind::User || members == Members::Exclude {
            return self.read(|s| read_row(s.query_opt(GET, &params).map_err(at_begin)?));
        }
        self.snapshot(|s| {
            let Some(mut stored) = read_row(s.query_opt(GET, &params)?)? else {
                return Ok(None);
            };
            let mut loaded = load_members(s, tenant, &[id.to_owned()])?;
            attach_members(&mut stored.resource, loaded.remove(id).unwrap_or_default());
            Ok(Some(stored))
        })
    }

    fn groups_of(&self, ctx: &Ctx, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        let tenant = &*db_tenant(&ctx.tenant);
        let key = fold_case(member_id);
        let params: [&(dyn ToSql + Sync); 2] = [&tenant, &key];
        self.read(|s| {
            let rows = s.query(GROUPS_OF, &params).map_err(at_begin)?;
            rows.iter()
                .map(|r| {
                    Ok(GroupRef {
                        id: r.try_get(0)?,
                        display_name: r.try_get(1)?,
                    })
                })
                .collect()
        })
    }

    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        let tenant = &*db_tenant(&ctx.tenant);
        let want = self::if_version(if_version)?;
        let c = Columns::of(kind, &resource);
        let (mut bare, members) = match kind {
            ResourceKind::User => (resource, Vec::new()),
            ResourceKind::Group => split_members(resource),
        };
        let rows = MemberRows::of(&members);
        let v = self.write(|s| {
            let Some(row) = s.query_opt(
                UPDATE_RESOURCE,
                &[
                    &tenant,
                    &kind.as_str(),
                    &id,
                    &want,
                    &c.user_name_key,
                    &c.external_id,
                    &c.display_name_key,
                    &c.email_key,
                    &c.active,
                    &c.created,
                    &c.last_modified,
                    &bare,
                ],
            )?
            else {
                return Err(missing(s, tenant, kind, id));
            };
            let pk: i64 = row.try_get(0)?;
            let v: i64 = row.try_get(1)?;
            match kind {
                ResourceKind::User => {
                    s.execute(DELETE_EMAILS, &[&pk])?;
                    insert_emails(s, tenant, pk, &c)?;
                }
                ResourceKind::Group => {
                    s.execute(DELETE_ALL_MEMBERS, &[&tenant, &id])?;
                    insert_members(s, tenant, id, &rows)?;
                }
            }
            Ok(v)
        })?;
        attach_members(&mut bare, members.iter().map(Member::to_json).collect());
        Ok(Stored {
            id: id.to_owned(),
            resource: bare,
            version: version(v)?,
        })
    }

    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        let tenant = &*db_tenant(&ctx.tenant);
        let want = self::if_version(if_version)?;
        self.write(|s| {
            if s.query_opt(DELETE_RESOURCE, &[&tenant, &kind.as_str(), &id, &want])?
                .is_none()
            {
                return Err(missing(s, tenant, kind, id));
            }
            // A user's e-mail rows go with it (ON DELETE CASCADE).
            if kind == ResourceKind::Group {
                s.execute(DELETE_ALL_MEMBERS, &[&tenant, &id])?;
            }
            cascade_membership(s, tenant, id)
        })
    }

    fn query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> StoreResult<Page> {
        let tenant = &*db_tenant(&ctx.tenant);
        let t = Translator::new(kind, q.schema(), tenant);
        let fp = cursor::fingerprint(kind, q);
        // `Some(cond)`: the whole filter in SQL (`cond` None without a filter).
        let exact: Option<Option<Cond>> = match &q.filter {
            None => Some(None),
            Some(f) => t.exact(f).map(Some),
        };
        // `Some(col)`: the sort in SQL (`col` None without a sort: by id).
        let sort: Option<Option<(&'static str, bool)>> = match &q.sort {
            None => Some(None),
            Some(s) => t.sort_column(s).map(|c| Some((c, s.descending))),
        };
        let narrow = match exact {
            Some(_) => None,
            None => q.filter.as_ref().and_then(|f| t.narrow(f)),
        };
        self.snapshot(|s| match (&exact, sort) {
            (Some(cond), Some(sort)) => query_sql(s, tenant, kind, q, cond.clone(), sort, fp),
            (Some(cond), None) => query_rust(s, tenant, kind, q, cond.clone(), true, fp),
            (None, _) => query_rust(s, tenant, kind, q, narrow.clone(), false, fp),
        })
    }

    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        let tenant = &*db_tenant(&ctx.tenant);
        let want = self::if_version(if_version)?;
        let last_modified = normalize_time(&change.last_modified);
        let add = MemberRows::of(&change.add);
        self.write(|s| {
            // The group's row first: its lock orders concurrent changes.
            let Some(row) = s.query_opt(
                TOUCH_GROUP,
                &[
                    &tenant,
                    &group_id,
                    &want,
                    &last_modified,
                    &change.last_modified,
                ],
            )?
            else {
                return Err(missing(s, tenant, ResourceKind::Group, group_id));
            };
            if change.remove_all {
                s.execute(DELETE_ALL_MEMBERS, &[&tenant, &group_id])?;
            } else if !change.remove.is_empty() {
                s.execute(DELETE_SOME_MEMBERS, &[&tenant, &group_id, &change.remove])?;
            }
            insert_members(s, tenant, group_id, &add)?;
            Ok(Stored {
                id: group_id.to_owned(),
                version: version(row.try_get(0)?)?,
                resource: row.try_get(1)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::db_tenant;

    #[test]
    fn tenants_are_stored_as_they_are_unless_they_hold_nul_or_u0001() {
        assert_eq!(db_tenant("contoso"), "contoso");
        assert!(matches!(
            db_tenant("contoso"),
            std::borrow::Cow::Borrowed(_)
        ));
        // The core's shadow tenant of hidden users: NUL cannot be stored.
        assert_eq!(db_tenant("contoso\u{0}review"), "contoso\u{1}0review");
        // Injective: none of these collide.
        let names = [
            "a\u{0}b",
            "a\u{1}0b",
            "a\u{1}\u{1}0b",
            "a\u{1}b",
            "a0b",
            "a\u{0}\u{1}",
        ];
        let stored: std::collections::HashSet<String> =
            names.iter().map(|n| db_tenant(n).into_owned()).collect();
        assert_eq!(stored.len(), names.len());
        assert!(stored.iter().all(|s| !s.contains('\u{0}')));
    }
}
