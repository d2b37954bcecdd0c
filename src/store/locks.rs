//! Locks between processes, one implementation per backend, so nothing outside the store
//! writes backend-specific SQL:
//!
//! - a **session lock**, held while its value lives and released when it drops or its
//!   process dies: a Postgres session advisory lock on a connection of its own; a lock on a
//!   file beside a SQLite database (`storybot.db-leader`); nothing for an in-memory store
//!   (one process by definition). Taken by asking ([`LockRequest::try_take`], the leader's
//!   lock) or by waiting ([`Store::wait_for_locks`], the gateway's identify buckets);
//! - a **transaction lock**, held until the transaction ends: [`Store::begin_clustering`]
//!   (an advisory transaction lock on Postgres; SQLite's write lock already serialises).

use std::time::Duration;

use sqlx::{AnyConnection, Connection, Row};

use super::{Backend, Store, StoreError};

/// How long a check of a lock's connection may take before the lock counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A session lock, held while this value lives.
#[derive(Debug)]
pub struct SessionLock(Held);

#[derive(Debug)]
enum Held {
    Postgres(AnyConnection),
    File(std::fs::File),
    Memory,
}

impl SessionLock {
    /// Whether the lock is still held: on Postgres, whether its connection still answers.
    pub async fn still_held(&mut self) -> bool {
        match &mut self.0 {
            Held::Postgres(conn) => {
                let ping = sqlx::query("SELECT 1").execute(&mut *conn);
                matches!(tokio::time::timeout(CHECK_TIMEOUT, ping).await, Ok(Ok(_)))
            }
            Held::File(_) | Held::Memory => true,
        }
    }

    /// Releases the lock.
    pub async fn release(self) {
        match self.0 {
            Held::Postgres(conn) => {
                let _ = conn.close().await;
            }
            Held::File(file) => {
                let _ = file.unlock();
            }
            Held::Memory => {}
        }
    }
}

/// Asks for one session lock, as often as needed, on one connection kept for the asking.
#[derive(Debug)]
pub struct LockRequest {
    store: Store,
    name: String,
    conn: Option<AnyConnection>,
}

impl LockRequest {
    /// The lock if it is free now, `None` if another process holds it.
    pub async fn try_take(&mut self) -> Result<Option<SessionLock>, StoreError> {
        match self.store.backend {
            Backend::Postgres => self.try_postgres().await,
            Backend::Sqlite => match self.store.sqlite_file() {
                None => Ok(Some(SessionLock(Held::Memory))),
                Some(db) => try_file(&lock_file(db, &self.name)),
            },
        }
    }

    async fn try_postgres(&mut self) -> Result<Option<SessionLock>, StoreError> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.store.dedicated_connection().await?,
        };
        let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind(self.store.lock_key(&self.name))
            .fetch_one(&mut conn)
            .await?;
        if row.try_get::<bool, _>("taken")? {
            Ok(Some(SessionLock(Held::Postgres(conn))))
        } else {
            self.conn = Some(conn);
            Ok(None)
        }
    }
}

impl Store {
    /// A request for the session lock `name`, private to this store.
    pub fn lock_request(&self, name: &str) -> LockRequest {
        LockRequest {
            store: self.clone(),
            name: name.to_string(),
            conn: None,
        }
    }

    /// Takes the session locks `names` in the order given (callers sort them, so two
    /// processes cannot deadlock), waiting while other processes hold them. On SQLite, where
    /// one service process runs per file, there is nobody to wait for.
    pub(crate) async fn wait_for_locks(&self, names: &[String]) -> Result<SessionLock, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(SessionLock(Held::Memory));
        }
        let mut conn = self.dedicated_connection().await?;
        for name in names {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(self.lock_key(name))
                .execute(&mut conn)
                .await?;
        }
        Ok(SessionLock(Held::Postgres(conn)))
    }
}

/// The lock file of a SQLite database: `storybot.db` → `storybot.db-leader`.
fn lock_file(db: &std::path::Path, name: &str) -> std::path::PathBuf {
    let mut file = db.as_os_str().to_owned();
    file.push("-");
    file.push(name);
    std::path::PathBuf::from(file)
}

fn try_file(path: &std::path::Path) -> Result<Option<SessionLock>, StoreError> {
    let failed = |source| StoreError::LockFile {
        file: path.display().to_string(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(SessionLock(Held::File(file)))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(failed(source)),
    }
}
