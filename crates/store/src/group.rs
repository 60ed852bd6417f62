//! Commit grouping: write work from concurrent requests runs on a writer
//! thread that takes every job waiting (up to [`MAX_GROUP`], optionally
//! waiting a short window for more), runs each in its own savepoint of one
//! transaction, commits once and only then answers each job. One fsync
//! serves the whole group; a job that fails rolls back to its savepoint
//! without touching the others; no job hears "done" before its commit.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::r2d2::ManageConnection;

use crate::{Backend, DatabaseUrl, DbConnection, DbManager, StoreError, write_tx};

/// Most jobs in one transaction: bounds how much one failed commit undoes.
pub const MAX_GROUP: usize = 256;
/// Jobs waiting before submitters are told the writer is busy.
const QUEUE: usize = 4096;

/// Why a grouped job has no result of its own.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The group's transaction did not commit (or could not begin): none of
    /// its jobs took effect.
    #[error("the write group did not commit: {0}")]
    Commit(#[from] diesel::result::Error),
    #[error("cannot connect the writer: {0}")]
    Connect(String),
    /// The queue is full or the writer stopped.
    #[error("the writer is not taking work")]
    Unavailable,
    /// The job panicked; its savepoint was rolled back.
    #[error("the job panicked")]
    Panicked,
}

/// What a job does inside the group transaction, and how it hears the end.
trait Job: Send {
    /// Runs the work in a savepoint of the open transaction.
    fn apply(&mut self, conn: &mut DbConnection);
    /// Called once the group committed (`Ok`) or failed (`Err`).
    fn finish(self: Box<Self>, committed: Result<(), &GroupError>);
}

type Reply<T, E> = Box<dyn FnOnce(Result<Result<T, E>, GroupError>) + Send>;

struct Pending<T, E, F> {
    work: Option<F>,
    result: Option<Result<Result<T, E>, GroupError>>,
    reply: Option<Reply<T, E>>,
}

impl<T, E, F> Job for Pending<T, E, F>
where
    T: Send,
    E: From<diesel::result::Error> + Send,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
{
    fn apply(&mut self, conn: &mut DbConnection) {
        let Some(work) = self.work.take() else {
            return;
        };
        let ran = catch_unwind(AssertUnwindSafe(|| conn.transaction(work)));
        self.result = Some(match ran {
            Ok(result) => Ok(result),
            Err(_) => {
                // The savepoint is still open: roll it back by hand.
                if let Err(e) = rollback_savepoint(conn) {
                    tracing::error!(error = %e, "rolling back a panicked job");
                }
                Err(GroupError::Panicked)
            }
        });
    }

    fn finish(mut self: Box<Self>, committed: Result<(), &GroupError>) {
        let outcome = match committed {
            Ok(()) => self.result.take().unwrap_or(Err(GroupError::Panicked)),
            Err(GroupError::Commit(e)) => Err(GroupError::Commit(clone_error(e))),
            Err(GroupError::Connect(m)) => Err(GroupError::Connect(m.clone())),
            Err(_) => Err(GroupError::Unavailable),
        };
        if let Some(reply) = self.reply.take() {
            reply(outcome);
        }
    }
}

fn rollback_savepoint(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    use diesel::connection::TransactionManager;
    <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)
}

/// Diesel errors are not Clone; every job of a failed group gets its kind
/// and message.
fn clone_error(e: &diesel::result::Error) -> diesel::result::Error {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(kind, info) => {
            let kind = match kind {
                DatabaseErrorKind::UniqueViolation => DatabaseErrorKind::UniqueViolation,
                DatabaseErrorKind::ForeignKeyViolation => DatabaseErrorKind::ForeignKeyViolation,
                DatabaseErrorKind::SerializationFailure => DatabaseErrorKind::SerializationFailure,
                DatabaseErrorKind::ReadOnlyTransaction => DatabaseErrorKind::ReadOnlyTransaction,
                DatabaseErrorKind::NotNullViolation => DatabaseErrorKind::NotNullViolation,
                DatabaseErrorKind::CheckViolation => DatabaseErrorKind::CheckViolation,
                DatabaseErrorKind::ClosedConnection => DatabaseErrorKind::ClosedConnection,
                _ => DatabaseErrorKind::Unknown,
            };
            Error::DatabaseError(kind, Box::new(info.message().to_owned()))
        }
        Error::NotFound => Error::NotFound,
        Error::BrokenTransactionManager => Error::BrokenTransactionManager,
        Error::NotInTransaction => Error::NotInTransaction,
        other => Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(format!("write group failed: {other}")),
        ),
    }
}

