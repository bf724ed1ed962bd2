//! iCalendar (RFC 5545) feeds of meetings, for calendar applications to subscribe to.
//!
//! Each meeting is one `VEVENT` with a stable `UID`, a `SEQUENCE` that rises with every change
//! of the meeting (its row version), and `STATUS` `CONFIRMED` or `CANCELLED`. Times are UTC.
//! Text is escaped as §3.3.11 says and lines are folded at 75 octets (§3.1) without splitting a
//! UTF-8 character, with CRLF line ends.

use jiff::Timestamp;

/// One meeting as a calendar event.
pub struct Event {
    pub uid: String,
    pub sequence: i64,
    pub cancelled: bool,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When the event last changed (`LAST-MODIFIED` and `DTSTAMP`).
    pub changed: Timestamp,
    pub summary: String,
    pub location: String,
    pub description: String,
    pub url: Option<String>,
}

/// A whole calendar, named `name`, with `events`.
pub fn calendar(name: &str, events: &[Event]) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Kezdesu//Akims' meetings with the population//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!("X-WR-CALNAME:{}", escape(name)),
    ];
    for event in events {
        lines.push("BEGIN:VEVENT".to_owned());
        lines.push(format!("UID:{}", escape(&event.uid)));
        lines.push(format!("DTSTAMP:{}", utc(event.changed)));
        lines.push(format!("LAST-MODIFIED:{}", utc(event.changed)));
        lines.push(format!("DTSTART:{}", utc(event.start)));
        lines.push(format!("DTEND:{}", utc(event.end)));
        lines.push(format!("SEQUENCE:{}", event.sequence.max(0)));
        lines.push(format!("STATUS:{}", if event.cancelled { "CANCELLED" } else { "CONFIRMED" }));
        lines.push(format!("SUMMARY:{}", escape(&event.summary)));
        lines.push(format!("LOCATION:{}", escape(&event.location)));
        if !event.description.is_empty() {
            lines.push(format!("DESCRIPTION:{}", escape(&event.description)));
        }
        if let Some(url) = &event.url {
            lines.push(format!("URL:{url}"));
        }
        lines.push("END:VEVENT".to_owned());
    }
    lines.push("END:VCALENDAR".to_owned());
    let mut text = String::new();
    for line in lines {
        fold_into(&mut text, &line);
    }
    text
}

/// An instant as an iCalendar UTC date-time, `20270320T050000Z`.
fn utc(instant: Timestamp) -> String {
    instant.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes TEXT: backslash, semicolon, comma and line breaks.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends `line` folded into lines of at most 75 octets, continuation lines starting with a
/// space, each ended by CRLF.
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_fold_between_characters() {
        assert_eq!(escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "Әкім".repeat(30));
        fold_into(&mut out, &line);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{line}\r\n"));
    }

    #[test]
    fn times_are_utc_basic_format() {
        let instant: Timestamp = "2027-03-20T10:00:00+05:00".parse().expect("an instant");
        assert_eq!(utc(instant), "20270320T050000Z");
    }
}
