//! The language of a problem's `detail`: which of kk, ru and en a request's `Accept-Language`
//! prefers ([`Lang::preferred`]), and the catalogue that says every detail in all three.
//!
//! Handlers keep building their details in English, as they always have; nothing about the
//! language reaches them. [`problem::problem_response`](super::problem::problem_response)
//! leaves the English [`Problem`] in the response's extensions, and [`localize_problems`], the
//! outermost layer of the router, rewrites its `detail` in the caller's language, with
//! `Content-Language` and `Vary: Accept-Language`. So an error made by any layer or handler is
//! translated, and a client that asks for nothing (or for another language) gets exactly the
//! English it got before.
//!
//! The catalogue is data: [`CODES`] says, for every code the server can answer, what it means in
//! each language, and [`DETAILS`] gives each English detail the handlers write (a template whose
//! `{name}` holes are the variable parts: a field, a limit, an id, seconds to wait) in Kazakh and
//! Russian, with the same holes. The English detail is matched against its code's templates and
//! the values found in the holes are put into the translation unchanged. A detail that matches no
//! template (free text from a library, such as a CSV parser's message) is given as the code's
//! meaning followed by the English text, so nothing is lost. The tests walk the handlers' source
//! for every code and every detail written there and fail when one is missing from the
//! catalogue, so a new error cannot be added without its translations.
//!
//! The `title` stays the HTTP reason phrase in English, and `code` never changes: it is what a
//! client matches on.
//!
//! The live WebSocket's `error` messages use the same catalogue: the handshake's
//! `Accept-Language` is kept in [`CONNECTION_LANG`] while the connection runs, and an answer
//! is said in it as it is serialized.

use super::problem::Problem;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use catalogue::{CODES, DETAILS, Entry};

mod catalogue;

/// The languages a detail is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En = 0,
    Ru = 1,
    Kk = 2,
}

impl Lang {
    /// The language tag, for `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language an `Accept-Language` value prefers among kk, ru and en (RFC 9110 §12.5.4):
    /// the highest `q` wins, the first listed among equals; `ru-RU` or `kk-Cyrl-KZ` count as
    /// their language; `*` stands for any language not named otherwise (English first); `q=0`
    /// refuses a language. Nothing acceptable, or a value that cannot be read, is English.
    pub fn preferred(accept_language: &str) -> Lang {
        // For each language, the (q in thousandths, position) of the range that names it.
        let mut named: [Option<(u16, usize)>; 3] = [None; 3];
        let mut wildcard: Option<(u16, usize)> = None;
        // A few dozen ranges is more than any browser sends; the rest is not read.
        for (position, range) in accept_language.split(',').take(32).enumerate() {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let Some(q) = quality(parts) else { continue };
            let primary = tag.split('-').next().unwrap_or("");
            let slot = if tag == "*" {
                &mut wildcard
            } else if let Some(lang) =
                Lang::ALL.into_iter().find(|lang| primary.eq_ignore_ascii_case(lang.tag()))
            {
                &mut named[lang as usize]
            } else {
                continue;
            };
            // `ru-RU;q=0.8, ru;q=0.5`: the language is as welcome as its best range.
            if slot.is_none_or(|(best, _)| q > best) {
                *slot = Some((q, position));
            }
        }
        Lang::ALL
            .into_iter()
            .filter_map(|lang| {
                let (q, position) = named[lang as usize].or(wildcard)?;
                // Among equals the earliest range wins, then the order of `ALL`.
                (q > 0).then_some(((q, std::cmp::Reverse(position), std::cmp::Reverse(lang as usize)), lang))
            })
            .max_by_key(|(rank, _)| *rank)
            .map_or(Lang::En, |(_, lang)| lang)
    }

    /// In the order `*` picks them: English first, as the server answered before it spoke the others.
    const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::Kk];
}

/// The `q` of a language range's parameters, in thousandths; `None` when it cannot be read.
fn quality<'a>(parameters: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for parameter in parameters {
        let (name, value) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        let value = value.trim();
        let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
        if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        q = match whole {
            "0" => format!("{fraction:0<3}").parse().ok()?,
            "1" if fraction.bytes().all(|b| b == b'0') => 1000,
            _ => return None,
        };
    }
    Some(q)
}

/// The language a request's headers prefer.
pub fn requested(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map_or(Lang::En, Lang::preferred)
}

tokio::task_local! {
    /// The language a live WebSocket's handshake asked for, while its connection runs: the
    /// `message` of the `error`s it answers is said in it.
    pub static CONNECTION_LANG: Lang;
}

/// An error's message on the live channel in the connection's language; `None` for English
/// (or outside a connection), where the message is already right.
pub fn in_connection_language(code: &str, message: &str) -> Option<String> {
    let lang = CONNECTION_LANG.try_with(|lang| *lang).ok().filter(|lang| *lang != Lang::En)?;
    Some(localize(code, message, lang))
}

