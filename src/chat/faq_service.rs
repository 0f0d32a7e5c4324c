//! The FAQ the chat answers from: built from `config.faq_dir` at start and rebuilt when its files change.
//!
//! A watcher polls the folder's `*.toml` files (names, sizes, modification times) every [`POLL_INTERVAL`]. A change
//! loads and indexes the whole folder off the async threads; a file that does not load keeps the last good index
//! and the error (which names the file and line) is logged and shown in [`FaqStatus::last_error`].
//!
//! The sentence encoder's part is attached after the index is in use: at start the hub answers at once with the
//! lexical signals and the encoder joins when its entry vectors are ready ([`FaqStatus::semantic`]). Entry vectors
//! are found by content (the SHA-256 of each text) in the folder's precomputed `sentence-vectors.bin` and in the
//! `faq_vectors` table, so a restart, another hub process or an edit of one entry encodes only new texts. A reload
//! attaches the vectors before it swaps the index, so residents never lose the encoder once it is there.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tracing::Instrument;

use sqlx::Row;

use crate::db::{Db, now_ms};

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
    #[error("FAQ folder {}: cannot copy the bundled FAQ from {}: {source}", dir.display(), from.display())]
    Seed {
        dir: PathBuf,
        from: PathBuf,
        source: std::io::Error,
    },
}

/// Creates `dir` as a copy of the bundled FAQ folder `from` (its files) when `dir` does not exist yet, so the
/// console's edits go to the hub's data folder and never to the bundled files. The copy is made beside `dir` and
/// renamed into place, so two hubs starting at once, or a crash halfway, never leave a half-copied folder.
pub fn seed_folder(dir: &Path, from: &Path) -> Result<(), FaqServiceError> {
    if dir.exists() {
        return Ok(());
    }
    let failed = |source: std::io::Error| FaqServiceError::Seed {
        dir: dir.to_owned(),
        from: from.to_owned(),
        source,
    };
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(failed)?;
    let staging = parent.join(format!(
        ".faq-seed-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let copied = (|| {
        std::fs::create_dir(&staging)?;
        for item in std::fs::read_dir(from)? {
            let item = item?;
            if item.file_type()?.is_file() {
                std::fs::copy(item.path(), staging.join(item.file_name()))?;
            }
        }
        std::fs::rename(&staging, dir)
    })();
    if let Err(error) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        if !dir.exists() {
            return Err(failed(error));
        }
    }
    Ok(())
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
    /// Whether the sentence encoder takes part in the index in use yet.
    pub semantic: SemanticState,
    /// Entry texts whose vectors were found stored (precomputed file or database) when the index was built.
    pub vectors_reused: usize,
    /// Entry texts encoded when the index was built (new texts, then stored).
    pub vectors_encoded: usize,
}

/// The sentence encoder's part of the index in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SemanticState {
    /// Entry vectors are being found or encoded; answers use the lexical signals meanwhile.
    Building,
    /// The encoder ranks and answers.
    Ready,
    /// The encoder could not be loaded (logged): answers use the lexical signals only.
    Unavailable,
}

struct Inner {
    dir: PathBuf,
    db: Db,
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
    faq::Index::build_lexical_with(&faq, faq::Params::default()).map_err(|source| {
        FaqServiceError::Index {
            dir: dir.to_path_buf(),
            source,
        }
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

/// Keys looked up in one statement.
const LOOKUP_CHUNK: usize = 100;

/// The stored vectors of these texts: the folder's precomputed file, then the database.
async fn stored_vectors(
    db: &Db,
    dir: &Path,
    keys: &[faq::encoder::TextKey],
) -> faq::encoder::KnownVectors {
    let file = dir.join(faq::encoder::VECTOR_FILE);
    let mut known = match tokio::task::spawn_blocking(move || {
        file.exists()
            .then(|| faq::encoder::store::read_vector_file(&file))
    })
    .await
    {
        Ok(Some(Ok(known))) => known,
        Ok(Some(Err(error))) => {
            tracing::warn!(%error, "precomputed FAQ vectors not used");
            Default::default()
        }
        Ok(None) | Err(_) => Default::default(),
    };
    let wanted: Vec<String> = keys
        .iter()
        .filter(|key| !known.contains_key(*key))
        .map(hex::encode)
        .collect();
    for chunk in wanted.chunks(LOOKUP_CHUNK) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT text_hash, vector FROM faq_vectors WHERE model = $1 AND text_hash IN ({})",
            placeholders.join(", ")
        );
        // Only numbered placeholders are formatted in; the keys are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(faq::encoder::MODEL_ID);
        for key in chunk {
            query = query.bind(key);
        }
        let rows = match query.fetch_all(&db.pool).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, "cannot read stored FAQ vectors; encoding instead");
                break;
            }
        };
        for row in rows {
            let (Ok(hash), Ok(bytes)) = (
                row.try_get::<String, _>("text_hash"),
                row.try_get::<Vec<u8>, _>("vector"),
            ) else {
                continue;
            };
            let key = hex::decode(&hash)
                .ok()
                .and_then(|k| <[u8; 32]>::try_from(k).ok());
            if let (Some(key), Some(vector)) = (key, faq::encoder::store::vector_from_bytes(&bytes))
            {
                known.insert(key, vector);
            }
        }
    }
    known
}

