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
