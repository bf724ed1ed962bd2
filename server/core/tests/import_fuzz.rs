//! The import checks (`issues::import::check_rows`, `territory::check_territory_rows`), fuzzed
//! with rows an adapter could hand them from any CSV or JSON file: every field missing, blank,
//! huge, of the wrong shape, or plausible, and files that repeat or chain their own rows.
//!
//! Each must never panic; a refusal is the typed list of `RowError`s, each naming a row of the
//! file and a field the row has, with a message; and an acceptance keeps every documented
//! promise (one cleaned row per raw row, values in their bounds, references to what exists,
//! parents before children). `KEZDESU_FUZZ_CASES` runs more cases than the default 256, as the
//! live channel's fuzz does (docs/api.md, "The bodies other programs send, fuzzed").

use kezdesu_core::issues::import::{
    ImportContext, MAX_CHANNEL_CHARS, MAX_EXTERNAL_ID_CHARS, MAX_SUPPORTERS, MAX_TEXT_CHARS, MAX_TITLE_CHARS,
    RawImportRow, check_rows,
};
use kezdesu_core::territory::{RawTerritoryRow, TerritoryKind, check_territory_rows};
use proptest::prelude::*;
use std::collections::HashSet;

/// Cases per property: `KEZDESU_FUZZ_CASES`, or 256.
fn cases() -> u32 {
    std::env::var("KEZDESU_FUZZ_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(256)
}

const IMPORT_FIELDS: [&str; 9] = [
    "channel",
    "external_id",
    "title",
    "text",
    "category",
    "territory_kato",
    "meeting_id",
    "supporters",
    "received_at",
];
const TERRITORY_FIELDS: [&str; 6] = ["kato", "kind", "name_kk", "name_ru", "name_en", "parent_kato"];

const CATEGORIES: [&str; 2] = ["roads", "water"];
const KATOS: [&str; 2] = ["351010000", "351030000"];
const MEETINGS: [i64; 2] = [1, 7];

/// A field as a file could give it: missing, blank, a plausible value, or anything at all.
fn field(plausible: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(String::new())),
        1 => Just(Some("   \t ".to_owned())),
        4 => proptest::sample::select(plausible).prop_map(|value| Some(value.to_owned())),
        2 => "\\PC{0,12}".prop_map(Some),
        1 => any::<String>().prop_map(Some),
        // Control and invisible formatting characters, which `text::clean` refuses.
        1 => "[a-z\u{0}\u{7}\u{200b}\u{202e}\u{feff}\r\n]{1,8}".prop_map(Some),
        // Past every length limit.
        1 => (0usize..3).prop_map(|which| Some("ы".repeat([MAX_CHANNEL_CHARS, MAX_TITLE_CHARS, MAX_TEXT_CHARS][which] + 1))),
    ]
}

fn raw_import_row() -> impl Strategy<Value = RawImportRow> {
    (
        (
            field(vec!["opendata", "blog", "e-otinish_2", "Blog", "open data"]),
            field(vec!["1", "2", "A-17", "1"]),
            field(vec!["Потёк кран", "Жол жөндеу", "Pothole"]),
            field(vec!["Адрес: ул. Абая, 1", "text"]),
            field(vec!["roads", "water", "parks"]),
        ),
        (
            field(vec!["351010000", "351030000", "999999999", "35101000"]),
            field(vec!["1", "7", "2", "-1", "1.0", "9223372036854775808"]),
            field(vec!["1", "10000000", "10000001", "0", "-3", "+5", "4294967296"]),
            field(vec![
                "2026-03-01T10:00:00+05:00",
                "2026-03-01T05:00:00Z",
                "2026-03-01",
                "2026-02-30T10:00:00Z",
            ]),
        ),
    )
        .prop_map(
            |(
                (channel, external_id, title, text, category),
                (territory_kato, meeting_id, supporters, received_at),
            )| {
                RawImportRow {
                    channel,
                    external_id,
                    title,
                    text,
                    category,
                    territory_kato,
                    meeting_id,
                    supporters,
                    received_at,
                }
            },
        )
}

