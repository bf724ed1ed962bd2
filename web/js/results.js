// Owns the meeting page's results section (#results in meeting.html), shown once the meeting has
// ended: the decree's deadline as a badge (due by, overdue, published on), the published summary
// (plain text, line breaks kept by CSS), and for those who may publish (the commission, the
// meeting's akim, admins) a form that PUTs the summary. The deadlines come with the meeting
// (GET /api/meetings/{id}) and say whether the results are out; only then is the summary read
// (GET /api/meetings/{id}/results, 404 until published). The results carry the meeting's public
// problem issues with their action plans: each is listed with its status and, per plan item, the
// measure, the executors and the deadline.

import { api, describeError } from './api.js';
import { formatCalendarDate, formatMeetingDate, formatMeetingDateTime, registerStrings, t } from './i18n.js';
import { mayPublishResults, setText } from './meeting-view.js';
import { formatDay, issueLink, make, overdueBadge, statusBadge } from './register-view.js';
import resultsStrings from './strings/results.js';

registerStrings(resultsStrings);

const byId = (id) => document.getElementById(id);

/**
 * Which badge the deadlines call for: due | overdue | published | published-late, or null when
 * there are no deadlines (the meeting has not ended).
 */
export function resultsBadgeState(deadlines) {
  if (!deadlines || typeof deadlines !== 'object') return null;
  if (deadlines.results_published_at) return deadlines.results_overdue ? 'published-late' : 'published';
  return deadlines.results_overdue ? 'overdue' : 'due';
}

const BADGE_KEYS = {
  due: 'results.badge.due',
  overdue: 'results.badge.overdue',
  published: 'results.badge.published',
  'published-late': 'results.badge.publishedLate',
};

function saveErrorText(error) {
  const code = error?.problem?.code;
  if (code === 'invalid_summary' || code === 'meeting_not_ended') return t(`results.error.${code}`);
  if (error?.status === 401) return t('results.error.signedOut');
  if (error?.status === 403) return t('results.error.forbidden');
  return describeError(error);
}

/**
 * Mounts the results section. `getMeeting()` and `getAccount()` give the page's current copies;
 * `onDeadlines(deadlines)` takes the fresher deadlines a publication answers with. Returns
 * {render()}; the page calls it whenever the meeting, the account or the language changes.
 */
