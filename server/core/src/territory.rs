//! Territories: the administrative units akims govern, identified by KATO codes.

use serde::{Deserialize, Serialize};

/// The kinds of administrative-territorial unit in Kazakhstan.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerritoryKind {
    Oblast,
    /// A city of republican significance (Almaty, Shymkent).
    CityOfRepublicanSignificance,
    /// The capital, Astana.
    Capital,
    /// A district (audan) of an oblast.
    District,
    CityOfOblastSignificance,
    CityOfDistrictSignificance,
    /// A district inside a city.
    CityDistrict,
    RuralOkrug,
    Village,
    Settlement,
    Microdistrict,
}

impl TerritoryKind {
    pub const ALL: [TerritoryKind; 11] = [
        TerritoryKind::Oblast,
        TerritoryKind::CityOfRepublicanSignificance,
        TerritoryKind::Capital,
        TerritoryKind::District,
        TerritoryKind::CityOfOblastSignificance,
        TerritoryKind::CityOfDistrictSignificance,
        TerritoryKind::CityDistrict,
        TerritoryKind::RuralOkrug,
        TerritoryKind::Village,
        TerritoryKind::Settlement,
        TerritoryKind::Microdistrict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TerritoryKind::Oblast => "oblast",
            TerritoryKind::CityOfRepublicanSignificance => "city_of_republican_significance",
            TerritoryKind::Capital => "capital",
            TerritoryKind::District => "district",
            TerritoryKind::CityOfOblastSignificance => "city_of_oblast_significance",
            TerritoryKind::CityOfDistrictSignificance => "city_of_district_significance",
            TerritoryKind::CityDistrict => "city_district",
            TerritoryKind::RuralOkrug => "rural_okrug",
            TerritoryKind::Village => "village",
            TerritoryKind::Settlement => "settlement",
            TerritoryKind::Microdistrict => "microdistrict",
        }
    }

    pub fn parse(text: &str) -> Option<TerritoryKind> {
        TerritoryKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Why a KATO code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a KATO code is 9 digits, got {0:?}")]
pub struct KatoError(pub String);

/// Checks a KATO code: nine ASCII digits.
pub fn check_kato(code: &str) -> Result<&str, KatoError> {
    let code = code.trim();
    if code.len() == 9 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(KatoError(code.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in TerritoryKind::ALL {
            assert_eq!(TerritoryKind::parse(kind.as_str()), Some(kind));
            let json = serde_json_like(kind);
            assert_eq!(json, kind.as_str());
        }
        assert_eq!(TerritoryKind::parse("county"), None);
    }

    fn serde_json_like(kind: TerritoryKind) -> String {
        // Serialized names must equal `as_str`, which the store writes.
        toml::Value::try_from(kind).expect("serializes").as_str().expect("a string").to_owned()
    }

    #[test]
    fn kato_codes_are_nine_digits() {
        assert_eq!(check_kato(" 751110000 "), Ok("751110000"));
        for bad in ["", "75111000", "7511100000", "75111000a", "７５１１１００００"] {
            assert!(check_kato(bad).is_err(), "{bad:?}");
        }
    }
}

/// `root` and every territory below it, given each territory's parent. A cycle in the data
/// cannot loop: each territory is taken once.
pub fn with_descendants(
    parents: &[(crate::TerritoryId, Option<crate::TerritoryId>)],
    root: crate::TerritoryId,
) -> Vec<crate::TerritoryId> {
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        for (child, _) in parents.iter().filter(|(_, of)| *of == Some(parent)) {
            if !found.contains(child) {
                found.push(*child);
            }
        }
        next += 1;
    }
    found
}

#[cfg(test)]
mod descendant_tests {
    use super::with_descendants;
    use crate::TerritoryId as T;

    #[test]
    fn a_territory_includes_everything_below_it_once() {
        let parents =
            [(T(1), None), (T(2), Some(T(1))), (T(3), Some(T(2))), (T(4), None), (T(5), Some(T(5)))];
        assert_eq!(with_descendants(&parents, T(1)), [T(1), T(2), T(3)]);
        assert_eq!(with_descendants(&parents, T(3)), [T(3)]);
        assert_eq!(with_descendants(&parents, T(5)), [T(5)]);
    }
}

/// One territory of an import (CSV or JSON), every field as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTerritoryRow {
    pub kato: Option<String>,
    pub kind: Option<String>,
    pub name_kk: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    /// The KATO code of the territory it is part of: one already known, or one in the file.
    pub parent_kato: Option<String>,
}

