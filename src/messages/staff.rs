//! What the hub says to the city's staff (console pages, the Japanese `message` of every API error), in
//! Japanese: the staff work in Japanese. Residents' texts are in the per-language catalogues beside this file.
//!
//! Placeholders are written `{name}` and filled with [`super::fill`].

/// Everything the console and the API say to staff in words. Grouped by page or feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffMsg {
    // ── API errors: the default `message` for a status when the error says nothing more specific ───────────
    /// 400 about `{field}`.
    InvalidField,
    /// 400 with no field.
    InvalidRequest,
    /// 401.
    LoginRequired,
    /// 403.
    NotAllowed,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 413.
    TooLarge,
    /// 429.
    TooManyRequests,
    /// 507.
    StorageFull,
    /// 500 and anything else unexpected.
    ServerTrouble,
    /// 503.
    Unavailable,

    // ── Emergencies (console and API, issue 15) ──────────────────────────────────────────────────────────────
    /// A drill asked for while no test recipients are configured.
    DrillWithoutTestRecipients,

    // ── Staff accounts (console and API, issue 15) ────────────────────────────────────────────────────────────
    /// A username that is not 1 to 64 letters, digits, `.`, `_`, `-`, `@`.
    BadUsername,
    /// A password that is not 10 to 256 characters.
    BadPassword,
    /// The username exists.
    UsernameTaken,
    /// No such staff account.
    NoSuchStaff,
    /// An admin may not disable their own account (nobody would be left to undo it).
    CannotDisableSelf,
    /// The console form expired (CSRF token missing or wrong).
    FormExpired,
    /// An /admin path that is no page.
    NoSuchPage,
}

impl StaffMsg {
    /// The Japanese text.
    pub fn ja(self) -> &'static str {
        use StaffMsg::*;
        match self {
            InvalidField => "入力内容に誤りがあります（{field}）。",
            InvalidRequest => "入力内容に誤りがあります。",
            LoginRequired => "ログインが必要です。もう一度ログインしてください。",
            NotAllowed => "この操作を行う権限がありません。管理者にお問い合わせください。",
            NotFound => "見つかりませんでした。すでに削除されたか、URLが誤っています。",
            Conflict => {
                "ほかの操作と重なったため、実行できませんでした。画面を更新してからもう一度お試しください。"
            }
            TooLarge => "データが大きすぎます。",
            TooManyRequests => "操作が多すぎます。しばらく待ってからもう一度お試しください。",
            StorageFull => "データベースの空き容量がありません。何も保存されていません。",
            ServerTrouble => {
                "サーバーで問題が発生しました。何も変更されていません。しばらくしてからもう一度お試しください。"
            }
            Unavailable => "現在ご利用いただけません。しばらくしてからもう一度お試しください。",
            DrillWithoutTestRecipients => {
                "訓練の送り先（テスト受信者）が設定されていないため、訓練は送れません。\
                 管理者に、職員の住民IDをテスト受信者（HUB_EMERGENCY_TEST_RECIPIENTS）として設定するよう依頼してください。"
            }
            BadUsername => {
                "ユーザー名は1〜64文字の半角英数字と「.」「_」「-」「@」で入力してください。"
            }
            BadPassword => "パスワードは10文字以上256文字以下で入力してください。",
            UsernameTaken => "このユーザー名はすでに使われています。別の名前にしてください。",
            NoSuchStaff => "その職員アカウントはありません。",
            CannotDisableSelf => {
                "自分のアカウントは無効にできません。別の管理者に依頼してください。"
            }
            FormExpired => {
                "画面の有効期限が切れました。ページを再読み込みしてから、もう一度操作してください。"
            }
            NoSuchPage => {
                "お探しのページは見つかりませんでした。URLが正しいか確かめるか、メニューから選んでください。"
            }
        }
    }

    /// The default message for an API error's status (and field, when there is one).
    pub fn for_status(status: u16, field: Option<&str>) -> String {
        use StaffMsg::*;
        let msg = match status {
            400 | 422 if field.is_some() => InvalidField,
            400 | 422 => InvalidRequest,
            401 => LoginRequired,
            403 => NotAllowed,
            404 | 410 => NotFound,
            409 => Conflict,
            413 => TooLarge,
            429 => TooManyRequests,
            507 => StorageFull,
            503 => Unavailable,
            _ => ServerTrouble,
        };
        super::fill(msg.ja(), &[("field", field.unwrap_or_default())])
    }
}

