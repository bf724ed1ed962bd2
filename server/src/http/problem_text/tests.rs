//! The language chosen from `Accept-Language`, the catalogue's completeness (every code and
//! every detail the source writes), and the translation of templated details.

use super::catalogue::{CODES, DETAILS};
use super::{Lang, Piece, localize, pieces, template_of};
use crate::http::problem::ApiError;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

#[test]
fn accept_language_picks_the_preferred_of_kk_ru_en() {
    let cases = [
        ("kk", Lang::Kk),
        ("ru", Lang::Ru),
        ("en", Lang::En),
        ("", Lang::En),
        ("ru-RU,ru;q=0.9", Lang::Ru),
        ("kk-KZ", Lang::Kk),
        ("kk-Cyrl-KZ,ru;q=0.8", Lang::Kk),
        ("RU-ru", Lang::Ru),
        ("en-GB,en;q=0.9,ru;q=0.8", Lang::En),
        // q-values, not the order, decide; among equals the first listed wins.
        ("en;q=0.5, ru;q=0.7, kk;q=0.6", Lang::Ru),
        ("ru;q=0.5, kk;q=0.5", Lang::Ru),
        ("kk;q=0.5, ru;q=0.5", Lang::Kk),
        ("ru ; q = 0.4 , kk;q=0.3", Lang::Ru),
        ("ru;q=1.000, kk;q=0.999", Lang::Ru),
        // Languages the server does not speak are passed over.
        ("de-DE,de;q=0.9,ru;q=0.8", Lang::Ru),
        ("fr, de", Lang::En),
        ("uz, kk;q=0.1", Lang::Kk),
        // q=0 refuses a language.
        ("ru;q=0, kk;q=0.1", Lang::Kk),
        ("en;q=0", Lang::En),
        // `*` is any language not named: English first, unless refused or ranked.
        ("*", Lang::En),
        ("en;q=0, *", Lang::Ru),
        ("en;q=0, ru;q=0, *;q=0.5", Lang::Kk),
        ("kk;q=0.4, *;q=0.5", Lang::En),
        ("kk, *;q=0.5", Lang::Kk),
        // Garbage is not an error; what can be read is used, the rest ignored.
        ("ru;q=2, kk", Lang::Kk),
        ("ru;q=abc", Lang::En),
        ("ru;q=0.12345, kk;q=0.2", Lang::Kk),
        ("ru;level, kk;q=0.5", Lang::Kk),
        (";;;,,,", Lang::En),
        ("\u{0}ru", Lang::En),
        ("kkk, russian, english", Lang::En),
        ("kz", Lang::En),
    ];
    for (header, expected) in cases {
        assert_eq!(Lang::preferred(header), expected, "Accept-Language: {header:?}");
    }
}

#[test]
fn accept_language_reads_a_bounded_number_of_ranges() {
    let long = format!("{}ru", "de;q=0.1,".repeat(10_000));
    assert_eq!(Lang::preferred(&long), Lang::En);
}

/// The names of a template's holes.
fn holes(template: &str) -> BTreeSet<&str> {
    pieces(template)
        .into_iter()
        .filter_map(|piece| if let Piece::Hole(name) = piece { Some(name) } else { None })
        .collect()
}