/// A territory that passed every check, ready to be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerritoryRow {
    pub kato: String,
    pub kind: TerritoryKind,
    pub name: crate::LocalizedText,
    pub parent_kato: Option<String>,
}

/// What an import of territories does: the new ones in an order where every parent comes
/// before its children, and how many the register already had (by KATO code), which are left
/// as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerritoryImport {
    pub new: Vec<TerritoryRow>,
    pub already_present: usize,
}

/// Checks every row of a territory import against the KATO codes already known; returns the
/// territories to add, parents first, or every problem of every row.
pub fn check_territory_rows(
    rows: &[RawTerritoryRow],
    known_katos: &std::collections::HashSet<String>,
) -> Result<TerritoryImport, Vec<crate::issues::import::RowError>> {
    use crate::issues::import::RowError;
    use std::collections::HashMap;
    let mut errors = Vec::new();
    let mut checked: Vec<(usize, TerritoryRow)> = Vec::new();
    let mut row_of: HashMap<String, usize> = HashMap::new();
    let mut already_present = 0;
    for (index, raw) in rows.iter().enumerate() {
        let row = index + 1;
        let mut fail =
            |field: &str, message: String| errors.push(RowError { row, field: field.to_owned(), message });
        let kato = match check_kato(raw.kato.as_deref().unwrap_or_default()) {
            Ok(kato) => Some(kato.to_owned()),
            Err(error) => {
                fail("kato", error.to_string());
                None
            }
        };
        if let Some(kato) = &kato {
            if let Some(first) = row_of.get(kato) {
                fail("kato", format!("repeats row {first}"));
            } else {
                row_of.insert(kato.clone(), row);
            }
        }
        let kind = match raw.kind.as_deref().map(str::trim).and_then(TerritoryKind::parse) {
            Some(kind) => Some(kind),
            None => {
                fail(
                    "kind",
                    format!("{:?} is not a kind of territory", raw.kind.as_deref().unwrap_or_default()),
                );
                None
            }
        };
        let mut name = |field: &str, value: &Option<String>| match crate::text::clean(
            value.as_deref().unwrap_or_default(),
            200,
            false,
        ) {
            Ok(name) => Some(name),
            Err(error) => {
                errors.push(RowError { row, field: field.to_owned(), message: error.to_string() });
                None
            }
        };
        let (kk, ru, en) =
            (name("name_kk", &raw.name_kk), name("name_ru", &raw.name_ru), name("name_en", &raw.name_en));
        let parent_kato =
            raw.parent_kato.as_deref().map(str::trim).filter(|parent| !parent.is_empty()).map(str::to_owned);
        if let (Some(kato), Some(kind), Some(kk), Some(ru), Some(en)) = (kato, kind, kk, ru, en) {
            if known_katos.contains(&kato) {
                already_present += 1;
            } else {
                checked.push((
                    row,
                    TerritoryRow { kato, kind, name: crate::LocalizedText { kk, ru, en }, parent_kato },
                ));
            }
        }
    }
    // Every parent is known or in the file, and the file's own parents form no cycle.
    for (row, territory) in &checked {
        if let Some(parent) = &territory.parent_kato {
            if parent == &territory.kato {
                errors.push(RowError {
                    row: *row,
                    field: "parent_kato".into(),
                    message: "a territory cannot be its own parent".into(),
                });
            } else if !known_katos.contains(parent) && !row_of.contains_key(parent) {
                errors.push(RowError {
                    row: *row,
                    field: "parent_kato".into(),
                    message: format!("no territory has KATO code {parent:?}"),
                });
            }
        }
    }
    let mut ordered: Vec<TerritoryRow> = Vec::with_capacity(checked.len());
    let mut placed: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut waiting = checked;
    while !waiting.is_empty() {
        let before = waiting.len();
        let (ready, rest): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|(_, territory)| {
            territory
                .parent_kato
                .as_ref()
                .is_none_or(|parent| known_katos.contains(parent) || placed.contains(parent))
        });
        for (_, territory) in ready {
            placed.insert(territory.kato.clone());
            ordered.push(territory);
        }
        waiting = rest;
        if waiting.len() == before {
            for (row, territory) in &waiting {
                let reachable =
                    territory.parent_kato.as_ref().is_some_and(|parent| row_of.contains_key(parent));
                if reachable {
                    errors.push(RowError {
                        row: *row,
                        field: "parent_kato".into(),
                        message: "the parents in the file form a cycle".into(),
                    });
                }
            }
            break;
        }
    }
    if errors.is_empty() { Ok(TerritoryImport { new: ordered, already_present }) } else { Err(errors) }
}
