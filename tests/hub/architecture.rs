//! The layers of `src/` hold (docs/design.md, "Layers inside `src/`"). Every `src/**/*.rs` is read and each
//! reference to `crate::<module>` (in `use` lines, grouped `use crate::{a, b}` over several lines, and inline
//! paths such as `crate::audit::record(`) is checked against the importing file's layer. A failure names the
//! file, the line and the import that goes upward.
//!
//! From the top: wiring (`main`, `api`, the library root, the load test and bench commands) → `console` →
//! features → `outbox` → core. Inside the features, tiers from the bottom: `chat` (the base feature: the
//! conversation, the channels' reply helpers) → `notices` (segments, schedules, quiet hours) → `registration`,
//! `surveys`, `emergency`, `import` (which never import each other) → `line_events` and `webchat_events` (the
//! LINE and web chat routers that choose between them). There are no exceptions. `crate::AppState` belongs to the wiring; console and features may take it in their handlers
//! (the one documented exception), the outbox and core take what they need by `FromRef` or as arguments.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Core,
    Outbox,
    /// A feature and its tier (0 is the base feature, `chat`).
    Feature(u8),
    Console,
    Wiring,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Core => f.write_str("core"),
            Layer::Outbox => f.write_str("outbox"),
            Layer::Feature(0) => f.write_str("features, tier 0 (chat, the base feature)"),
            Layer::Feature(1) => f.write_str("features, tier 1 (notices)"),
            Layer::Feature(2) => {
                f.write_str("features, tier 2 (registration, surveys, emergency, import)")
            }
            Layer::Feature(tier) => write!(
                f,
                "features, tier {tier} (the LINE and web chat event routers, the JMA watch)"
            ),
            Layer::Console => f.write_str("console"),
            Layer::Wiring => f.write_str("wiring"),
        }
    }
}

/// What `crate::<name>` is: a module of a layer, or an item of the library root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Module(Layer),
    /// `crate::AppState`: the wiring's state.
    AppState,
}

/// The layer of each top module. A module missing here fails the test: a new module must be placed.
fn module_layer(name: &str) -> Option<Layer> {
    Some(match name {
        "main" | "api" | "lib" | "loadtest" | "preview_bench" | "webhook_bench" => Layer::Wiring,
        "console" => Layer::Console,
        "chat" => Layer::Feature(0),
        "notices" => Layer::Feature(1),
        "registration" | "surveys" | "emergency" | "import" => Layer::Feature(2),
        // The JMA watch makes emergencies: above `emergency`, beside the event routers (they never import each other).
        "line_events" | "webchat_events" | "jma" => Layer::Feature(3),
        "outbox" => Layer::Outbox,
        "db" | "config" | "auth" | "audit" | "residents" | "links" | "render" | "text"
        | "redact" | "error" | "telemetry" | "protection" | "surface" | "html"
        | "audience_index" | "messages" => Layer::Core,
        _ => return None,
    })
}

/// `crate::<name>`: a module, or an item of the library root (`lib.rs`).
fn target(name: &str) -> Option<Target> {
    match name {
        "AppState" => Some(Target::AppState),
        // A re-export of `config::Config`.
        "Config" => Some(Target::Module(Layer::Core)),
        "prepare" | "start" | "spawn" | "RunningHub" | "StartError" => {
            Some(Target::Module(Layer::Wiring))
        }
        _ => module_layer(name).map(Target::Module),
    }
}

/// The layer of a file under `src/` (`relative` as `chat/line.rs`). The bench and load test commands start a
/// whole hub, so they are wiring wherever they live.
fn file_layer(relative: &str) -> Option<Layer> {
    let file = relative.rsplit('/').next().unwrap_or(relative);
    if file == "bench.rs" {
        return Some(Layer::Wiring);
    }
    let top = relative.split('/').next().unwrap_or(relative);
    module_layer(top.strip_suffix(".rs").unwrap_or(top))
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    import: String,
    why: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "src/{}:{}: `{}`: {}",
            self.file, self.line, self.import, self.why
        )
    }
}

