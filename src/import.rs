//! CSV import of residents from the city's systems: UTF-8 or Shift_JIS (CP932), English or Japanese headers in
//! any order, `|` between interests. The whole file is checked before anything is written, and then written in
//! one transaction: a bad row stops the import with its line and column, and nothing of the file is applied.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::residents::{ChannelKind, Resident, ResidentInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Utf8,
    ShiftJis,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().replace('-', "_").as_str() {
            "utf8" | "utf_8" => Ok(Encoding::Utf8),
            "shift_jis" | "sjis" | "cp932" | "windows_31j" => Ok(Encoding::ShiftJis),
            _ => Err(format!("unknown encoding `{text}` (utf-8 or shift_jis)")),
        }
    }
}

/// Where and why an import stopped. `line` is the 1-based line of the file (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct ImportError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl ImportError {
    fn at(line: u64, column: Option<&str>, message: impl Into<String>) -> Self {
        ImportError {
            line,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// The columns we read, with their English and Japanese header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    ExternalId,
    BirthDate,
    District,
    Language,
    Interests,
    LineUserId,
    Email,
    Preferred,
}

impl Column {
    fn from_header(header: &str) -> Option<Column> {
        let header = crate::text::normalize_label(header).to_lowercase();
        Some(match header.as_str() {
            "external_id" | "住民id" | "住民番号" => Column::ExternalId,
            "birth_date" | "生年月日" => Column::BirthDate,
            "district" | "地区" | "校区" => Column::District,
            "language" | "言語" => Column::Language,
            "interests" | "関心" | "関心事" => Column::Interests,
            "line_user_id" | "lineユーザーid" | "line id" => Column::LineUserId,
            "email" | "メールアドレス" | "メール" => Column::Email,
            "preferred" | "希望チャネル" | "優先チャネル" => Column::Preferred,
            _ => return None,
        })
    }

    /// The API field a column feeds, so the same validation names the column.
    fn field(self) -> &'static str {
        match self {
            Column::ExternalId => "external_id",
            Column::BirthDate => "birth_date",
            Column::District => "district",
            Column::Language => "language",
            Column::Interests => "interests",
            Column::LineUserId => "channels.line",
            Column::Email => "channels.email",
            Column::Preferred => "preferred",
        }
    }
}

/// The checked content of a file, ready for [`crate::residents::upsert_many`].
#[derive(Debug)]
pub struct ParsedImport {
    pub residents: Vec<Resident>,
    /// The channels the file has columns for: their addresses are replaced, others kept.
    pub channels: Vec<ChannelKind>,
}

/// Decodes the whole file, reporting the first line that is not valid in `encoding`.
fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Line feeds cannot occur inside a multibyte character in UTF-8 or Shift_JIS (trail bytes are ≥ 0x40),
    // so splitting on them finds the line of a bad byte sequence exactly.
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 2);
    for (index, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let decoded = match encoding {
            Encoding::Utf8 => std::str::from_utf8(line)
                .ok()
                .map(std::borrow::Cow::Borrowed),
            Encoding::ShiftJis => {
                encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(line)
            }
        };
        match decoded {
            Some(decoded) => text.push_str(&decoded),
            None => {
                let column = bad_field(line, encoding);
                let name = match encoding {
                    Encoding::Utf8 => "UTF-8",
                    Encoding::ShiftJis => "Shift_JIS",
                };
                return Err(ImportError::at(
                    index as u64 + 1,
                    column.as_deref(),
                    format!("bytes that are not valid {name} (is the file in another encoding?)"),
                ));
            }
        }
    }
    Ok(text)
}

/// Which comma-separated field of an undecodable line holds the bad bytes (1-based), for the error.
fn bad_field(line: &[u8], encoding: Encoding) -> Option<String> {
    line.split(|b| *b == b',')
        .position(|field| match encoding {
            Encoding::Utf8 => std::str::from_utf8(field).is_err(),
            Encoding::ShiftJis => encoding_rs::SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(field)
                .is_none(),
        })
        .map(|index| format!("{}", index + 1))
}

