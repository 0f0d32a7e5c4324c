//! Editing the FAQ from the console. Edits are written back to the TOML files in `HUB_FAQ_DIR` (the files stay
//! the one source of truth, reviewable and versionable): an existing entry's `[[entry]]` block is replaced in the
//! file that holds it, the rest of the file (comments, other entries) untouched; a new entry is appended to
//! `console.toml` in the same folder. The FAQ is then reloaded at once; when the folder does not load after the
//! write, the file is put back as it was and the form says why.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use faq::FaqEntry;
use serde::Deserialize;

use super::ConsoleUser;
use super::frame::layout;
use crate::AppState;
use crate::audit;
use crate::auth::Role;
use crate::error::ApiError;
use crate::html::escape;

/// The file new entries go to.
pub const NEW_ENTRIES_FILE: &str = "console.toml";

/// One edit at a time: two saves racing on one file would lose one of them.
static WRITE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn may_edit(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Pr)
}

#[derive(Deserialize, Default)]
pub struct EditQuery {
    id: Option<String>,
    question: Option<String>,
}

/// `GET /admin/faq/edit?id=…` (edit) or `?question=…` (a new entry from a missed question).
pub async fn form(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(query): Query<EditQuery>,
) -> Response {
    if !may_edit(user.0.staff.role) {
        return (
            StatusCode::FORBIDDEN,
            layout(
                &user,
                "faq",
                "権限がありません",
                "<p class=\"error\">FAQを編集する権限がありません。</p>",
            ),
        )
            .into_response();
    }
    let form = match query.id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => match state.chat.faq.index().entry(id) {
            Some(entry) => EntryForm::from_entry(entry),
            None => {
                return (
                    StatusCode::NOT_FOUND,
                    layout(
                        &user,
                        "faq",
                        "FAQ",
                        &format!("<p class=\"error\">FAQ「{}」はありません。</p>", escape(id)),
                    ),
                )
                    .into_response();
            }
        },
        None => EntryForm {
            id: format!("console-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")),
            question: query.question.unwrap_or_default(),
            category: "その他".into(),
            department: "総合窓口課".into(),
            ..EntryForm::default()
        },
    };
    render_form(&user, &form, None, StatusCode::OK)
}

/// The form's fields, as posted.
#[derive(Deserialize, Default, Clone)]
pub struct EntryForm {
    #[serde(default)]
    csrf: String,
    /// Empty for a new entry; the id being edited otherwise.
    #[serde(default)]
    original_id: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    alternatives: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    keywords: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    question_en: String,
    #[serde(default)]
    answer_en: String,
}

/// A form field that is wrong, named for the page.
struct FieldError {
    field: &'static str,
    message: String,
}

fn lines(text: &str) -> Vec<String> {
    text.split(['\n', '、', ','])
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.replace("\r\n", "\n"))
}

impl EntryForm {
    fn from_entry(entry: &FaqEntry) -> EntryForm {
        EntryForm {
            csrf: String::new(),
            original_id: entry.id.clone(),
            id: entry.id.clone(),
            question: entry.question.clone(),
            alternatives: entry.alternatives.join("\n"),
            answer: entry.answer.clone(),
            category: entry.category.clone(),
            department: entry.department.clone(),
            keywords: entry.keywords.join("、"),
            link: entry.link.clone().unwrap_or_default(),
            question_en: entry.question_en.clone().unwrap_or_default(),
            answer_en: entry.answer_en.clone().unwrap_or_default(),
        }
    }

    /// The entry the form describes, checked like the FAQ loader checks a file.
    fn to_entry(&self) -> Result<FaqEntry, FieldError> {
        let id = self.id.trim();
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(FieldError {
                field: "id",
                message: "IDは半角英小文字・数字・-・_ の64文字以内で入力してください。".into(),
            });
        }
        let required = |value: &str, field: &'static str, label: &str| {
            optional(value).ok_or_else(|| FieldError {
                field,
                message: format!("{label}を入力してください。"),
            })
        };
        let link = optional(&self.link);
        if let Some(link) = &link
            && !(link.starts_with("https://") || link.starts_with("http://"))
        {
            return Err(FieldError {
                field: "link",
                message: "リンクは http:// または https:// で始まるURLにしてください。".into(),
            });
        }
        Ok(FaqEntry {
            id: id.to_owned(),
            question: required(&self.question, "question", "質問")?,
            alternatives: self
                .alternatives
                .lines()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            answer: required(&self.answer, "answer", "回答")?,
            category: required(&self.category, "category", "分類")?,
            department: required(&self.department, "department", "担当課")?,
            link,
            keywords: lines(&self.keywords),
            question_en: optional(&self.question_en),
            answer_en: optional(&self.answer_en),
        })
    }
}

