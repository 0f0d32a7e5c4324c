//! The FAQ model and its TOML files.
//!
//! A FAQ directory holds `*.toml` files, each with `[[entry]]` tables, and optionally `synonyms.toml` with
//! `groups = [["ごみ", "ゴミ", "廃棄物"], ...]`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    pub id: String,
    pub question: String,
    /// Other ways residents ask the same question.
    pub alternatives: Vec<String>,
    pub answer: String,
    pub category: String,
    /// The responsible department, e.g. 総合窓口課.
    pub department: String,
    pub link: Option<String>,
    pub keywords: Vec<String>,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
}

impl FaqEntry {
    /// An entry with only the fields an evaluation set has.
    pub fn minimal(
        id: impl Into<String>,
        question: impl Into<String>,
        answer: impl Into<String>,
    ) -> Self {
        FaqEntry {
            id: id.into(),
            question: question.into(),
            alternatives: Vec::new(),
            answer: answer.into(),
            category: String::new(),
            department: String::new(),
            link: None,
            keywords: Vec::new(),
            question_en: None,
            answer_en: None,
        }
    }
}

/// A whole FAQ: entries in file order (files sorted by name) and synonym groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faq {
    pub entries: Vec<FaqEntry>,
    /// Each group lists words residents use interchangeably.
    pub synonyms: Vec<Vec<String>>,
}

/// Why a FAQ directory could not be loaded; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}:{line}: entry {id}: {message}", path.display())]
    Entry {
        path: PathBuf,
        line: usize,
        id: String,
        message: String,
    },
    #[error("{}:{line}: duplicate id {id:?} (first defined at {}:{first_line})", path.display(), first_path.display())]
    DuplicateId {
        path: PathBuf,
        line: usize,
        id: String,
        first_path: PathBuf,
        first_line: usize,
    },
}

/// The file name that holds synonym groups rather than entries.
pub const SYNONYMS_FILE: &str = "synonyms.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    #[serde(default)]
    entry: Vec<toml::Spanned<RawEntry>>,
}

/// Every key optional here so a missing one is reported with the entry's id and line, not only serde's wording.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Option<String>,
    question: Option<String>,
    alternatives: Option<Vec<String>>,
    answer: Option<String>,
    category: Option<String>,
    department: Option<String>,
    link: Option<String>,
    keywords: Option<Vec<String>>,
    question_en: Option<String>,
    answer_en: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymFile {
    groups: Vec<Vec<String>>,
}

/// Loads every `*.toml` file of a directory (not its subdirectories), in file-name order.
pub fn load_dir(dir: &Path) -> Result<Faq, LoadError> {
    let io_error = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io_error)?;
    files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"));
    files.sort();

    let mut faq = Faq::default();
    let mut first_seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        if path.file_name().is_some_and(|n| n == SYNONYMS_FILE) {
            let parsed: SynonymFile = toml::from_str(&text).map_err(|e| syntax(&path, &e))?;
            faq.synonyms
                .extend(parsed.groups.into_iter().filter(|g| g.len() > 1));
            continue;
        }
        for (entry, line) in parse_entries(&path, &text)? {
            if let Some((first_path, first_line)) = first_seen.get(&entry.id) {
                return Err(LoadError::DuplicateId {
                    path,
                    line,
                    id: entry.id,
                    first_path: first_path.clone(),
                    first_line: *first_line,
                });
            }
            first_seen.insert(entry.id.clone(), (path.clone(), line));
            faq.entries.push(entry);
        }
    }
    Ok(faq)
}

/// Parses one entry file's text; `path` is only used in errors. Returns entries with their line numbers.
pub fn parse_entries(path: &Path, text: &str) -> Result<Vec<(FaqEntry, usize)>, LoadError> {
    let file: EntryFile = toml::from_str(text).map_err(|e| syntax(path, &e))?;
    file.entry
        .into_iter()
        .map(|spanned| {
            let line = line_of(text, spanned.span().start);
            entry_from_raw(spanned.into_inner(), path, line).map(|e| (e, line))
        })
        .collect()
}

