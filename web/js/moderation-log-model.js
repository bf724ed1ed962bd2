// The public moderation log's pure rules, free of the DOM and of the UI language so that Node
// tests (tests/web/admin-model.test.mjs) can check them: the meeting named in the address, and
// each action's reason read into a string key with its values. The server writes a hidden
// comment's reason as a code from its list (`spam`, `insult`…), a time-out as `N min`, slow
// mode as `N s`, holding first comments as `on`/`off`, a merge as `into question N`, and a
// dismissal as the moderator's own words, which are shown as they are.

export const MODERATION_ACTIONS = [
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
