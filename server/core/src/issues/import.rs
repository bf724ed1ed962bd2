//! Checking rows imported from other channels (an open-data portal export, a blog platform).
//!
//! An import is all or nothing: every row is checked, every problem of every row is reported,
//! and only a file without problems is imported. Rows are identified by `(channel,
//! external_id)`, so importing the same file twice changes nothing the second time.
//!
//! The adapter reads CSV or JSON into [`RawImportRow`]s (every field as text, as CSV has it)
//! and supplies what exists (categories, territories, meetings) as plain sets.

use crate::text;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_TEXT_CHARS: usize = 4000;
pub const MAX_EXTERNAL_ID_CHARS: usize = 100;
pub const MAX_CHANNEL_CHARS: usize = 40;
/// One issue cannot claim more supporters than a city has people.
pub const MAX_SUPPORTERS: u32 = 10_000_000;

/// One row as read from the file, every field optional text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImportRow {
    /// The channel the row comes from, e.g. `opendata` or `blog`; with `external_id`, the row's
    /// identity.
    #[serde(default, deserialize_with = "text_or_number")]
    pub channel: Option<String>,
    /// The row's id in that channel.
    #[serde(default, deserialize_with = "text_or_number")]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub text: Option<String>,
    /// A category code from the configured list.
    #[serde(default, deserialize_with = "text_or_number")]
    pub category: Option<String>,
    /// The KATO code of the territory concerned.
    #[serde(default, deserialize_with = "text_or_number")]
    pub territory_kato: Option<String>,
    /// The meeting the issue was raised for.
    #[serde(default, deserialize_with = "text_or_number")]
    pub meeting_id: Option<String>,
    /// How many people support it; 1 when empty.
    #[serde(default, deserialize_with = "text_or_number")]
    pub supporters: Option<String>,
    /// When the channel received it, RFC 3339 with offset.
    #[serde(default, deserialize_with = "text_or_number")]
    pub received_at: Option<String>,
}

/// A row that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub channel: String,
    pub external_id: String,
    pub title: String,
    pub text: String,
    pub category: Option<String>,
    pub territory_kato: Option<String>,
    pub meeting_id: Option<i64>,
    pub supporters: u32,
    pub received_at: Option<Timestamp>,
}

/// One problem with one field of one row. `row` counts data rows from 1 (a CSV header is not a
/// row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// What exists for rows to refer to.
#[derive(Debug, Clone, Default)]
pub struct ImportContext {
    pub categories: HashSet<String>,
    pub territory_katos: HashSet<String>,
    pub meetings: HashSet<i64>,
}

/// Checks every row; returns them cleaned, or every problem found.
pub fn check_rows(rows: &[RawImportRow], context: &ImportContext) -> Result<Vec<ImportRow>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut checked = Vec::with_capacity(rows.len());
    let mut first_row_of: HashMap<(String, String), usize> = HashMap::new();
    for (index, raw) in rows.iter().enumerate() {
        let row = index + 1;
        let mut fail = |field: &str, message: String| {
            errors.push(RowError { row, field: field.to_owned(), message });
        };
        let channel = required(raw.channel.as_deref(), MAX_CHANNEL_CHARS, false)
            .and_then(|channel| {
                let slug = channel
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
                if slug { Ok(channel) } else { Err("must be lower-case letters, digits, _ or -".to_owned()) }
            })
            .map_err(|message| fail("channel", message))
            .ok();
        let external_id = required(raw.external_id.as_deref(), MAX_EXTERNAL_ID_CHARS, false)
            .map_err(|message| fail("external_id", message))
            .ok();
        let title = required(raw.title.as_deref(), MAX_TITLE_CHARS, false)
            .map_err(|message| fail("title", message))
            .ok();
        let body = match present(raw.text.as_deref()) {
            None => Ok(String::new()),
            Some(body) => text::clean(body, MAX_TEXT_CHARS, true).map_err(|error| error.to_string()),
        }
        .map_err(|message| fail("text", message))
        .ok();
        let category = present(raw.category.as_deref()).map(str::to_owned);
        if let Some(code) = &category
            && !context.categories.contains(code)
        {
            fail("category", format!("{code:?} is not a configured category"));
        }
        let territory_kato = present(raw.territory_kato.as_deref()).map(str::to_owned);
        if let Some(kato) = &territory_kato
            && !context.territory_katos.contains(kato)
        {
            fail("territory_kato", format!("no territory has KATO code {kato:?}"));
        }
        let meeting_id = match present(raw.meeting_id.as_deref()) {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(id) if context.meetings.contains(&id) => Some(id),
                Ok(id) => {
                    fail("meeting_id", format!("no meeting has id {id}"));
                    None
                }
                Err(_) => {
                    fail("meeting_id", format!("{text:?} is not a meeting id"));
                    None
                }
            },
        };
        let supporters = match present(raw.supporters.as_deref()) {
            None => 1,
            Some(text) => match text.parse::<u32>() {
                Ok(count) if (1..=MAX_SUPPORTERS).contains(&count) => count,
                _ => {
                    fail(
                        "supporters",
                        format!("must be a whole number from 1 to {MAX_SUPPORTERS}, got {text:?}"),
                    );
                    1
                }
            },
        };
        let received_at = match present(raw.received_at.as_deref()) {
            None => None,
            Some(text) => match text.parse::<Timestamp>() {
                Ok(instant) => Some(instant),
                Err(_) => {
                    fail("received_at", format!("{text:?} is not an RFC 3339 time with an offset"));
                    None
                }
            },
        };
        if let (Some(channel), Some(external_id)) = (&channel, &external_id) {
            let key = (channel.clone(), external_id.clone());
            if let Some(first) = first_row_of.get(&key) {
                fail(
                    "external_id",
                    format!("repeats row {first}: each (channel, external_id) once per file"),
                );
            } else {
                first_row_of.insert(key, row);
            }
        }
        if let (Some(channel), Some(external_id), Some(title), Some(text)) =
            (channel, external_id, title, body)
        {
            checked.push(ImportRow {
                channel,
                external_id,
                title,
                text,
                category,
                territory_kato,
                meeting_id,
                supporters,
                received_at,
            });
        }
    }
    if errors.is_empty() { Ok(checked) } else { Err(errors) }
}

/// A field with something in it besides white space.
fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

fn required(value: Option<&str>, max_chars: usize, multiline: bool) -> Result<String, String> {
    let value = present(value).ok_or_else(|| "is required".to_owned())?;
    text::clean(value, max_chars, multiline).map_err(|error| error.to_string())
}

/// A field given as text, or (in JSON) as a number, which is read as its text.
fn text_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    struct Visitor;
    impl<'a> serde::de::Visitor<'a> for Visitor {
        type Value = Option<String>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("text, a number or null")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Option<String>, E> {
            Ok(Some(value.to_owned()))
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Option<String>, E> {
            Ok(Some(value.to_string()))
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Option<String>, E> {
            Ok(Some(value.to_string()))
        }

        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Option<String>, E> {
            Ok(Some(value.to_string()))
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Option<String>, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<String>, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'a>>(self, deserializer: D) -> Result<Option<String>, D::Error> {
            deserializer.deserialize_any(Visitor)
        }
    }
    deserializer.deserialize_option(Visitor)
}
