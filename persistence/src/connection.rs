//! One diesel code path for PostgreSQL and SQLite: a `MultiConnection`, a pool whose manager picks
//! the backend by the URL's scheme and reports the real connection error, and write transactions
//! that take SQLite's write lock up front.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use domain::ports::Unavailable;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$inner` bound to the backend's own connection (`PgConnection` or
/// `SqliteConnection`); the body is compiled once per backend. Hot reads go this way: through the
/// `MultiConnection`, diesel renders a statement's SQL again on every pass it makes over it
/// (statement cache key, text, binds) and never finds a static query in its statement cache by
/// type; an application's detail cost 30 % less CPU this way (docs/BENCHMARKS.md). The derived
/// transaction manager delegates to the inner connection, so inside a transaction opened on the
/// `DbConnection` the body's statements are part of it.
macro_rules! on_backend {
    ($connection:expr, $inner:ident => $body:expr) => {
        match $connection {
            $crate::connection::DbConnection::Postgresql($inner) => $body,
            $crate::connection::DbConnection::Sqlite($inner) => $body,
        }
    };
}
pub(crate) use on_backend;

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self {
            Self::Postgresql(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        };
        f.debug_tuple("DbConnection").field(&backend).finish()
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The migrations of this backend, embedded in the binary.
    fn migrations(self) -> EmbeddedMigrations {
        match self {
            Self::Postgres => POSTGRES_MIGRATIONS,
            Self::Sqlite => SQLITE_MIGRATIONS,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Why the database could not be opened or prepared.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://PATH")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// A `database_url` split into backend and what the driver needs. `sqlite://data/x.sqlite` is a
/// relative path, `sqlite:///var/lib/x.sqlite` an absolute one.
pub fn parse_url(url: &str) -> Result<(Backend, String), DatabaseError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_owned()))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            Err(DatabaseError::UnsupportedUrl(url.to_owned()))
        } else {
            Ok((Backend::Sqlite, path.to_owned()))
        }
    } else {
        Err(DatabaseError::UnsupportedUrl(url.to_owned()))
    }
}

/// WAL lets readers work beside the one writer; busy_timeout makes a writer wait for the lock
/// instead of failing at once; SQLite enforces foreign keys only when asked.
/// busy_timeout comes first so that switching to WAL can wait for a lock too.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// Opens connections of the backend the URL names, and nothing else.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    backend: Backend,
    target: String,
    /// PostgreSQL's `lock_timeout`: a statement waiting longer for a lock fails (and its request
    /// gets 503) instead of holding its connection for as long as the lock lasts.
    lock_timeout: Option<Duration>,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, DatabaseError> {
        let (backend, target) = parse_url(url)?;
        Ok(Self {
            backend,
            target,
            lock_timeout: None,
        })
    }
}

/// A connection is checked with a round trip (`SELECT 1`) when it is taken from the pool only if
/// it was last checked longer ago than this. A busy pool would otherwise pay a round trip per
/// use; a connection the server dropped is still found and replaced within this time.
const CHECK_AFTER: Duration = Duration::from_millis(500);

/// A pool's connection and when it was last known to work.
#[derive(Debug)]
pub struct PoolConnection {
    connection: DbConnection,
    checked_at: Instant,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = PoolConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<PoolConnection, ConnectionError> {
        let connection = self.open()?;
        Ok(PoolConnection {
            connection,
            checked_at: Instant::now(),
        })
    }

    fn is_valid(&self, pooled: &mut PoolConnection) -> Result<(), ConnectionError> {
        if pooled.checked_at.elapsed() < CHECK_AFTER {
            return Ok(());
        }
        pooled
            .connection
            .ping()
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        pooled.checked_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, pooled: &mut PoolConnection) -> bool {
        std::thread::panicking() || pooled.connection.is_broken()
    }
}

impl ConnectionManager {
    fn open(&self) -> Result<DbConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut connection = PgConnection::establish(&self.target)?;
                if let Some(timeout) = self.lock_timeout {
                    connection
                        .batch_execute(&format!("SET lock_timeout = {}", timeout.as_millis()))
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                }
                Ok(DbConnection::Postgresql(connection))
            }
            Backend::Sqlite => {
                let mut connection = SqliteConnection::establish(&self.target)?;
                connection
                    .batch_execute(SQLITE_PRAGMAS)
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(connection))
            }
        }
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// A connection taken from the pool; it goes back when dropped.
#[derive(Debug)]
pub struct PooledConnection(r2d2::PooledConnection<ConnectionManager>);

