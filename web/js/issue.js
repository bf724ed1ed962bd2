// Owns an issue's page (/issue.html?id=N): its status and note, level, facts, description,
// deadlines with overdue flags, the action plan, progress reports, sources and history; and for
// those who keep the register (the commission, akims, admins; GET /api/session) the commission's
// workspace on the same page: change the status, edit the wording, category, territory and
// briefing mark, add to the action plan and mark items done, report progress, merge into another
// issue, and read the citizens' contacts (personal data, loaded only for keepers). A live
// question's source raised in comments written on social-media platforms names each platform,
// with a link to the comment there (from the meeting's issue list, whose sources carry it).

import { api, describeError, fetchSession } from './api.js';
import { formatNumber, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import { platformBadge } from './platforms.js';
import {
  ACTING_STATUSES,
  LEVELS,
  isKeeper,
  nextStatuses,
  parseIssueId,
  parseTenge,
  todayIn,
} from './register-model.js';
import {
  actionTable,
  categoryName,
  deadlineFacts,
  describeHistory,
  fillCategorySelect,
  fillCodeSelect,
  fillTerritorySelect,
  formatDay,
  formatInstant,
  issueStatusName,
  levelName,
  loadCategories,
  loadTerritories,
  make,
  overdueBadge,
  progressList,
  sourceKindName,
  statusBadge,
  territoryName,
} from './register-view.js';
import platformsStrings from './strings/platforms.js';
import issueStrings from './strings/issue.js';

registerStrings(platformsStrings);
registerStrings(issueStrings);

const byId = (id) => document.getElementById(id);
const issueId = parseIssueId(new URLSearchParams(location.search).get('id'));

let issue = null;
let historyEntries = null; // null until read
let historyFailed = false;
let account = null;
let categories = [];
let territories = [];
let meeting = null; // the meeting the issue was raised for, for its title
/** `${meeting}:${question}` → the platform sources of the question's comments. */
const platformSources = new Map();
const platformSourcesRead = new Set(); // meetings whose issue list was asked for
let contacts = null;
let contactsState = 'idle'; // idle | loading | loaded | failed
let messageKey = 'common.loading';
let editDirty = false; // the edit form holds the keeper's own changes: not overwritten
const busy = new Set(); // forms with a call in flight

// ---------------------------------------------------------------------------------------------
// Reading

function render() {
  const message = byId('page-message');
  message.hidden = messageKey === null;
  message.textContent = messageKey ? t(messageKey) : '';
  byId('issue').hidden = issue === null;
  byId('signin-link').href = `/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
  if (issue === null) return;
  renderHeader();
  renderFacts();
  byId('issue-description').textContent = issue.description || t('issue.noDescription');
  renderDeadlines();
  renderPlan();
  renderProgress();
  renderSources();
  renderHistory();
  renderWorkspace();
}

function renderHeader() {
  document.title = `${issue.title} — Kezdesu`;
  byId('issue-number').textContent = t('issue.numbered', { id: issue.id });
  byId('issue-title').textContent = issue.title;
  const badges = byId('issue-badges');
  const parts = [statusBadge(issue.status)];
  if (issue.level) parts.push(make('span', 'badge badge--level', levelName(issue.level)));
  if (issue.public === false) {
    const hidden = make('span', 'badge badge--private', t('issue.notPublic'));
    hidden.dataset.private = 'true';
    parts.push(hidden);
  }
  if (issue.deadlines?.overdue) parts.push(overdueBadge());
  if (issue.on_briefing && isKeeper(account)) parts.push(make('span', 'badge badge--briefing', t('issue.onBriefing')));
  badges.replaceChildren(...parts.flatMap((part, index) => (index ? [' ', part] : [part])));

  const merged = issue.merged_into != null;
  byId('issue-merged').hidden = !merged;
  if (merged) {
    byId('issue-merged-text').textContent = t('issue.mergedInto');
    const link = byId('issue-merged-link');
    link.href = `/issue.html?id=${encodeURIComponent(issue.merged_into)}`;
    link.textContent = t('issue.numbered', { id: issue.merged_into });
  }
  const note = byId('issue-note');
  note.hidden = !issue.status_note;
  note.textContent = issue.status_note
    ? t(issue.status === 'rejected' ? 'issue.rejectReason' : 'issue.statusNote', { note: issue.status_note })
    : '';
}

function renderFacts() {
  const facts = byId('issue-facts');
  const rows = [];
  const add = (labelKey, value) => {
    const row = make('div');
    const dd = make('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value;
    row.append(make('dt', null, t(labelKey)), dd);
    rows.push(row);
  };
  add('issue.status', issueStatusName(issue.status));
  if (issue.level) add('issue.level', levelName(issue.level));
  add('issue.category', issue.category ? categoryName(categories, issue.category) : t('issue.noCategory'));
  if (issue.territory_id != null) add('issue.territory', territoryName(territories, issue.territory_id));
  if (issue.meeting_id != null) {
    const name = meeting ? pickLocalized(meeting.title) : t('issue.meetingNumbered', { id: issue.meeting_id });
    const link = make('a', null, name);
    link.href = `/meetings/${encodeURIComponent(issue.meeting_id)}`;
    add('issue.meeting', link);
  }
  add('issue.supporters', formatNumber(issue.supporters ?? 0));
  add('issue.raisedAt', formatInstant(issue.raised_at));
  if (issue.accepted_at) add('issue.acceptedAt', formatInstant(issue.accepted_at));
  if (issue.escalated_at) add('issue.escalatedAt', formatInstant(issue.escalated_at));
  add('issue.updatedAt', formatInstant(issue.updated_at));
  facts.replaceChildren(...rows);
}

function renderDeadlines() {
  const facts = deadlineFacts(issue);
  byId('issue-deadlines').replaceChildren(...(facts ? [facts] : []));
  byId('deadlines-empty').hidden = facts !== null;
}

function mayAct() {
  return isKeeper(account) && issue.merged_into == null && ACTING_STATUSES.includes(issue.status);
}

function renderPlan() {
  const items = issue.actions ?? [];
  byId('plan-empty').hidden = items.length > 0;
  if (items.length === 0) {
    byId('issue-plan').replaceChildren();
    return;
  }
  const extraColumn = mayAct()
    ? { heading: t('ws.plan.actions'), cell: (item) => (item.done_on ? null : markDoneButton(item)) }
    : null;
  byId('issue-plan').replaceChildren(actionTable(issue, { extraColumn, caption: t('issue.plan.caption') }));
}

function markDoneButton(item) {
  const button = make('button', 'button button--quiet button--small', t('ws.plan.markDone'));
  button.type = 'button';
  button.dataset.markDone = String(item.id);
  button.setAttribute('aria-label', t('ws.plan.markDoneFor', { measure: item.measure }));
  button.disabled = busy.has('plan');
  return button;
}

function renderProgress() {
  const reports = issue.progress ?? [];
  byId('progress-empty').hidden = reports.length > 0;
  byId('issue-progress').replaceChildren(...(reports.length ? [progressList(issue)] : []));
}

function renderSources() {
  const items = (issue.sources ?? []).map((source) => {
    const item = make('li', 'source');
    item.dataset.kind = source.kind;
    const meta = [sourceKindName(source.kind), formatInstant(source.received_at)];
    if (source.question != null) meta.push(t('issue.sources.question', { n: source.question }));
    if (source.channel) {
      meta.push(source.external_id ? `${source.channel}: ${source.external_id}` : source.channel);
    }
    meta.push(t('issue.supportersCount', { n: formatNumber(source.supporters ?? 0) }));
    item.append(make('p', 'source__meta', meta.join(' · ')));
    if (typeof source.text === 'string' && source.text !== '') {
      item.append(make('p', 'source__text multiline', source.text));
    }
    const onPlatforms = sourcePlatforms(source);
    if (onPlatforms.length > 0) {
      const line = make('p', 'source__platforms', `${t('platforms.issue.from')} `);
      onPlatforms.forEach((platform, index) => {
        if (index > 0) line.append(', ');
        line.append(platformBadge(platform));
      });
      item.append(line);
    }
    return item;
  });
  byId('issue-sources').replaceChildren(...items);
}

/**
 * The platforms a source was written on: its own `source` when the register gives one, else,
 * for a live question, those of the question's comments in the meeting's issue list.
 */
function sourcePlatforms(source) {
  if (source.source && typeof source.source === 'object') return [source.source];
  if (source.kind !== 'live_question' || source.meeting_id == null || source.question == null) return [];
  return platformSources.get(`${source.meeting_id}:${source.question}`) ?? [];
}

/** Reads the meetings' issue lists (public) for the live questions' comment sources. */
function loadPlatformSources() {
  for (const source of issue?.sources ?? []) {
    if (source.kind !== 'live_question' || source.meeting_id == null || source.source) continue;
    if (platformSourcesRead.has(source.meeting_id)) continue;
    platformSourcesRead.add(source.meeting_id);
    api.get(`/api/meetings/${source.meeting_id}/issues`).then(
      (answer) => {
        for (const question of Array.isArray(answer?.issues) ? answer.issues : []) {
          const found = (question.sources ?? []).map((comment) => comment?.source).filter((value) => value && typeof value === 'object');
          if (found.length > 0) platformSources.set(`${source.meeting_id}:${question.question}`, found);
        }
        if (issue) renderSources();
      },
      () => {},
    );
  }
}

function renderHistory() {
  const list = byId('issue-history');
  const status = byId('history-status');
  if (historyEntries === null) {
    list.replaceChildren();
    status.textContent = historyFailed ? t('issue.history.failed') : t('common.loading');
    return;
  }
  status.textContent = historyEntries.length === 0 ? t('issue.history.none') : '';
  list.replaceChildren(
    ...historyEntries.map((entry) => {
      const item = make('li', 'history-entry');
      item.dataset.action = entry.action;
      const time = make('time', 'history-entry__at', formatInstant(entry.at));
      time.dateTime = entry.at;
      const meta = make('p', 'history-entry__meta');
      meta.append(time);
      // No official: the live channel did it, or (for a request's arrival) the citizen, whom the
      // entry's words already name as a request.
      const by = entry.by ?? (entry.action === 'created' ? null : t('issue.history.liveChannel'));
      if (by) meta.append(' · ', make('span', 'history-entry__by', by));
      item.append(meta, make('p', 'history-entry__text', describeHistory(entry, { categories, territories })));
      return item;
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The commission's workspace

function renderWorkspace() {
  const keeper = isKeeper(account);
  byId('workspace').hidden = !keeper;
  if (!keeper) return;
  const merged = issue.merged_into != null;
  byId('ws-merged').hidden = !merged;
  for (const part of document.querySelectorAll('.workspace__part--change')) part.hidden = merged;

  // Status: only the changes the workflow allows.
  const allowed = nextStatuses(issue.status);
  byId('status-closed').hidden = allowed.length > 0;
  byId('status-form').hidden = allowed.length === 0;
  const statusSelect = byId('status-select');
  fillCodeSelect(statusSelect, allowed, issueStatusName, null, statusSelect.value);
  fillCodeSelect(byId('status-level'), LEVELS, levelName, null, byId('status-level').value);
  byId('status-level-field').hidden = statusSelect.value !== 'escalated';

  // Edit: the current values, unless the keeper is typing.
  fillCategorySelect(
    byId('edit-category'),
    categories,
    'ws.edit.noCategory',
    editDirty ? undefined : issue.category ?? '',
  );
  fillTerritorySelect(
    byId('edit-territory'),
    territories,
    'ws.edit.noTerritory',
    editDirty ? undefined : issue.territory_id ?? '',
  );
  if (!editDirty) {
    byId('edit-title').value = issue.title;
    byId('edit-description').value = issue.description ?? '';
    byId('edit-briefing').checked = Boolean(issue.on_briefing);
  }

  const acting = ACTING_STATUSES.includes(issue.status);
  byId('action-form').hidden = !acting;
  byId('action-closed').hidden = acting;
  byId('action-financing-fields').hidden = !byId('action-financing').checked;
  const progressOpen = acting || issue.status === 'resolved';
  byId('progress-form').hidden = !progressOpen;
  byId('progress-closed').hidden = progressOpen;
  byId('progress-date').max = todayIn();

  for (const [form, button] of [
    ['status', 'status-submit'],
    ['edit', 'edit-submit'],
    ['action', 'action-submit'],
    ['progress', 'progress-submit'],
    ['merge', 'merge-submit'],
  ]) {
    byId(button).disabled = busy.has(form);
  }
  renderContacts();
}

function renderContacts() {
  const list = byId('contacts-list');
  const status = byId('contacts-status');
  byId('contacts-error').textContent = contactsState === 'failed' ? t('ws.contacts.failed') : '';
  if (contactsState !== 'loaded') {
    list.replaceChildren();
    status.textContent = contactsState === 'loading' ? t('common.loading') : '';
    return;
  }
  status.textContent = contacts.length === 0 ? t('ws.contacts.none') : '';
  list.replaceChildren(
    ...contacts.map((entry) => {
      const item = make('li', 'contact');
      item.append(make('span', 'contact__name', entry.name));
      if (entry.contact) item.append(' — ', make('span', 'contact__value', entry.contact));
      item.append(' ', make('span', 'hint', t('ws.contacts.source', { id: entry.source_id })));
      return item;
    }),
  );
}

function loadContacts() {
  if (!isKeeper(account) || contactsState === 'loading') return;
  contactsState = 'loading';
  api.get(`/api/issues/${issueId}/contacts`).then(
    (list) => {
      contacts = Array.isArray(list) ? list : [];
      contactsState = 'loaded';
      render();
    },
    () => {
      contactsState = 'failed';
      render();
    },
  );
}

function setFormText(form, { done = '', error = '' }) {
  const doneElement = byId(`${form}-done`);
  if (doneElement) doneElement.textContent = done;
  byId(`${form}-error`).textContent = error;
}

/** The reader's text for a refused change: ours for a lost sign-in, else the server's detail. */
function problemText(error) {
  if (error?.status === 401) return t('ws.error.signedOut');
  if (error?.status === 403) return t('ws.error.forbidden');
  return describeError(error);
}

/**
 * Runs one workspace call for `form`: blocks its button, shows the outcome next to it, and takes
 * the issue the server answers with. `call()` returns that issue (or null).
 */
async function change(form, call, doneKey) {
  if (busy.has(form)) return false;
  busy.add(form);
  setFormText(form, {});
  render();
  let ok = false;
  try {
    const updated = await call();
    if (updated && typeof updated === 'object' && updated.id !== undefined) applyIssue(updated);
    setFormText(form, { done: doneKey ? t(doneKey) : '' });
    ok = true;
    loadHistory();
  } catch (error) {
    setFormText(form, { error: problemText(error) });
  } finally {
    busy.delete(form);
    render();
  }
  return ok;
}

function applyIssue(next) {
  // Another issue (a merge answers with the one merged into) is not this page's.
  if (next.id !== issueId) return;
  issue = next;
}

async function submitStatus(event) {
  event.preventDefault();
  const status = byId('status-select').value;
  const note = byId('status-note').value.trim();
  const body = { status };
  if (note) body.note = note;
  if (status === 'escalated') body.level = byId('status-level').value;
  if (status === 'rejected' && !note) {
    setFormText('status', { error: t('ws.status.reasonRequired') });
    byId('status-note').focus();
    return;
  }
  const ok = await change('status', () => api.post(`/api/issues/${issueId}/status`, body), 'ws.status.done');
  if (ok) byId('status-note').value = '';
}

async function submitEdit(event) {
  event.preventDefault();
  const body = {};
  const title = byId('edit-title').value.trim();
  if (title === '') {
    setFormText('edit', { error: t('ws.edit.titleRequired') });
    byId('edit-title').focus();
    return;
  }
  if (title !== issue.title) body.title = title;
  const description = byId('edit-description').value.trim();
  if (description !== (issue.description ?? '')) body.description = description;
  const category = byId('edit-category').value;
  if (category !== (issue.category ?? '')) body.category = category; // "" clears it
  const territory = byId('edit-territory').value;
  if (territory !== '' && Number(territory) !== issue.territory_id) body.territory_id = Number(territory);
  const briefing = byId('edit-briefing').checked;
  if (briefing !== Boolean(issue.on_briefing)) body.on_briefing = briefing;
  if (Object.keys(body).length === 0) {
    setFormText('edit', { done: t('ws.edit.nothing') });
    return;
  }
  const ok = await change('edit', () => api.patch(`/api/issues/${issueId}`, body), 'ws.edit.done');
  if (ok) {
    editDirty = false;
    render();
  }
}

async function submitAction(event) {
  event.preventDefault();
  const value = (id) => byId(id).value.trim();
  const body = {
    measure: value('action-measure'),
    executor_organisation: value('action-organisation'),
    executor_person: value('action-person'),
    deadline: value('action-deadline'),
    financing_needed: byId('action-financing').checked,
  };
  const missing = [
    ['action-measure', body.measure],
    ['action-organisation', body.executor_organisation],
    ['action-person', body.executor_person],
    ['action-deadline', body.deadline],
  ].find(([, text]) => text === '');
  if (missing) {
    setFormText('action', { error: t('ws.action.required') });
    byId(missing[0]).focus();
    return;
  }
  if (body.financing_needed) {
    const amount = parseTenge(value('action-amount'));
    if (Number.isNaN(amount)) {
      setFormText('action', { error: t('ws.action.badAmount') });
      byId('action-amount').focus();
      return;
    }
    if (amount !== null) body.financing_amount = amount;
    if (value('action-maslikhat')) body.maslikhat_session_on = value('action-maslikhat');
  }
  const ok = await change(
    'action',
    async () => (await api.post(`/api/issues/${issueId}/actions`, body))?.issue,
    'ws.action.done',
  );
  if (ok) {
    for (const field of ['measure', 'organisation', 'person', 'deadline', 'amount', 'maslikhat']) {
      byId(`action-${field}`).value = '';
    }
    byId('action-financing').checked = false;
    render();
  }
}

async function markDone(itemId) {
  if (busy.has('plan')) return;
  busy.add('plan');
  byId('plan-error').textContent = '';
  render();
  try {
    applyIssue(await api.patch(`/api/issues/${issueId}/actions/${itemId}`, { done_on: todayIn() }));
    loadHistory();
  } catch (error) {
    byId('plan-error').textContent = problemText(error);
  } finally {
    busy.delete('plan');
    render();
  }
}

async function submitProgress(event) {
  event.preventDefault();
  const text = byId('progress-text').value.trim();
  if (text === '') {
    setFormText('progress', { error: t('ws.progress.textRequired') });
    byId('progress-text').focus();
    return;
  }
  const body = { text };
  const day = byId('progress-date').value;
  if (day) body.reported_on = day;
  const ok = await change('progress', () => api.post(`/api/issues/${issueId}/progress`, body), 'ws.progress.done');
  if (ok) {
    byId('progress-text').value = '';
    byId('progress-date').value = '';
  }
}

async function submitMerge(event) {
  event.preventDefault();
  const into = parseIssueId(byId('merge-into').value);
  if (into === null) {
    setFormText('merge', { error: t('ws.merge.badId') });
    byId('merge-into').focus();
    return;
  }
  if (into === issueId) {
    setFormText('merge', { error: t('ws.merge.itself') });
    return;
  }
  if (!window.confirm(t('ws.merge.confirm', { id: into }))) return;
  const ok = await change('merge', () => api.post(`/api/issues/${issueId}/merge`, { into }), null);
  // This issue is now merged: read it again to show where it went.
  if (ok) await loadIssue();
}

function onPlanClick(event) {
  const button = event.target.closest('button[data-mark-done]');
  if (!button || button.disabled) return;
  markDone(Number(button.dataset.markDone));
}

// ---------------------------------------------------------------------------------------------
// Loading

async function loadIssue() {
  try {
    issue = await api.get(`/api/issues/${issueId}`);
    messageKey = null;
    if (issue.meeting_id != null && meeting?.id !== issue.meeting_id) loadMeeting(issue.meeting_id);
    loadPlatformSources();
  } catch (error) {
    issue = null;
    messageKey = error.status === 404 ? 'issue.notFound' : 'common.loadFailed';
  }
  render();
}

function loadMeeting(id) {
  api.get(`/api/meetings/${id}`).then(
    (answer) => {
      meeting = answer;
      render();
    },
    () => {},
  );
}

function loadHistory() {
  api.get(`/api/issues/${issueId}/history`).then(
    (entries) => {
      historyEntries = Array.isArray(entries) ? entries : [];
      historyFailed = false;
      render();
    },
    () => {
      historyFailed = historyEntries === null;
      render();
    },
  );
}

async function start() {
  setUpLanguageSwitch(render);
  wire();
  if (issueId === null) {
    messageKey = 'issue.notFound';
    render();
    return;
  }
  render();
  Promise.all([loadCategories(), loadTerritories()]).then(([loadedCategories, loadedTerritories]) => {
    categories = loadedCategories;
    territories = loadedTerritories;
    render();
  });
  const session = fetchSession().then(
    (answer) => answer?.account ?? null,
    () => null, // without a session the page is read-only
  );
  await loadIssue();
  account = await session;
  render();
  if (issue !== null) {
    loadHistory();
    loadContacts();
  }
}

function wire() {
  byId('status-form').addEventListener('submit', submitStatus);
  byId('status-select').addEventListener('change', () => {
    byId('status-level-field').hidden = byId('status-select').value !== 'escalated';
  });
  byId('edit-form').addEventListener('submit', submitEdit);
  byId('edit-form').addEventListener('input', () => {
    editDirty = true;
  });
  byId('edit-form').addEventListener('change', () => {
    editDirty = true;
  });
  byId('action-form').addEventListener('submit', submitAction);
  byId('action-financing').addEventListener('change', () => {
    byId('action-financing-fields').hidden = !byId('action-financing').checked;
  });
  byId('progress-form').addEventListener('submit', submitProgress);
  byId('merge-form').addEventListener('submit', submitMerge);
  byId('issue-plan').addEventListener('click', onPlanClick);
}

start();
