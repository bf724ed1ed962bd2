//! The civil day, month and year as the server counts them.
//!
//! The server reckons every date (today, deadlines, the calendar year) in its configured
//! `meetings.time_zone`, Asia/Almaty by default. A test that took its "today" from the machine's
//! zone instead would pass while the two zones share a date and fail for the hours they do not
//! (19:00 to 24:00 UTC for a UTC machine). So every civil date a test uses comes from here, and
//! `local_zone.rs` fails on any other read of a zone; `tests/run` runs the suite with the
//! machine's zone set to one whose day differs from the server's, and again with the clock set
//! to 19:30 and 23:59 UTC on 31 December.

use crate::support::TestServer;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use kezdesu::config::Config;

/// The zone a server with `config` counts days in.
pub fn zone_of(config: &Config) -> TimeZone {
    TimeZone::get(&config.meetings.time_zone).expect("the configured zone is in the time-zone database")
}

/// The zone a server with the default configuration counts days in (the binary started without
/// a configuration file, and request bodies built before a server exists).
pub fn default_zone() -> TimeZone {
    zone_of(&Config::default())
}

/// Today in `zone`.
fn today_in(zone: TimeZone) -> Date {
    Timestamp::now().to_zoned(zone).date()
}

/// Today, as a server with the default configuration reckons it.
pub fn default_today() -> Date {
    today_in(default_zone())
}

/// `instant` in the default configuration's zone.
pub fn in_default_zone(instant: Timestamp) -> Zoned {
    instant.to_zoned(default_zone())
}

impl TestServer {
    /// The zone this server counts days in.
    pub fn zone(&self) -> TimeZone {
        zone_of(&self.config)
    }

    /// Today, as this server reckons it.
    pub fn today(&self) -> Date {
        today_in(self.zone())
    }
}

#[test]
fn days_are_counted_in_the_configured_zone_not_in_utc() {
    // 20:30 UTC on 31 December is already 1 January in Almaty (UTC+5).
    let instant: Timestamp = "2026-12-31T20:30:00Z".parse().expect("an instant");
    let mut config = Config::default();
    assert_eq!(instant.to_zoned(zone_of(&config)).date(), jiff::civil::date(2027, 1, 1));
    config.meetings.time_zone = "UTC".to_owned();
    assert_eq!(instant.to_zoned(zone_of(&config)).date(), jiff::civil::date(2026, 12, 31));
    assert_eq!(in_default_zone(instant).year(), 2027);
}
