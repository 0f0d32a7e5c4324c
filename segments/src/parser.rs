//! Lexer and recursive-descent parser for segment rules.
//!
//! Columns count characters (not bytes) from 1, so an error under Japanese text points where a
//! person would count. Full-width ASCII (`ａｇｅ　＞＝　６５`, `（`, `［`, `、`) is folded to
//! ASCII outside quoted text, because Japanese input methods produce it.

use std::fmt;

use thiserror::Error;

use crate::profile::{DEPRECATED_EASY_JAPANESE, KNOWN_CHANNELS, KNOWN_LANGUAGES};
use crate::rule::{Comparison, Condition, NumberTest, Rule, TextTest};

/// A rule that could not be parsed: where (1-based column, in characters) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based position in characters; one past the last character for "unexpected end".
    pub column: usize,
    pub message: String,
}

impl ParseError {
    fn new(column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            column,
            message: message.into(),
        }
    }
}

/// Parentheses and `not`s nested deeper than this are refused, so no input can overflow the stack.
pub const MAX_NESTING: usize = 64;

/// Numbers above this are refused at the lexer (no age or month comes near it).
const MAX_NUMBER: u64 = 1_000_000;
const MAX_AGE: u32 = 200;

/// Lists of values the hub knows, to refuse a rule naming anything else at parse time, with the
/// column of the value. `None` accepts any value.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions<'a> {
    /// The city's districts (`district = "…"`, `district in […]`).
    pub districts: Option<&'a [String]>,
    /// The topics residents can follow (`interests has "…"`).
    pub interests: Option<&'a [String]>,
}

pub(crate) fn parse(text: &str, options: &ParseOptions<'_>) -> Result<Rule, ParseError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        position: 0,
        depth: 0,
        options: *options,
    };
    if parser.peek().kind == TokenKind::End {
        return Ok(Rule::All);
    }
    let rule = parser.or_expression()?;
    let token = parser.peek();
    match token.kind {
        TokenKind::End => Ok(rule),
        TokenKind::RightParen => Err(ParseError::new(
            token.column,
            "this `)` has no matching `(`",
        )),
        _ => Err(ParseError::new(
            token.column,
            format!(
                "expected `and`, `or` or the end of the rule, found {}",
                token.kind
            ),
        )),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Compare(Comparison),
    Word(String),
    Text(String),
    Number(u64),
    End,
}

impl fmt::Display for TokenKind {
    /// How a token is named in "found …" messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::LeftParen => f.write_str("`(`"),
            TokenKind::RightParen => f.write_str("`)`"),
            TokenKind::LeftBracket => f.write_str("`[`"),
            TokenKind::RightBracket => f.write_str("`]`"),
            TokenKind::Comma => f.write_str("`,`"),
            TokenKind::Compare(comparison) => write!(f, "`{}`", comparison.symbol()),
            TokenKind::Word(word) => write!(f, "`{word}`"),
            TokenKind::Text(text) => write!(f, "the text \"{text}\""),
            TokenKind::Number(number) => write!(f, "the number {number}"),
            TokenKind::End => f.write_str("the end of the rule"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    column: usize,
}

/// Full-width ASCII variants (U+FF01..U+FF5E), the ideographic comma and the ideographic space
/// become their ASCII selves.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '、' => ',',
        '\u{3000}' => ' ',
        _ => c,
    }
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let raw = chars[index];
        let c = fold_width(raw);
        let column = index + 1;
        if c.is_whitespace() {
            index += 1;
            continue;
        }
        let single = |kind| Token { kind, column };
        match c {
            '(' => tokens.push(single(TokenKind::LeftParen)),
            ')' => tokens.push(single(TokenKind::RightParen)),
            '[' => tokens.push(single(TokenKind::LeftBracket)),
            ']' => tokens.push(single(TokenKind::RightBracket)),
            ',' => tokens.push(single(TokenKind::Comma)),
            '=' | '!' | '<' | '>' => {
                let next = chars.get(index + 1).copied().map(fold_width);
                let (comparison, width) = match (c, next) {
                    ('=', Some('=')) => (Comparison::Equal, 2),
                    ('=', _) => (Comparison::Equal, 1),
                    ('!', Some('=')) => (Comparison::NotEqual, 2),
                    ('<', Some('=')) => (Comparison::LessOrEqual, 2),
                    ('<', Some('>')) => (Comparison::NotEqual, 2),
                    ('<', _) => (Comparison::Less, 1),
                    ('>', Some('=')) => (Comparison::GreaterOrEqual, 2),
                    ('>', _) => (Comparison::Greater, 1),
                    _ => {
                        return Err(ParseError::new(
                            column,
                            "unexpected `!`: write `!=` for \"not equal\" or `not` before a condition",
                        ));
                    }
                };
                tokens.push(single(TokenKind::Compare(comparison)));
                index += width;
                continue;
            }
            '"' | '「' | '『' | '“' => {
                let (text, next_index) = lex_text(&chars, index)?;
                tokens.push(single(TokenKind::Text(text)));
                index = next_index;
                continue;
            }
            c if c.is_ascii_digit() => {
                let mut number: u64 = 0;
                while let Some(digit) = chars.get(index).and_then(|&d| fold_width(d).to_digit(10)) {
                    number = number * 10 + u64::from(digit);
                    if number > MAX_NUMBER {
                        return Err(ParseError::new(column, "this number is too large"));
                    }
                    index += 1;
                }
                tokens.push(single(TokenKind::Number(number)));
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut word = String::new();
                while let Some(&next) = chars.get(index) {
                    let next = fold_width(next);
                    if next.is_alphanumeric() || next == '_' {
                        word.push(next);
                        index += 1;
                    } else {
                        break;
                    }
                }
                tokens.push(single(TokenKind::Word(word)));
                continue;
            }
            _ => {
                return Err(ParseError::new(
                    column,
                    format!("unexpected character `{raw}`"),
                ));
            }
        }
        index += 1;
    }
    tokens.push(Token {
        kind: TokenKind::End,
        column: chars.len() + 1,
    });
    Ok(tokens)
}