impl std::ops::Deref for PooledConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.0.connection
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.connection
    }
}

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_size: u32,
    /// How long a request waits for a free connection before it is refused with 503.
    pub acquire_timeout: Duration,
    /// How long a PostgreSQL statement waits for a lock before it fails; none when unset.
    pub lock_timeout: Option<Duration>,
    /// On PostgreSQL, a second pool (of async connections, as large as the first) for the hot
    /// reads (`reads`); off, or over TLS, they run on the blocking pool.
    pub async_reads: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 10,
            acquire_timeout: Duration::from_secs(5),
            lock_timeout: None,
            async_reads: true,
        }
    }
}

/// How many connections the pool holds, and how many of them wait for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The database: a pool and the backend it talks to.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
    lock_timeout: Option<Duration>,
    read_pools: Option<Arc<ReadPools>>,
}

/// The async pools of the hot reads: how they are made, and the ones made. The HTTP server makes
/// one a worker, so that a connection's driver task runs on the thread of the requests that use
/// it (a pool shared by the workers would have each read on another worker's connection wake
/// that worker too). They share `DATABASE_POOL_SIZE` between them.
pub struct ReadPools {
    url: String,
    options: PoolOptions,
    /// How many pools were made for workers, to share the size out.
    workers_served: AtomicUsize,
    /// Weakly: a worker's pool closes with the worker.
    made: Mutex<Vec<deadpool::managed::WeakPool<ReadManager>>>,
}

type ReadManager =
    diesel_async::pooled_connection::AsyncDieselConnectionManager<diesel_async::AsyncPgConnection>;

impl std::fmt::Debug for ReadPools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPools")
            .field("max_size", &self.options.max_size)
            .finish_non_exhaustive()
    }
}

impl ReadPools {
    /// One pool with all of `DATABASE_POOL_SIZE` (the start-up's check, tests, tools), not
    /// among the pools `/metrics` shows.
    pub fn whole(&self) -> Result<crate::reads::ReadPool, DatabaseError> {
        read_pool(&self.url, self.options)
    }

    /// The next worker's pool out of `workers`: the size shared out so that the first
    /// `workers` pools hold `DATABASE_POOL_SIZE` together (each at least one).
    pub fn for_worker(&self, workers: usize) -> Result<crate::reads::ReadPool, DatabaseError> {
        let workers = workers.max(1);
        let index = self.workers_served.fetch_add(1, Ordering::Relaxed) % workers;
        let max = usize::try_from(self.options.max_size).unwrap_or(usize::MAX);
        let share = max / workers + usize::from(index < max % workers);
        let pool = read_pool(
            &self.url,
            PoolOptions {
                max_size: u32::try_from(share.max(1)).unwrap_or(u32::MAX),
                ..self.options
            },
        )?;
        if let Ok(mut made) = self.made.lock() {
            made.retain(|weak| weak.upgrade().is_some());
            made.push(pool.weak());
        }
        Ok(pool)
    }

    /// The connections of all the pools open now (`/metrics`).
    pub fn state(&self) -> PoolState {
        let mut state = PoolState {
            open: 0,
            idle: 0,
            max: 0,
        };
        if let Ok(made) = self.made.lock() {
            for pool in made.iter().filter_map(deadpool::managed::WeakPool::upgrade) {
                let status = pool.status();
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                state.open = state.open.saturating_add(count(status.size));
                state.idle = state.idle.saturating_add(count(status.available));
                state.max = state.max.saturating_add(count(status.max_size));
            }
        }
        state
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens the pool and one connection at once, so that a wrong URL or password is reported
    /// now, with the driver's own message.
    pub fn connect(url: &str, options: PoolOptions) -> Result<Self, DatabaseError> {
        let mut manager = ConnectionManager::new(url)?;
        manager.lock_timeout = options.lock_timeout;
        let backend = manager.backend;
        // Checking the first connection by hand gives the driver's message, which r2d2's
        // timeout error would hide.
        r2d2::ManageConnection::connect(&manager)
            .map_err(|error| DatabaseError::Connect(error.to_string()))?;
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(1))
            .connection_timeout(options.acquire_timeout)
            .test_on_check_out(true)
            .build(manager)
            .map_err(|error| DatabaseError::Connect(error.to_string()))?;
        let read_pools = match backend {
            Backend::Postgres if options.async_reads && !requires_tls(url) => {
                Some(Arc::new(ReadPools {
                    url: url.to_owned(),
                    options,
                    workers_served: AtomicUsize::new(0),
                    made: Mutex::new(Vec::new()),
                }))
            }
            Backend::Postgres if options.async_reads => {
                tracing::info!(
                    "the database URL asks for TLS: the hot reads run on the blocking pool"
                );
                None
            }
            Backend::Postgres | Backend::Sqlite => None,
        };
        Ok(Self {
            pool,
            backend,
            lock_timeout: options.lock_timeout,
            read_pools,
        })
    }