#[test]
fn every_entry_says_the_same_in_three_languages() {
    let mut codes = BTreeSet::new();
    for (code, en, kk, ru) in CODES {
        assert!(codes.insert(*code), "{code} twice in CODES");
        assert!(![en, kk, ru].iter().any(|text| text.trim().is_empty()), "{code}: a language is missing");
        assert!(
            holes(en).is_empty() && holes(kk).is_empty() && holes(ru).is_empty(),
            "{code}: holes in CODES"
        );
    }
    let mut seen = BTreeSet::new();
    for (code, en, kk, ru) in DETAILS {
        assert!(codes.contains(code), "DETAILS names {code}, which CODES lacks");
        assert!(seen.insert((code, en)), "{code}: {en:?} twice");
        assert!(
            ![en, kk, ru].iter().any(|text| text.trim().is_empty()),
            "{code}: {en:?}: a language is missing"
        );
        let names = holes(en);
        assert_eq!(holes(kk), names, "{code}: {en:?}: Kazakh has other holes");
        assert_eq!(holes(ru), names, "{code}: {en:?}: Russian has other holes");
        let en_pieces = pieces(en);
        assert_eq!(
            en_pieces.iter().filter(|piece| matches!(piece, Piece::Hole(_))).count(),
            names.len(),
            "{code}: {en:?}: a hole twice in English"
        );
        assert!(
            !en_pieces.windows(2).any(|pair| matches!(pair, [Piece::Hole(_), Piece::Hole(_)])),
            "{code}: {en:?}: two holes side by side cannot be read back"
        );
        // Kazakh and Russian are written in Cyrillic; a template left in English is a slip.
        for (lang, text) in [("kk", kk), ("ru", ru)] {
            assert!(text != en, "{code}: {en:?}: {lang} is the English text");
        }
        // Kazakh letters do not belong in Russian; the Kazakh should use them somewhere.
        assert!(!ru.chars().any(|c| "әғқңөұүһі".contains(c)), "{code}: {ru:?} has Kazakh letters");
    }
}

#[test]
fn templated_details_keep_their_values() {
    let wait = ApiError::RateLimited(Duration::from_secs(42)).problem();
    assert_eq!(localize(&wait.code, &wait.detail, Lang::Ru), "слишком много запросов; повторите через 42 с");
    assert_eq!(localize(&wait.code, &wait.detail, Lang::Kk), "сұраулар тым көп; 42 с кейін қайталаңыз");
    assert_eq!(localize(&wait.code, &wait.detail, Lang::En), "too many requests; try again in 42 s");
    let limit = ApiError::invalid("invalid_limit", "limit must be 1 to 500");
    assert_eq!(localize("invalid_limit", &limit.to_string(), Lang::Ru), "limit должен быть от 1 до 500");
    let text = "display_name must be at most 100 characters, got 250";
    assert_eq!(
        localize("invalid_display_name", text, Lang::Kk),
        "display_name ең көбі 100 таңба болуы керек, берілгені: 250"
    );
    // The more specific template wins over the general one.
    assert_eq!(localize("not_found", "meeting not found", Lang::Ru), "встреча не найдена");
    assert_eq!(localize("not_found", "widget not found", Lang::Ru), "«widget» не найдено");
    // A list of problems is said problem by problem.
    let entries = "entries[0]: 2027-03-01 is not in 2026; entries[2]: territory 9 is not the akim's territory or inside it";
    assert_eq!(
        localize("invalid_entries", entries, Lang::Ru),
        "entries[0]: 2027-03-01 не приходится на 2026 год; entries[2]: территория № 9 — не территория акима и не входит в неё"
    );
    // Free text with no template keeps the English after the code's meaning.
    assert_eq!(localize("bad_request", "Length Required", Lang::Ru), "неверный запрос (Length Required)");
    assert_eq!(localize("no_such_code", "whatever", Lang::Kk), "whatever");
    // A detail quoting a huge input is not searched for templates.
    let huge = format!("unknown columns [{}]; the columns are kato", "\"; the columns are \", ".repeat(2000));
    assert!(localize("unknown_column", &huge, Lang::Ru).starts_with("неизвестный столбец (unknown columns"));
}

/// Details written by the `ApiError` variants themselves.
#[test]
fn every_variant_of_api_error_has_its_detail() {
    let errors = [
        ApiError::MalformedJson("expected value at line 1 column 1".into()),
        ApiError::InvalidBody("title: invalid type: integer `5`, expected a string".into()),
        ApiError::BodyTooLarge,
        ApiError::UnsupportedMediaType,
        ApiError::Unauthenticated,
        ApiError::WrongCredentials,
        ApiError::NotFound("meeting"),
        ApiError::RouteNotFound,
        ApiError::MethodNotAllowed,
        ApiError::RateLimited(Duration::from_secs(3)),
        ApiError::Unavailable,
        ApiError::WrongContentType("application/sdp"),
        ApiError::Timeout,
        ApiError::Internal("secret cause".into()),
        ApiError::RowsRejected(Vec::new()),
        crate::store::StoreError::LastAdmin.into(),
        crate::store::StoreError::VersionConflict.into(),
        crate::store::StoreError::Taken("login").into(),
        crate::store::StoreError::MissingReference("territory").into(),
        crate::room::RoomError::Cancelled.into(),
        ApiError::RateLimited(Duration::from_millis(10)),
    ];
    for error in errors {
        let problem = error.problem();
        assert!(
            template_of(&problem.code, &problem.detail).is_some(),
            "{}: {:?} is not in the catalogue",
            problem.code,
            problem.detail
        );
    }
}