/// A row every check passes: text of any letters, values within their bounds.
fn valid_import_row() -> impl Strategy<Value = RawImportRow> {
    (
        "[a-z0-9_-]{1,40}",
        "[A-Za-z0-9-]{1,20}",
        "[\\p{L} ,.!?0-9]{0,60}[\\p{L}]",
        proptest::option::of("[\\p{L} ,.0-9]{0,80}"),
        proptest::option::of(proptest::sample::select(CATEGORIES.to_vec())),
        proptest::option::of(proptest::sample::select(KATOS.to_vec())),
        proptest::option::of(proptest::sample::select(MEETINGS.to_vec())),
        proptest::option::of(1..=MAX_SUPPORTERS),
        proptest::option::of(0i64..4_000_000_000),
    )
        .prop_map(
            |(channel, external_id, title, text, category, kato, meeting, supporters, received)| {
                RawImportRow {
                    channel: Some(channel),
                    external_id: Some(external_id),
                    title: Some(title),
                    text,
                    category: category.map(str::to_owned),
                    territory_kato: kato.map(str::to_owned),
                    meeting_id: meeting.map(|id| id.to_string()),
                    supporters: supporters.map(|count| count.to_string()),
                    received_at: received
                        .map(|seconds| jiff::Timestamp::from_second(seconds).expect("in range").to_string()),
                }
            },
        )
}

fn raw_territory_row() -> impl Strategy<Value = RawTerritoryRow> {
    let katos = vec!["351010000", "351030000", "351033000", "351035000", "351037000", "35103700", "abc"];
    (
        field(katos.clone()),
        field(vec!["oblast", "district", "city_of_oblast_significance", "rural_district", "village", "city"]),
        field(vec!["Ұлытау", "Жезқазған"]),
        field(vec!["Улытау", "Жезказган"]),
        field(vec!["Ulytau", "Zhezkazgan"]),
        field(katos),
    )
        .prop_map(|(kato, kind, name_kk, name_ru, name_en, parent_kato)| RawTerritoryRow {
            kato,
            kind,
            name_kk,
            name_ru,
            name_en,
            parent_kato,
        })
}