/// Reads quoted text starting at the opening quote; returns the text and the index after it.
/// `"…"` understands `\"` and `\\`; `「…」`, `『…』`, `“…”` and `＂…＂` take everything up to
/// the closing mark.
fn lex_text(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let opening = chars[start];
    let closing = match opening {
        '「' => '」',
        '『' => '』',
        '“' => '”',
        // A full-width quote opens and closes like the ASCII one.
        '＂' => '＂',
        _ => '"',
    };
    let mut text = String::new();
    let mut index = start + 1;
    while let Some(&c) = chars.get(index) {
        if c == closing {
            return Ok((text, index + 1));
        }
        if c == '\\' && opening == '"' {
            match chars.get(index + 1) {
                Some(&escaped @ ('"' | '\\')) => {
                    text.push(escaped);
                    index += 2;
                    continue;
                }
                _ => {
                    return Err(ParseError::new(
                        index + 1,
                        "unknown escape: inside quotes write \\\" for a quote and \\\\ for a backslash",
                    ));
                }
            }
        }
        text.push(c);
        index += 1;
    }
    Err(ParseError::new(
        start + 1,
        format!("this text has no closing {closing}"),
    ))
}

/// The attributes a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Age,
    BirthMonth,
    District,
    Language,
    Interests,
    Channels,
}

impl Field {
    /// English names (any case) and Japanese aliases.
    fn from_word(word: &str) -> Option<Field> {
        let field = match word.to_lowercase().as_str() {
            "age" | "年齢" => Field::Age,
            "birth_month" | "birthmonth" | "誕生月" => Field::BirthMonth,
            "district" | "地区" => Field::District,
            "language" | "lang" | "言語" => Field::Language,
            "interests" | "interest" | "関心" => Field::Interests,
            "channels" | "channel" | "チャネル" | "連絡手段" => Field::Channels,
            _ => return None,
        };
        Some(field)
    }

    fn name(self) -> &'static str {
        match self {
            Field::Age => "age",
            Field::BirthMonth => "birth_month",
            Field::District => "district",
            Field::Language => "language",
            Field::Interests => "interests",
            Field::Channels => "channels",
        }
    }
}

impl Field {
    /// "one …" in messages.
    fn singular(self) -> &'static str {
        match self {
            Field::Interests => "interest",
            Field::Channels => "channel",
            other => other.name(),
        }
    }
}

const FIELD_LIST: &str = "age, birth_month, district, language, interests or channels";