/// Parses and checks a whole file. `progress` is called with the number of rows checked so far.
pub fn parse(
    bytes: &[u8],
    encoding: Encoding,
    districts: &[String],
    today: NaiveDate,
    mut progress: impl FnMut(u64),
) -> Result<ParsedImport, ImportError> {
    let text = decode(bytes, encoding)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| ImportError::at(1, None, error.to_string()))?
        .clone();
    let mut columns: Vec<Option<Column>> = Vec::with_capacity(headers.len());
    let mut seen: HashMap<Column, usize> = HashMap::new();
    for (index, header) in headers.iter().enumerate() {
        let column = Column::from_header(header);
        if let Some(column) = column
            && let Some(first) = seen.insert(column, index)
        {
            return Err(ImportError::at(
                1,
                Some(header),
                format!(
                    "the column `{header}` appears twice (columns {} and {})",
                    first + 1,
                    index + 1
                ),
            ));
        }
        columns.push(column);
    }
    if !seen.contains_key(&Column::ExternalId) {
        return Err(ImportError::at(
            1,
            None,
            "no external_id (住民ID) column in the header",
        ));
    }
    let header_name = |column: Column| -> String {
        seen.get(&column)
            .map(|index| headers[*index].to_owned())
            .unwrap_or_else(|| column.field().to_owned())
    };

    let mut residents = Vec::new();
    let mut lines_by_id: HashMap<String, u64> = HashMap::new();
    // Line numbers from byte offsets: the csv reader's own line count differs with CRLF files.
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(index, _)| index + 1))
        .collect();
    let bytes_of_text = text.as_bytes();
    let line_of = |byte: u64| -> u64 {
        // A record's position may point at the line break before it (CRLF files): skip to its first byte.
        let mut byte = byte as usize;
        while matches!(bytes_of_text.get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        line_starts.partition_point(|start| *start <= byte) as u64
    };
    let mut record = csv::StringRecord::new();
    loop {
        let read = reader.read_record(&mut record).map_err(|error| {
            let line = error.position().map(|p| line_of(p.byte())).unwrap_or(0);
            ImportError::at(line, None, error.to_string())
        })?;
        if !read {
            break;
        }
        let line = record.position().map(|p| line_of(p.byte())).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut input = ResidentInput::default();
        for (value, column) in record.iter().zip(&columns) {
            let Some(column) = column else { continue };
            let value = (!value.is_empty()).then(|| value.to_owned());
            match column {
                Column::ExternalId => input.external_id = value.unwrap_or_default(),
                Column::BirthDate => input.birth_date = value,
                Column::District => input.district = value,
                Column::Language => input.language = value,
                Column::Interests => {
                    input.interests = split_multi(value.as_deref());
                }
                Column::LineUserId => input.channels.line = value,
                Column::Email => input.channels.email = value,
                Column::Preferred => input.preferred = split_multi(value.as_deref()),
            }
        }
        let resident = input.validate(districts, today).map_err(|error| {
            let column = columns
                .iter()
                .flatten()
                .find(|c| error.field.starts_with(c.field()))
                .map(|c| header_name(*c));
            ImportError::at(line, column.as_deref(), error.message)
        })?;
        if let Some(first) = lines_by_id.insert(resident.external_id.as_str().to_owned(), line) {
            return Err(ImportError::at(
                line,
                Some(&header_name(Column::ExternalId)),
                format!(
                    "the resident {} already appears on line {first}",
                    resident.external_id.as_str()
                ),
            ));
        }
        residents.push(resident);
        if residents.len() % 1000 == 0 {
            progress(residents.len() as u64);
        }
    }
    check_unique_addresses(&residents, &lines_by_id, &header_name)?;
    progress(residents.len() as u64);

    let mut channels = Vec::new();
    if seen.contains_key(&Column::LineUserId) {
        channels.push(ChannelKind::Line);
    }
    if seen.contains_key(&Column::Email) {
        channels.push(ChannelKind::Email);
    }
    Ok(ParsedImport {
        residents,
        channels,
    })
}