/// The source with comments and the insides of string and character literals blanked (newlines kept), so
/// only code is searched: `"https://x/crate::y"` and `// see crate::y` are not references.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"') | Some('#'))
            && !chars[..i].last().copied().is_some_and(is_ident)
        {
            // A raw string r"…" or r#"…"#: it ends at a quote followed by as many hashes.
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('r');
            i += 1 + hashes + 1;
            out.push_str(&" ".repeat(hashes + 1));
            while i < chars.len() {
                if chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|c| **c == '#')
                        .count()
                        == hashes
                {
                    out.push_str(&" ".repeat(hashes + 1));
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\''
            && (chars.get(i + 2) == Some(&'\'')
                || (next == Some('\\') && chars.get(i + 3) == Some(&'\'')))
        {
            // A character literal ('"', '\''); a lifetime has no closing quote there.
            let len = if next == Some('\\') { 4 } else { 3 };
            out.push_str(&" ".repeat(len));
            i += len;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first path segment of each tree in `{a, b::c, d::{e, f}}` (the text after the opening brace).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            c if at_start && is_ident(c) && depth == 0 => {
                let head: String = group[i..].chars().take_while(|c| is_ident(*c)).collect();
                heads.push(head);
                at_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// Every `crate::<name>` a file refers to, with its line number (1-based) and the statement it sits in.
fn references(source: &str) -> Vec<(usize, String, String)> {
    let code = code_only(source);
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let line = lines[n];
        let trimmed = line.trim_start();
        let is_use = ["use crate::", "pub use crate::", "pub(crate) use crate::"]
            .iter()
            .any(|start| trimmed.starts_with(start));
        if is_use {
            // The whole statement, however many lines it spans.
            let mut statement = trimmed.to_owned();
            let first = n;
            while !statement.contains(';') && n + 1 < lines.len() {
                n += 1;
                statement.push(' ');
                statement.push_str(lines[n].trim());
            }
            let rest = &statement[statement.find("crate::").unwrap_or(0) + "crate::".len()..];
            let heads = match rest.strip_prefix('{') {
                Some(group) => group_heads(group),
                None => vec![rest.chars().take_while(|c| is_ident(*c)).collect()],
            };
            let shown = statement.trim_end_matches(';').to_owned() + ";";
            for head in heads {
                found.push((first + 1, head, shown.clone()));
            }
        } else {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                let preceded = rest[..at].chars().next_back().is_some_and(is_ident);
                let after = &rest[at + "crate::".len()..];
                if !preceded {
                    let head: String = after.chars().take_while(|c| is_ident(*c)).collect();
                    if !head.is_empty() {
                        let path: String = rest[at..]
                            .chars()
                            .take_while(|c| is_ident(*c) || *c == ':')
                            .collect();
                        found.push((n + 1, head, path));
                    }
                }
                rest = after;
            }
        }
        n += 1;
    }
    found
}

/// Whether a module of layer `from` may refer to `to`, and why not when it may not.
fn check(from: Layer, to: Target) -> Result<(), String> {
    match to {
        Target::AppState => match from {
            Layer::Wiring | Layer::Console | Layer::Feature(_) => Ok(()),
            _ => Err(format!(
                "{from} takes `AppState`, the wiring's state: take what is needed by `FromRef` \
                 (`State<Db>`, `State<Arc<Config>>`) or as arguments"
            )),
        },
        Target::Module(to) if to <= from => match (from, to) {
            (Layer::Feature(a), Layer::Feature(b)) if a == b && a > 0 => Err(format!(
                "{from} imports a feature of its own tier: features of one tier do not know each other; \
                 move the shared part down (to chat, notices or core) or the choosing part up"
            )),
            _ => Ok(()),
        },
        Target::Module(to) => Err(format!(
            "{from} imports {to}, a layer above it (docs/design.md, \"Layers inside `src/`\")"
        )),
    }
}

/// The layer rule's breaches in one file (`relative` under `src/`).
fn violations(relative: &str, source: &str) -> Vec<Violation> {
    let Some(from) = file_layer(relative) else {
        return vec![Violation {
            file: relative.to_owned(),
            line: 0,
            import: String::new(),
            why: "this module has no layer: add it to `module_layer` in tests/hub/architecture.rs and to \
                  docs/design.md"
                .to_owned(),
        }];
    };
    let own = relative.split('/').next().unwrap_or(relative);
    let own = own.strip_suffix(".rs").unwrap_or(own);
    let mut found = Vec::new();
    for (line, head, import) in references(source) {
        if head == own {
            continue;
        }
        let why = match target(&head) {
            None => Err(format!(
                "`crate::{head}` has no layer: add it to `module_layer` in tests/hub/architecture.rs"
            )),
            // Two modules of one tier above the base: the file's own module is the same feature.
            Some(to) => check(from, to),
        };
        if let Err(why) = why {
            found.push(Violation {
                file: relative.to_owned(),
                line,
                import,
                why,
            });
        }
    }
    found
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {dir:?}: {e}"));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "src/ has its modules: {files:?}");
    let mut all = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .expect("under src/")
            .to_string_lossy()
            .replace('\\', "/");
        let source = std::fs::read_to_string(file).expect("a readable source file");
        all.extend(violations(&relative, &source));
    }
    assert!(
        all.is_empty(),
        "{} import(s) break the layers:\n{}",
        all.len(),
        all.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_fabricated_upward_import_is_reported_with_its_line() {
    let source = "\
//! core, pretending: see [`crate::console`] (a comment, not an import)
use crate::db::Db;
use crate::console::pages;
pub(crate) use crate::{
    audit,
    chat::{Channel, Lang},
};
fn f() {
    let url = \"https://example.invalid/crate::notices\"; // crate::surveys in a comment
    crate::registration::stats::count(1);
    crate::auth::hash_token(\"x\");
}
";
    let found = violations("residents.rs", source);
    let summary: Vec<(usize, String)> = found.iter().map(|v| (v.line, v.import.clone())).collect();
    assert_eq!(
        summary,
        vec![
            (3, "use crate::console::pages;".to_owned()),
            (
                4,
                "pub(crate) use crate::{ audit, chat::{Channel, Lang}, };".to_owned()
            ),
            (10, "crate::registration::stats::count".to_owned()),
        ],
        "{found:#?}"
    );
    let message = found[0].to_string();
    assert!(
        message.starts_with("src/residents.rs:3: `use crate::console::pages;`"),
        "{message}"
    );
    assert!(message.contains("core imports console"), "{message}");
    // The string holding `crate::notices` is a string: only `crate::` at the start of a path counts, and
    // nothing after `//`.
    assert!(
        found
            .iter()
            .all(|v| !v.import.contains("notices") && !v.import.contains("surveys"))
    );
}

#[test]
fn features_follow_their_tiers_and_app_state_stays_above_the_outbox() {
    // The base feature's helpers are for everyone above it; the reverse is upward.
    assert!(violations("surveys/line.rs", "use crate::chat::line::label;\n").is_empty());
    let upward = violations("chat/webchat.rs", "use crate::emergency::safety;\n");
    assert_eq!(upward.len(), 1, "{upward:?}");
    // Same tier: neither knows the other.
    let sideways = violations(
        "surveys/mod.rs",
        "    crate::emergency::store::find(&db);\n",
    );
    assert_eq!(sideways.len(), 1, "{sideways:?}");
    assert!(sideways[0].why.contains("its own tier"), "{}", sideways[0]);
    // The routers choose between them.
    assert!(violations("line_events/mod.rs", "use crate::emergency::safety;\n").is_empty());
    assert!(violations("webchat_events.rs", "use crate::emergency::safety;\n").is_empty());
    // AppState: fine for a feature, not for the outbox or core.
    assert!(violations("notices/api.rs", "use crate::AppState;\n").is_empty());
    assert_eq!(
        violations("outbox/mod.rs", "use crate::AppState;\n").len(),
        1
    );
    assert_eq!(
        violations("auth/mod.rs", "use crate::{AppState, db::Db};\n").len(),
        1
    );
    // Bench commands start a hub: wiring, wherever they live.
    assert!(
        violations(
            "outbox/bench.rs",
            "let hub = crate::start(state, l).await?;\n"
        )
        .is_empty()
    );
    // A new module must be placed before it is used.
    assert_eq!(violations("nowhere.rs", "").len(), 1);
    assert_eq!(violations("db.rs", "use crate::nowhere::X;\n").len(), 1);
}
