//! The first start: with an empty data folder, create the first admin and, when enabled, a
//! demo territory, akim and meeting that a newcomer can open at once.
//!
//! Generated passwords are printed once on standard error (kept apart from JSON logs on
//! standard output), never written to the log.

use crate::auth::{hash_password, new_password};
use crate::config::Config;
use crate::store::{NewAccount, NewMeeting, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use kezdesu_core::{LocalizedText, MeetingId, MeetingKind, Role, RuleSet};
use std::net::SocketAddr;

/// What the first start created, for the caller to report.
#[derive(Debug, Default)]
pub struct FirstStart {
    /// The demo meeting, when one was created.
    pub demo_meeting: Option<MeetingId>,
}

/// Creates the first accounts and the demo, if the store has no account yet.
pub async fn first_start(
    config: &Config,
    address: SocketAddr,
    store: &dyn Store,
    rules: &RuleSet,
) -> anyhow::Result<Option<FirstStart>> {
    if store.count_accounts().await? > 0 {
        return Ok(None);
    }
    let now = Timestamp::now();
    let (admin_password, generated) = match &config.admin_password {
        Some(password) => (password.clone(), false),
        None => (new_password(), true),
    };
    let admin = match create_account(store, "admin", "Administrator", Role::Admin, &admin_password, None, now)
        .await
    {
        Ok(admin) => admin,
        // Several nodes started at once on one empty database: another node won the race for
        // the first account and makes the rest of the first start; this one has nothing to do.
        Err(error) if matches!(error.downcast_ref::<StoreError>(), Some(StoreError::Taken(_))) => {
            tracing::info!("first start: another node created the admin account");
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    tracing::info!(account = %admin, "first start: created the admin account");
    if generated {
        eprintln!("\nKezdesu first start: the admin account's password is printed here once.");
        eprintln!("  login:    admin\n  password: {admin_password}");
        eprintln!("Set KEZDESU_ADMIN_PASSWORD before the first start to choose it instead.\n");
    }
    let mut created = FirstStart::default();
    if config.demo.enabled {
        let meeting = create_demo(config, address, store, rules, now).await?;
        create_demo_issue(config, store, meeting, admin, now).await?;
        created.demo_meeting = Some(meeting);
    }
    Ok(Some(created))
}

/// The demo meeting's length, checked against the rule set like any other meeting's. `run`
/// calls this before the first start, so a bad value stops start-up before anything is created.
pub fn demo_planned_minutes(config: &Config, rules: &RuleSet) -> anyhow::Result<u32> {
    kezdesu_core::meeting::check_planned_minutes(&rules.meeting, i64::from(config.demo.planned_minutes))
        .map_err(|error| anyhow::anyhow!("demo.planned_minutes: {error}"))
}

async fn create_account(
    store: &dyn Store,
    login: &str,
    display_name: &str,
    role: Role,
    password: &str,
    territory: Option<kezdesu_core::TerritoryId>,
    now: Timestamp,
) -> anyhow::Result<kezdesu_core::AccountId> {
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await?
        .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))?;
    let account = NewAccount {
        login: login.to_owned(),
        display_name: display_name.to_owned(),
        role,
        password_hash,
        territory,
    };
    Ok(store.create_account(account, now).await?.id)
}

/// Ulytau oblast from the national classifier (KATO; see `config/territories/SOURCES.md`): the
/// demo's territories, the same file the tests import.
const DEMO_TERRITORIES: &str = include_str!("../../config/territories/ulytau.csv");
/// Zhanaarka district, whose akim the demo akim is…
const DEMO_DISTRICT: &str = "623600000";
/// …and the settlement of Zhanaarka, where the demo meeting is held.
const DEMO_SETTLEMENT: &str = "623630000";

async fn import_demo_territories(
    store: &dyn Store,
    now: Timestamp,
) -> anyhow::Result<Vec<crate::store::Territory>> {
    use kezdesu_core::territory::{RawTerritoryRow, check_territory_rows};
    let rows: Vec<RawTerritoryRow> =
        csv::Reader::from_reader(DEMO_TERRITORIES.as_bytes()).deserialize().collect::<Result<_, _>>()?;
    let known = store.territories().await?.into_iter().map(|territory| territory.kato).collect();
    let import = check_territory_rows(&rows, &known)
        .map_err(|errors| anyhow::anyhow!("the demo territories are invalid: {errors:?}"))?;
    store.import_territories(&import.new, now).await?;
    Ok(store.territories().await?)
}

/// The demo akim's calendar for this year, agreed with the maslikhat: one meeting in each
/// territory the rule set asks them to cover, every period (a village's meeting also covers its
/// rural okrug), so that the calendar and compliance pages have something to show.
async fn create_demo_calendar(
    store: &dyn Store,
    rules: &RuleSet,
    akim: kezdesu_core::AccountId,
    district: &crate::store::Territory,
    territories: &[crate::store::Territory],
    today: jiff::civil::Date,
    now: Timestamp,
) -> anyhow::Result<()> {
    use crate::store::NewRevision;
    use kezdesu_core::calendar::{Unit, coverage};
    use kezdesu_core::yearly::{Approval, ApprovalStep, Entry, approve};
    let units: Vec<Unit> = territories.iter().map(crate::store::Territory::unit).collect();
    let akim_unit = district.unit();
    let year = today.year();
    let mut entries = Vec::new();
    for period in coverage(&rules.calendar, akim_unit, &units, &[], year) {
        let covered: Vec<_> = period.units.iter().map(|unit| unit.territory).collect();
        // Only the innermost covered territories: a meeting there covers those around it too.
        let innermost = covered
            .iter()
            .filter(|id| !units.iter().any(|unit| unit.parent == Some(**id) && covered.contains(&unit.id)));
        for (index, territory) in innermost.enumerate() {
            let offset = i64::try_from(10 + index % 15).unwrap_or(10);
            let place = territories
                .iter()
                .find(|candidate| candidate.id == *territory)
                .map(|candidate| format!("{}, мәдениет үйі", candidate.name.kk))
                .unwrap_or_default();
            entries.push(Entry {
                territory: *territory,
                on: period.first_day.saturating_add(jiff::Span::new().days(offset)),
                starts_at: jiff::civil::Time::new(11, 0, 0, 0).ok(),
                place,
                online_link: String::new(),
            });
        }
    }
    let revision = NewRevision {
        akim,
        territory: district.id,
        year,
        after: None,
        reason: String::new(),
        entries,
        created_by: akim,
    };
    let revision = store.create_revision(revision, now).await?;
    let agreed_on = jiff::civil::date(year, 1, 10).min(today);
    let step = ApprovalStep::Agree { on: agreed_on, decision: "№ 1-демо".into() };
    let approval: Approval = approve(&revision.approval, step, year, None, today)?;
    store.set_calendar_approval(revision.id, revision.version, &approval, now).await?;
    Ok(())
}

/// A problem issue of the demo meeting, taken up and planned, so that the public issue list and
/// the issue page show what the register keeps.
async fn create_demo_issue(
    config: &Config,
    store: &dyn Store,
    meeting: MeetingId,
    admin: kezdesu_core::AccountId,
    now: Timestamp,
) -> anyhow::Result<()> {
    use crate::store::{ActionPlanEntry, Change, NewIssue, NewSource};
    use kezdesu_core::issues::{IssueStatus, SourceKind};
    let id = store
        .create_issue(
            NewIssue {
                meeting: Some(meeting),
                territory: None,
                title: "Освещение улицы Абая (демо)".into(),
                description: "На улице Абая не горят фонари от школы до остановки.".into(),
                category: config
                    .register
                    .categories
                    .iter()
                    .any(|category| category.code == "landscaping")
                    .then(|| "landscaping".into()),
                source: NewSource {
                    kind: SourceKind::Commission,
                    channel: None,
                    external_id: None,
                    text: "На улице Абая не горят фонари от школы до остановки.".into(),
                    supporters: 14,
                    received_at: now,
                    receipt_code: None,
                    contact: None,
                    created_by: Some(admin),
                },
            },
            now,
        )
        .await?;
    // The way the commission would: accept, plan an item, then mark it planned.
    let status = |issue: &mut crate::store::RegisterIssue, from: IssueStatus, to: IssueStatus| {
        issue.status = to;
        issue.accepted_at = issue.accepted_at.or(Some(now));
        Change {
            by: admin,
            action: "status",
            detail: serde_json::json!({ "from": from, "to": to }).to_string(),
        }
    };
    let mut issue = store.issue(id).await?;
    let change = status(&mut issue, IssueStatus::New, IssueStatus::Accepted);
    store.update_issue(&issue, change, now).await?;
    // Sixty days from today as the meetings' zone counts days, the zone every deadline is read in.
    let zone = jiff::tz::TimeZone::get(&config.meetings.time_zone)?;
    let deadline = now.to_zoned(zone).date().saturating_add(jiff::Span::new().days(60));
    let entry = ActionPlanEntry {
        measure: "Заменить светильники на улице Абая".into(),
        executor_organisation: "ГУ «Отдел ЖКХ»".into(),
        executor_person: "Начальник отдела".into(),
        deadline,
        financing_needed: false,
        financing_amount: None,
        maslikhat_session_on: None,
        done_on: None,
    };
    let detail =
        serde_json::json!({ "measure": entry.measure, "deadline": deadline.to_string() }).to_string();
    store.add_action_item(id, &entry, Change { by: admin, action: "action_added", detail }, now).await?;
    let mut issue = store.issue(id).await?;
    let change = status(&mut issue, IssueStatus::Accepted, IssueStatus::Planned);
    store.update_issue(&issue, change, now).await?;
    Ok(())
}

async fn create_demo(
    config: &Config,
    address: SocketAddr,
    store: &dyn Store,
    rules: &RuleSet,
    now: Timestamp,
) -> anyhow::Result<MeetingId> {
    let planned_minutes = demo_planned_minutes(config, rules)?;
    let territories = import_demo_territories(store, now).await?;
    let find = |kato: &str| {
        territories
            .iter()
            .find(|territory| territory.kato == kato)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the demo territories lack {kato}"))
    };
    let district = find(DEMO_DISTRICT)?;
    let settlement = find(DEMO_SETTLEMENT)?;
    let akim_password = new_password();
    let akim =
        create_account(store, "demo-akim", "Demo akim", Role::Akim, &akim_password, Some(district.id), now)
            .await?;
    let zone = jiff::tz::TimeZone::get(&config.meetings.time_zone)?;
    create_demo_calendar(store, rules, akim, &district, &territories, now.to_zoned(zone).date(), now).await?;
    let planned_start = (now + SignedDuration::from_mins(i64::from(config.demo.starts_in_minutes)))
        .round(jiff::Unit::Minute)?;
    let meeting = store
        .create_meeting(
            NewMeeting {
                title: LocalizedText {
                    kk: "Әкімнің тұрғындармен кездесуі (демо)".into(),
                    ru: "Встреча акима с населением (демо)".into(),
                    en: "The akim meets the population (demo)".into(),
                },
                territory: settlement.id,
                akim,
                planned_start,
                planned_minutes,
                kind: MeetingKind::Calendar,
                presentation_share: rules.meeting.presentation_share,
                place: "Жаңаарқа кенті, мәдениет үйі / посёлок Жанаарка, дом культуры".into(),
                online_link: String::new(),
            },
            now,
        )
        .await?;
    eprintln!("A demo meeting was created. Open it in a browser:");
    // A wildcard address is not one a browser can open; show the loopback one instead.
    let host = if address.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), address.port())
    } else {
        address
    };
    eprintln!("  http://{host}/meetings/{}", meeting.id);
    eprintln!("Its akim signs in as demo-akim with the password {akim_password}\n");
    Ok(meeting.id)
}