fn render_form(
    user: &ConsoleUser,
    form: &EntryForm,
    error: Option<&FieldError>,
    status: StatusCode,
) -> Response {
    let is_new = form.original_id.is_empty();
    let invalid = |field: &str| {
        if error.is_some_and(|e| e.field == field) {
            " aria-invalid=\"true\""
        } else {
            ""
        }
    };
    let error_html = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\" data-field=\"{}\">{}</p>",
                e.field,
                escape(&e.message)
            )
        })
        .unwrap_or_default();
    let id_attrs = if is_new { "" } else { " readonly" };
    let body = format!(
        "{error_html}<section class=\"card\"><form method=\"post\" action=\"/admin/faq/edit\" id=\"faq-form\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"original_id\" value=\"{original}\">\
         <label for=\"f-id\">ID</label><input id=\"f-id\" name=\"id\" value=\"{id}\"{id_attrs}{i_id} required>\
         <label for=\"f-question\">質問</label><input id=\"f-question\" name=\"question\" value=\"{question}\"{i_q} required>\
         <label for=\"f-alternatives\">言い換え（1行に1つ）</label>\
         <textarea id=\"f-alternatives\" name=\"alternatives\" rows=\"4\">{alternatives}</textarea>\
         <label for=\"f-answer\">回答</label><textarea id=\"f-answer\" name=\"answer\" rows=\"6\"{i_a} required>{answer}</textarea>\
         <div class=\"row\"><label for=\"f-category\">分類</label>\
         <input id=\"f-category\" name=\"category\" value=\"{category}\"{i_c} required>\
         <label for=\"f-department\">担当課</label>\
         <input id=\"f-department\" name=\"department\" value=\"{department}\"{i_d} required></div>\
         <label for=\"f-keywords\">キーワード（、区切り）</label><input id=\"f-keywords\" name=\"keywords\" value=\"{keywords}\">\
         <label for=\"f-link\">リンク</label><input id=\"f-link\" name=\"link\" type=\"url\" value=\"{link}\"{i_l}>\
         <label for=\"f-question-en\">質問（英語・任意）</label><input id=\"f-question-en\" name=\"question_en\" value=\"{question_en}\">\
         <label for=\"f-answer-en\">回答（英語・任意）</label><textarea id=\"f-answer-en\" name=\"answer_en\" rows=\"4\">{answer_en}</textarea>\
         <div class=\"row\"><button type=\"submit\">保存する</button><a href=\"/admin/faq\">FAQ一覧へ戻る</a></div>\
         </form></section>",
        csrf = escape(&user.0.csrf),
        original = escape(&form.original_id),
        id = escape(&form.id),
        question = escape(&form.question),
        alternatives = escape(&form.alternatives),
        answer = escape(&form.answer),
        category = escape(&form.category),
        department = escape(&form.department),
        keywords = escape(&form.keywords),
        link = escape(&form.link),
        question_en = escape(&form.question_en),
        answer_en = escape(&form.answer_en),
        i_id = invalid("id"),
        i_q = invalid("question"),
        i_a = invalid("answer"),
        i_c = invalid("category"),
        i_d = invalid("department"),
        i_l = invalid("link"),
    );
    let title = if is_new {
        "FAQエントリの追加"
    } else {
        "FAQエントリの編集"
    };
    (status, layout(user, "faq", title, &body)).into_response()
}

/// Whether `dir` is the FAQ bundled in the source tree (`faq/data` beside the hub's sources): the console never
/// writes there. By default the hub reads (and the console edits) a copy in its data folder (`HUB_DATA_DIR`);
/// only a `HUB_FAQ_DIR` naming the bundled folder lands here.
pub fn is_source_tree(dir: &std::path::Path) -> bool {
    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("faq/data");
    match (dir.canonicalize(), bundled.canonicalize()) {
        (Ok(dir), Ok(bundled)) => dir == bundled,
        _ => false,
    }
}