/// A segment rule's parse error said to staff: the place as 「n文字目」 and the kind of mistake in Japanese (the
/// parser's English stays in the API's `error`).
pub fn rule_error(column: usize, message: &str) -> String {
    let what = if message.starts_with("unknown district") {
        "市の地区の一覧にない名前です。地区はチェックボックスから選んでください"
    } else if message.starts_with("unknown interest") || message.starts_with("unknown topic") {
        "関心の一覧にない名前です。関心はチェックボックスから選んでください"
    } else if message.starts_with("unknown language") {
        "対応していない言語です"
    } else if message.starts_with("unknown channel") {
        "連絡手段の名前が違います"
    } else if message.starts_with("unknown field") {
        "使えない項目名です（年齢・地区・言語・関心などを使います）"
    } else if message.starts_with("an age") {
        "年齢は0〜200の数字で書きます"
    } else if message.starts_with("a birth month") {
        "誕生月は1〜12の数字で書きます"
    } else if message.contains("number") && message.starts_with("expected") {
        "ここには数字が必要です"
    } else if message.contains("closing") || message.contains("to close") {
        "かっこや引用符が閉じていません"
    } else if message.contains("no matching") {
        "対応する開きかっこがありません"
    } else if message.contains("list is empty") {
        "一覧が空です。値を一つ以上書いてください"
    } else if message.contains("text is empty") {
        "空の文字列です"
    } else if message.contains("end of the rule") || message.contains("end of input") {
        "「かつ（and）」「または（or）」のつなぎ方に誤りがあります"
    } else if message.contains("nests more") {
        "かっこの入れ子が深すぎます"
    } else {
        "書き方に誤りがあります"
    };
    format!("条件式の{column}文字目: {what}。")
}

/// A CSV import error said to staff: the line and column, the kind of mistake, and that nothing was imported.
pub fn import_error(line: u64, column: Option<&str>, message: &str) -> String {
    let place = match column {
        Some(column) => format!("{line}行目の「{column}」"),
        None => format!("{line}行目"),
    };
    let what = if message.contains("not valid") && message.contains("encoding") {
        "文字コードが違います。「文字コード」で Shift_JIS と UTF-8 を切り替えてみてください"
    } else if message.contains("appears twice") {
        "同じ列名が2回あります"
    } else if message.contains("no external_id") {
        "1行目に「住民ID」の列がありません"
    } else if message.contains("already appears on line") {
        "同じ住民IDがファイルの中に2回あります"
    } else if message.contains("is already given to resident") {
        "同じ連絡先がほかの住民にも書かれています"
    } else if message.contains("district") {
        "市の地区の一覧にない地区です"
    } else if message.contains("birth") || message.contains("date") {
        "生年月日は 1980-04-01 のように書いてください"
    } else if message.contains("language") {
        "言語は ja・ja-easy・en・zh・ko・vi のいずれかで書いてください"
    } else if message.contains("interest") {
        "関心の一覧にない項目です"
    } else if message.contains("email") || message.contains("address") {
        "メールアドレスの形式が正しくありません"
    } else if message.contains("LINE") || message.contains("line user") {
        "LINEユーザーIDの形式が正しくありません"
    } else {
        "値が正しくありません"
    };
    format!("{place}: {what}。ファイルは取り込んでいません（1件も変更していません）。")
}