/// Details made from the core's errors with `to_string()`, which the source scan cannot read.
#[test]
fn errors_of_the_core_said_in_details_are_in_the_catalogue() {
    use kezdesu_core::issues::IssueStatus;
    use kezdesu_core::text::TextError;
    use kezdesu_core::timer::{Phase, TransitionError};
    let too_long = TextError::TooLong { max: 200, got: 250 };
    let details: Vec<(&str, String)> = vec![
        ("invalid_field", format!("text {}", TextError::Empty)),
        ("invalid_field", format!("officials {too_long}")),
        ("invalid_name", format!("name: {too_long}")),
        ("invalid_title", format!("title: ru: {}", TextError::Empty)),
        ("invalid_title", format!("title: {}", kezdesu_core::meeting::LocalizedTextError::AllEmpty)),
        ("invalid_summary", format!("summary {}", TextError::Empty)),
        ("invalid_display_name", format!("display_name {too_long}")),
        ("invalid_field", TextError::Empty.to_string()),
        (
            "phase_backwards",
            TransitionError::Backwards { from: Phase::Qa, to: Phase::Presentation }.to_string(),
        ),
        ("meeting_not_started", TransitionError::EndBeforeStart.to_string()),
        ("phase_backwards", TransitionError::Unschedule.to_string()),
        (
            "status_not_allowed",
            kezdesu_core::issues::workflow::WorkflowError::NotAllowed {
                from: IssueStatus::Resolved,
                to: IssueStatus::New,
            }
            .to_string(),
        ),
        ("reason_required", kezdesu_core::issues::workflow::WorkflowError::ReasonRequired.to_string()),
        ("level_required", kezdesu_core::issues::workflow::WorkflowError::LevelRequired.to_string()),
        ("plan_required", kezdesu_core::issues::workflow::WorkflowError::PlanRequired.to_string()),
        ("draft_open", kezdesu_core::yearly::CorrectionError::DraftOpen(2).to_string()),
        ("reason_required", kezdesu_core::yearly::CorrectionError::Reason.to_string()),
        ("invalid_decision", kezdesu_core::yearly::ApprovalError::Decision.to_string()),
        ("invalid_date", kezdesu_core::yearly::ApprovalError::InTheFuture("agreed_on").to_string()),
        ("invalid_date", kezdesu_core::yearly::ApprovalError::OutsideYear.to_string()),
        ("reception_before_meeting", kezdesu_core::reception::SlotError::BeforeMeeting.to_string()),
        ("invalid_minutes", kezdesu_core::reception::SlotError::Minutes.to_string()),
        ("invalid_capacity", kezdesu_core::reception::SlotError::Capacity.to_string()),
        ("invalid_officials", kezdesu_core::reception::SlotError::Officials.to_string()),
        ("reception_cancelled", kezdesu_core::reception::BookingError::Cancelled.to_string()),
        ("reception_started", kezdesu_core::reception::BookingError::Started.to_string()),
        ("reception_full", kezdesu_core::reception::BookingError::Full.to_string()),
        ("meeting_started", kezdesu_core::calendar::AnnouncementError::InThePast.to_string()),
        (
            "invalid_planned_minutes",
            kezdesu_core::meeting::PlannedMinutesError { min: 30, max: 480, got: 1000 }.to_string(),
        ),
        ("invalid_kato", kezdesu_core::territory::KatoError("12".into()).to_string()),
        ("not_open_for_broadcast", kezdesu_core::broadcast::OnAirRefusal::Ended.to_string()),
        ("not_open_for_broadcast", kezdesu_core::broadcast::OnAirRefusal::Cancelled.to_string()),
        ("invalid_ingest_url", kezdesu_core::restream::DestinationProblem::Scheme.to_string()),
        ("invalid_ingest_url", kezdesu_core::restream::DestinationProblem::NoHost.to_string()),
        ("invalid_ingest_url", kezdesu_core::restream::DestinationProblem::Port.to_string()),
        ("invalid_ingest_url", kezdesu_core::restream::DestinationProblem::Credentials.to_string()),
        ("invalid_ingest_url", kezdesu_core::restream::DestinationProblem::UrlTooLong.to_string()),
        ("invalid_ingest_url", kezdesu_core::restream::DestinationProblem::UrlCharacters.to_string()),
        ("invalid_stream_key", kezdesu_core::restream::DestinationProblem::EmptyKey.to_string()),
        ("invalid_stream_key", kezdesu_core::restream::DestinationProblem::KeyTooLong.to_string()),
        ("invalid_stream_key", kezdesu_core::restream::DestinationProblem::KeyCharacters.to_string()),
        ("invalid_sdp", crate::media::signaling::OfferError::NotSdp.to_string()),
        ("invalid_sdp", crate::media::signaling::OfferError::NoMedia.to_string()),
        ("invalid_sdp", crate::media::signaling::OfferError::TooManySections.to_string()),
        ("invalid_sdp", crate::media::signaling::OfferError::Simulcast.to_string()),
        ("invalid_follow", kezdesu_core::platforms::PlatformProblem::Identifier("video_id").to_string()),
        ("invalid_follow", kezdesu_core::platforms::PlatformProblem::VkOwner.to_string()),
        ("invalid_follow", kezdesu_core::platforms::PlatformProblem::VkObject.to_string()),
        ("invalid_credential", kezdesu_core::platforms::PlatformProblem::Positive("group_id").to_string()),
        ("invalid_credential", kezdesu_core::platforms::PlatformProblem::TelegramChat.to_string()),
        ("invalid_credential", kezdesu_core::platforms::PlatformProblem::Token("bot_token").to_string()),
        (
            "invalid_follow",
            kezdesu_core::platforms::PlatformProblem::Required("video_id", "facebook").to_string(),
        ),
        (
            "invalid_follow",
            kezdesu_core::platforms::PlatformProblem::NotUsed("post_id", "youtube").to_string(),
        ),
        (
            "invalid_entries",
            kezdesu_core::yearly::EntryError { index: 3, problem: "place must not be empty".into() }
                .to_string(),
        ),
        ("weak_password", crate::auth::check_new_password("short").expect_err("a short password is refused")),
    ];
    for (code, detail) in details {
        assert!(template_of(code, &detail).is_some(), "{code}: {detail:?} is not in the catalogue");
    }
}

