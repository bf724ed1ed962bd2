// Owns the receipt page (/receipt.html?code=…): what a citizen sent (a request, or an entry the
// commission made for them) or, for a viewer's receipt, their live comments that became
// questions; and each issue it is part of on its way to resolution: the status along the
// workflow, the note, the action plan (executors and deadlines) and the progress reports. The
// code is the only key, so it goes to the API and nowhere else.

import { api, describeError } from './api.js';
import { pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import { CLOSED_STATUSES } from './register-model.js';
import {
  actionTable,
  deadlineFacts,
  formatInstant,
  issueStatusName,
  levelName,
  make,
  progressList,
  sourceKindName,
  statusBadge,
} from './register-view.js';
import receiptStrings from './strings/receipt.js';

registerStrings(receiptStrings);

const byId = (id) => document.getElementById(id);
const code = (new URLSearchParams(location.search).get('code') ?? '').trim();
// The steps of the main path; a rejected or escalated issue leaves it.
const PATH = ['new', 'accepted', 'planned', 'in_progress', 'resolved'];

let receipt = null;
let meeting = null;
let messageKey = 'common.loading';
let messageText = '';

function render() {
  const message = byId('page-message');
  const text = messageKey ? t(messageKey) : messageText;
  message.hidden = text === '';
  message.textContent = text;
  byId('receipt').hidden = receipt === null;
  if (receipt === null) return;
  // A viewer's receipt follows questions, not a request.
  byId('receipt-title').textContent = t(receipt.kind === 'comments' ? 'receipt.titleComments' : 'receipt.title');

  const meetingRow = byId('receipt-meeting');
  meetingRow.hidden = receipt.meeting_id == null;
  if (receipt.meeting_id != null) {
    const link = byId('receipt-meeting-link');
    link.href = `/meetings/${encodeURIComponent(receipt.meeting_id)}`;
    link.textContent = meeting
      ? t('receipt.meeting', { title: pickLocalized(meeting.title) })
      : t('receipt.meetingNumbered', { id: receipt.meeting_id });
  }

  const submitted = receipt.submitted;
  byId('submitted').hidden = !submitted;
  if (submitted) {
    byId('submitted-meta').textContent = `${sourceKindName(submitted.kind)} · ${formatInstant(submitted.received_at)}`;
    byId('submitted-text').textContent = submitted.text ?? '';
  }
  byId('comments-intro').hidden = receipt.kind !== 'comments';

  const issues = Array.isArray(receipt.issues) ? receipt.issues : [];
  const empty = byId('issues-empty');
  empty.hidden = issues.length > 0;
  empty.textContent = receipt.kind === 'comments' ? t('receipt.noQuestions') : t('receipt.noIssues');
  byId('receipt-issues').replaceChildren(...issues.map(issueSection));
}

function issueSection(issue) {
  const section = make('section', 'panel receipt-issue');
  section.dataset.issue = String(issue.id);
  const heading = make('h3', 'receipt-issue__title');
  // Only a public issue has a page the citizen can open.
  if (issue.public) {
    const link = make('a', null, issue.title);
    link.href = `/issue.html?id=${encodeURIComponent(issue.id)}`;
    heading.append(link);
  } else {
    heading.textContent = issue.title;
  }
  const badges = make('p', 'issue-badges');
  badges.append(statusBadge(issue.status));
  if (issue.level) badges.append(' ', make('span', 'badge badge--level', levelName(issue.level)));
  section.append(make('p', 'issue-number', t('issue.numbered', { id: issue.id })), heading, badges, pathSteps(issue));

  if (issue.merged_into != null) {
    const merged = make('p', 'notice');
    const link = make('a', null, t('issue.numbered', { id: issue.merged_into }));
    link.href = `/issue.html?id=${encodeURIComponent(issue.merged_into)}`;
    merged.append(t('receipt.merged'), ' ', link);
    section.append(merged);
  }
  if (issue.status === 'new') section.append(make('p', 'notice', t('receipt.awaiting')));
  if (issue.status_note) {
    section.append(
      make(
        'p',
        'issue-note',
        t(issue.status === 'rejected' ? 'issue.rejectReason' : 'issue.statusNote', { note: issue.status_note }),
      ),
    );
  }
  const deadlines = deadlineFacts(issue);
  if (deadlines) section.append(deadlines);

  section.append(make('h4', null, t('issue.plan.title')));
  if ((issue.actions ?? []).length > 0) section.append(actionTable(issue, { caption: t('issue.plan.caption') }));
  else {
    const none = CLOSED_STATUSES.includes(issue.status) ? 'issue.plan.none' : 'receipt.noPlanYet';
    section.append(make('p', 'notice', t(none)));
  }

  section.append(make('h4', null, t('issue.progress.title')));
  if ((issue.progress ?? []).length > 0) section.append(progressList(issue));
  else section.append(make('p', 'notice', t('issue.progress.none')));
  return section;
}

/** The workflow as steps, the issue's own marked; a rejection or escalation leaves the path. */
function pathSteps(issue) {
  const list = make('ol', 'path-steps');
  list.setAttribute('aria-label', t('receipt.path'));
  const steps = PATH.includes(issue.status) ? PATH : ['new', issue.status];
  const current = steps.indexOf(issue.status);
  steps.forEach((status, index) => {
    const step = make('li', 'path-steps__step', issueStatusName(status));
    if (index < current) step.dataset.state = 'done';
    if (index === current) {
      step.dataset.state = 'current';
      step.setAttribute('aria-current', 'step');
    }
    list.append(step);
  });
  return list;
}

async function start() {
  setUpLanguageSwitch(render);
  render();
  if (code === '' || code.length > 64) {
    messageKey = 'receipt.notFound';
    render();
    return;
  }
  try {
    receipt = await api.get(`/api/receipts/${encodeURIComponent(code)}`);
    messageKey = null;
    messageText = '';
  } catch (error) {
    receipt = null;
    if (error.status === 404) messageKey = 'receipt.notFound';
    else {
      messageKey = null;
      messageText = describeError(error);
    }
  }
  render();
  if (receipt?.meeting_id != null) {
    api.get(`/api/meetings/${encodeURIComponent(receipt.meeting_id)}`).then(
      (answer) => {
        meeting = answer;
        render();
      },
      () => {},
    );
  }
}

start();