struct Parser<'a> {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
    options: ParseOptions<'a>,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with `End`, and `advance` never moves past it.
        &self.tokens[self.position.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::End {
            self.position += 1;
        }
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Word(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn enter(&mut self, column: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ParseError::new(
                column,
                format!("the rule nests more than {MAX_NESTING} levels deep"),
            ));
        }
        Ok(())
    }

    fn or_expression(&mut self) -> Result<Rule, ParseError> {
        let mut parts = vec![self.and_expression()?];
        while self.peek_keyword("or") {
            self.advance();
            parts.push(self.and_expression()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Rule::Or(parts)
        })
    }

    fn and_expression(&mut self) -> Result<Rule, ParseError> {
        let mut parts = vec![self.unary()?];
        while self.peek_keyword("and") {
            self.advance();
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Rule::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Rule, ParseError> {
        if self.peek_keyword("not") {
            let token = self.advance();
            self.enter(token.column)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Rule::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Rule, ParseError> {
        let token = self.advance();
        match &token.kind {
            TokenKind::LeftParen => {
                self.enter(token.column)?;
                let inner = self.or_expression()?;
                self.depth -= 1;
                let closing = self.advance();
                if closing.kind != TokenKind::RightParen {
                    return Err(ParseError::new(
                        closing.column,
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            token.column, closing.kind
                        ),
                    ));
                }
                Ok(inner)
            }
            TokenKind::Word(word)
                if word.eq_ignore_ascii_case("all") || word.eq_ignore_ascii_case("true") =>
            {
                Ok(Rule::All)
            }
            TokenKind::Word(word) => match Field::from_word(word) {
                Some(field) => self.condition(field, &token),
                None if is_keyword(word) => Err(ParseError::new(
                    token.column,
                    format!(
                        "expected a condition such as `age >= 65`, found {}",
                        token.kind
                    ),
                )),
                None => Err(ParseError::new(
                    token.column,
                    format!("unknown field `{word}`: expected {FIELD_LIST}"),
                )),
            },
            _ => Err(ParseError::new(
                token.column,
                format!(
                    "expected a condition such as `age >= 65`, found {}",
                    token.kind
                ),
            )),
        }
    }

    fn condition(&mut self, field: Field, field_token: &Token) -> Result<Rule, ParseError> {
        let name = field.name();
        let operator = self.advance();
        let condition = match (&operator.kind, field) {
            (TokenKind::Compare(comparison), Field::Age) => {
                Condition::Age(NumberTest::Compare(*comparison, self.age(&operator)?))
            }
            (TokenKind::Compare(comparison), Field::BirthMonth) => {
                Condition::BirthMonth(NumberTest::Compare(*comparison, self.month(&operator)?))
            }
            (TokenKind::Compare(comparison), Field::District | Field::Language) => {
                let text = self.text_value(field, &operator)?;
                let test = match comparison {
                    Comparison::Equal => TextTest::Equals(text),
                    Comparison::NotEqual => TextTest::NotEquals(text),
                    _ => {
                        return Err(ParseError::new(
                            operator.column,
                            format!("{name} can only be compared with =, != or in"),
                        ));
                    }
                };
                text_condition(field, test)
            }
            (TokenKind::Compare(_), Field::Interests | Field::Channels) => {
                return Err(ParseError::new(
                    operator.column,
                    format!("{name} is a list: test it with `{name} has \"…\"`"),
                ));
            }
            (TokenKind::Word(word), _) if word.eq_ignore_ascii_case("in") => {
                self.list_condition(field, &operator)?
            }
            (TokenKind::Word(word), Field::Interests | Field::Channels)
                if word.eq_ignore_ascii_case("has") =>
            {
                let text = self.text_value(field, &operator)?;
                if field == Field::Interests {
                    Condition::InterestsHas(text)
                } else {
                    Condition::ChannelsHas(text)
                }
            }
            (TokenKind::Word(word), _) if word.eq_ignore_ascii_case("has") => {
                return Err(ParseError::new(
                    operator.column,
                    format!(
                        "`has` works on interests and channels only; compare {name} with =, != or in"
                    ),
                ));
            }
            (TokenKind::Word(word), _) if word.eq_ignore_ascii_case("not") => {
                return Err(ParseError::new(
                    operator.column,
                    format!("put `not` before the condition, as in `not {name} in […]`"),
                ));
            }
            _ => {
                let expected = match field {
                    Field::Interests | Field::Channels => "`has`",
                    Field::District | Field::Language => "=, != or in",
                    Field::Age | Field::BirthMonth => "=, !=, <, <=, >, >= or in",
                };
                return Err(ParseError::new(
                    operator.column,
                    format!(
                        "expected {expected} after `{}`, found {}",
                        word_of(field_token),
                        operator.kind
                    ),
                ));
            }
        };
        Ok(Rule::Condition(condition))
    }

    fn list_condition(&mut self, field: Field, in_token: &Token) -> Result<Condition, ParseError> {
        let name = field.name();
        if matches!(field, Field::Interests | Field::Channels) {
            return Err(ParseError::new(
                in_token.column,
                format!("{name} is a list: test it with `{name} has \"…\"`"),
            ));
        }
        let open = self.advance();
        if open.kind != TokenKind::LeftBracket {
            return Err(ParseError::new(
                open.column,
                format!("expected `[` after in, found {}", open.kind),
            ));
        }
        let mut numbers = Vec::new();
        let mut texts = Vec::new();
        let mut after = open.clone();
        loop {
            if self.peek().kind == TokenKind::RightBracket {
                let close = self.advance();
                if numbers.is_empty() && texts.is_empty() {
                    return Err(ParseError::new(
                        close.column,
                        "the list is empty: give at least one value",
                    ));
                }
                break;
            }
            match field {
                Field::Age => numbers.push(self.age(&after)?),
                Field::BirthMonth => numbers.push(self.month(&after)?),
                _ => texts.push(self.text_value(field, &after)?),
            }
            let separator = self.advance();
            match separator.kind {
                TokenKind::Comma => after = separator,
                TokenKind::RightBracket => break,
                _ => {
                    return Err(ParseError::new(
                        separator.column,
                        format!(
                            "expected `,` or `]` in the list opened at column {}, found {}",
                            open.column, separator.kind
                        ),
                    ));
                }
            }
        }
        Ok(match field {
            Field::Age => Condition::Age(NumberTest::In(numbers)),
            Field::BirthMonth => Condition::BirthMonth(NumberTest::In(numbers)),
            _ => text_condition(field, TextTest::In(texts)),
        })
    }

    fn number(&mut self, after: &Token) -> Result<(u64, Token), ParseError> {
        let token = self.advance();
        match token.kind {
            TokenKind::Number(number) => Ok((number, token)),
            ref other => Err(expected_after(&token, "a number", after, other)),
        }
    }

    fn age(&mut self, after: &Token) -> Result<u32, ParseError> {
        let (number, token) = self.number(after)?;
        match u32::try_from(number) {
            Ok(age) if age <= MAX_AGE => Ok(age),
            _ => Err(ParseError::new(
                token.column,
                format!("an age is a number from 0 to {MAX_AGE}"),
            )),
        }
    }

    fn month(&mut self, after: &Token) -> Result<u32, ParseError> {
        let (number, token) = self.number(after)?;
        match u32::try_from(number) {
            Ok(month @ 1..=12) => Ok(month),
            _ => Err(ParseError::new(
                token.column,
                "a birth month is a number from 1 to 12",
            )),
        }
    }

    /// Quoted text, trimmed and checked: languages and channels must be known names.
    fn text_value(&mut self, field: Field, after: &Token) -> Result<String, ParseError> {
        let token = self.advance();
        let text = match &token.kind {
            TokenKind::Text(text) => text.trim().to_string(),
            TokenKind::Word(word) if !is_keyword(word) => {
                return Err(ParseError::new(
                    token.column,
                    format!(
                        "expected text in double quotes after {}, found {}: write \"{word}\"",
                        word_of(after),
                        token.kind
                    ),
                ));
            }
            other => {
                return Err(expected_after(
                    &token,
                    "text in double quotes",
                    after,
                    other,
                ));
            }
        };
        if text.is_empty() {
            return Err(ParseError::new(token.column, "the text is empty"));
        }
        let city_list = match field {
            Field::District => self.options.districts,
            Field::Interests => self.options.interests,
            _ => None,
        };
        if let Some(allowed) = city_list {
            if allowed.contains(&text) {
                return Ok(text);
            }
            return Err(ParseError::new(
                token.column,
                format!(
                    "unknown {} \"{text}\": expected one of {}",
                    field.singular(),
                    allowed.join(", ")
                ),
            ));
        }
        let known: &[&str] = match field {
            Field::Language => KNOWN_LANGUAGES,
            Field::Channels => KNOWN_CHANNELS,
            _ => return Ok(text),
        };
        let mut lowered = text.to_lowercase();
        if field == Field::Language && lowered == DEPRECATED_EASY_JAPANESE {
            lowered = "ja-easy".to_owned();
        }
        if known.contains(&lowered.as_str()) {
            Ok(lowered)
        } else {
            Err(ParseError::new(
                token.column,
                format!(
                    "unknown {} \"{text}\": expected one of {}",
                    field.singular(),
                    known.join(", ")
                ),
            ))
        }
    }
}

fn text_condition(field: Field, test: TextTest) -> Condition {
    if field == Field::Language {
        Condition::Language(test)
    } else {
        Condition::District(test)
    }
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "not", "in", "has", "all", "true"]
        .iter()
        .any(|keyword| word.eq_ignore_ascii_case(keyword))
}

/// The text of a token as the user wrote it, for "after …" in messages.
fn word_of(token: &Token) -> String {
    match &token.kind {
        TokenKind::Word(word) => word.clone(),
        TokenKind::Compare(comparison) => comparison.symbol().to_string(),
        other => other.to_string(),
    }
}

/// "expected a number after >=" at the end of the rule, with ", found …" otherwise.
fn expected_after(token: &Token, what: &str, after: &Token, found: &TokenKind) -> ParseError {
    let mut message = format!("expected {what} after {}", word_of(after));
    if *found != TokenKind::End {
        message.push_str(&format!(", found {found}"));
    }
    ParseError::new(token.column, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Rule, ParseError> {
        super::parse(text, &ParseOptions::default())
    }

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(rule) => panic!("{text:?} parsed as {rule:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn district_in(names: &[&str]) -> Rule {
        Rule::Condition(Condition::District(TextTest::In(
            names.iter().map(|n| n.to_string()).collect(),
        )))
    }

    #[test]
    fn easy_japanese_has_one_code_and_reads_the_old_one() {
        let rule = parse(r#"language = "ja-easy""#).expect("parses");
        assert_eq!(
            parse(r#"language = "easy-ja""#).expect("old spelling"),
            rule
        );
        assert_eq!(parse(r#"language = "EASY-JA""#).expect("any case"), rule);
        assert!(rule.to_string().contains("ja-easy"), "{rule}");
    }

    #[test]
    fn parses_the_example_from_the_contract() {
        let rule = parse(r#"age >= 65 and district in ["今元", "仲津"] and interests has "介護""#)
            .expect("parses");
        assert_eq!(
            rule,
            Rule::And(vec![
                Rule::Condition(Condition::Age(NumberTest::Compare(
                    Comparison::GreaterOrEqual,
                    65
                ))),
                district_in(&["今元", "仲津"]),
                Rule::Condition(Condition::InterestsHas("介護".into())),
            ])
        );
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        let rule =
            parse(r#"not age < 18 and language = "en" or channels has "line""#).expect("parses");
        let Rule::Or(parts) = rule else {
            panic!("expected or at the top")
        };
        assert_eq!(parts.len(), 2);
        let Rule::And(and_parts) = &parts[0] else {
            panic!("expected and on the left")
        };
        assert!(matches!(and_parts[0], Rule::Not(_)));
    }

    #[test]
    fn keywords_are_case_insensitive_and_japanese_aliases_work() {
        let english = parse(r#"AGE >= 65 AND District IN ["今元"] Or NOT interests HAS "防災""#);
        let japanese = parse(r#"年齢 >= 65 and 地区 in ["今元"] or not 関心 has "防災""#);
        assert_eq!(english.expect("english"), japanese.expect("japanese"));
    }

    #[test]
    fn empty_all_and_true_mean_everyone() {
        for text in ["", "   ", "\u{3000}", "all", "ALL", "true", "(all)"] {
            assert_eq!(parse(text), Ok(Rule::All), "{text:?}");
        }
    }

    #[test]
    fn corner_brackets_and_full_width_operators_are_accepted() {
        let rule = parse("ａｇｅ　＞＝　６５ and 地区 in ［「今元」、「仲津」］").expect("parses");
        assert_eq!(
            rule,
            Rule::And(vec![
                Rule::Condition(Condition::Age(NumberTest::Compare(
                    Comparison::GreaterOrEqual,
                    65
                ))),
                district_in(&["今元", "仲津"]),
            ])
        );
    }

    #[test]
    fn every_kind_of_quote_reads_the_same() {
        for text in [
            r#"district = "今元""#,
            "district = 「今元」",
            "district = 『今元』",
            "district = “今元”",
            "district = ＂今元＂",
        ] {
            assert_eq!(
                parse(text),
                Ok(Rule::Condition(Condition::District(TextTest::Equals(
                    "今元".into()
                )))),
                "{text}"
            );
        }
    }

    #[test]
    fn escapes_inside_double_quotes() {
        let rule = parse(r#"interests has "a\"b\\c""#).expect("parses");
        assert_eq!(
            rule,
            Rule::Condition(Condition::InterestsHas("a\"b\\c".into()))
        );
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        assert_eq!(error("age >= "), "column 8: expected a number after >=");
        assert_eq!(
            error("age >= \"x\""),
            "column 8: expected a number after >=, found the text \"x\""
        );
        assert_eq!(
            error("district = 今元"),
            "column 12: expected text in double quotes after =, found `今元`: write \"今元\""
        );
        // Columns count characters, not UTF-8 bytes.
        assert_eq!(
            error("interests has \"介護\" and"),
            "column 23: expected a condition such as `age >= 65`, found the end of the rule"
        );
        assert_eq!(
            error("agee > 3"),
            "column 1: unknown field `agee`: expected age, birth_month, district, language, interests or channels"
        );
        assert_eq!(
            error("(age > 3"),
            "column 9: expected `)` to close the `(` at column 1, found the end of the rule"
        );
        assert_eq!(error("age > 3)"), "column 8: this `)` has no matching `(`");
        assert_eq!(
            error("age > 3 district = \"泉\""),
            "column 9: expected `and`, `or` or the end of the rule, found `district`"
        );
        assert_eq!(
            error("district = \"泉"),
            "column 12: this text has no closing \""
        );
    }

    #[test]
    fn type_errors_are_found_at_parse_time() {
        assert_eq!(
            error("district > \"泉\""),
            "column 10: district can only be compared with =, != or in"
        );
        assert_eq!(
            error("age has \"x\""),
            "column 5: `has` works on interests and channels only; compare age with =, != or in"
        );
        assert_eq!(
            error("interests = \"防災\""),
            "column 11: interests is a list: test it with `interests has \"…\"`"
        );
        assert_eq!(
            error("interests in [\"防災\"]"),
            "column 11: interests is a list: test it with `interests has \"…\"`"
        );
        assert_eq!(
            error("birth_month = 13"),
            "column 15: a birth month is a number from 1 to 12"
        );
        assert_eq!(
            error("language = \"jp\""),
            "column 12: unknown language \"jp\": expected one of ja, en, zh, ko, vi, ja-easy"
        );
        assert_eq!(
            error("channels has \"fax\""),
            "column 14: unknown channel \"fax\": expected one of line, email, push, webchat"
        );
        assert_eq!(
            error("age in []"),
            "column 9: the list is empty: give at least one value"
        );
        assert_eq!(
            error("age in [1, \"2\"]"),
            "column 12: expected a number after `,`, found the text \"2\""
        );
        assert_eq!(
            error("district not in [\"泉\"]"),
            "column 10: put `not` before the condition, as in `not district in […]`"
        );
        assert_eq!(
            error("age > 99999999999"),
            "column 7: this number is too large"
        );
    }

    #[test]
    fn city_lists_refuse_unknown_districts_and_interests() {
        let districts = ["今元".to_string(), "仲津".to_string()];
        let interests = ["防災".to_string()];
        let options = ParseOptions {
            districts: Some(&districts),
            interests: Some(&interests),
        };
        let parse_with = |text| super::parse(text, &options).map_err(|e| e.to_string());
        assert!(parse_with(r#"district in ["今元", "仲津"] and interests has "防災""#).is_ok());
        assert_eq!(
            parse_with(r#"district in ["今元", "今本"]"#),
            Err("column 20: unknown district \"今本\": expected one of 今元, 仲津".to_string())
        );
        assert_eq!(
            parse_with(r#"interests has "ぼうさい""#),
            Err("column 15: unknown interest \"ぼうさい\": expected one of 防災".to_string())
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "(".repeat(10_000) + "all" + &")".repeat(10_000);
        assert!(error(&deep).contains("nests more than"));
        let nots = "not ".repeat(10_000) + "all";
        assert!(error(&nots).contains("nests more than"));
        let fine = "(".repeat(MAX_NESTING) + "all" + &")".repeat(MAX_NESTING);
        assert_eq!(parse(&fine), Ok(Rule::All));
    }

    #[test]
    fn display_parses_back_to_the_same_rule() {
        for text in [
            r#"age >= 65 and district in ["今元", "仲津"] and interests has "介護""#,
            r#"not (age < 18 or language != "ja") and birth_month in [4, 5]"#,
            r#"(district = "泉" or district = "蓑島") and not channels has "email""#,
            r#"not not all"#,
        ] {
            let rule = parse(text).expect("parses");
            assert_eq!(parse(&rule.to_string()), Ok(rule), "{text}");
        }
    }
}