/// Every refusal of the live channel's core, with its code and message as the connection
/// sends them.
#[test]
fn every_live_error_has_its_three_languages() {
    use jiff::{SignedDuration, Timestamp};
    use kezdesu_core::live::LiveError;
    use kezdesu_core::text::TextError;
    /// Fails to compile when `LiveError` gains a variant, so that it is added below.
    fn listed(error: &LiveError) {
        match error {
            LiveError::NotLive
            | LiveError::ViewersOnly
            | LiveError::Forbidden
            | LiveError::InvalidClientId
            | LiveError::Text(_)
            | LiveError::Banned
            | LiveError::TimedOut { .. }
            | LiveError::SlowMode { .. }
            | LiveError::RateLimited { .. }
            | LiveError::UnknownComment
            | LiveError::UnknownQuestion
            | LiveError::UnknownAuthor
            | LiveError::QuestionClosed
            | LiveError::InvalidReason { .. }
            | LiveError::NotHidden
            | LiveError::NotHeld
            | LiveError::CommentHidden
            | LiveError::CommentHeld
            | LiveError::AlreadyPromoted
            | LiveError::InvalidSources
            | LiveError::InvalidMinutes
            | LiveError::InvalidSeconds
            | LiveError::InvalidSource => {}
        }
    }
    let wait = SignedDuration::from_secs(30);
    let errors = [
        LiveError::NotLive,
        LiveError::ViewersOnly,
        LiveError::Forbidden,
        LiveError::InvalidClientId,
        LiveError::Text(TextError::Empty),
        LiveError::Text(TextError::TooLong { max: 500, got: 501 }),
        LiveError::Banned,
        LiveError::TimedOut { until: Timestamp::UNIX_EPOCH, retry_after: wait },
        LiveError::SlowMode { retry_after: wait },
        LiveError::RateLimited { retry_after: wait },
        LiveError::UnknownComment,
        LiveError::UnknownQuestion,
        LiveError::UnknownAuthor,
        LiveError::QuestionClosed,
        LiveError::InvalidReason { allowed: vec!["spam".into(), "insult".into()] },
        LiveError::NotHidden,
        LiveError::NotHeld,
        LiveError::CommentHidden,
        LiveError::CommentHeld,
        LiveError::AlreadyPromoted,
        LiveError::InvalidSources,
        LiveError::InvalidMinutes,
        LiveError::InvalidSeconds,
        LiveError::InvalidSource,
    ];
    for error in &errors {
        listed(error);
        let (code, message) = (error.code(), error.to_string());
        assert!(CODES.iter().any(|entry| entry.0 == code), "{code} is not in CODES");
        assert!(template_of(code, &message).is_some(), "{code}: {message:?} is not in the catalogue");
    }
    let timed_out = &errors[7];
    assert_eq!(
        localize(timed_out.code(), &timed_out.to_string(), Lang::Ru),
        "вам временно запрещено комментировать до 1970-01-01T00:00:00Z"
    );
}

