// The public moderation log's pure rules, free of the DOM and of the UI language so that Node
// tests (tests/web/admin-model.test.mjs) can check them: the meeting named in the address, and
// each action's reason read into a string key with its values. The server writes a hidden
// comment's reason as a code from its list (`spam`, `insult`…), a time-out as `N min`, slow
// mode as `N s`, holding first comments as `on`/`off`, a merge as `into question N`, and a
// dismissal as the moderator's own words, which are shown as they are. What became of the
// comments each social-media platform brought (`by_platform`) is read into rows in the order the
// platform pages list them (web/js/platforms-model.js).
//
// Issue 18: an entry done by an automatic rule has `rule` (its id) and `moderator: null`, and a
// rule may `hold` a comment (or `hide` it, with the rule's reason code, such as `link`). The log
// counts actions by actor (`by_actor`: moderators, rules) and by rule (`by_rule`), which the page
// shows apart from the moderators' own.

import { PLATFORM_IDS, platformNameKey } from './platforms-model.js';

export const MODERATION_ACTIONS = [
  'hold',
  'hide',
  'restore',
  'release',
  'time_out',
  'ban',
  'unban',
  'slow_mode',
  'hold_first_comments',
  'promote',
  'merge',
  'edit_question',
  'reorder',
  'on_air',
  'answer',
  'dismiss',
];
/** The hide reasons the shipped configuration lists; others are shown as the server gives them. */
export const HIDE_REASONS = ['spam', 'insult', 'personal_data', 'off_topic', 'unlawful', 'duplicate'];
/**
 * The reason codes of the shipped automatic rules (config/moderation/rules.toml), which have a
 * string of their own (strings/clusters.js); an operator's own codes are shown as they are.
 */
export const AUTO_REASONS = ['blocked_term', 'link', 'flood', 'shouting'];
export const TARGET_KINDS = ['comment', 'author', 'question', 'channel'];

const POSITIVE_ID = /^[1-9]\d{0,15}$/;

/** The meeting id (a number) of the page's address `?meeting=ID`, or null. */
export function readMeetingId(search) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? '');
  const text = (params.get('meeting') ?? '').trim();
  return POSITIVE_ID.test(text) ? Number(text) : null;
}

export function moderationLogUrl(meetingId) {
  return `/moderation-log.html?meeting=${encodeURIComponent(meetingId)}`;
}

/**
 * A reason as something to show: {key, params} for a string of the page, or {text} for the
 * server's text as it is, or null when there is none.
 */
export function reasonText(action, reason) {
  if (reason === null || reason === undefined || String(reason).trim() === '') return null;
  const value = String(reason).trim();
  if (action === 'hide' && HIDE_REASONS.includes(value)) return { key: `live.reason.${value}`, params: {} };
  if ((action === 'hide' || action === 'hold') && AUTO_REASONS.includes(value)) {
    return { key: `automod.reason.${value}`, params: {} };
  }
  let match;
  if (action === 'time_out' && (match = /^(\d+) min$/.exec(value))) {
    return { key: 'modlog.reason.minutes', params: { n: Number(match[1]) } };
  }
  if (action === 'slow_mode' && (match = /^(\d+) s$/.exec(value))) {
    return Number(match[1]) === 0
      ? { key: 'modlog.reason.slowOff', params: {} }
      : { key: 'modlog.reason.seconds', params: { n: Number(match[1]) } };
  }
  if (action === 'hold_first_comments' && (value === 'on' || value === 'off')) {
    return { key: `modlog.reason.${value}`, params: {} };
  }
  if (action === 'merge' && (match = /^into question (\d+)$/.exec(value))) {
    return { key: 'modlog.reason.into', params: { n: Number(match[1]) } };
  }
  return { text: value };
}

/** What an action was taken on: {key, params} ("comment No. 12", "the whole channel"). */
export function targetText(kind, id) {
  if (!TARGET_KINDS.includes(kind)) return { key: 'modlog.target.other', params: { kind: String(kind ?? '') } };
  if (kind === 'channel' || id === null || id === undefined) return { key: `modlog.target.${kind}Any`, params: {} };
  return { key: `modlog.target.${kind}`, params: { n: id } };
}

/** The number of actions in a log's `by_action` counts. */
export function totalActions(byAction) {
  return (Array.isArray(byAction) ? byAction : []).reduce((sum, entry) => sum + (Number(entry.count) || 0), 0);
}

/** The counts of a platform's row in `by_platform`, in the order the page shows them. */
export const PLATFORM_COUNTS = ['comments', 'held', 'hidden', 'promoted'];

/**
 * The log's `by_platform` (`[{platform, comments, held, hidden, promoted}]`, only the platforms
 * that brought comments) as rows to show: {platform, nameKey, comments, held, hidden, promoted},
 * YouTube, Telegram, VK, Facebook first and a platform this page does not know after them, named
 * "another platform". Entries without a platform are left out; a count that is not a
 * non-negative number reads as 0.
 */
export function platformRows(byPlatform) {
  const rank = (id) => {
    const index = PLATFORM_IDS.indexOf(id);
    return index === -1 ? PLATFORM_IDS.length : index;
  };
  return (Array.isArray(byPlatform) ? byPlatform : [])
    .filter((entry) => entry && typeof entry.platform === 'string' && entry.platform !== '')
    .map((entry) => {
      const row = { platform: entry.platform, nameKey: platformNameKey(entry.platform) };
      for (const name of PLATFORM_COUNTS) {
        const value = Number(entry[name]);
        row[name] = Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
      }
      return row;
    })
    .sort((a, b) => rank(a.platform) - rank(b.platform) || a.platform.localeCompare(b.platform));
}

/**
 * Who did an entry: {kind: 'rule', rule} for an automatic rule (an entry with `rule` set), else
 * {kind: 'moderator', name} (the name may be empty when the server gives none).
 */
export function actorOf(entry) {
  const rule = entry?.rule;
  if (typeof rule === 'string' && rule.trim() !== '') return { kind: 'rule', rule: rule.trim() };
  return { kind: 'moderator', name: typeof entry?.moderator === 'string' ? entry.moderator : '' };
}

/** The actors in `by_actor`, in the order shown: moderators, then rules. */
export const ACTORS = ['moderators', 'rules'];

/**
 * The log's `by_actor` ({moderators, rules}) as rows [{actor, count}]; a missing or bad count
 * reads as 0, and an absent `by_actor` (an older server) gives no rows.
 */
export function actorRows(byActor) {
  if (!byActor || typeof byActor !== 'object') return [];
  return ACTORS.map((actor) => ({ actor, count: countOf(byActor[actor]) }));
}

/** The log's `by_rule` ([{rule, count}]) as rows, most actions first, then by the rule's id. */
export function ruleRows(byRule) {
  return (Array.isArray(byRule) ? byRule : [])
    .filter((entry) => entry && typeof entry.rule === 'string' && entry.rule !== '')
    .map((entry) => ({ rule: entry.rule, count: countOf(entry.count) }))
    .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
}

function countOf(value) {
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? Math.floor(number) : 0;
}
