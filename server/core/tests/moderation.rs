//! Moderation at a flood (issue 18): normalization, the shipped automatic rules, question words
//! and the similarity index, tested from outside as the server will use them.

use jiff::{SignedDuration, Timestamp};
use kezdesu_core::moderation::{
    AutoAction, AutoVerdict, ModerationRules, RecentText, RulesError, SimilarKey, SimilarityIndex,
    jaccard_per_mille, normalize, trigrams,
};
use kezdesu_core::{CommentId, QuestionId};
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

fn shipped() -> ModerationRules {
    SHIPPED.clone()
}

static SHIPPED: LazyLock<ModerationRules> = LazyLock::new(|| match ModerationRules::shipped() {
    Ok(rules) => rules,
    Err(error) => panic!("the shipped moderation rules must compile: {error}"),
});

fn at(second: i64) -> Timestamp {
    match Timestamp::from_second(1_750_000_000 + second) {
        Ok(t) => t,
        Err(error) => panic!("{error}"),
    }
}

fn verdict(rule: &str, action: AutoAction) -> Option<AutoVerdict> {
    Some(AutoVerdict { rule: rule.to_owned(), action, reason: rule_reason(rule).to_owned() })
}

fn rule_reason(rule: &str) -> &'static str {
    match rule {
        "blocked_terms" => "blocked_term",
        "links" => "link",
        "flood" => "flood",
        "shouting" => "shouting",
        _ => "unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// Obfuscation fixtures

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixtures {
    caught: Vec<Caught>,
    not_caught: NotCaught,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Caught {
    term: String,
    language: String,
    normalized: String,
    forms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotCaught {
    comments: Vec<String>,
}

fn fixtures() -> Fixtures {
    match toml::from_str(include_str!("../../../tests/fixtures/moderation/obfuscations.toml")) {
        Ok(fixtures) => fixtures,
        Err(error) => panic!("obfuscations.toml: {error}"),
    }
}

/// Whether `needle` (normalized) starts a word of `haystack` (normalized).
fn starts_a_word(haystack: &str, needle: &str) -> bool {
    haystack.starts_with(needle) || haystack.contains(&format!(" {needle}"))
}

#[test]
fn every_obfuscated_form_of_a_shipped_term_is_held() {
    let rules = shipped();
    let fixtures = fixtures();
    for caught in &fixtures.caught {
        let list = match caught.language.as_str() {
            "kk" => include_str!("../../../config/moderation/terms/kk.txt"),
            "ru" => include_str!("../../../config/moderation/terms/ru.txt"),
            "en" => include_str!("../../../config/moderation/terms/en.txt"),
            other => panic!("no list for {other}"),
        };
        assert!(
            list.lines().any(|line| line.split('#').next().unwrap_or("").trim() == caught.term),
            "`{}` is not in terms/{}.txt",
            caught.term,
            caught.language
        );
        assert_eq!(normalize(caught.term.trim_end_matches('*')), caught.normalized, "{}", caught.term);
        for form in &caught.forms {
            let normalized = normalize(form);
            assert!(
                starts_a_word(&normalized, &caught.normalized),
                "`{form}` normalized to `{normalized}`, without `{}`",
                caught.normalized
            );
            assert_eq!(
                rules.auto.check(form, &[], at(0)),
                verdict("blocked_terms", AutoAction::Hold),
                "`{form}` ({normalized})"
            );
        }
    }
}

#[test]
fn ordinary_comments_are_not_caught() {
    let rules = shipped();
    for comment in &fixtures().not_caught.comments {
        assert_eq!(rules.auto.check(comment, &[], at(0)), None, "`{comment}` ({})", normalize(comment));
    }
}

// ---------------------------------------------------------------------------------------------
// Normalization

#[test]
fn normalization_examples_of_the_brief() {
    for form in ["купите", "к.у.п.и.т.е", "КУПИИИТЕ", "kupite", "кyпитe", "k у п и т е", "к_у_п_и_т_е"]
    {
        assert_eq!(normalize(form), "купите", "{form}");
    }
    assert_eq!(normalize("Қашан? ҚАЛАЙ! неге..."), "кашан калаи неге");
    assert_eq!(normalize("Не үшін жол жөнделмейді"), "не ушин жол жонделмеиди");
    assert_eq!(normalize("ne üşin jol"), "не ушин жол");
}

/// Every assigned character (the planes above 3 hold only tags, variation selectors and private
/// use, sampled by their first block), alone, between letters and repeated.
#[test]
fn every_character_normalizes_idempotently() {
    for c in (0..0x3_2400u32).chain(0xE_0000..0xF_0100).filter_map(char::from_u32) {
        for text in [c.to_string(), format!("а{c}б"), format!("{c}{c}{c}")] {
            let once = normalize(&text);
            assert_eq!(normalize(&once), once, "U+{:04X} in {text:?}", c as u32);
        }
    }
}

/// Characters a Kazakh or Russian comment (or a spammer) is made of.
const ALPHABET: &[char] = &[
    'а', 'б', 'в', 'г', 'д', 'е', 'ё', 'ж', 'з', 'и', 'й', 'к', 'л', 'м', 'н', 'о', 'п', 'р', 'с', 'т', 'у',
    'ф', 'х', 'ц', 'ч', 'ш', 'щ', 'ъ', 'ы', 'ь', 'э', 'ю', 'я', 'А', 'Б', 'Е', 'К', 'Н', 'О', 'Р', 'С', 'Т',
    'Х', 'Я', 'ә', 'і', 'ң', 'ғ', 'ү', 'ұ', 'қ', 'ө', 'һ', 'Ә', 'І', 'Қ', 'Ү', 'a', 'b', 'c', 'd', 'e', 'h',
    'i', 'k', 'm', 'n', 'o', 'p', 's', 't', 'u', 'x', 'y', 'z', 'A', 'B', 'C', 'E', 'H', 'K', 'M', 'O', 'P',
    'T', 'X', 'Y', 'ä', 'ö', 'ü', 'ū', 'ı', 'ğ', 'ş', 'ç', 'ñ', 'q', 'İ', 'Ş', '0', '1', '3', '4', '6', '9',
    ' ', ' ', ' ', '.', '-', '_', '*', '!', '|', ',', '?', '\'', '\n', '\u{200B}', '\u{0301}', '\u{0306}',
    'ｋ', '𝐤', '😀', '·', '\t',
];

fn alphabet_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..60).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalize_is_idempotent_on_any_text(text in any::<String>()) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn normalize_is_idempotent_on_comment_alphabets(text in alphabet_text()) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
    }

    #[test]
    fn checks_never_panic(text in any::<String>(), other in alphabet_text()) {
        let rules = &*SHIPPED;
        let normalized = normalize(&other);
        let recent = [RecentText { at: at(0), normalized: &normalized }];
        let _ = rules.auto.check(&text, &recent, at(1));
        let _ = rules.auto.check(&other, &recent, at(1));
        let _ = rules.questions.is_likely_question(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Links, floods, shouting

#[test]
fn links_are_held_unless_to_an_allowed_domain() {
    let rules = shipped();
    let held = verdict("links", AutoAction::Hold);
    for text in [
        "Выгодно: bit.ly/3xYz",
        "пишите t.me/akim_fake",
        "https://example.com",
        "Сайт: www.example-shop.net",
        "gov.kz.example.com/приём",
    ] {
        assert_eq!(rules.auto.check(text, &[], at(0)), held, "{text}");
    }
    for text in [
        "Заявление можно подать на egov.kz",
        "https://www.gov.kz/memleket/entities/almaty?lang=kk",
        "Смотрите almaty.gov.kz и akorda.kz",
        "Постановление на adilet.zan.kz/rus/docs/P2200000826",
    ] {
        assert_eq!(rules.auto.check(text, &[], at(0)), None, "{text}");
    }
}

#[test]
fn the_third_near_same_text_within_the_window_is_a_flood() {
    let rules = shipped();
    let first = normalize("Когда починят дорогу на Абая?!");
    let second = normalize("когда починят дорогу на Абая");
    let third = "Когда починят дорогу на Абая???";
    let recent =
        [RecentText { at: at(0), normalized: &first }, RecentText { at: at(20), normalized: &second }];
    assert_eq!(rules.auto.check(third, &recent[..1], at(40)), None, "the second is not a flood yet");
    assert_eq!(rules.auto.check(third, &recent, at(40)), verdict("flood", AutoAction::Hide));
    // A minute after the first, only one earlier text is within the window.
    assert_eq!(rules.auto.check(third, &recent, at(61)), None);
    assert_eq!(rules.auto.flood_window(), SignedDuration::from_secs(60));
    // Different questions from the same author are not a flood.
    assert_eq!(rules.auto.check("А когда отопление дадут в школе №5?", &recent, at(40)), None);
    // Nor is repeated applause.
    let clap = normalize("👏👏");
    let claps = [RecentText { at: at(0), normalized: &clap }, RecentText { at: at(1), normalized: &clap }];
    assert_eq!(rules.auto.check("👏👏", &claps, at(2)), None);
}

#[test]
fn shouting_is_held_in_any_cased_script() {
    let rules = shipped();
    let held = verdict("shouting", AutoAction::Hold);
    assert_eq!(rules.auto.check("КОГДА ОТРЕМОНТИРУЮТ ДОРОГУ НА АБАЯ", &[], at(0)), held);
    assert_eq!(rules.auto.check("ЖОЛДЫ ҚАШАН ЖӨНДЕЙСІЗДЕР, ӘКІМ МЫРЗА", &[], at(0)), held);
    assert_eq!(rules.auto.check("WHEN WILL THE ROAD BE REPAIRED", &[], at(0)), held);
    assert_eq!(rules.auto.check("СПАСИБО!", &[], at(0)), None, "too short to shout");
    assert_eq!(rules.auto.check("Отопление в школе №5 НЕ РАБОТАЕТ уже неделю", &[], at(0)), None);
}

#[test]
fn the_first_matching_rule_in_the_files_order_wins() {
    let rules = shipped();
    let order: Vec<&str> = rules.auto.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(order, ["blocked_terms", "links", "flood", "shouting"]);
    // A blocked term and a link and shouting: the blocked term comes first in the file.
    assert_eq!(
        rules.auto.check("ЛУЧШЕЕ КАЗИНО ТУТ: BIT.LY/WIN", &[], at(0)),
        verdict("blocked_terms", AutoAction::Hold)
    );
    assert_eq!(
        rules.auto.check("СМОТРИТЕ ВСЕ ТУТ: BIT.LY/WIN", &[], at(0)),
        verdict("links", AutoAction::Hold)
    );
}

#[test]
fn verdicts_serialize_in_snake_case() {
    let verdict = verdict("links", AutoAction::Hold);
    assert_eq!(
        serde_json::to_string(&verdict).ok().as_deref(),
        Some(r#"{"rule":"links","action":"hold","reason":"link"}"#)
    );
}

// ---------------------------------------------------------------------------------------------
// Questions

#[test]
fn questions_in_kazakh_russian_and_english() {
    let rules = shipped();
    for text in [
        "Жол қашан жөнделеді",
        "Неге су жоқ",
        "Мектепке автобус қалай барады",
        "Бұл ақша не үшін бөлінді",
        "Жол жөнделе ме",
        "Жылу береді ме әлде жоқ па",
        "jol qashan jondeledi",
        "Когда починят дорогу",
        "Почему нет воды третий день",
        "Сколько стоит проезд",
        "Будет ли автобус до села",
        "Куда обращаться по отоплению",
        "kogda budet voda",
        "When will the bus route open",
        "Ремонт будет?",
        "Ремонт будет؟",
        "Ремонт будет？",
    ] {
        assert!(rules.questions.is_likely_question(text), "{text}");
    }
    for text in [
        "Спасибо за встречу",
        "Жол жөнделді, рахмет",
        "Хош келдіңіз, әкім мырза",
        "Ме",
        "Дорогу отремонтировали, спасибо",
        "Thank you for the meeting",
        "Мектепте жылу бар",
    ] {
        assert!(!rules.questions.is_likely_question(text), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// The files

const RULES: &str = include_str!("../../../config/moderation/rules.toml");
const QUESTIONS: &str = include_str!("../../../config/moderation/questions.toml");
const KK: &str = include_str!("../../../config/moderation/terms/kk.txt");
const RU: &str = include_str!("../../../config/moderation/terms/ru.txt");
const EN: &str = include_str!("../../../config/moderation/terms/en.txt");

fn from_files(rules: &str, terms: &[(&str, &str)]) -> Result<ModerationRules, RulesError> {
    ModerationRules::from_toml(rules, terms, QUESTIONS)
}

#[test]
fn the_shipped_files_read_the_same_as_the_compiled_in_defaults() {
    let read = from_files(RULES, &[("kk", KK), ("ru", RU), ("en", EN)]);
    assert_eq!(read, Ok(shipped()));
    assert_eq!(shipped().duplicate_threshold_per_mille, 550);
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let all = [("kk", KK), ("ru", RU), ("en", EN)];
    let refused = |rules: &str, terms: &[(&str, &str)]| from_files(rules, terms).err();

    assert!(matches!(
        refused(&RULES.replace("count = 3", "count = 3\nextra = 1"), &all),
        Some(RulesError::Toml { .. })
    ));
    assert_eq!(
        refused(&RULES.replace("id = \"links\"", "id = \"blocked_terms\""), &all),
        Some(RulesError::RuleId("blocked_terms".to_owned()))
    );
    assert!(matches!(
        refused(&RULES.replace("reason = \"link\"", "reason = \"Link!\""), &all),
        Some(RulesError::Reason { .. })
    ));
    assert!(matches!(
        refused(&RULES.replace("threshold = 0.55", "threshold = 1.5"), &all),
        Some(RulesError::Ratio { field: "duplicates.threshold", .. })
    ));
    assert_eq!(refused(RULES, &all[..2]), Some(RulesError::MissingTerms("en".to_owned())));
    assert_eq!(
        refused(RULES, &[("kk", KK), ("ru", RU), ("en", EN), ("uz", "")]),
        Some(RulesError::UnexpectedTerms("uz".to_owned()))
    );
    assert!(matches!(
        refused(RULES, &[("kk", KK), ("ru", "ок*\n"), ("en", EN)]),
        Some(RulesError::Term { line: 1, .. })
    ));
    assert!(matches!(
        refused(&RULES.replace("\"gov.kz\",", "\"gov kz\","), &all),
        Some(RulesError::Domain(_))
    ));
    assert!(matches!(refused(&RULES.replace("count = 3", "count = 1"), &all), Some(RulesError::Number(_))));
}

#[test]
fn a_rule_left_out_is_off_and_actions_come_from_the_file() {
    let rules = RULES
        .replace(
            "[[rule]]\nid = \"shouting\"\ncheck = \"shouting\"\naction = \"hold\"\nreason = \"shouting\"\n",
            "",
        )
        .replace("action = \"hold\"\nreason = \"link\"", "action = \"hide\"\nreason = \"spam_link\"");
    let compiled = match from_files(&rules, &[("kk", KK), ("ru", RU), ("en", EN)]) {
        Ok(compiled) => compiled,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(compiled.auto.check("КОГДА ОТРЕМОНТИРУЮТ ДОРОГУ НА АБАЯ", &[], at(0)), None);
    assert_eq!(
        compiled.auto.check("bit.ly/x", &[], at(0)),
        Some(AutoVerdict {
            rule: "links".to_owned(),
            action: AutoAction::Hide,
            reason: "spam_link".to_owned()
        })
    );
}

// ---------------------------------------------------------------------------------------------
// The similarity index against brute force

#[derive(Debug, Clone)]
enum Op {
    Insert(SimilarKey, String),
    Remove(SimilarKey),
    Query(String, u16),
}

fn key() -> impl Strategy<Value = SimilarKey> {
    prop_oneof![
        (0i64..12).prop_map(|id| SimilarKey::Comment(CommentId(id))),
        (0i64..12).prop_map(|id| SimilarKey::Question(QuestionId(id))),
    ]
}

/// Short texts over few letters, so that overlaps and ties are common.
fn small_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&['а', 'б', 'в', 'г', ' ', 'a', 'b'][..]), 0..14)
        .prop_map(|chars| normalize(&chars.into_iter().collect::<String>()))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (key(), small_text()).prop_map(|(k, t)| Op::Insert(k, t)),
        2 => key().prop_map(Op::Remove),
        3 => (small_text(), prop_oneof![Just(0u16), Just(1000u16), 0u16..=1000]).prop_map(|(t, th)| Op::Query(t, th)),
    ]
}

fn brute_force(
    items: &BTreeMap<SimilarKey, String>,
    text: &str,
    threshold: u16,
) -> Option<(SimilarKey, u16)> {
    let query = trigrams(text);
    let threshold = threshold.max(1);
    let mut best: Option<(SimilarKey, u16)> = None;
    for (key, item) in items {
        let score = jaccard_per_mille(&query, &trigrams(item));
        if score < threshold {
            continue;
        }
        let rank = |k: SimilarKey, s: u16| {
            let (is_question, id) = match k {
                SimilarKey::Question(QuestionId(id)) => (1, id),
                SimilarKey::Comment(CommentId(id)) => (0, id),
            };
            (s, is_question, -id)
        };
        if best.is_none_or(|(bk, bs)| rank(*key, score) > rank(bk, bs)) {
            best = Some((*key, score));
        }
    }
    best
}

/// Texts of a few words from a small vocabulary, and queries near them: long enough for the
/// index's checkpoints and extra reads to come into play.
type Corpus = Vec<(SimilarKey, String)>;
type Queries = Vec<(String, u16)>;

fn corpus_and_queries() -> impl Strategy<Value = (Corpus, Queries)> {
    const WORDS: &[&str] = &[
        "жол",
        "дорога",
        "абая",
        "көше",
        "улица",
        "школа",
        "мектеп",
        "су",
        "вода",
        "нет",
        "жоқ",
        "когда",
        "қашан",
        "автобус",
        "маршрут",
        "отопление",
        "жылу",
        "свет",
        "ремонт",
        "жөндеу",
    ];
    let text = || {
        prop::collection::vec(prop::sample::select(WORDS), 2..14)
            .prop_map(|words| normalize(&words.join(" ")))
    };
    let corpus = prop::collection::vec((key(), text()), 5..120);
    corpus.prop_flat_map(move |corpus| {
        let near = prop::collection::vec(
            (0..corpus.len(), prop::sample::select(WORDS), 0usize..3, 0u16..=1000),
            1..12,
        );
        let far = prop::collection::vec((text(), 0u16..=1000), 0..4);
        (Just(corpus.clone()), near, far).prop_map(|(corpus, near, far)| {
            let mut queries: Queries = near
                .into_iter()
                .map(|(i, word, change, threshold)| {
                    let text = corpus.get(i).map_or("", |(_, t)| t.as_str());
                    let text = match change {
                        0 => text.to_owned(),
                        1 => format!("{text} {word}"),
                        _ => {
                            text.split_once(' ').map_or(text.to_owned(), |(_, rest)| format!("{word} {rest}"))
                        }
                    };
                    (text, threshold)
                })
                .collect();
            queries.extend(far);
            (corpus, queries)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_index_answers_as_brute_force_does_on_larger_corpora((corpus, queries) in corpus_and_queries()) {
        let mut index = SimilarityIndex::default();
        let mut items = BTreeMap::new();
        for (i, (key, text)) in corpus.iter().enumerate() {
            index.insert(*key, text);
            items.insert(*key, text.clone());
            // Remove some on the way, so that tombstones and compaction play a part.
            if i % 7 == 3 {
                index.remove(*key);
                items.remove(key);
            }
        }
        for (text, threshold) in &queries {
            prop_assert_eq!(index.best_match(text, *threshold), brute_force(&items, text, *threshold), "{}", text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn the_index_answers_as_brute_force_does(ops in prop::collection::vec(op(), 1..80)) {
        let mut index = SimilarityIndex::default();
        let mut items = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(key, text) => {
                    index.insert(key, &text);
                    items.insert(key, text);
                }
                Op::Remove(key) => {
                    index.remove(key);
                    items.remove(&key);
                }
                Op::Query(text, threshold) => {
                    prop_assert_eq!(index.best_match(&text, threshold), brute_force(&items, &text, threshold));
                }
            }
            prop_assert_eq!(index.len(), items.len());
        }
        // Equal to an index built afresh from what is left, whatever the history.
        let mut fresh = SimilarityIndex::default();
        for (key, text) in items.iter().rev() {
            fresh.insert(*key, text);
        }
        prop_assert_eq!(index, fresh);
    }
}
