//! Connecting to PostgreSQL: the database is created when missing and migrated on start.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

/// The migrations of `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Opens a pool on `url`, creating the database if it does not exist, and applies the
/// migrations. Several processes may do this at once: creation races are tolerated and
/// migrations take an advisory lock.
#[tracing::instrument(skip_all)]
pub async fn connect_and_migrate(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url).context("Failed to parse the database URL")?;
    let pool = match connect(options.clone(), max_connections).await {
        Ok(pool) => pool,
        Err(error) if is_missing_database(&error) => {
            create_database_if_missing(&options).await?;
            connect(options, max_connections).await?
        }
        Err(error) => return Err(error),
    };
    MIGRATOR.run(&pool).await.map_err(|error| match error {
        sqlx::migrate::MigrateError::VersionMissing(version) => anyhow::anyhow!(
            "the database has migration {version}, which this baocao does not know: a newer \
             version migrated it. Run that version (migrations are never rolled back), or \
             restore the backup taken before the upgrade"
        ),
        error => anyhow::Error::new(error).context("Failed to apply the database migrations"),
    })?;
    Ok(pool)
}

/// Opens a pool on an existing, migrated database.
pub async fn connect(options: PgConnectOptions, max_connections: u32) -> anyhow::Result<PgPool> {
    let database = options.get_database().unwrap_or("(default)").to_owned();
    pool_options(max_connections)
        .connect_with(options)
        .await
        .with_context(|| format!("Failed to connect to database {database}"))
}

/// Every pool's options: `max_connections`, a 5 s wait for a connection, and an idle
/// connection handed out only while its server takes writes ([`writable`], in place of sqlx's
/// ping before each acquire, at the same cost of one round trip).
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|connection, _| Box::pin(writable(connection)))
}

/// Whether the server behind `connection` answers and takes writes; the pool closes the
/// connection when not. A connection made while the database's address led to a standby (a
/// Service following a failover late) stays on that standby, and every write on it fails with
/// SQLSTATE 25006 ([`Failure::ReadOnly`]): the pool closes it and opens a new one, which reaches
/// the primary once the address does. One that does not answer (its server gone) is closed as
/// the ping's failure would close it, without a warning per connection.
async fn writable(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let read_only = sqlx::query_scalar!(
        r#"select current_setting('transaction_read_only') = 'on' as "read_only!""#
    )
    .fetch_one(connection)
    .await;
    match read_only {
        Ok(false) => Ok(true),
        Ok(true) => {
            tracing::info!("closed a pooled connection to a read-only server (a standby?)");
            Ok(false)
        }
        Err(error) => {
            tracing::debug!(%error, "closed a pooled connection that does not answer");
            Ok(false)
        }
    }
}

/// Whether connecting failed because the database does not exist (SQLSTATE 3D000).
fn is_missing_database(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<sqlx::Error>(),
        Some(sqlx::Error::Database(database)) if database.code().as_deref() == Some("3D000")
    )
}

/// Creates the database named in `options` when it does not exist yet, through the
/// maintenance database `postgres`.
async fn create_database_if_missing(options: &PgConnectOptions) -> anyhow::Result<()> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .context(
            "Failed to connect to PostgreSQL (database postgres) to check the database exists",
        )?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .context("Failed to look up the database")?;
    if !exists {
        // The name comes from the operator's own URL and is quoted as an identifier.
        let statement = format!("create database \"{}\"", name.replace('"', "\"\""));
        match sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut admin)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created the database"),
            // Another process created it in the meantime.
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("42P04") => {}
            Err(error) => {
                return Err(error).with_context(|| format!("Failed to create database {name}"));
            }
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// Whether the database answers a query.
pub async fn ping(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("select 1")
        .execute(pool)
        .await
        .context("the database does not answer")?;
    Ok(())
}

/// A pool on `url` that connects when first used: for the HTTP server, which answers its
/// probes while the database is still unavailable at start-up.
pub fn connect_lazy(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url).context("Failed to parse the database URL")?;
    Ok(pool_options(max_connections).connect_lazy_with(options))
}

/// A pool on the same database as `pool`, with the same options, of at most
/// `max_connections`, that connects when first used: for a task that must not wait behind
/// `pool`'s other users (the API's readiness look).
pub fn lazy_sibling(pool: &PgPool, max_connections: u32) -> PgPool {
    let options = (*pool.connect_options()).clone();
    pool_options(max_connections).connect_lazy_with(options)
}

/// What a failed write means for what it was writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database refused a value or the statement's size (SQLSTATE classes 22, data
    /// exception; 23, integrity; 54, program limit; 57014, a statement cancelled by its
    /// timeout; or a value sqlx could not encode). Retrying the same rows cannot pass: the
    /// rows at fault are to be isolated.
    Refused,
    /// The server refuses every write (SQLSTATE 25006, read-only transaction): the address
    /// led to a standby (a Service that has not followed a failover yet), or the server was made
    /// read-only. The same rows are to be retried on a new connection: this one stays on the
    /// standby however often it is asked, so it is closed, never handed back to the pool.
    ReadOnly,
    /// Anything else: the database is away or failing over, a lock or serialization conflict,
    /// or a deployment fault (a migration missing). Retrying the same rows later can pass.
    Retry,
}

/// SQLSTATE 25006: a write in a read-only transaction (every transaction of a standby).
const READ_ONLY: &str = "25006";

/// Classifies a failed write by its SQLSTATE.
pub fn classify(error: &anyhow::Error) -> Failure {
    for cause in error.chain() {
        match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Encode(_)) => return Failure::Refused,
            Some(sqlx::Error::Database(database)) => {
                return classify_code(&database.code().unwrap_or_default());
            }
            _ => {}
        }
    }
    Failure::Retry
}

fn classify_code(code: &str) -> Failure {
    let refused = ["22", "23", "54"]
        .iter()
        .any(|class| code.starts_with(class))
        || code == "57014";
    if refused {
        Failure::Refused
    } else if code == READ_ONLY {
        Failure::ReadOnly
    } else {
        Failure::Retry
    }
}

/// Whether `error` means the database is unavailable for now (rather than refusing what it
/// was asked): no connection, a server starting or shutting down, too many connections, a
/// database not accepting connections for now (55000, as during maintenance), a standby
/// reached where the primary was expected (25006, read-only, during a failover).
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)) => true,
            Some(sqlx::Error::Database(database)) => {
                let code = database.code().unwrap_or_default();
                code.starts_with("08")
                    || code.starts_with("57P")
                    || ["53300", "55000", READ_ONLY].contains(&code.as_ref())
            }
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_values_read_only_servers_and_the_rest_are_told_apart() {
        for code in ["22P02", "23502", "54000", "57014"] {
            assert_eq!(classify_code(code), Failure::Refused, "{code}");
        }
        assert_eq!(classify_code("25006"), Failure::ReadOnly);
        for code in ["08006", "40001", "40P01", "57P01", "42P01"] {
            assert_eq!(classify_code(code), Failure::Retry, "{code}");
        }
    }
}