/// `POST /admin/faq/edit`: checks, writes the TOML file, reloads the FAQ, audits, and goes back to the list.
pub async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<EntryForm>,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return super::csrf_error().into_response();
    }
    if !may_edit(user.0.staff.role) {
        return ApiError::forbidden(user.0.staff.role.as_str()).into_response();
    }
    let entry = match form.to_entry() {
        Ok(entry) => entry,
        Err(error) => return render_form(&user, &form, Some(&error), StatusCode::BAD_REQUEST),
    };
    let original = form.original_id.trim().to_owned();
    if !original.is_empty() && original != entry.id {
        let error = FieldError {
            field: "id",
            message: "既存のエントリのIDは変更できません。".into(),
        };
        return render_form(&user, &form, Some(&error), StatusCode::BAD_REQUEST);
    }
    if is_source_tree(&state.config.faq_dir) {
        let error = FieldError {
            field: "id",
            message: "プログラムに同梱のFAQは画面から保存できません。管理者が HUB_FAQ_DIR の設定を外すと、\
                      データ用フォルダのコピーが使われ、画面から編集できます。"
                .into(),
        };
        return render_form(&user, &form, Some(&error), StatusCode::CONFLICT);
    }
    let _guard = WRITE_LOCK.lock().await;
    let index = state.chat.faq.index();
    if original.is_empty() && index.entry(&entry.id).is_some() {
        let error = FieldError {
            field: "id",
            message: format!("ID「{}」はすでに使われています。", entry.id),
        };
        return render_form(&user, &form, Some(&error), StatusCode::CONFLICT);
    }
    drop(index);
    let dir = state.config.faq_dir.clone();
    let creating = original.is_empty();
    let to_write = entry.clone();
    let written = tokio::task::spawn_blocking(move || write_entry(&dir, &to_write, creating))
        .await
        .map_err(|error| error.to_string())
        .and_then(|result| result);
    let (path, previous) = match written {
        Ok(done) => done,
        Err(message) => {
            let error = FieldError {
                field: "id",
                message: format!("FAQファイルに書き込めませんでした: {message}"),
            };
            return render_form(
                &user,
                &form,
                Some(&error),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    if let Err(message) = state.chat.faq.reload().await {
        // Put the file back so the folder stays loadable for the next start.
        let restore = match &previous {
            Some(text) => std::fs::write(&path, text),
            None => std::fs::remove_file(&path),
        };
        if let Err(io) = restore {
            tracing::error!(path = %path.display(), %io, "cannot restore the FAQ file after a failed reload");
        }
        let _ = state.chat.faq.reload().await;
        let error = FieldError {
            field: "id",
            message: format!("保存後にFAQを読み込めなかったため、元に戻しました: {message}"),
        };
        return render_form(&user, &form, Some(&error), StatusCode::BAD_REQUEST);
    }
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Err(error) = audit::record(
        &state.db,
        &user.0.staff,
        if creating { "faq.create" } else { "faq.edit" },
        &entry.id,
        serde_json::json!({ "file": file }),
    )
    .await
    {
        return ApiError::from(error).into_response();
    }
    Redirect::to(&format!("/admin/faq?saved={}", entry.id)).into_response()
}

/// Writes `entry` into the folder; returns the file written and its text before (None: the file is new).
fn write_entry(
    dir: &Path,
    entry: &FaqEntry,
    creating: bool,
) -> Result<(PathBuf, Option<String>), String> {
    let (path, before, after) = if creating {
        let path = dir.join(NEW_ENTRIES_FILE);
        let before = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(format!("{}: {error}", path.display())),
        };
        let mut after = before.clone().unwrap_or_else(|| {
            "# 管理画面で追加したFAQエントリ（管理画面が書き込みます。手で直してもかまいません）\n".to_owned()
        });
        if !after.ends_with('\n') {
            after.push('\n');
        }
        after.push('\n');
        after.push_str(&entry_block(entry));
        (path, before, after)
    } else {
        let (path, text) = find_file(dir, &entry.id)?;
        let after = replace_block(&path, &text, entry)?;
        (path, Some(text), after)
    };
    // The new text must hold exactly this entry before it replaces anything.
    let parsed = faq::parse_entries(&path, &after).map_err(|e| e.to_string())?;
    if !parsed.iter().any(|(e, _)| e == entry) {
        return Err("書き込む内容を読み戻せませんでした".into());
    }
    let temp = path.with_extension("toml.tmp");
    std::fs::write(&temp, &after).map_err(|e| format!("{}: {e}", temp.display()))?;
    std::fs::rename(&temp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, before))
}

/// The TOML file of the folder whose entries include `id`.
fn find_file(dir: &Path, id: &str) -> Result<(PathBuf, String), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| p.file_name().is_none_or(|n| n != faq::SYNONYMS_FILE))
        .collect();
    files.sort();
    for path in files {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let entries = faq::parse_entries(&path, &text).map_err(|e| e.to_string())?;
        if entries.iter().any(|(e, _)| e.id == id) {
            return Ok((path, text));
        }
    }
    Err(format!("エントリ {id} を含むファイルがありません"))
}