/// A language code as staff read it (a resident's language, a body's language).
pub fn language_name(code: &str) -> &'static str {
    match code.trim() {
        "ja" => "日本語",
        "ja-easy" | "easy-ja" => "やさしい日本語",
        "en" => "英語",
        "zh" => "中国語",
        "ko" => "韓国語",
        "vi" => "ベトナム語",
        _ => "その他の言語",
    }
}

/// A CAP severity (`extreme`, `severe`, …) as staff read it.
pub fn severity_label(code: &str) -> &'static str {
    match code {
        "extreme" => "極めて重大",
        "severe" => "重大",
        "moderate" => "中程度",
        "minor" => "軽度",
        _ => "不明",
    }
}

/// A CAP urgency (`immediate`, `expected`, …) as staff read it.
pub fn urgency_label(code: &str) -> &'static str {
    match code {
        "immediate" => "直ちに行動",
        "expected" => "まもなく行動",
        "future" => "今後に備える",
        "past" => "終了",
        _ => "不明",
    }
}

/// What an emergency is (`alert`, `update`, `cancel`).
pub fn emergency_kind_label(code: &str) -> &'static str {
    match code {
        "alert" => "発令",
        "update" => "更新",
        "cancel" => "解除",
        _ => "不明",
    }
}

/// Every audit-log action the hub writes, as the 監査ログ page names it (the code stays in the database).
pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("login", "ログイン"),
    ("login.failed", "ログイン失敗（まとめ）"),
    ("logout", "ログアウト"),
    ("staff.create", "職員アカウントの作成"),
    ("staff.unlock", "ログイン制限の解除"),
    ("staff.disable", "職員アカウントの無効化"),
    ("staff.enable", "職員アカウントの再有効化"),
    ("staff.password", "パスワードの再設定"),
    ("token.create", "APIトークンの作成"),
    ("token.revoke", "APIトークンの失効"),
    ("resident.import", "住民の一括取り込み"),
    ("resident.upsert", "住民の登録・更新"),
    ("resident.forget", "住民の削除"),
    ("resident.export", "住民情報の閲覧・書き出し"),
    ("notice.create", "お知らせの登録"),
    ("notice.edit", "お知らせの編集"),
    ("notice.cancel", "お知らせの取り消し"),
    ("survey.create", "アンケートの作成"),
    ("survey.close", "アンケートの締め切り"),
    ("emergency.trigger", "緊急配信の送信"),
    ("emergency.need_help.read", "助けが必要な住民の一覧の閲覧"),
    ("faq.create", "FAQの追加"),
    ("faq.edit", "FAQの編集"),
    ("faq.dismiss", "回答できなかった質問の除外"),
];

/// An audit action's Japanese name; an action this list does not know is shown as 「その他の操作」.
pub fn audit_action_label(code: &str) -> &'static str {
    AUDIT_ACTIONS
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, label)| *label)
        .unwrap_or("その他の操作")
}

/// A key of an audit entry's details, as staff read it (unknown keys are shown as they are).
pub fn audit_detail_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "client" => "接続元",
        "failures" => "失敗回数",
        "from_ms" => "最初",
        "to_ms" => "最後",
        "role" => "役割",
        "rows" | "imported" => "件数",
        "source" => "経路",
        "file" => "ファイル",
        "title" => "件名",
        "segment" => "対象",
        "questions" => "質問数",
        "notice" => "お知らせ",
        "kind" => "種類",
        "dry_run" => "訓練",
        "cap" => "CAP識別子",
        "count" => "人数",
        "cleared_clients" => "解除した接続元",
        "name" => "名前",
        "id" => "ID",
        "question" => "質問",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_japanese_words() {
        for status in [400, 401, 403, 404, 409, 413, 429, 500, 503, 507] {
            let text = StaffMsg::for_status(status, Some("body"));
            assert!(!text.is_ascii(), "{status}: {text}");
            assert!(!text.contains('{'), "{status}: {text}");
        }
        assert_eq!(
            StaffMsg::for_status(400, Some("title")),
            "入力内容に誤りがあります（title）。"
        );
    }
}