    /// The async pools of the hot reads, when they have them (PostgreSQL, not over TLS).
    pub fn read_pools(&self) -> Option<&ReadPools> {
        self.read_pools.as_deref()
    }

    /// The async read pools' connections now (`/metrics`), when there are any.
    pub fn read_pool_state(&self) -> Option<PoolState> {
        self.read_pools.as_ref().map(|pools| pools.state())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool's connections now: open, of which idle, and the most it opens (`/metrics`).
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            open: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// Runs the pending migrations of this backend; returns the ones applied.
    pub fn migrate(&self) -> Result<Vec<String>, DatabaseError> {
        let mut connection = self
            .connection()
            .map_err(|e| DatabaseError::Connect(e.reason))?;
        let migrations = self.backend.migrations();
        let applied = connection
            .run_pending_migrations(migrations)
            .map_err(|error| DatabaseError::Migration(error.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }

    /// Reverts every migration (for the migration round-trip test).
    pub fn revert_all_migrations(&self) -> Result<Vec<String>, DatabaseError> {
        let mut connection = self
            .connection()
            .map_err(|e| DatabaseError::Connect(e.reason))?;
        let migrations = self.backend.migrations();
        let reverted = connection
            .revert_all_migrations(migrations)
            .map_err(|error| DatabaseError::Migration(error.to_string()))?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    }

    /// Holds a database-wide lock until dropped, so that instances starting together on one
    /// PostgreSQL migrate and load demo data one after the other. On SQLite the writes' own file
    /// lock serialises them, and this takes nothing.
    pub fn setup_lock(&self) -> Result<SetupLock, DatabaseError> {
        match self.backend {
            Backend::Sqlite => Ok(SetupLock {
                connection: None,
                lock_timeout: 0,
            }),
            Backend::Postgres => {
                let mut connection = self
                    .connection()
                    .map_err(|e| DatabaseError::Connect(e.reason))?;
                // Another instance may migrate for longer than the lock timeout: wait it out.
                connection.batch_execute(&format!(
                    "SET lock_timeout = 0; SELECT pg_advisory_lock({SETUP_LOCK_KEY})"
                ))?;
                Ok(SetupLock {
                    connection: Some(connection),
                    lock_timeout: self.lock_timeout.map_or(0, |t| t.as_millis()),
                })
            }
        }
    }

    /// Whether the database answers now: a round trip on a pooled connection (the pool itself
    /// checks a connection only when it was last checked over `CHECK_AFTER` ago).
    pub fn check(&self) -> Result<(), Unavailable> {
        let mut connection = self.connection()?;
        connection.ping().map_err(|error| Unavailable {
            system: "database",
            reason: error.to_string(),
        })
    }

    /// A connection from the pool, or `Unavailable` when none frees up in time.
    pub fn connection(&self) -> Result<PooledConnection, Unavailable> {
        self.pool
            .get()
            .map(PooledConnection)
            .map_err(|error| Unavailable {
                system: "database",
                reason: error.to_string(),
            })
    }

    /// Runs `work` in one transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`,
    /// taking the write lock first: a deferred transaction that reads and then writes can fail
    /// with "database is locked" without waiting, when another writer came in between.
    pub fn write<T, E>(&self, work: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<Unavailable>,
    {
        let mut pooled = self.connection()?;
        let connection: &mut DbConnection = &mut pooled;
        match connection {
            DbConnection::Sqlite(sqlite) => {
                AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
                match work(connection) {
                    Ok(value) => {
                        <DbConnection as Connection>::TransactionManager::commit_transaction(
                            connection,
                        )?;
                        Ok(value)
                    }
                    Err(error) => {
                        <DbConnection as Connection>::TransactionManager::rollback_transaction(
                            connection,
                        )?;
                        Err(error)
                    }
                }
            }
            DbConnection::Postgresql(_) => connection.transaction(work),
        }
    }
}

/// The key of the PostgreSQL advisory lock taken while migrating and seeding ("eservic" in ASCII).
const SETUP_LOCK_KEY: i64 = 0x0065_7365_7276_6963;

/// See [`Database::setup_lock`].
pub struct SetupLock {
    connection: Option<PooledConnection>,
    /// The connection's own lock timeout, set again when the lock is released.
    lock_timeout: u128,
}

impl std::fmt::Debug for SetupLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupLock")
            .field("held", &self.connection.is_some())
            .finish()
    }
}

impl Drop for SetupLock {
    fn drop(&mut self) {
        if let Some(connection) = &mut self.connection {
            // Should the unlock fail, the connection is broken and the server ends the session,
            // which releases the lock as well.
            let _unlocked = connection.batch_execute(&format!(
                "SELECT pg_advisory_unlock({SETUP_LOCK_KEY}); SET lock_timeout = {}",
                self.lock_timeout
            ));
        }
    }
}

/// Whether a PostgreSQL URL insists on TLS (`sslmode=require`, `verify-ca`, `verify-full`),
/// which the async driver here does not speak; libpq's default (`prefer`) falls back to plain.
fn requires_tls(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|url| {
        url.query_pairs().any(|(key, value)| {
            key == "sslmode" && matches!(&*value, "require" | "verify-ca" | "verify-full")
        })
    })
}

/// The async pool of the hot reads. Connections open when first needed (in the runtime that
/// needs them) and are not checked with a round trip when taken: one the server dropped fails
/// one read with 503 and is then discarded, as a broken one.
fn read_pool(url: &str, options: PoolOptions) -> Result<crate::reads::ReadPool, DatabaseError> {
    use diesel_async::pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
    };
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    crate::reads::ReadPool::builder(manager)
        .max_size(usize::try_from(options.max_size).unwrap_or(usize::MAX))
        .wait_timeout(Some(options.acquire_timeout))
        .create_timeout(Some(options.acquire_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|error| DatabaseError::Connect(error.to_string()))
}

/// Maps a diesel error that is not a business outcome to `Unavailable`.
pub fn unavailable(error: &diesel::result::Error) -> Unavailable {
    Unavailable {
        system: "database",
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workers_share_the_read_connections_out_and_metrics_see_the_live_pools() {
        let pools = ReadPools {
            // Pools connect when first used: none is opened here.
            url: "postgres://nobody@127.0.0.1:9/none".to_owned(),
            options: PoolOptions::default(),
            workers_served: AtomicUsize::new(0),
            made: Mutex::new(Vec::new()),
        };
        let made: Vec<_> = (0..3).filter_map(|_| pools.for_worker(3).ok()).collect();
        let sizes: Vec<usize> = made.iter().map(|p| p.status().max_size).collect();
        assert_eq!(sizes, [4, 3, 3], "10 shared out by 3");
        assert_eq!(pools.state().max, 10);
        assert_eq!(pools.state().open, 0);
        drop(made);
        assert_eq!(pools.state().max, 0, "a worker's pool goes with it");
        let more_workers_than_connections = (0..12)
            .map(|_| pools.for_worker(12).map(|p| p.status().max_size))
            .collect::<Result<Vec<_>, _>>()
            .ok();
        assert!(
            more_workers_than_connections.is_some_and(|sizes| sizes.iter().all(|size| *size >= 1))
        );
        assert_eq!(pools.whole().map(|p| p.status().max_size).ok(), Some(10));
    }

    #[test]
    fn only_urls_that_insist_on_tls_keep_the_reads_off_the_async_driver() {
        for url in [
            "postgres://app@db:5432/eservices",
            "postgres://app@db/eservices?sslmode=prefer",
            "postgres://app@db/eservices?sslmode=disable&application_name=x",
        ] {
            assert!(!requires_tls(url), "{url}");
        }
        for url in [
            "postgres://app@db/eservices?sslmode=require",
            "postgresql://app@db/eservices?connect_timeout=5&sslmode=verify-full",
            "postgres://app@db/eservices?sslmode=verify-ca",
        ] {
            assert!(requires_tls(url), "{url}");
        }
    }

    #[test]
    fn urls_pick_the_backend_by_scheme() {
        assert_eq!(
            parse_url("postgres://u@h/db").map(|p| p.0).ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            parse_url("postgresql://h/db").map(|p| p.0).ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            parse_url("sqlite://data/eservices.sqlite")
                .map(|p| p.1)
                .ok()
                .as_deref(),
            Some("data/eservices.sqlite")
        );
        assert_eq!(
            parse_url("sqlite:///var/lib/e.sqlite")
                .map(|p| p.1)
                .ok()
                .as_deref(),
            Some("/var/lib/e.sqlite")
        );
        for bad in [
            "",
            "data.sqlite",
            "mysql://h/db",
            "sqlite://",
            "postgres:/x",
        ] {
            assert!(
                matches!(parse_url(bad), Err(DatabaseError::UnsupportedUrl(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_wrong_postgres_url_reports_the_drivers_error() {
        let error = Database::connect("postgres://nobody@127.0.0.1:1/none", PoolOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("cannot connect to the database:"),
            "{error}"
        );
        assert!(
            error.len() > "cannot connect to the database: ".len(),
            "{error}"
        );
    }
}
