//! One daemon per database: `run` and `run --once` hold an exclusive
//! `flock` on a lock file beside the SQLite file (`feedwatch.db.lock`).
//!
//! The kernel drops the lock when the process ends, however it ends, so a
//! crash never leaves a stale lock behind; the PID written into the file is
//! only there to name the holder in the refusal. Read-only commands never
//! take the lock and keep working while the daemon runs.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// Held for as long as the process polls and delivers; dropping it unlocks.
#[derive(Debug)]
pub struct InstanceLock {
    path: PathBuf,
    _file: File,
}

impl InstanceLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another feedwatch is already running on this database: {path} is locked by PID {pid}; stop it first (read-only commands such as `feeds` work alongside it)"
    )]
    Held { path: String, pid: String },
    #[error("cannot create the lock file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The lock file for a database file.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    db.with_file_name(name)
}

/// Takes the instance lock for `db`, or says who holds it.
pub fn acquire(db: &Path) -> Result<InstanceLock, LockError> {
    let path = lock_path(db);
    let io = |source| LockError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // Not truncated before the lock is ours: the holder's PID stays readable.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    if let Err(e) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
        if e == rustix::io::Errno::WOULDBLOCK {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(LockError::Held {
                path: path.display().to_string(),
                pid: if pid.is_empty() {
                    "unknown".to_string()
                } else {
                    pid.to_string()
                },
            });
        }
        return Err(io(e.into()));
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(InstanceLock { path, _file: file })
}

/// The PID of the daemon holding `db`'s lock, if one does. Never creates
/// the lock file, so `check` can ask without leaving anything behind.
pub fn holder(db: &Path) -> Option<String> {
    let mut file = File::open(lock_path(db)).ok()?;
    match flock(&file, FlockOperation::NonBlockingLockShared) {
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            Some(if pid.is_empty() { "unknown" } else { pid }.to_string())
        }
        // Ours now, so nobody held it; closing the file releases it.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_pid_and_freed_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("data").join("feedwatch.db");
        let first = acquire(&db).expect("first lock");
        assert_eq!(first.path(), dir.path().join("data/feedwatch.db.lock"));
        // flock locks belong to the open file description: a second open in
        // the same process conflicts just as another process would.
        match acquire(&db) {
            Err(LockError::Held { path, pid }) => {
                assert!(path.ends_with("feedwatch.db.lock"), "{path}");
                assert_eq!(pid, std::process::id().to_string());
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(holder(&db), Some(std::process::id().to_string()));
        drop(first);
        assert_eq!(holder(&db), None);
        acquire(&db).expect("free again after the holder is gone");
    }
}
