//! No test takes a civil day from the machine's time zone (Rust, JavaScript or Python), no page
//! from the browser's, and the server from nothing but its configured zone.
//!
//! The server counts days in `meetings.time_zone` (Asia/Almaty). A date read in another zone
//! agrees with it for most of the day and disagrees for the rest, so such a defect hides until
//! the hour it fails. This test reads the sources and names every such read, with its file and
//! line. The one place allowed to convert an instant to a civil date in the tests is the helper
//! of each language: `tests/integration/civil.rs` and `tests/browser/civil.mjs`.

use crate::sources::{files, repository};
use std::path::PathBuf;

/// A read of a zone other than the server's, and what to do instead.
struct Forbidden {
    /// Matched against each line; a `Regex` would be a new dependency for a handful of shapes.
    matches: fn(&str) -> bool,
    instead: &'static str,
}

fn contains(line: &str, words: &[&str]) -> bool {
    words.iter().any(|word| line.contains(word))
}

/// Rust test code: the machine's zone, or any zone conversion outside `civil.rs`.
const RUST_TESTS: &[Forbidden] = &[
    Forbidden {
        matches: |line| {
            contains(line, &["Zoned::now(", "TimeZone::system(", "TimeZone::try_system(", "Local::now("])
        },
        instead: "the machine's zone: use crate::civil (server.today(), civil::default_today())",
    },
    Forbidden {
        matches: |line| contains(line, &[".to_zoned(", "TimeZone::get(", "tz::db()"]),
        instead: "a zone conversion outside tests/integration/civil.rs: use its helpers",
    },
];

/// The server's code: the only zone for civil days is the configured one (`Clockface`).
const RUST_SERVER: &[Forbidden] = &[Forbidden {
    matches: |line| {
        contains(
            line,
            &["Zoned::now(", "TimeZone::system(", "TimeZone::try_system(", "TimeZone::UTC", "Local::now("],
        )
    },
    instead: "a zone other than meetings.time_zone: take the day from the clock face (state.clock)",
}];

/// JavaScript, tests and pages: what a `Date` says in the machine's or browser's zone.
const JS_LOCAL_ZONE: &[Forbidden] = &[
    Forbidden {
        matches: |line| {
            ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "TimezoneOffset"]
                .iter()
                .any(|part| line.contains(&format!(".get{part}(")) || line.contains(&format!(".set{part}(")))
        },
        instead: "a local-zone getter or setter: use the UTC one, or format in the server's zone",
    },
    Forbidden {
        matches: |line| {
            contains(
                line,
                &[".toLocaleDateString(", ".toLocaleTimeString(", ".toDateString(", ".toTimeString("],
            ) || contains(line, &["resolvedOptions().timeZone", ".toLocaleString("])
        },
        instead: "the browser's zone: format with Intl.DateTimeFormat and an explicit timeZone",
    },
    Forbidden {
        matches: local_date_constructor,
        instead: "a date built in the local zone: use Date.UTC or an offset",
    },
];

/// Python tests (aiortc, icalendar, the benchmarks' load): naive or local date and time.
const PYTHON_TESTS: &[Forbidden] = &[Forbidden {
    matches: |line| {
        contains(line, &["date.today(", "datetime.now()", "datetime.today(", ".astimezone()", "utcnow("])
            || contains(line, &["time.localtime(", "time.strftime(", "time.ctime(", "time.mktime("])
            || (line.contains("fromtimestamp(") && !line.contains("tz"))
    },
    instead: "a naive or local time: use datetime.now(timezone.utc), or the server's zone by name",
}];

/// JavaScript tests: formatting a civil date outside `tests/browser/civil.mjs`.
const JS_TESTS: &[Forbidden] = &[Forbidden {
    matches: |line| line.contains("Intl.DateTimeFormat("),
    instead: "a civil date formatted outside tests/browser/civil.mjs: use its helpers",
}];

/// `new Date(2026, 11, 31)` and `new Date('2026-12-31T10:00')`: both are read in the local zone.
/// (A bare `YYYY-MM-DD` is read as UTC, and an instant with `Z` or an offset as itself.)
fn local_date_constructor(line: &str) -> bool {
    let mut rest = line;
    while let Some(found) = ["new Date(", "Date.parse("].iter().filter_map(|call| rest.find(call)).min() {
        let after = &rest[found..];
        let argument = after[after.find('(').map_or(0, |open| open + 1)..].trim_start();
        let digits = argument.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && argument[digits..].trim_start().starts_with(',') {
            return true;
        }
        if let Some(quoted) = argument.strip_prefix(['\'', '"', '`']) {
            let text: String = quoted.chars().take_while(|c| !matches!(c, '\'' | '"' | '`')).collect();
            let is_date_time = text.len() > 11
                && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                && text.as_bytes()[10] == b'T';
            if is_date_time && !text.ends_with('Z') && !text[11..].contains(['+', '-']) {
                return true;
            }
        }
        rest = &after[1..];
    }
    false
}

/// Every line of `source` that matches a rule, as `file:line: what (the line)`.
fn violations(file: &str, source: &str, rules: &[&[Forbidden]]) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.trim_start();
        // Comments: // and /* */ in Rust and JavaScript, # in Python.
        if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") || code.starts_with('#')
        {
            continue;
        }
        for rule in rules.iter().flat_map(|rules| rules.iter()) {
            if (rule.matches)(line) {
                found.push(format!("{file}:{}: {} ({})", number + 1, rule.instead, line.trim()));
            }
        }
    }
    found
}

