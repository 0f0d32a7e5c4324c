//! A small OpenAPI 3.0 validator: loads LINE's spec (YAML) and checks requests and JSON bodies against it.
//!
//! Supported schema keywords: `$ref`, `type`, `properties`, `required`, `allOf`, `oneOf`, `discriminator`
//! (with `mapping`), `enum`, `items`, `minItems`, `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`,
//! `additionalProperties` (schema form), `format` (`uuid`, `uri`, `int32`, `int64`, `double`, `date-time`),
//! `pattern` (the `^[class]{m,n}$` form the LINE spec uses). A keyword outside this list makes validation fail,
//! so a gap in the validator cannot pass silently.
//!
//! Strictness beyond the spec: an object property that no schema in play declares is reported (the spec does
//! not forbid extra properties, but LINE ignores or rejects them, and it catches misspelt field names).

use std::collections::BTreeSet;

use serde_json::Value;

/// A loaded OpenAPI document.
#[derive(Debug)]
pub struct OpenApi {
    doc: Value,
}

/// An operation found for a method and path.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    pub path_template: &'a str,
    pub op: &'a Value,
    pub path_item: &'a Value,
}

impl OpenApi {
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("spec YAML: {e}"))?;
        if doc.get("paths").is_none() {
            return Err("spec has no `paths`".into());
        }
        Ok(OpenApi { doc })
    }

    /// LINE's Messaging API spec, embedded from `spec/line-openapi/messaging-api.yml`.
    pub fn line_messaging_api() -> &'static OpenApi {
        static SPEC: std::sync::OnceLock<OpenApi> = std::sync::OnceLock::new();
        SPEC.get_or_init(|| {
            OpenApi::from_yaml(include_str!("../../spec/line-openapi/messaging-api.yml"))
                .expect("the embedded LINE spec parses")
        })
    }

    /// LINE's webhook spec, embedded from `spec/line-openapi/webhook.yml`.
    pub fn line_webhook() -> &'static OpenApi {
        static SPEC: std::sync::OnceLock<OpenApi> = std::sync::OnceLock::new();
        SPEC.get_or_init(|| {
            OpenApi::from_yaml(include_str!("../../spec/line-openapi/webhook.yml"))
                .expect("the embedded LINE webhook spec parses")
        })
    }

    /// Finds the operation for `method` (lower case) and a concrete `path`.
    pub fn operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let paths = self.doc.get("paths")?.as_object()?;
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        // Literal paths win over templated ones (e.g. `/quota/consumption` vs `/{messageId}/content`).
        let mut best: Option<(usize, &String, &Value)> = None;
        for (tpl, item) in paths {
            let tsegs: Vec<&str> = tpl.split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            if ok && item.get(method).is_some() && best.is_none_or(|(l, _, _)| literal > l) {
                best = Some((literal, tpl, item));
            }
        }
        best.map(|(_, tpl, item)| Operation {
            path_template: tpl,
            op: &item[method],
            path_item: item,
        })
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> Result<&'a Value, String> {
        let mut cur = v;
        for _ in 0..16 {
            match cur.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let ptr = r
                        .strip_prefix('#')
                        .ok_or_else(|| format!("unsupported external $ref {r}"))?;
                    cur = self
                        .doc
                        .pointer(ptr)
                        .ok_or_else(|| format!("dangling $ref {r}"))?;
                }
                None => return Ok(cur),
            }
        }
        Err("$ref chain too deep".into())
    }

    /// The parameters of an operation (path-item and operation level), resolved.
    pub fn parameters<'a>(&'a self, op: &Operation<'a>) -> Vec<&'a Value> {
        let mut out = Vec::new();
        for src in [op.path_item.get("parameters"), op.op.get("parameters")]
            .into_iter()
            .flatten()
        {
            if let Some(arr) = src.as_array() {
                for p in arr {
                    if let Ok(p) = self.resolve(p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    /// The JSON schema of an operation's request body and whether it is required.
    pub fn request_schema<'a>(&'a self, op: &Operation<'a>) -> Option<(&'a Value, bool)> {
        let rb = self.resolve(op.op.get("requestBody")?).ok()?;
        let schema = rb.get("content")?.get("application/json")?.get("schema")?;
        let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
        Some((schema, required))
    }

    /// The schema named `name` under `components/schemas`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.doc.get("components")?.get("schemas")?.get(name)
    }

    /// Validates `value` against `schema`; returns every violation as `path: problem`.
    pub fn validate(&self, value: &Value, schema: &Value) -> Vec<String> {
        let mut errs = Vec::new();
        self.check(value, schema, "$", true, &mut errs);
        errs
    }

    /// Validates a string parameter value against a parameter's schema.
    pub fn validate_param(&self, value: &str, param: &Value) -> Vec<String> {
        let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
        let Some(schema) = param.get("schema") else {
            return Vec::new();
        };
        let Ok(schema) = self.resolve(schema) else {
            return vec![format!("{name}: unresolvable schema")];
        };
        let v = match schema.get("type").and_then(Value::as_str) {
            Some("integer") => match value.parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => return vec![format!("{name}: {value:?} is not an integer")],
            },
            _ => Value::from(value),
        };
        let mut errs = Vec::new();
        self.check(&v, schema, name, true, &mut errs);
        errs
    }

    /// `full`: this schema is the whole type of the value (dispatch a discriminator, report undeclared
    /// properties); otherwise it is one part of an `allOf`.
    fn check(&self, v: &Value, schema: &Value, at: &str, full: bool, errs: &mut Vec<String>) {
        let schema = match self.resolve(schema) {
            Ok(s) => s,
            Err(e) => return errs.push(format!("{at}: {e}")),
        };
        if let Some(map) = schema.as_object() {
            for k in map.keys() {
                if !KNOWN_KEYWORDS.contains(&k.as_str()) {
                    errs.push(format!(
                        "{at}: validator does not support schema keyword `{k}`"
                    ));
                }
            }
        }
        if full && let Some(d) = schema.get("discriminator") {
            let prop = d
                .get("propertyName")
                .and_then(Value::as_str)
                .unwrap_or("type");
            let Some(tag) = v.get(prop).and_then(Value::as_str) else {
                return errs.push(format!("{at}: missing discriminator `{prop}`"));
            };
            match d
                .get("mapping")
                .and_then(|m| m.get(tag))
                .and_then(Value::as_str)
            {
                Some(target) => {
                    let target = serde_json::json!({ "$ref": target });
                    return self.check(v, &target, at, true, errs);
                }
                None => return errs.push(format!("{at}.{prop}: unknown value {tag:?}")),
            }
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                _ => false,
            };
            if !ok {
                return errs.push(format!("{at}: expected {t}, got {}", kind(v)));
            }
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errs.push(format!(
                "{at}: {v} is not one of {}",
                Value::from(e.clone())
            ));
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for p in parts {
                self.check(v, p, at, false, errs);
            }
        }
        if let Some(alts) = schema.get("oneOf").and_then(Value::as_array) {
            let matching = alts
                .iter()
                .filter(|a| {
                    let mut e = Vec::new();
                    self.check(v, a, at, true, &mut e);
                    e.is_empty()
                })
                .count();
            if matching != 1 {
                errs.push(format!(
                    "{at}: matches {matching} of the oneOf alternatives, not 1"
                ));
            }
        }
        match v {
            Value::Object(obj) => {
                if let Some(req) = schema.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !obj.contains_key(r) {
                            errs.push(format!("{at}: missing required property `{r}`"));
                        }
                    }
                }
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (k, pv) in obj {
                        if let Some(ps) = props.get(k) {
                            self.check(pv, ps, &format!("{at}.{k}"), true, errs);
                        }
                    }
                }
                if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                    for (k, pv) in obj {
                        self.check(pv, ap, &format!("{at}.{k}"), true, errs);
                    }
                }
                if full && schema.get("additionalProperties").is_none() {
                    let mut declared = BTreeSet::new();
                    self.declared(schema, &mut declared, 0);
                    if !declared.is_empty() {
                        for k in obj.keys() {
                            if !declared.contains(k.as_str()) {
                                errs.push(format!("{at}: property `{k}` is not in the schema"));
                            }
                        }
                    }
                }
            }
            Value::Array(items) => {
                let n = items.len() as u64;
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && n < min
                {
                    errs.push(format!("{at}: {n} items, fewer than minItems {min}"));
                }
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && n > max
                {
                    errs.push(format!("{at}: {n} items, more than maxItems {max}"));
                }
                if let Some(is) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, is, &format!("{at}[{i}]"), true, errs);
                    }
                }
            }
            Value::String(s) => {
                let n = s.chars().count() as u64;
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                    && n < min
                {
                    errs.push(format!("{at}: length {n} below minLength {min}"));
                }
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                    && n > max
                {
                    errs.push(format!("{at}: length {n} above maxLength {max}"));
                }
                if let Some(f) = schema.get("format").and_then(Value::as_str)
                    && let Err(e) = check_string_format(s, f)
                {
                    errs.push(format!("{at}: {e}"));
                }
                if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
                    match simple_pattern(p) {
                        Some(m) => {
                            if !m(s) {
                                errs.push(format!("{at}: {s:?} does not match {p}"));
                            }
                        }
                        None => errs.push(format!("{at}: validator does not support pattern {p}")),
                    }
                }
            }
            Value::Number(num) => {
                if let Some(f) = schema.get("format").and_then(Value::as_str) {
                    let ok = match f {
                        "int32" => num.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                        "int64" => num.is_i64() || num.is_u64(),
                        _ => true,
                    };
                    if !ok {
                        errs.push(format!("{at}: {num} is not a valid {f}"));
                    }
                }
                let x = num.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                    && x < min
                {
                    errs.push(format!("{at}: {num} below minimum {min}"));
                }
                if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                    && x > max
                {
                    errs.push(format!("{at}: {num} above maximum {max}"));
                }
            }
            _ => {}
        }
    }

    /// Property names declared by a schema and its `allOf` parts.
    fn declared<'a>(&'a self, schema: &'a Value, out: &mut BTreeSet<&'a str>, depth: usize) {
        if depth > 16 {
            return;
        }
        let Ok(s) = self.resolve(schema) else { return };
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().map(String::as_str));
        }
        for part in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.declared(part, out, depth + 1);
        }
    }
}