/// The outermost layer: problems answer in the request's language, and say so.
pub async fn localize_problems(request: Request, next: Next) -> Response {
    let lang = requested(request.headers());
    let mut response = next.run(request).await;
    let Some(problem) = response.extensions_mut().remove::<Problem>() else {
        return response;
    };
    if lang != Lang::En {
        let detail = localize(&problem.code, &problem.detail, lang);
        let localized = Problem { detail, ..problem };
        // Serializing a struct of strings and numbers cannot fail; the English body stays if it did.
        if let Ok(body) = serde_json::to_vec(&localized) {
            response.headers_mut().remove(header::CONTENT_LENGTH);
            *response.body_mut() = body.into();
        }
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
    headers.append(header::VARY, HeaderValue::from_static("accept-language"));
    response
}

/// A detail written in English by the handlers, said in `lang`.
pub fn localize(code: &str, english: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return english.to_owned();
    }
    // Matching backtracks over the places a template's text recurs; a detail is short, but one
    // may quote what a client sent (a CSV header, say), so a long one is not read at all.
    if english.len() > MAX_MATCHED_BYTES {
        return free_text(code, english, lang);
    }
    let said = |(entry, values): (&Entry, Vec<(String, &str)>)| fill(pick(entry, lang), &values);
    // A value rarely holds "; ", which joins a list of problems (`entries[0]: …; entries[3]: …`):
    // a detail is read whole with values without it, then problem by problem, then whole.
    if let Some(found) = matching(code, english, true) {
        return said(found);
    }
    let parts: Option<Vec<String>> =
        english.split("; ").map(|part| matching(code, part, true).map(said)).collect();
    if let Some(parts) = parts.filter(|parts| parts.len() > 1) {
        return parts.join("; ");
    }
    if let Some(found) = matching(code, english, false) {
        return said(found);
    }
    free_text(code, english, lang)
}

/// The longest detail matched against the catalogue.
const MAX_MATCHED_BYTES: usize = 4096;

/// Free text: the code's meaning, and the English as it came.
fn free_text(code: &str, english: &str, lang: Lang) -> String {
    match CODES.iter().find(|entry| entry.0 == code) {
        Some(entry) => format!("{} ({english})", pick(entry, lang)),
        None => english.to_owned(),
    }
}

/// The catalogue's template that `english` is, for `code`, with the values of its holes.
#[cfg(test)]
fn template_of<'t>(code: &str, english: &'t str) -> Option<(&'static Entry, Vec<(String, &'t str)>)> {
    matching(code, english, false)
}

/// As [`template_of`]; `whole_values` refuses values that hold "; ".
fn matching<'t>(
    code: &str,
    english: &'t str,
    whole_values: bool,
) -> Option<(&'static Entry, Vec<(String, &'t str)>)> {
    DETAILS
        .iter()
        .filter(|entry| entry.0 == code)
        .filter_map(|entry| Some((entry, holes_of(entry.1, english)?)))
        .filter(|(_, values)| !whole_values || values.iter().all(|(_, value)| !value.contains("; ")))
        .max_by_key(|(entry, _)| literal_len(entry.1))
}

fn pick(entry: &Entry, lang: Lang) -> &'static str {
    match lang {
        Lang::Kk => entry.2,
        Lang::Ru => entry.3,
        Lang::En => entry.1,
    }
}

/// A piece of a template: text as written, or a `{name}` hole.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Hole(&'a str),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|close| open + close) else { break };
        let name = &rest[open + 1..close];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            // Not a hole: a brace the text itself carries.
            pieces.push(Piece::Text(&rest[..=open]));
            rest = &rest[open + 1..];
            continue;
        }
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        pieces.push(Piece::Hole(name));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

fn literal_len(template: &str) -> usize {
    pieces(template).iter().map(|piece| if let Piece::Text(text) = piece { text.len() } else { 0 }).sum()
}

/// The values in `text`'s holes if it is `template` with its holes filled (each with something).
fn holes_of<'t>(template: &str, text: &'t str) -> Option<Vec<(String, &'t str)>> {
    fn walk<'t>(pieces: &[Piece<'_>], text: &'t str, found: &mut Vec<(String, &'t str)>) -> bool {
        match pieces {
            [] => text.is_empty(),
            [Piece::Text(literal), rest @ ..] => {
                text.strip_prefix(literal).is_some_and(|after| walk(rest, after, found))
            }
            [Piece::Hole(name), rest @ ..] => {
                let ends: Vec<usize> = match rest.first() {
                    None => vec![text.len()],
                    Some(Piece::Text(next)) => text.match_indices(next).map(|(at, _)| at).collect(),
                    // Two holes side by side cannot be told apart; the catalogue has none.
                    Some(Piece::Hole(_)) => return false,
                };
                for end in ends.into_iter().filter(|end| *end > 0) {
                    found.push(((*name).to_owned(), &text[..end]));
                    if walk(rest, &text[end..], found) {
                        return true;
                    }
                    found.pop();
                }
                false
            }
        }
    }
    let mut found = Vec::new();
    walk(&pieces(template), text, &mut found).then_some(found)
}

fn fill(template: &str, values: &[(String, &str)]) -> String {
    pieces(template)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text,
            Piece::Hole(name) => values.iter().find(|(hole, _)| hole == name).map_or("", |(_, value)| value),
        })
        .collect()
}

#[cfg(test)]
mod tests;