/// Settings for [`GroupWriter::start`].
#[derive(Debug, Clone, Copy)]
pub struct GroupConfig {
    /// Writer threads, each with its own connection and groups. SQLite has
    /// one writer at a time whatever this says, so use 1 there.
    pub writers: usize,
    /// How long a writer waits for more jobs after the first one when fewer
    /// than [`MAX_GROUP`] are waiting. Zero: take only what is queued (under
    /// load the queue fills while the last group commits).
    pub window: Duration,
}

/// Submits write work to the writer threads. Cheap to clone.
#[derive(Clone)]
pub struct GroupWriter {
    sender: SyncSender<Box<dyn Job>>,
}

impl GroupWriter {
    pub fn start(url: &DatabaseUrl, config: GroupConfig) -> Result<Self, StoreError> {
        let (sender, receiver) = sync_channel::<Box<dyn Job>>(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        let own_checkpoints = url.backend() == Backend::Sqlite;
        if own_checkpoints {
            crate::checkpoint::start(url, Arc::downgrade(&receiver))?;
        }
        for n in 0..config.writers.max(1) {
            let manager = DbManager::new(url.clone());
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("group-writer-{n}"))
                .spawn(move || writer_loop(&manager, &receiver, config.window, own_checkpoints))
                .map_err(|e| StoreError::Config(format!("cannot start a writer thread: {e}")))?;
        }
        Ok(Self { sender })
    }

    /// Runs `work` in the next group and calls `reply` after the group's
    /// commit (or failure). `work` must not commit or roll back itself.
    pub fn submit<T, E, F>(&self, work: F, reply: Reply<T, E>)
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let job: Box<dyn Job> = Box::new(Pending {
            work: Some(work),
            result: None,
            reply: Some(reply),
        });
        if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) =
            self.sender.try_send(job)
        {
            job.finish(Err(&GroupError::Unavailable));
        }
    }
}

fn writer_loop(
    manager: &DbManager,
    receiver: &Mutex<Receiver<Box<dyn Job>>>,
    window: Duration,
    backstop_checkpoints: bool,
) {
    let mut conn: Option<DbConnection> = None;
    let mut groups: u64 = 0;
    loop {
        let Some(mut group) = next_group(receiver, window) else {
            return; // every sender is gone: the server stopped
        };
        if conn.is_none() {
            match connect_writer(manager, backstop_checkpoints) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    crate::connection_broke();
                    let err = GroupError::Connect(e.to_string());
                    tracing::error!(error = %err, "write group");
                    for job in group {
                        job.finish(Err(&err));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        groups += 1;
        let committed = write_tx(c, |c| -> Result<(), diesel::result::Error> {
            for job in &mut group {
                job.apply(c);
            }
            crate::failpoint::hit("group", groups);
            Ok(())
        });
        let outcome = committed.map_err(GroupError::Commit);
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, jobs = group.len(), "write group rolled back");
        }
        if conn
            .as_mut()
            .is_some_and(diesel::r2d2::R2D2Connection::is_broken)
        {
            crate::connection_broke();
            conn = None;
        }
        let committed_ref = outcome.as_ref().map(|_| ());
        for job in group {
            job.finish(committed_ref);
        }
    }
}

/// The writer's connection; with `backstop_checkpoints` (SQLite, where the
/// checkpointer thread does that work) its own WAL checkpoint only fires
/// far past the usual threshold.
fn connect_writer(
    manager: &DbManager,
    backstop_checkpoints: bool,
) -> Result<DbConnection, diesel::r2d2::Error> {
    use diesel::connection::SimpleConnection;
    let mut conn = manager.connect()?;
    if backstop_checkpoints {
        conn.batch_execute(&format!(
            "PRAGMA wal_autocheckpoint = {}",
            crate::checkpoint::WRITER_BACKSTOP_PAGES
        ))
        .map_err(diesel::r2d2::Error::QueryError)?;
    }
    Ok(conn)
}

/// The first waiting job (blocking), then whatever else is queued, then
/// (with a window) whatever arrives before it closes.
fn next_group(
    receiver: &Mutex<Receiver<Box<dyn Job>>>,
    window: Duration,
) -> Option<Vec<Box<dyn Job>>> {
    let receiver = receiver.lock().ok()?;
    let first = receiver.recv().ok()?;
    let mut group = vec![first];
    while group.len() < MAX_GROUP {
        match receiver.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    if !window.is_zero() {
        let closes = Instant::now() + window;
        while group.len() < MAX_GROUP {
            let left = closes.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(left) {
                Ok(job) => group.push(job),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
    }
    Some(group)
}