/// What the source of the server writes: codes, and (code, English detail template) pairs.
#[derive(Default)]
struct Written {
    codes: BTreeSet<String>,
    details: BTreeSet<(String, String, String)>,
}

/// A Rust string literal at the start of `text` (after spaces): its value and what follows.
fn literal(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start().strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

/// A detail as written (a literal, or a `format!`'s first argument), as it reads with sample
/// values in a `format!`'s holes (`{error}` with `error_text`).
fn detail_at(text: &str, error_text: &str) -> Option<String> {
    let text = text.trim_start();
    match text.strip_prefix("format!(") {
        Some(format) => literal(format).map(|(value, _)| filled(&value, error_text)),
        None => literal(text).map(|(value, _)| value),
    }
}

/// A format string with each `{…}` filled with a sample value (`{{` and `}}` are braces).
fn filled(template: &str, error_text: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        if rest[open..].starts_with("{{") {
            out.push('{');
            rest = &rest[open + 2..];
            continue;
        }
        let Some(close) = rest[open..].find('}') else { break };
        let name = &rest[open + 1..open + close];
        out.push_str(if name == "error" { error_text } else { "x7" });
        rest = &rest[open + close + 1..];
    }
    out.push_str(&rest.replace("}}", "}"));
    out
}

/// Text checked by the core (`{field} {error}`) reads with a refusal of `text::clean`.
fn error_text(code: &str) -> &'static str {
    const TEXT_CODES: [&str; 5] =
        ["invalid_field", "invalid_name", "invalid_title", "invalid_summary", "invalid_display_name"];
    if TEXT_CODES.contains(&code) { "must not be empty" } else { "x7" }
}