/// Keeps newly encoded vectors for the next start and the other hub processes.
async fn store_vectors(
    db: &Db,
    encoded: &[(faq::encoder::TextKey, Arc<[f32]>)],
) -> Result<(), sqlx::Error> {
    if encoded.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool.begin().await?;
    for (key, vector) in encoded {
        sqlx::query(
            "INSERT INTO faq_vectors (model, text_hash, vector, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (model, text_hash) DO NOTHING",
        )
        .bind(faq::encoder::MODEL_ID)
        .bind(hex::encode(key))
        .bind(faq::encoder::store::vector_to_bytes(vector))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Attaches the encoder's entry vectors to `index` (stored ones reused, the rest encoded off the async threads and
/// stored). Returns the new status fields; `Unavailable` when the encoder cannot be loaded.
async fn attach_semantic(
    db: &Db,
    dir: &Path,
    index: Arc<faq::Index>,
) -> (SemanticState, usize, usize) {
    let span = tracing::info_span!("faq_semantic", dir = %dir.display());
    async {
        let started = std::time::Instant::now();
        let known = stored_vectors(db, dir, &index.sentence_keys()).await;
        let attached =
            tokio::task::spawn_blocking(move || index.attach_sentence_vectors(&known)).await;
        match attached {
            Ok(Ok(build)) => {
                if let Err(error) = store_vectors(db, &build.encoded).await {
                    tracing::warn!(%error, "cannot store FAQ vectors; they will be encoded again");
                }
                tracing::info!(
                    reused = build.reused,
                    encoded = build.encoded.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "FAQ sentence encoder ready"
                );
                (SemanticState::Ready, build.reused, build.encoded.len())
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "sentence encoder unavailable; the FAQ answers without it");
                (SemanticState::Unavailable, 0, 0)
            }
            Err(error) => {
                tracing::error!(%error, "the FAQ vector task stopped; the FAQ answers without the encoder");
                (SemanticState::Unavailable, 0, 0)
            }
        }
    }
    .instrument(span)
    .await
}

impl FaqService {
    /// Loads and indexes the folder; a broken FAQ at start is an error (the hub does not start without answers).
    /// The encoder's vectors are attached in the background ([`FaqStatus::semantic`] says when they are).
    /// Starts the watcher, which stops by itself when the last clone of the service is dropped.
    pub async fn start(dir: &Path, db: Db) -> Result<FaqService, FaqServiceError> {
        let seen = fingerprint(dir).ok();
        let index = build_blocking(dir.to_path_buf()).await?;
        tracing::info!(dir = %dir.display(), entries = index.len(), "FAQ index built");
        let service = FaqService {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                db,
                status: RwLock::new(FaqStatus {
                    dir: dir.display().to_string(),
                    entries: index.len(),
                    loaded_at_ms: now_ms(),
                    last_error: None,
                    semantic: SemanticState::Building,
                    vectors_reused: 0,
                    vectors_encoded: 0,
                }),
                index: RwLock::new(Arc::new(index)),
            }),
        };
        let inner = service.inner.clone();
        tokio::spawn(async move {
            let index = current(&inner);
            let (semantic, reused, encoded) =
                attach_semantic(&inner.db, &inner.dir, index.clone()).await;
            // A reload may have swapped in a newer index meanwhile; its own status stands.
            if Arc::ptr_eq(&index, &current(&inner)) {
                let mut status = write(&inner.status);
                status.semantic = semantic;
                status.vectors_reused = reused;
                status.vectors_encoded = encoded;
            }
        });
        tokio::spawn(watch(Arc::downgrade(&service.inner), seen));
        Ok(service)
    }

    /// The index in use (a reload swaps it; holders of the old one finish with it).
    pub fn index(&self) -> Arc<faq::Index> {
        current(&self.inner)
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

fn current(inner: &Inner) -> Arc<faq::Index> {
    match inner.index.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn write(status: &RwLock<FaqStatus>) -> std::sync::RwLockWriteGuard<'_, FaqStatus> {
    match status.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

async fn reload(inner: &Inner) -> Result<usize, String> {
    let span = tracing::info_span!("faq_reload", dir = %inner.dir.display());
    let result = build_blocking(inner.dir.clone())
        .instrument(span.clone())
        .await;
    let result = match result {
        Ok(index) => {
            let index = Arc::new(index);
            let semantic = attach_semantic(&inner.db, &inner.dir, index.clone())
                .instrument(span.clone())
                .await;
            Ok((index, semantic))
        }
        Err(error) => Err(error),
    };
    let _entered = span.enter();
    let mut status = write(&inner.status);
    match result {
        Ok((index, (semantic, reused, encoded))) => {
            let entries = index.len();
            match inner.index.write() {
                Ok(mut guard) => *guard = index,
                Err(poisoned) => *poisoned.into_inner() = index,
            }
            status.semantic = semantic;
            status.vectors_reused = reused;
            status.vectors_encoded = encoded;
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