fn entry_from_raw(raw: RawEntry, path: &Path, line: usize) -> Result<FaqEntry, LoadError> {
    let id = raw.id.clone().unwrap_or_else(|| "(no id)".to_owned());
    let fail = |message: String| LoadError::Entry {
        path: path.to_path_buf(),
        line,
        id: id.clone(),
        message,
    };
    let required = |value: Option<String>, key: &str| -> Result<String, LoadError> {
        match value {
            Some(v) if !v.trim().is_empty() => Ok(v),
            Some(_) => Err(fail(format!("`{key}` is empty"))),
            None => Err(fail(format!("missing key `{key}`"))),
        }
    };
    Ok(FaqEntry {
        id: required(raw.id, "id")?,
        question: required(raw.question, "question")?,
        alternatives: raw.alternatives.unwrap_or_default(),
        answer: required(raw.answer, "answer")?,
        category: required(raw.category, "category")?,
        department: required(raw.department, "department")?,
        link: raw.link,
        keywords: raw.keywords.unwrap_or_default(),
        question_en: raw.question_en,
        answer_en: raw.answer_en,
    })
}

fn syntax(path: &Path, error: &toml::de::Error) -> LoadError {
    LoadError::Syntax {
        path: path.to_path_buf(),
        message: error.to_string().trim_end().to_owned(),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[entry]]
id = "juminhyo-1"
question = "住民票の写しを取りたい"
alternatives = ["住民票はどこでもらえますか"]
answer = "市役所1階の総合窓口課で交付します。"
category = "住民票・戸籍"
department = "総合窓口課"
keywords = ["住民票", "写し"]
question_en = "How do I get a copy of my residence certificate?"

[[entry]]
id = "gomi-1"
question = "ゴミの出し方を知りたい"
answer = "収集日の朝8時までに出してください。"
category = "ごみ"
department = "環境課"
link = "https://example.jp/gomi"
"#;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write fixture");
    }

    #[test]
    fn loads_entries_and_synonyms() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.toml", GOOD);
        write(
            dir.path(),
            SYNONYMS_FILE,
            "groups = [[\"ごみ\", \"ゴミ\", \"廃棄物\"], [\"単独\"]]\n",
        );
        write(dir.path(), "notes.txt", "not toml");
        let faq = load_dir(dir.path()).expect("loads");
        assert_eq!(faq.entries.len(), 2);
        assert_eq!(faq.entries[0].alternatives, ["住民票はどこでもらえますか"]);
        assert_eq!(
            faq.entries[1].link.as_deref(),
            Some("https://example.jp/gomi")
        );
        assert!(faq.entries[1].keywords.is_empty());
        assert_eq!(
            faq.synonyms,
            vec![vec![
                "ごみ".to_owned(),
                "ゴミ".to_owned(),
                "廃棄物".to_owned()
            ]]
        );
    }

    #[test]
    fn missing_key_names_file_line_and_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let broken = GOOD.replace("department = \"環境課\"\n", "");
        write(dir.path(), "kurashi.toml", &broken);
        let message = load_dir(dir.path())
            .expect_err("missing department")
            .to_string();
        assert!(message.contains("kurashi.toml:12"), "{message}");
        assert!(
            message.contains("gomi-1") && message.contains("department"),
            "{message}"
        );
    }

    #[test]
    fn duplicate_ids_name_both_places() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.toml", GOOD);
        write(dir.path(), "b.toml", GOOD);
        let message = load_dir(dir.path()).expect_err("duplicate").to_string();
        assert!(
            message.contains("b.toml:2") && message.contains("a.toml:2"),
            "{message}"
        );
        assert!(message.contains("juminhyo-1"), "{message}");
    }

    #[test]
    fn syntax_and_unknown_key_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "bad.toml",
            "[[entry]]\nid = \"x\"\nquestion = \n",
        );
        let message = load_dir(dir.path()).expect_err("syntax").to_string();
        assert!(message.contains("bad.toml"), "{message}");

        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "typo.toml",
            &GOOD.replace("keywords =", "keyword ="),
        );
        let message = load_dir(dir.path()).expect_err("unknown key").to_string();
        assert!(
            message.contains("typo.toml") && message.contains("keyword"),
            "{message}"
        );
    }
}