/// The codes and details of one source file, each detail as it reads with sample values.
fn scan(written: &mut Written, file: &Path) {
    let source = std::fs::read_to_string(file).expect("a source file reads");
    // Tests may build errors of their own.
    let source = source.split("#[cfg(test)]").next().unwrap_or("");
    // One line, as the compiler reads string continuations.
    let mut flat = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(open) = line.strip_suffix('\\') {
            flat.push_str(open);
            if let Some(next) = lines.peek_mut() {
                *next = next.trim_start();
            }
        } else {
            flat.push_str(line);
            flat.push(' ');
        }
    }
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut add = |code: &str, detail: Option<String>| {
        written.codes.insert(code.to_owned());
        if let Some(detail) = detail {
            written.details.insert((code.to_owned(), detail, file.display().to_string()));
        }
    };
    // `invalid("code", detail)`; a code given by a variable is checked elsewhere.
    for marker in ["ApiError::invalid(", "ApiError::conflict(", "Answer::error("] {
        for (at, _) in flat.match_indices(marker) {
            let Some((code, rest)) = literal(&flat[at + marker.len()..]) else { continue };
            let detail =
                rest.trim_start().strip_prefix(',').and_then(|rest| detail_at(rest, error_text(&code)));
            add(&code, detail);
        }
    }
    // Variants whose code is their own, and how they frame what they are given.
    let framed = [
        ("ApiError::Forbidden(", "forbidden", "{}"),
        ("ApiError::MissingCredential(", "unauthenticated", "{}"),
        ("ApiError::NotFound(", "not_found", "{} not found"),
        ("StoreError::NotFound(", "not_found", "{} not found"),
        ("ApiError::BadRequest(", "bad_request", "{}"),
        ("ApiError::InvalidBody(", "invalid_body", "the request body does not match the expected shape: {}"),
        ("ApiError::WrongContentType(", "unsupported_media_type", "the request body must be {}"),
        ("MediaError::Unacceptable(", "unacceptable_offer", "{}"),
    ];
    for (marker, code, frame) in framed {
        for (at, _) in flat.match_indices(marker) {
            let detail = detail_at(flat[at + marker.len()..].trim_start().trim_start_matches('&'), "x7");
            add(code, detail.map(|detail| frame.replace("{}", &detail)));
        }
    }
    // `Absent { code: "…", detail: … }`, and the live channel's `Error { code: "…".into(), message: … }`.
    for marker in ["ApiError::Absent {", "ApiError::Gone {", "ApiError::UnavailableNow {", "Answer::Error {"]
    {
        for (at, _) in flat.match_indices(marker) {
            let after = flat[at + marker.len()..].trim_start();
            let Some((code, rest)) = after.strip_prefix("code:").and_then(literal) else { continue };
            let rest = rest.strip_prefix(".into()").unwrap_or(rest).trim_start();
            let detail = rest.strip_prefix(',').and_then(|rest| {
                let rest = rest.trim_start();
                let rest = rest.strip_prefix("detail:").or_else(|| rest.strip_prefix("message:"))?;
                detail_at(rest, "x7")
            });
            add(&code, detail);
        }
    }
    // Codes chosen by a match on an error: `SlotError::Minutes => "invalid_minutes",`.
    for (at, _) in flat.match_indices("=> \"") {
        let arm = flat[..at].rsplit([',', '{']).next().unwrap_or("");
        if !arm.contains("Error::") {
            continue;
        }
        if let Some((code, _)) = literal(&flat[at + 2..])
            && !code.is_empty()
            && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            add(&code, None);
        }
    }
}

fn scan_tree(written: &mut Written, folder: &Path) {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .expect("a source folder reads")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scan_tree(written, &path);
        } else if path.extension().is_some_and(|ext| ext == "rs") && !path.ends_with("problem_text/tests.rs")
        {
            scan(written, &path);
        }
    }
}

fn written() -> Written {
    let mut written = Written::default();
    scan_tree(&mut written, &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    written
}

#[test]
fn the_scan_finds_what_the_handlers_write() {
    let written = written();
    // A few known ones, so that a scan broken by a change of style does not pass empty.
    let known = [
        "invalid_limit",
        "forbidden",
        "no_hls",
        "recording_deleted",
        "reception_full",
        "too_many_viewers",
        "join_first",
    ];
    for code in known {
        assert!(written.codes.contains(code), "the scan missed {code}");
    }
    assert!(written.codes.len() > 80, "only {} codes found", written.codes.len());
    assert!(written.details.len() > 150, "only {} details found", written.details.len());
}

#[test]
fn every_code_the_server_writes_has_its_three_languages() {
    let written = written();
    let missing: Vec<&String> =
        written.codes.iter().filter(|code| !CODES.iter().any(|entry| entry.0 == code.as_str())).collect();
    assert!(missing.is_empty(), "codes with no entry in problem_text/catalogue.rs CODES: {missing:?}");
}

#[test]
fn every_detail_the_server_writes_has_its_three_languages() {
    let written = written();
    let mut missing = Vec::new();
    for (code, sample, file) in &written.details {
        match template_of(code, sample) {
            None => missing.push(format!("{file}: {code}: {sample:?}")),
            // A generic "{what} not found" matches anything; each thing gets its own words.
            Some((entry, _)) if entry.1 == "{what} not found" => {
                missing.push(format!("{file}: {code}: {sample:?} (only the generic entry)"));
            }
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "details with no entry in problem_text/catalogue.rs DETAILS:\n{}",
        missing.join("\n")
    );
}