fn context() -> ImportContext {
    ImportContext {
        categories: CATEGORIES.iter().map(|code| (*code).to_owned()).collect(),
        territory_katos: KATOS.iter().map(|kato| (*kato).to_owned()).collect(),
        meetings: MEETINGS.into_iter().collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn issue_rows_are_refused_by_field_or_accepted_within_bounds(
        rows in proptest::collection::vec(raw_import_row(), 0..12),
    ) {
        match check_rows(&rows, &context()) {
            Err(errors) => {
                prop_assert!(!errors.is_empty(), "a refusal names a problem");
                for error in &errors {
                    prop_assert!((1..=rows.len()).contains(&error.row), "{error:?} names a row of the file");
                    prop_assert!(IMPORT_FIELDS.contains(&error.field.as_str()), "{error:?} names a field");
                    prop_assert!(!error.message.trim().is_empty(), "{error:?} says why");
                }
            }
            Ok(checked) => {
                prop_assert_eq!(checked.len(), rows.len(), "every row becomes one issue");
                let mut identities = HashSet::new();
                for row in &checked {
                    prop_assert!(!row.channel.is_empty() && row.channel.chars().count() <= MAX_CHANNEL_CHARS);
                    prop_assert!(row.channel.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'));
                    prop_assert!(!row.external_id.trim().is_empty() && row.external_id.chars().count() <= MAX_EXTERNAL_ID_CHARS);
                    prop_assert!(!row.title.trim().is_empty() && row.title.chars().count() <= MAX_TITLE_CHARS);
                    prop_assert!(row.text.chars().count() <= MAX_TEXT_CHARS);
                    prop_assert!((1..=MAX_SUPPORTERS).contains(&row.supporters));
                    prop_assert!(row.category.as_deref().is_none_or(|code| CATEGORIES.contains(&code)));
                    prop_assert!(row.territory_kato.as_deref().is_none_or(|kato| KATOS.contains(&kato)));
                    prop_assert!(row.meeting_id.is_none_or(|id| MEETINGS.contains(&id)));
                    prop_assert!(identities.insert((row.channel.clone(), row.external_id.clone())), "each identity once");
                }
                // Checking is deterministic: the same file gives the same rows.
                prop_assert_eq!(check_rows(&rows, &context()), Ok(checked));
            }
        }
    }

    #[test]
    fn a_file_of_valid_rows_is_accepted_whole(
        rows in proptest::collection::vec(valid_import_row(), 1..8),
    ) {
        // Identities made unique, as a real export's are.
        let rows: Vec<RawImportRow> = rows
            .into_iter()
            .enumerate()
            .map(|(index, mut row)| {
                row.external_id = row.external_id.map(|id| format!("{id}-{index}"));
                row
            })
            .collect();
        let checked = check_rows(&rows, &context());
        prop_assert!(checked.is_ok(), "{checked:?}");
        let checked = checked.unwrap_or_default();
        prop_assert_eq!(checked.len(), rows.len());
        for (row, raw) in checked.iter().zip(&rows) {
            prop_assert_eq!(Some(&row.channel), raw.channel.as_ref());
            prop_assert_eq!(row.supporters.to_string(), raw.supporters.clone().unwrap_or_else(|| "1".to_owned()));
            prop_assert_eq!(row.received_at.map(|at| at.to_string()), raw.received_at.clone());
        }
    }

    #[test]
    fn a_valid_row_among_bad_ones_changes_nothing_of_the_errors(
        rows in proptest::collection::vec(prop_oneof![3 => valid_import_row(), 1 => raw_import_row()], 1..8),
    ) {
        // Errors name only the rows that have them: each row's errors are the ones it has alone.
        if let Err(errors) = check_rows(&rows, &context()) {
            for error in &errors {
                let alone = check_rows(std::slice::from_ref(&rows[error.row - 1]), &context());
                let repeated = error.message.starts_with("repeats row");
                prop_assert!(repeated || alone.is_err(), "{error:?} but the row alone passes");
            }
        }
    }

    #[test]
    fn an_import_row_survives_json(row in raw_import_row()) {
        // The JSON form of a row (what `POST /api/issues/import` takes) reads back as the row.
        let text = serde_json::to_string(&row).expect("a row serializes");
        let read: RawImportRow = serde_json::from_str(&text).expect("its JSON reads back");
        prop_assert_eq!(read, row);
    }

    #[test]
    fn territory_rows_are_refused_by_field_or_accepted_parents_first(
        rows in proptest::collection::vec(raw_territory_row(), 0..10),
        known_parent in any::<bool>(),
    ) {
        let known: HashSet<String> =
            if known_parent { HashSet::from(["351010000".to_owned()]) } else { HashSet::new() };
        match check_territory_rows(&rows, &known) {
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for error in &errors {
                    prop_assert!((1..=rows.len()).contains(&error.row), "{error:?} names a row of the file");
                    prop_assert!(TERRITORY_FIELDS.contains(&error.field.as_str()), "{error:?} names a field");
                    prop_assert!(!error.message.trim().is_empty(), "{error:?} says why");
                }
            }
            Ok(import) => {
                prop_assert_eq!(import.new.len() + import.already_present, rows.len());
                let mut placed = HashSet::new();
                for territory in &import.new {
                    prop_assert_eq!(territory.kato.len(), 9);
                    prop_assert!(territory.kato.bytes().all(|b| b.is_ascii_digit()));
                    prop_assert!(TerritoryKind::parse(territory.kind.as_str()) == Some(territory.kind));
                    prop_assert!(!known.contains(&territory.kato), "a known code is not added again");
                    if let Some(parent) = &territory.parent_kato {
                        prop_assert!(known.contains(parent) || placed.contains(parent), "{parent} comes first");
                    }
                    prop_assert!(placed.insert(territory.kato.clone()), "each code once");
                }
            }
        }
    }
}