export function mountResults({ meetingId, getMeeting, getAccount, onDeadlines = () => {} }) {
  const el = {
    root: byId('results'),
    badgeRow: byId('results-badge-row'),
    badge: byId('results-badge'),
    deadlines: byId('results-deadlines'),
    endedOn: byId('results-ended-on'),
    due: byId('results-due'),
    published: byId('results-published'),
    summary: byId('results-summary'),
    updated: byId('results-updated'),
    issues: byId('results-issues'),
    issueList: byId('results-issue-list'),
    status: byId('results-status'),
    loadError: byId('results-load-error'),
    form: byId('results-form'),
    text: byId('results-text'),
    submit: byId('results-submit'),
    saved: byId('results-saved'),
    error: byId('results-error'),
  };

  let results = null; // the published results, once read
  let loading = false;
  let loadFailed = false;
  let loadedFor = null; // the publication instant the last read was made for
  let saving = false;
  let savedKey = null;
  let errorText = '';
  let dirty = false; // the textarea holds the editor's own text, not to be overwritten
  let issuesShownFor = null; // the results and language the issue list was built for

  /** The deadlines to show: those that know of a publication, else the meeting's. */
  function currentDeadlines(meeting) {
    const fromMeeting = meeting?.deadlines ?? null;
    const fromResults = results?.deadlines ?? null;
    if (fromResults?.results_published_at && !fromMeeting?.results_published_at) return fromResults;
    return fromMeeting ?? fromResults;
  }

  function isPublished(meeting) {
    return results !== null || Boolean(currentDeadlines(meeting)?.results_published_at);
  }

  function load(publishedAt) {
    loading = true;
    loadFailed = false;
    loadedFor = publishedAt;
    api
      .get(`/api/meetings/${meetingId}/results`)
      .then(
        (answer) => {
          results = answer && typeof answer === 'object' ? answer : null;
        },
        (error) => {
          if (error.status !== 404) loadFailed = true; // 404: not published after all
        },
      )
      .finally(() => {
        loading = false;
        render();
      });
  }

  function render() {
    const meeting = getMeeting();
    const ended = meeting?.phase === 'ended' || meeting?.deadlines != null;
    el.root.hidden = !ended;
    if (!ended) return;

    // Read the results once the deadlines say they are published (on the page's first look, or
    // later by someone else), once per publication.
    const publishedAt = meeting.deadlines?.results_published_at ?? null;
    if (!loading && publishedAt !== null && results === null && loadedFor !== publishedAt) load(publishedAt);

    renderDeadlines(meeting);
    renderSummary(meeting);
    renderForm(meeting);
  }

  function renderDeadlines(meeting) {
    const deadlines = currentDeadlines(meeting);
    const state = resultsBadgeState(deadlines);
    el.badgeRow.hidden = state === null;
    el.deadlines.hidden = state === null;
    if (state === null) return;
    const date = deadlines.results_published_at
      ? formatMeetingDate(deadlines.results_published_at, meeting.time_zone)
      : formatCalendarDate(deadlines.results_due);
    el.badge.className = `badge badge--${state}`;
    el.badge.dataset.state = state;
    setText(el.badge, t(BADGE_KEYS[state], { date }));
    setText(el.endedOn, formatCalendarDate(deadlines.ended_on));
    setText(el.due, formatCalendarDate(deadlines.results_due));
  }

  function renderSummary(meeting) {
    el.published.hidden = results === null;
    if (results !== null) {
      setText(el.summary, results.summary ?? '');
      const edited = results.updated_at && results.updated_at !== results.published_at;
      el.updated.hidden = !edited;
      const time = edited ? formatMeetingDateTime(results.updated_at, meeting.time_zone) : '';
      setText(el.updated, edited ? t('results.updated', { time }) : '');
      renderIssues(Array.isArray(results.issues) ? results.issues : []);
    }
    // Until the deadlines are known, nobody can tell whether the results are out.
    const unknown = currentDeadlines(meeting) === null;
    let status = '';
    if (results === null && (loading || unknown)) status = t('common.loading');
    else if (results === null && !loadFailed) status = t('results.none');
    setText(el.status, status);
    setText(el.loadError, loadFailed ? t('results.loadFailed') : '');
  }

  /** The meeting's issues, most supporters first, each with its action plan. */
  function renderIssues(issues) {
    el.issues.hidden = issues.length === 0;
    // Rebuilt only for new results or another language, so focus and selection survive renders.
    const shownFor = { results, language: document.documentElement.lang };
    if (issuesShownFor?.results === shownFor.results && issuesShownFor.language === shownFor.language) return;
    issuesShownFor = shownFor;
    el.issueList.replaceChildren(...issues.map(resultIssue));
  }

  function resultIssue(issue) {
    const item = make('li', 'results-issue');
    item.dataset.issue = String(issue.id);
    const heading = make('p', 'results-issue__title');
    heading.append(issueLink(issue), ' ', statusBadge(issue.status));
    item.append(heading);
    const actions = issue.actions ?? [];
    if (actions.length === 0) {
      item.append(make('p', 'hint', t('results.issues.noPlan')));
      return item;
    }
    const plan = make('ul', 'results-plan');
    for (const action of actions) {
      const entry = make('li', 'results-plan__item');
      entry.append(make('span', 'results-plan__measure', action.measure));
      const executor = [action.executor_organisation, action.executor_person].filter(Boolean).join(', ');
      entry.append(make('span', 'results-plan__executor', t('results.issues.executor', { executor })));
      const due = t('results.issues.deadline', { date: formatDay(action.deadline) });
      const deadline = make('span', 'results-plan__deadline', due);
      if (action.done_on) {
        const done = t('results.issues.done', { date: formatDay(action.done_on) });
        deadline.append(' ', make('span', 'results-plan__done', done));
      } else if (action.overdue) {
        deadline.append(' ', overdueBadge());
      }
      entry.append(deadline);
      plan.append(entry);
    }
    item.append(plan);
    return item;
  }

  function renderForm(meeting) {
    const may = mayPublishResults(getAccount(), meeting) && meeting.phase === 'ended';
    el.form.hidden = !may;
    if (!may) return;
    if (!dirty && results !== null && el.text.value !== results.summary) el.text.value = results.summary;
    el.submit.disabled = saving;
    const label = isPublished(meeting) ? 'results.form.update' : 'results.form.publish';
    setText(el.submit, t(saving ? 'results.form.saving' : label));
    setText(el.saved, savedKey ? t(savedKey) : '');
    setText(el.error, errorText);
    if (errorText) el.text.setAttribute('aria-invalid', 'true');
    else el.text.removeAttribute('aria-invalid');
  }

  async function publish(event) {
    event.preventDefault();
    if (saving) return;
    const summary = el.text.value;
    savedKey = null;
    if (summary.trim() === '') {
      errorText = t('results.error.empty');
      render();
      el.text.focus();
      return;
    }
    const wasPublished = isPublished(getMeeting());
    saving = true;
    errorText = '';
    render();
    try {
      const answer = await api.put(`/api/meetings/${meetingId}/results`, { summary });
      results = answer;
      loadFailed = false;
      dirty = false;
      el.text.value = answer.summary;
      savedKey = wasPublished ? 'results.form.updated' : 'results.form.published';
      if (answer.deadlines) onDeadlines(answer.deadlines);
    } catch (error) {
      errorText = saveErrorText(error);
    } finally {
      saving = false;
      render();
    }
  }

  el.text.addEventListener('input', () => {
    dirty = true;
    if (savedKey !== null || errorText !== '') {
      savedKey = null;
      errorText = '';
      render();
    }
  });
  el.form.addEventListener('submit', publish);

  return { render };
}
