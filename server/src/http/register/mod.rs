//! The register of problem issues: the public list, the commission's pool and workspace
//! (entries, merging, categories, status, action plans, progress), the public request form,
//! and receipts that let a citizen follow what they raised.
//!
//! Reading is public for issues in the public list (`publicly_listed` in the core). The
//! commission and admins keep the whole register; an akim manages the issues of the meetings
//! they hold (`may_manage_issue`). A citizen's name and contact are answered only by
//! `GET /api/issues/{id}/contacts`, to those who manage the issue.
//!
//! A room per noun: `issues` (the list, one issue, entering, editing, status, merging,
//! categories, the briefing), `actions` (action plans), `progress`, `history` (with the
//! contacts), `requests` (the public form and receipts) and `io` (imports and exports). What
//! they share (text checks, paging, the issue view, receipts' codes) is here.

pub mod actions;
pub mod history;
pub mod io;
pub mod issues;
pub mod progress;
pub mod requests;

use super::caller::Caller;
use super::{ApiError, AppState};
use crate::store::{Contact, IssueFilter, IssueOrder, RegisterIssue};
use crate::wire::IssueView;
use jiff::Timestamp;
use jiff::civil::Date;
use kezdesu_core::issues::register::publicly_listed;
use kezdesu_core::issues::{EscalationLevel, IssueStatus};
use kezdesu_core::{IssueId, MeetingId, TerritoryId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const MAX_TITLE_CHARS: usize = kezdesu_core::issues::import::MAX_TITLE_CHARS;
pub const MAX_TEXT_CHARS: usize = kezdesu_core::issues::import::MAX_TEXT_CHARS;
const MAX_NAME_CHARS: usize = 200;
const MAX_CONTACT_CHARS: usize = 200;
const MAX_NOTE_CHARS: usize = 2000;
const MAX_PAGE_SIZE: u32 = 200;

/// Whether the caller keeps the whole register (the commission, admins), and so lists every
/// issue, public or not.
pub fn keeps_register(caller: Option<&Caller>) -> bool {
    caller.is_some_and(|caller| caller.principal.may_keep_register())
}

pub fn require_keeper(caller: &Caller) -> Result<(), ApiError> {
    if caller.principal.may_keep_register() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the commission and admins keep the register"))
    }
}

pub(crate) fn clean_text(
    field: &'static str,
    raw: &str,
    max: usize,
    multiline: bool,
) -> Result<String, ApiError> {
    kezdesu_core::text::clean(raw, max, multiline)
        .map_err(|error| ApiError::invalid("invalid_field", format!("{field} {error}")))
}

fn optional_text(field: &'static str, raw: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => clean_text(field, text, max, true).map(Some),
    }
}

fn check_category(state: &AppState, code: Option<&str>) -> Result<Option<String>, ApiError> {
    match code.map(str::trim).filter(|code| !code.is_empty()) {
        None => Ok(None),
        Some(code) if state.config.register.categories.iter().any(|category| category.code == code) => {
            Ok(Some(code.to_owned()))
        }
        Some(code) => Err(ApiError::invalid(
            "unknown_category",
            format!("{code:?} is not a configured category; see GET /api/issues/categories"),
        )),
    }
}

fn parse_date(field: &'static str, text: &str) -> Result<Date, ApiError> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| ApiError::invalid("invalid_date", format!("{field} must be a date, YYYY-MM-DD")))
}

/// A fresh receipt code: a random token, as sign-ins get.
fn receipt_code() -> String {
    crate::auth::new_token()
}

fn receipt_url(code: &str) -> String {
    format!("/receipt.html?code={code}")
}

impl AppState {
    pub(crate) fn today(&self) -> Date {
        self.clock.day(Timestamp::now())
    }

    pub(crate) fn issue_view(&self, issue: &RegisterIssue, full: bool) -> IssueView {
        IssueView::of(issue, &self.rules.issues, self.today(), &self.clock, full)
    }

    /// Whether the caller manages `issue`: changes it and reads it in full, contacts included.
    async fn manages(&self, caller: Option<&Caller>, issue: &RegisterIssue) -> Result<bool, ApiError> {
        let Some(caller) = caller else { return Ok(false) };
        if caller.principal.may_keep_register() {
            return Ok(true);
        }
        let akim = match issue.meeting {
            Some(meeting) => Some(self.store.meeting(meeting).await?.akim),
            None => None,
        };
        Ok(caller.principal.may_manage_issue(akim))
    }

    /// The issue, for a caller who manages it; 403 otherwise.
    async fn managed_issue(&self, caller: &Caller, id: i64) -> Result<RegisterIssue, ApiError> {
        let issue = self.store.issue(IssueId(id)).await?;
        if self.manages(Some(caller), &issue).await? {
            Ok(issue)
        } else {
            Err(ApiError::Forbidden("the commission, admins and the akim of the issue's meeting manage it"))
        }
    }

    /// The issue and whether the caller manages it, if the caller may read it: managers read
    /// it in full, everyone else only a public issue (404 otherwise, so that unpublished ids are
    /// not confirmed). A merged issue is public when it was itself and the one it joined is.
    async fn readable_issue(
        &self,
        id: i64,
        caller: Option<&Caller>,
    ) -> Result<(RegisterIssue, bool), ApiError> {
        let issue = self.store.issue(IssueId(id)).await?;
        if self.manages(caller, &issue).await? {
            return Ok((issue, true));
        }
        let mut public = publicly_listed(issue.status, issue.raised_live(), false);
        if let Some(into) = issue.merged_into {
            let target = self.store.issue(into).await?;
            public = public && publicly_listed(target.status, target.raised_live(), false);
        }
        if public { Ok((issue, false)) } else { Err(ApiError::NotFound("issue")) }
    }

