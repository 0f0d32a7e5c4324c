//! The FAQ the chat answers from: built from `config.faq_dir` at start and rebuilt when its files change.
//!
//! A watcher polls the folder's `*.toml` files (names, sizes, modification times) every [`POLL_INTERVAL`]. A change
//! loads and indexes the whole folder off the async threads; a file that does not load keeps the last good index
//! and the error (which names the file and line) is logged and shown in [`FaqStatus::last_error`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tracing::Instrument;

use crate::db::now_ms;

/// How often the FAQ folder is checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum FaqServiceError {
    #[error("FAQ folder {}: {source}", dir.display())]
    Load {
        dir: PathBuf,
        source: faq::LoadError,
    },
    #[error("FAQ folder {}: cannot build the index: {source}", dir.display())]
    Index {
        dir: PathBuf,
        source: faq::IndexError,
    },
    #[error("FAQ folder {}: the index build stopped: {message}", dir.display())]
    Task { dir: PathBuf, message: String },
}

/// What staff see at `GET /api/faq/status`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FaqStatus {
    /// The folder the FAQ is read from.
    pub dir: String,
    /// Entries in the index in use.
    pub entries: usize,
    /// When the index in use was built (Unix ms).
    pub loaded_at_ms: i64,
    /// The last reload that failed and kept the previous index, naming the file; `null` after a good reload.
    pub last_error: Option<String>,
}

struct Inner {
    dir: PathBuf,
    index: RwLock<Arc<faq::Index>>,
    status: RwLock<FaqStatus>,
}

/// The shared FAQ index; cheap to clone.
#[derive(Clone)]
pub struct FaqService {
    inner: Arc<Inner>,
}

/// A folder's fingerprint: its TOML files with size and modification time, sorted by name.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn fingerprint(dir: &Path) -> std::io::Result<Fingerprint> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.is_file() {
            files.push((path, meta.len(), meta.modified().ok()));
        }
    }
    files.sort();
    Ok(files)
}

fn build(dir: &Path) -> Result<faq::Index, FaqServiceError> {
    let faq = faq::load_dir(dir).map_err(|source| FaqServiceError::Load {
        dir: dir.to_path_buf(),
        source,
    })?;
    faq::Index::build(&faq).map_err(|source| FaqServiceError::Index {
        dir: dir.to_path_buf(),
        source,
    })
}

async fn build_blocking(dir: PathBuf) -> Result<faq::Index, FaqServiceError> {
    let task_dir = dir.clone();
    tokio::task::spawn_blocking(move || build(&task_dir))
        .await
        .map_err(|error| FaqServiceError::Task {
            dir,
            message: error.to_string(),
        })?
}

impl FaqService {
    /// Loads and indexes the folder; a broken FAQ at start is an error (the hub does not start without answers).
    /// Starts the watcher, which stops by itself when the last clone of the service is dropped.
    pub async fn start(dir: &Path) -> Result<FaqService, FaqServiceError> {
        let seen = fingerprint(dir).ok();
        let index = build_blocking(dir.to_path_buf()).await?;
        tracing::info!(dir = %dir.display(), entries = index.len(), "FAQ index built");
        let service = FaqService {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                status: RwLock::new(FaqStatus {
                    dir: dir.display().to_string(),
                    entries: index.len(),
                    loaded_at_ms: now_ms(),
                    last_error: None,
                }),
                index: RwLock::new(Arc::new(index)),
            }),
        };
        tokio::spawn(watch(Arc::downgrade(&service.inner), seen));
        Ok(service)
    }

    /// The index in use (a reload swaps it; holders of the old one finish with it).
    pub fn index(&self) -> Arc<faq::Index> {
        match self.inner.index.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn status(&self) -> FaqStatus {
        match self.inner.status.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the folder now. On error the index in use stays and the error is kept in the status.
    pub async fn reload(&self) -> Result<usize, String> {
        reload(&self.inner).await
    }
}

async fn reload(inner: &Inner) -> Result<usize, String> {
    let span = tracing::info_span!("faq_reload", dir = %inner.dir.display());
    let result = build_blocking(inner.dir.clone())
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    let mut status = match inner.status.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    match result {
        Ok(index) => {
            let entries = index.len();
            match inner.index.write() {
                Ok(mut guard) => *guard = Arc::new(index),
                Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
            }
            status.entries = entries;
            status.loaded_at_ms = now_ms();
            status.last_error = None;
            tracing::info!(entries, "FAQ reloaded");
            Ok(entries)
        }
        Err(error) => {
            let message = error.to_string();
            tracing::error!(error = %message, "FAQ reload failed; the previous index stays in use");
            status.last_error = Some(message.clone());
            Err(message)
        }
    }
}

async fn watch(inner: Weak<Inner>, mut seen: Option<Fingerprint>) {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let dir = inner.dir.clone();
        let current = match tokio::task::spawn_blocking(move || fingerprint(&dir)).await {
            Ok(Ok(current)) => Some(current),
            Ok(Err(error)) => {
                tracing::warn!(dir = %inner.dir.display(), %error, "cannot read the FAQ folder");
                None
            }
            Err(_) => None,
        };
        if current.is_some() && current != seen {
            // A failed reload is retried only when the files change again.
            let _ = reload(&inner).await;
            seen = current;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_sees_new_and_changed_toml_files_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.toml"), "x").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
        let first = fingerprint(dir.path()).expect("fingerprint");
        assert_eq!(first.len(), 1);
        std::fs::write(dir.path().join("a.toml"), "xy").expect("write");
        let second = fingerprint(dir.path()).expect("fingerprint");
        assert_ne!(first, second);
        std::fs::write(dir.path().join("b.toml"), "x").expect("write");
        assert_eq!(fingerprint(dir.path()).expect("fingerprint").len(), 2);
    }
}