/// `text` with the `[[entry]]` block of `entry.id` replaced by a new block; comments and blank lines that end the
/// old block (they usually introduce the next one) are kept.
fn replace_block(path: &Path, text: &str, entry: &FaqEntry) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let headers: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim() == "[[entry]]")
        .map(|(i, _)| i)
        .collect();
    for (n, &start) in headers.iter().enumerate() {
        let end = headers.get(n + 1).copied().unwrap_or(lines.len());
        let block: String = lines[start..end].concat();
        let parsed = faq::parse_entries(path, &block).map_err(|e| e.to_string())?;
        if !parsed.iter().any(|(e, _)| e.id == entry.id) {
            continue;
        }
        let mut keep_from = end;
        while keep_from > start + 1 {
            let line = lines[keep_from - 1].trim();
            if line.is_empty() || line.starts_with('#') {
                keep_from -= 1;
            } else {
                break;
            }
        }
        let mut out: String = lines[..start].concat();
        out.push_str(&entry_block(entry));
        let tail: String = lines[keep_from..].concat();
        if !tail.is_empty() && !tail.starts_with('\n') {
            out.push('\n');
        }
        out.push_str(&tail);
        return Ok(out);
    }
    Err(format!(
        "{}: [[entry]] id = {} が見つかりません",
        path.display(),
        entry.id
    ))
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_array(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| toml_string(v)).collect();
    format!("[{}]", items.join(", "))
}

/// One `[[entry]]` table in the key order of the bundled files.
fn entry_block(entry: &FaqEntry) -> String {
    let mut out = String::from("[[entry]]\n");
    let _ = writeln!(out, "id = {}", toml_string(&entry.id));
    let _ = writeln!(out, "category = {}", toml_string(&entry.category));
    let _ = writeln!(out, "department = {}", toml_string(&entry.department));
    let _ = writeln!(out, "question = {}", toml_string(&entry.question));
    let _ = writeln!(out, "alternatives = {}", toml_array(&entry.alternatives));
    let _ = writeln!(out, "answer = {}", toml_string(&entry.answer));
    let _ = writeln!(out, "keywords = {}", toml_array(&entry.keywords));
    if let Some(link) = &entry.link {
        let _ = writeln!(out, "link = {}", toml_string(link));
    }
    if let Some(q) = &entry.question_en {
        let _ = writeln!(out, "question_en = {}", toml_string(q));
    }
    if let Some(a) = &entry.answer_en {
        let _ = writeln!(out, "answer_en = {}", toml_string(a));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, answer: &str) -> FaqEntry {
        FaqEntry {
            id: id.into(),
            question: "質問\"です\"".into(),
            alternatives: vec!["言い換え".into()],
            answer: answer.into(),
            category: "分類".into(),
            department: "担当課".into(),
            link: None,
            keywords: vec!["鍵".into()],
            question_en: None,
            answer_en: Some("line1\nline2\\".into()),
        }
    }

    #[test]
    fn a_block_round_trips_through_the_loader() {
        let entry = sample("a-1", "回答\n二行目\t");
        let text = entry_block(&entry);
        let parsed = faq::parse_entries(Path::new("x.toml"), &text).expect("parses");
        assert_eq!(parsed[0].0, entry);
    }

    #[test]
    fn replacing_keeps_the_other_entries_and_comments() {
        let first = sample("a-1", "一つ目");
        let second = sample("a-2", "二つ目");
        let text = format!(
            "# header\n\n{}\n# about the second\n{}",
            entry_block(&first),
            entry_block(&second)
        );
        let changed = sample("a-1", "直した回答");
        let out = replace_block(Path::new("x.toml"), &text, &changed).expect("replaced");
        assert!(out.starts_with("# header\n"));
        assert!(out.contains("# about the second"));
        let parsed = faq::parse_entries(Path::new("x.toml"), &out).expect("parses");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, changed);
        assert_eq!(parsed[1].0, second);
    }

    #[test]
    fn form_checks_id_and_required_fields() {
        let form = EntryForm {
            id: "Bad Id".into(),
            ..EntryForm::default()
        };
        assert_eq!(form.to_entry().err().map(|e| e.field), Some("id"));
        let form = EntryForm {
            id: "ok-id".into(),
            question: "q".into(),
            ..EntryForm::default()
        };
        assert_eq!(form.to_entry().err().map(|e| e.field), Some("answer"));
    }
}