/// Checks every file, except `allowed` ones, and fails naming each violation.
fn check(files: Vec<PathBuf>, rules: &[&[Forbidden]], allowed: &[&str], at_least: usize) {
    let root = repository();
    let mut found = Vec::new();
    let mut checked = 0;
    for path in files {
        let name = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if allowed.contains(&name.as_str()) {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("the source is readable");
        found.extend(violations(&name, &source, rules));
        checked += 1;
    }
    assert!(
        checked >= at_least,
        "expected at least {at_least} files, found {checked}: is the layout the same?"
    );
    assert!(found.is_empty(), "civil days read in a zone other than the server's:\n{}", found.join("\n"));
}

#[test]
fn no_test_reads_the_machines_time_zone() {
    let root = repository();
    check(
        files(&root.join("tests"), &[".rs"]),
        &[RUST_TESTS],
        &["tests/integration/civil.rs", "tests/integration/local_zone.rs"],
        15,
    );
    let mut scripts = files(&root.join("tests"), &[".mjs", ".js"]);
    scripts.retain(|path| !path.components().any(|part| part.as_os_str() == "fixtures"));
    check(scripts, &[JS_LOCAL_ZONE, JS_TESTS], &["tests/browser/civil.mjs"], 15);
    check(files(&root.join("tests"), &[".py"]), &[PYTHON_TESTS], &[], 4);
}

#[test]
fn no_page_reads_the_browsers_time_zone() {
    let root = repository();
    let pages = files(&root.join("web"), &[".js", ".mjs", ".html"]);
    check(pages.clone(), &[JS_LOCAL_ZONE], &[], 30);
    // Every formatter on the pages names its zone: without one it formats in the browser's.
    let mut unzoned = Vec::new();
    for path in pages {
        let source = std::fs::read_to_string(&path).expect("the source is readable");
        for (start, _) in source.match_indices("Intl.DateTimeFormat(") {
            let call = &source[start..];
            let options = &call[..call.find(").").or_else(|| call.find(')')).unwrap_or(call.len())];
            if !options.contains("timeZone") {
                let line = source[..start].lines().count();
                unzoned.push(format!("{}:{line}", path.display()));
            }
        }
    }
    assert!(unzoned.is_empty(), "Intl.DateTimeFormat without a timeZone (the browser's zone): {unzoned:?}");
}

#[test]
fn the_server_counts_days_only_in_its_configured_zone() {
    let root = repository();
    let mut sources = files(&root.join("server/src"), &[".rs"]);
    sources.extend(files(&root.join("server/core/src"), &[".rs"]));
    check(sources, &[RUST_SERVER], &[], 20);
}

#[test]
fn the_check_finds_each_kind_of_local_zone_read() {
    // Each planted read is split with concat!, so that this file holds none of them whole and a
    // search of the tests for a read of the machine's zone finds only real ones.
    let planted = [
        ("a.rs", concat!("let year = jiff::Zoned::", "now().year();"), RUST_TESTS),
        ("a.rs", concat!("let day = now.to_", "zoned(zone).date();"), RUST_TESTS),
        ("a.rs", concat!("let zone = jiff::tz::TimeZone::", "system();"), RUST_SERVER),
        ("a.rs", concat!("now.to_", "zoned(jiff::tz::TimeZone::", "UTC).date()"), RUST_SERVER),
        ("a.mjs", concat!("const year = new Date().getFull", "Year();"), JS_LOCAL_ZONE),
        ("a.mjs", concat!("start.set", "Hours(0, 0, 0, 0);"), JS_LOCAL_ZONE),
        ("a.mjs", concat!("const text = when.toLocale", "DateString('ru');"), JS_LOCAL_ZONE),
        ("a.mjs", concat!("const first = new ", "Date(2026, 0, 1);"), JS_LOCAL_ZONE),
        ("a.mjs", concat!("const noon = Date.", "parse('2026-12-31T12:00');"), JS_LOCAL_ZONE),
        ("a.mjs", concat!("new Intl.DateTime", "Format('en-CA', { timeZone: 'Asia/Almaty' })"), JS_TESTS),
        ("a.py", concat!("today = datetime.date.", "today()"), PYTHON_TESTS),
        ("a.py", concat!("start = datetime.", "now() + timedelta(days=20)"), PYTHON_TESTS),
        ("a.py", concat!("when = datetime.from", "timestamp(seconds)"), PYTHON_TESTS),
    ];
    for (file, line, rules) in planted {
        assert_eq!(violations(file, line, &[rules]).len(), 1, "not caught: {line}");
    }
    let allowed = [
        (
            "a.mjs",
            "const start = new Date(Date.now() + 40 * 24 * 3600 * 1000); start.setUTCMinutes(0, 0, 0);",
        ),
        ("a.mjs", "const fixed = new Date('2026-12-31T20:30:00Z'); Date.parse('2026-06-15T12:00:00+05:00');"),
        ("a.mjs", "const day = new Date('2026-12-31'); const year = day.getUTCFullYear();"),
        ("a.mjs", concat!("// new Date().getFull", "Year() in a comment")),
    ];
    for (file, line) in allowed {
        assert_eq!(violations(file, line, &[JS_LOCAL_ZONE]), Vec::<String>::new(), "wrongly caught: {line}");
    }
    let allowed_python = "start = (datetime.now(timezone.utc) + timedelta(days=20)).replace(microsecond=0)";
    assert_eq!(violations("a.py", allowed_python, &[PYTHON_TESTS]), Vec::<String>::new());
}