    /// The issues matching the list filters that the caller may read, in the asked order, and
    /// how many match in all. With `page` (number from 1, size), only that page is read: in SQL,
    /// unless the overdue filter is asked for, which depends on today and is worked out here
    /// over the issues being acted on (the only ones that can be late).
    pub(crate) async fn listed_issues(
        &self,
        query: &IssueQuery,
        caller: Option<&Caller>,
        page: Option<(u32, u32)>,
    ) -> Result<(Vec<RegisterIssue>, u64), ApiError> {
        let mut filter = self.issue_filter(query, caller).await?;
        let skipped = |page: u32, size: u32| u64::from(page.saturating_sub(1)) * u64::from(size);
        let Some(wanted) = query.overdue else {
            let Some((number, size)) = page else {
                let issues = self.store.issues(&filter).await?;
                let total = issues.len() as u64;
                return Ok((issues, total));
            };
            let total = self.store.count_issues(&filter).await?;
            filter.limit = Some(size);
            filter.offset = skipped(number, size);
            return Ok((self.store.issues(&filter).await?, total));
        };
        let matching: Vec<RegisterIssue> = self
            .store
            .issues(&filter)
            .await?
            .into_iter()
            .filter(|issue| self.is_overdue(issue) == wanted)
            .collect();
        let total = matching.len() as u64;
        let issues = match page {
            None => matching,
            Some((number, size)) => matching
                .into_iter()
                .skip(usize::try_from(skipped(number, size)).unwrap_or(usize::MAX))
                .take(size as usize)
                .collect(),
        };
        Ok((issues, total))
    }

    /// Whether something of the issue is late today.
    pub(crate) fn is_overdue(&self, issue: &RegisterIssue) -> bool {
        let dates = crate::wire::issue_dates(issue, &self.clock);
        self.rules.issues.issue_deadlines(&dates, self.today()).overdue
    }

    /// The store filter for the list's query and caller (all but the overdue flag, which
    /// depends on today). Readers who do not keep the register get the public list only.
    pub(crate) async fn issue_filter(
        &self,
        query: &IssueQuery,
        caller: Option<&Caller>,
    ) -> Result<IssueFilter, ApiError> {
        let territories = match query.territory_id {
            None => None,
            Some(root) => Some(self.territory_and_inside(TerritoryId(root)).await?),
        };
        Ok(IssueFilter {
            meeting: query.meeting_id.map(MeetingId),
            territories,
            statuses: query.status.map(|status| vec![status]),
            acting_only: query.overdue == Some(true),
            categories: query.category.clone().map(|category| vec![category]),
            level: query.level,
            public_only: !keeps_register(caller),
            order: query.sort.unwrap_or_default().into(),
            ..IssueFilter::default()
        })
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IssueSort {
    /// Most supporters first.
    #[default]
    Priority,
    Newest,
    Oldest,
    /// Most recently changed first.
    Updated,
}

impl From<IssueSort> for IssueOrder {
    fn from(sort: IssueSort) -> IssueOrder {
        match sort {
            IssueSort::Priority => IssueOrder::Priority,
            IssueSort::Newest => IssueOrder::Newest,
            IssueSort::Oldest => IssueOrder::Oldest,
            IssueSort::Updated => IssueOrder::Updated,
        }
    }
}

/// Filters of the issue list (and of its exports).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssueQuery {
    /// Issues raised for this meeting.
    pub meeting_id: Option<i64>,
    /// Issues on this territory or any below it.
    pub territory_id: Option<i64>,
    pub status: Option<IssueStatus>,
    pub category: Option<String>,
    /// Escalated to this level.
    pub level: Option<EscalationLevel>,
    /// Only issues with something late (true), or with nothing late (false).
    pub overdue: Option<bool>,
    #[param(inline)]
    pub sort: Option<IssueSort>,
    /// Only for the list, which documents it itself: the export holds every issue.
    #[param(ignore)]
    pub page: Option<u32>,
    /// Only for the list, like `page`.
    #[param(ignore)]
    pub page_size: Option<u32>,
    /// Only for the export, which documents it itself: the list is always JSON.
    #[param(ignore)]
    pub format: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssuePage {
    pub items: Vec<IssueView>,
    /// Issues matching the filters, over all pages.
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

/// Which page `query` asks for: (page from 1, page size).
pub fn paging(page: Option<u32>, page_size: Option<u32>) -> Result<(u32, u32), ApiError> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(50);
    if page == 0 || !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::invalid(
            "invalid_paging",
            format!("page starts at 1 and page_size is 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    Ok((page, size))
}

/// A citizen on whose behalf a request is entered.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenContact {
    #[schema(min_length = 1)]
    pub name: String,
    /// A phone number or an e-mail address.
    pub contact: Option<String>,
}

fn contact_of(citizen: Option<&CitizenContact>) -> Result<Option<Contact>, ApiError> {
    citizen
        .map(|citizen| {
            Ok(Contact {
                name: clean_text("citizen.name", &citizen.name, MAX_NAME_CHARS, false)?,
                contact: optional_text("citizen.contact", citizen.contact.as_deref(), MAX_CONTACT_CHARS)?,
            })
        })
        .transpose()
}

fn refuse_merged(issue: &RegisterIssue) -> Result<(), ApiError> {
    match issue.merged_into {
        Some(into) => Err(ApiError::conflict(
            "issue_merged",
            format!("this issue was merged into issue {into}; change that one"),
        )),
        None => Ok(()),
    }
}
