// Owns the public moderation log (/moderation-log.html?meeting=ID): every action the moderators
// took in a meeting's discussion, in order, with its time in Almaty, the moderator's name, what
// it was taken on and its reason (a hidden comment's reason translated from its code), and the
// totals by action and by reason for hiding, and what became of the comments each social-media
// platform brought (a table, only when some came from one). Public: the text of comments acted on comes only
// to admins (the server leaves it out for everyone else). A refresh button reads it again.
// What the automatic rules did (issue 18) is named as such ("Automatic rule: links") instead of a
// moderator, and counted apart: moderators' actions against the rules', and each rule's.

import { api, describeError, fetchSession } from './api.js';
import { formatMeetingTime, formatNumber, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import strings from './strings/moderation-log.js';
import clustersStrings from './strings/clusters.js';
import platformsStrings from './strings/platforms.js';
import {
  PLATFORM_COUNTS,
  actorOf,
  actorRows,
  platformRows,
  readMeetingId,
  reasonText,
  ruleRows,
  targetText,
  totalActions,
} from './moderation-log-model.js';
import { stackedTable } from './calendar-view.js';
import { formatInstantSeconds } from './locale-format.js';
import { make } from './register-view.js';
import liveStrings from './strings/live.js';

registerStrings(strings);
registerStrings(platformsStrings); // the platforms' names and the table's title
registerStrings(clustersStrings); // the automatic rules' names and reasons
registerStrings(liveStrings);

const byId = (id) => document.getElementById(id);
const meetingId = readMeetingId(location.search);

let meeting = null;
let log = null;
let isAdmin = false;
let messageKey = 'common.loading';
let errorText = '';
let loadedAt = null;
let loading = false;

/** A key's text, or `fallback` when the key has no string (an action or reason unknown here). */
function known(key, fallback, params = {}) {
  const text = t(key, params);
  return text === key ? fallback : text;
}

function actionName(action) {
  return known(`modlog.action.${action}`, String(action ?? ''));
}

function shownReason(action, reason) {
  const described = reasonText(action, reason);
  if (described === null) return t('modlog.none');
  if (described.text !== undefined) return described.text;
  return known(described.key, String(reason), described.params);
}

function hideReasonName(reason) {
  return known(`live.reason.${reason}`, known(`automod.reason.${reason}`, String(reason)));
}

/** An automatic rule's name in words (its id when unknown here). */
function ruleName(rule) {
  return known(`automod.rule.${rule}`, String(rule));
}

/** Who did an entry: the moderator's name, or "Automatic rule: <rule>". */
function actorText(actor) {
  return actor.kind === 'rule' ? t('modlog.ruleActor', { rule: ruleName(actor.rule) }) : actor.name;
}

function render() {
  const message = byId('page-message');
  message.hidden = messageKey === null;
  message.textContent = messageKey ? t(messageKey) : '';
  byId('log').hidden = log === null;
  if (meetingId !== null) {
    const back = byId('back-link');
    back.href = `/meetings/${encodeURIComponent(meetingId)}`;
    back.textContent = t('modlog.back');
    byId('signin-link').href = `/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
  }
  if (log === null) return;

  const title = meeting ? pickLocalized(meeting.title) : '';
  byId('log-meeting').textContent = title ? t('modlog.meeting', { title }) : '';
  byId('log-meeting').hidden = title === '';
  document.title = title ? `${t('modlog.title')}: ${title} — Kezdesu` : t('modlog.pageTitle');
  byId('admin-note').hidden = !isAdmin;
  byId('log-error').textContent = errorText;
  byId('log-updated').textContent = loadedAt ? t('modlog.updated', { time: formatMeetingTime(loadedAt.toISOString()) }) : '';
  byId('refresh').disabled = loading;
  byId('log').setAttribute('aria-busy', loading ? 'true' : 'false');

  const total = totalActions(log.by_action);
  const totalLine = byId('log-total');
  totalLine.textContent = t('modlog.total', { n: formatNumber(total) });
  totalLine.dataset.total = String(total);
  byId('totals-lists').hidden = total === 0;
  byId('by-action').replaceChildren(
    ...(log.by_action ?? []).map((entry) => countRow(actionName(entry.action), entry.count, { action: entry.action })),
  );
  byId('by-action').hidden = (log.by_action ?? []).length === 0;
  const reasons = log.hidden_by_reason ?? [];
  byId('by-reason').replaceChildren(
    ...reasons.map((entry) => countRow(hideReasonName(entry.reason), entry.count, { reason: entry.reason })),
  );
  byId('by-reason').hidden = reasons.length === 0;
  byId('by-reason-empty').hidden = reasons.length > 0;
  renderPlatforms(platformRows(log.by_platform));
  renderRules();

  const entries = Array.isArray(log.entries) ? log.entries : [];
  byId('entries-empty').hidden = entries.length > 0;
  const showText = entries.some((entry) => typeof entry.comment_text === 'string');
  const columns = [
    t('modlog.col.time'),
    t('modlog.col.action'),
    t('modlog.col.target'),
    t('modlog.col.reason'),
    t('modlog.col.actor'),
  ];
  if (showText) columns.push(t('modlog.col.text'));
  const rows = entries.map((entry, index) => {
    const target = targetText(entry.target_kind, entry.target_id);
    const actor = actorOf(entry);
    const time = make('time', null, formatInstantSeconds(entry.at));
    time.dateTime = entry.at;
    const cells = [
      time,
      actionName(entry.action),
      t(target.key, target.params),
      shownReason(entry.action, entry.reason),
      actor.kind === 'rule' ? make('span', 'modlog-rule', actorText(actor)) : actorText(actor),
    ];
    if (showText) cells.push(make('span', 'modlog-text', entry.comment_text ?? t('modlog.none')));
    return {
      data: {
        index,
        action: entry.action,
        reason: entry.reason ?? '',
        target: entry.target_kind,
        targetId: entry.target_id ?? '',
        actor: actor.kind,
        rule: actor.kind === 'rule' ? actor.rule : '',
      },
      cells,
    };
  });
  byId('entries-table').replaceChildren(
    ...(rows.length ? [stackedTable({ caption: t('modlog.caption'), columns, rows, className: 'modlog-table' })] : []),
  );
}

/** The counts of the comments from social-media platforms; hidden when none came from one. */
function renderPlatforms(platforms) {
  byId('by-platform').hidden = platforms.length === 0;
  const columns = [t('modlog.platforms.col.platform'), ...PLATFORM_COUNTS.map((name) => t(`modlog.platforms.col.${name}`))];
  const rows = platforms.map((row) => ({
    data: { platform: row.platform },
    cells: [t(row.nameKey), ...PLATFORM_COUNTS.map((name) => formatNumber(row[name]))],
  }));
  byId('by-platform-table').replaceChildren(
    ...(rows.length ? [stackedTable({ caption: t('platforms.title'), columns, rows, className: 'modlog-platforms__table' })] : []),
  );
}

/**
 * What the automatic rules did, apart from the moderators: actions by actor and by rule; hidden
 * when the server counts neither (no rule acted, or a server without rules).
 */
function renderRules() {
  const actors = actorRows(log.by_actor);
  const rules = ruleRows(log.by_rule);
  const byRules = actors.find((row) => row.actor === 'rules')?.count ?? 0;
  byId('by-rules').hidden = rules.length === 0 && byRules === 0;
  byId('by-actor').replaceChildren(
    ...actors.map((row) => countRow(t(`modlog.actor.${row.actor}`), row.count, { actor: row.actor })),
  );
  byId('by-actor').hidden = actors.length === 0;
  byId('by-rule').replaceChildren(...rules.map((row) => countRow(ruleName(row.rule), row.count, { rule: row.rule })));
  byId('by-rule').hidden = rules.length === 0;
}

function countRow(name, count, data) {
  const row = make('div');
  for (const [key, value] of Object.entries(data)) row.dataset[key] = String(value);
  row.append(make('dt', null, name), make('dd', null, formatNumber(count)));
  return row;
}

async function loadLog() {
  loading = true;
  render();
  try {
    const answer = await api.get(`/api/meetings/${encodeURIComponent(meetingId)}/moderation-log`);
    log = answer && typeof answer === 'object' ? answer : { by_action: [], hidden_by_reason: [], entries: [] };
    messageKey = null;
    errorText = '';
    loadedAt = new Date();
  } catch (error) {
    if (error.status === 404) {
      messageKey = 'modlog.notFound';
      log = null;
    } else if (log === null) {
      messageKey = 'common.loadFailed';
    } else {
      errorText = describeError(error);
    }
  }
  loading = false;
  render();
}

async function start() {
  setUpLanguageSwitch(render);
  byId('refresh').addEventListener('click', loadLog);
  if (meetingId === null) {
    messageKey = 'modlog.noMeeting';
    render();
    return;
  }
  render();
  // The meeting's title and whether the reader is an admin are extras: the log stands without them.
  const extras = Promise.all([
    api.get(`/api/meetings/${encodeURIComponent(meetingId)}`).then(
      (answer) => {
        meeting = answer;
      },
      () => {},
    ),
    fetchSession().then(
      (session) => {
        isAdmin = session?.account?.role === 'admin';
      },
      () => {},
    ),
  ]);
  await loadLog();
  await extras;
  render();
}

start();