const KNOWN_KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "properties",
    "required",
    "allOf",
    "oneOf",
    "discriminator",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "additionalProperties",
    "format",
    "pattern",
    // annotations
    "description",
    "externalDocs",
    "example",
    "examples",
    "default",
    "title",
    "deprecated",
    "nullable",
    "readOnly",
    "writeOnly",
];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks the string formats the LINE spec uses.
pub fn check_string_format(s: &str, format: &str) -> Result<(), String> {
    match format {
        "uuid" => {
            if is_uuid(s) {
                Ok(())
            } else {
                Err(format!(
                    "{s:?} is not a UUID in hexadecimal 8-4-4-4-12 form"
                ))
            }
        }
        "uri" => url::Url::parse(s)
            .map(|_| ())
            .map_err(|e| format!("{s:?} is not a URI: {e}")),
        "date-time" => chrono::DateTime::parse_from_rfc3339(s)
            .map(|_| ())
            .map_err(|e| format!("{s:?} is not an RFC 3339 date-time: {e}")),
        _ => Ok(()),
    }
}

/// `8-4-4-4-12` hex digits, as the spec's example `123e4567-e89b-12d3-a456-426614174000`.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Compiles the `^literal[class]{m,n}$` patterns of the LINE specs (a literal prefix of letters and digits,
/// then one class of ranges and single characters repeated).
fn simple_pattern(p: &str) -> Option<impl Fn(&str) -> bool> {
    let body = p.strip_prefix('^')?.strip_suffix('$')?;
    let (prefix, body) = body.split_once('[')?;
    if !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let prefix = prefix.to_owned();
    let (class, rest) = body.split_once(']')?;
    let counts = rest.strip_prefix('{')?.strip_suffix('}')?;
    let (min, max) = match counts.split_once(',') {
        Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
        None => {
            let n = counts.parse::<usize>().ok()?;
            (n, n)
        }
    };
    let chars: Vec<char> = class.chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '-' {
            ranges.push((chars[i], chars[i + 2]));
            i += 3;
        } else {
            ranges.push((chars[i], chars[i]));
            i += 1;
        }
    }
    Some(move |s: &str| {
        let Some(s) = s.strip_prefix(prefix.as_str()) else {
            return false;
        };
        let n = s.chars().count();
        n >= min
            && n <= max
            && s.chars()
                .all(|c| ranges.iter().any(|&(a, b)| c >= a && c <= b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_line_push_bodies() {
        let api = OpenApi::line_messaging_api();
        let op = api.operation("post", "/v2/bot/message/push").unwrap();
        let (schema, required) = api.request_schema(&op).unwrap();
        assert!(required);
        let good = json!({"to": "U0123456789abcdef0123456789abcdef", "messages": [
            {"type": "text", "text": "こんにちは", "quickReply": {"items": [
                {"type": "action", "action": {"type": "message", "label": "はい", "text": "はい"}}]}},
            {"type": "flex", "altText": "alt", "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical",
                "contents": [{"type": "text", "text": "x"}]}}}
        ]});
        assert_eq!(api.validate(&good, schema), Vec::<String>::new());
        let bad = json!({"to": "U1", "messages": [{"type": "text", "txt": "x"}], "extra": 1});
        let errs = api.validate(&bad, schema);
        assert!(
            errs.iter()
                .any(|e| e.contains("missing required property `text`")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("`txt` is not in the schema")),
            "{errs:?}"
        );
        assert!(errs.iter().any(|e| e.contains("`extra`")), "{errs:?}");
        let empty = json!({"to": "U1", "messages": []});
        assert!(!api.validate(&empty, schema).is_empty());
        let unknown = json!({"to": "U1", "messages": [{"type": "telegram"}]});
        assert!(api.validate(&unknown, schema)[0].contains("unknown value"));
        let too_many = json!({"to": "U1", "messages": [{"type": "text", "text": "x", "quickReply": {"items":
            (0..14).map(|_| json!({"type": "action", "action": {"type": "message", "label": "a", "text": "a"}})).collect::<Vec<_>>()}}]});
        assert!(api.validate(&too_many, schema)[0].contains("maxItems 13"));
    }

    #[test]
    fn finds_operations_and_params() {
        let api = OpenApi::line_messaging_api();
        let q = api
            .operation("get", "/v2/bot/message/quota/consumption")
            .unwrap();
        assert_eq!(q.path_template, "/v2/bot/message/quota/consumption");
        assert!(api.operation("post", "/v2/bot/message/quota").is_none());
        assert!(api.operation("post", "/v2/bot/message/pushh").is_none());
        let push = api.operation("post", "/v2/bot/message/push").unwrap();
        let params = api.parameters(&push);
        let rk = params
            .iter()
            .find(|p| p["name"] == "X-Line-Retry-Key")
            .unwrap();
        assert!(
            api.validate_param("123e4567-e89b-12d3-a456-426614174000", rk)
                .is_empty()
        );
        assert!(!api.validate_param("not-a-uuid", rk).is_empty());
        let p = simple_pattern("^[a-zA-Z0-9_]{1,30}$").unwrap();
        assert!(p("unit_1") && !p("bad-unit") && !p(""));
        let u = simple_pattern("^U[0-9a-f]{32}$").unwrap();
        assert!(
            u("U0123456789abcdef0123456789abcdef")
                && !u("U0123")
                && !u("X0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn webhook_spec_accepts_our_sample_events() {
        let api = OpenApi::line_webhook();
        let schema = api.schema("CallbackRequest").unwrap();
        let body = json!({"destination": "U00000000000000000000000000000000", "events": [
            {"type": "message", "message": {"type": "text", "id": "1", "quoteToken": "q", "text": "ごみ"},
             "webhookEventId": "01H8", "deliveryContext": {"isRedelivery": false}, "timestamp": 1,
             "source": {"type": "user", "userId": "U4af4980629abcdef4af4980629abcdef"}, "replyToken": "r", "mode": "active"},
            {"type": "postback", "replyToken": "r4", "postback": {"data": "safety=ok"}, "mode": "active", "timestamp": 3,
             "source": {"type": "user", "userId": "U4af4980629abcdef4af4980629abcdef"}, "webhookEventId": "e4",
             "deliveryContext": {"isRedelivery": true}}
        ]});
        assert_eq!(api.validate(&body, schema), Vec::<String>::new());
    }
}