fn split_multi(value: Option<&str>) -> Vec<String> {
    value
        .map(|text| {
            text.split(['|', '｜'])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Two rows of one file may not share a LINE id or email address: each address reaches one resident.
fn check_unique_addresses(
    residents: &[Resident],
    lines_by_id: &HashMap<String, u64>,
    header_name: &dyn Fn(Column) -> String,
) -> Result<(), ImportError> {
    let mut owners: HashMap<(ChannelKind, &str), &str> = HashMap::new();
    for resident in residents {
        let addresses = [
            (
                ChannelKind::Line,
                Column::LineUserId,
                resident.line.as_ref().map(|l| l.as_str()),
            ),
            (
                ChannelKind::Email,
                Column::Email,
                resident.email.as_ref().map(|e| e.as_str()),
            ),
        ];
        for (kind, column, address) in addresses {
            let Some(address) = address else { continue };
            if let Some(other) = owners.insert((kind, address), resident.external_id.as_str()) {
                let line = lines_by_id[resident.external_id.as_str()];
                return Err(ImportError::at(
                    line,
                    Some(&header_name(column)),
                    format!(
                        "{address} is already given to resident {other} on line {}",
                        lines_by_id[other]
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn districts() -> Vec<String> {
        crate::config::DEFAULT_DISTRICTS
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    const JAPANESE: &str = "住民ID,生年月日,地区,言語,関心,LINEユーザーID,メールアドレス\n\
        A1,1950-01-02,今元,ja,介護|防災,Uaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,a@example.jp\n\
        A2,1990-12-31,仲津,en,子育て,,\n";

    #[test]
    fn shift_jis_with_japanese_headers() {
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(JAPANESE);
        assert!(!unmappable);
        let parsed = parse(&bytes, Encoding::ShiftJis, &districts(), today(), |_| {}).unwrap();
        assert_eq!(parsed.residents.len(), 2);
        assert_eq!(parsed.residents[0].interests, vec!["介護", "防災"]);
        assert_eq!(parsed.residents[1].language, "en");
        assert_eq!(parsed.channels, vec![ChannelKind::Line, ChannelKind::Email]);
    }

    #[test]
    fn bad_row_names_line_and_column() {
        let text = JAPANESE.replace("1990-12-31", "1990-02-30");
        let error = parse(
            text.as_bytes(),
            Encoding::Utf8,
            &districts(),
            today(),
            |_| {},
        )
        .unwrap_err();
        assert_eq!(error.line, 3);
        assert_eq!(error.column.as_deref(), Some("生年月日"));
    }

    #[test]
    fn undecodable_bytes_name_the_line() {
        let (mut bytes, _, _) = encoding_rs::SHIFT_JIS.encode(JAPANESE);
        let mut owned = bytes.to_mut().clone();
        // A lone lead byte at the end of line 3's district field.
        let position = owned.len() - 3;
        owned.insert(position, 0x81);
        bytes = owned.into();
        let error = parse(&bytes, Encoding::ShiftJis, &districts(), today(), |_| {}).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
    }

    #[test]
    fn utf8_file_read_as_shift_jis_fails_cleanly() {
        let error = parse(
            JAPANESE.as_bytes(),
            Encoding::ShiftJis,
            &districts(),
            today(),
            |_| {},
        );
        assert!(error.is_err());
    }

    #[test]
    fn duplicate_resident_and_address_are_refused() {
        let text = format!("{JAPANESE}A1,1960-01-01,泉,ja,,,\n");
        let error = parse(
            text.as_bytes(),
            Encoding::Utf8,
            &districts(),
            today(),
            |_| {},
        )
        .unwrap_err();
        assert_eq!(error.line, 4);
        let text = format!("{JAPANESE}A3,1960-01-01,泉,ja,,,a@example.jp\n");
        let error = parse(
            text.as_bytes(),
            Encoding::Utf8,
            &districts(),
            today(),
            |_| {},
        )
        .unwrap_err();
        assert_eq!(error.line, 4);
        assert_eq!(error.column.as_deref(), Some("メールアドレス"));
    }
}
