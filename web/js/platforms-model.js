// The rules of the platform comments parts, with no DOM: which platforms there are and what each
// needs (an account's tokens, what a meeting follows), the checks the server makes of both (so a
// form says what is wrong before sending), the bodies sent, how a reader's status reads, which
// moderation outcome belongs to which comment or author, and where a comment came from (its
// platform and a safe link to it).
//
// Tested under Node (tests/web/platforms-model.test.mjs). Every string it returns is a key of
// web/js/strings/platforms.js, with its parameters; the pages translate and set them as text.

/**
 * The platforms, in the order the pages list them. `credential`: the token fields of an
 * account, the first being the one the hint is made of last; `follow`: the fields of what a
 * meeting follows there.
 */
export const PLATFORMS = [
  { id: 'youtube', credential: ['client_id', 'client_secret', 'refresh_token'], follow: ['live_chat_id', 'video_id'] },
  { id: 'telegram', credential: ['bot_token'], follow: ['chat_id', 'post_id'] },
  { id: 'vk', credential: ['access_token'], follow: ['owner_id', 'object', 'object_id'] },
  { id: 'facebook', credential: ['access_token'], follow: ['live_video_id'] },
];

export const PLATFORM_IDS = PLATFORMS.map((entry) => entry.id);

/** The longest token the server takes (kezdesu_core::platforms, `token`). */
export const MAX_TOKEN_CHARS = 4096;
/** The longest id the server takes (`identifier`). */
export const MAX_IDENTIFIER_CHARS = 128;

/** The platform's entry, or null for one this page does not know. */
export function platform(id) {
  return PLATFORMS.find((entry) => entry.id === id) ?? null;
}

/** The string key of a platform's name (`platforms.name.youtube`); unknown ones read as "other". */
export function platformNameKey(id) {
  return platform(id) ? `platforms.name.${id}` : 'platforms.name.other';
}

// ---------------------------------------------------------------------------------------------
// An account's credential

/**
 * What is wrong with the token fields typed for `platformId` (`values`: field → text), as
 * {field, key} for the first wrong field, or null. The server checks the same.
 */
export function credentialProblem(platformId, values = {}) {
  const entry = platform(platformId);
  if (!entry) return { field: null, key: 'platforms.problem.unknownPlatform' };
  for (const field of entry.credential) {
    const text = String(values[field] ?? '').trim();
    if (text === '') return { field, key: 'platforms.problem.tokenEmpty' };
    if (text.length > MAX_TOKEN_CHARS) return { field, key: 'platforms.problem.tokenTooLong' };
    if (!/^[\x21-\x7e]+$/.test(text)) return { field, key: 'platforms.problem.tokenCharacters' };
  }
  return null;
}

/** The body of `PUT /api/accounts/{id}/platforms/{platform}`: the platform's fields, trimmed. */
export function credentialBody(platformId, values = {}) {
  const entry = platform(platformId);
  if (!entry) return {};
  return Object.fromEntries(entry.credential.map((field) => [field, String(values[field] ?? '').trim()]));
}

// ---------------------------------------------------------------------------------------------
// What a meeting follows

const IDENTIFIER = /^[A-Za-z0-9._-]+$/;

function identifierProblem(field, text) {
  if (text.length > MAX_IDENTIFIER_CHARS || !IDENTIFIER.test(text)) return { field, key: 'platforms.problem.identifier' };
  return null;
}

/** A whole number typed as text (a leading + or -, digits), or null. */
export function parseInteger(text) {
  const value = String(text ?? '').trim().replace(/^\+/, '');
  if (!/^-?\d{1,17}$/.test(value)) return null;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : null;
}

/**
 * The video id in a YouTube link (watch?v=, youtu.be/, /live/, /shorts/), or the text itself
 * when it is not a link.
 */
export function youtubeVideoId(text) {
  const value = String(text ?? '').trim();
  const url = parseHttpUrl(value);
  if (!url) return value;
  const host = url.hostname.replace(/^(www|m)\./, '');
  if (host === 'youtu.be') return url.pathname.split('/')[1] ?? '';
  if (host === 'youtube.com' || host === 'studio.youtube.com') {
    const v = url.searchParams.get('v');
    if (v) return v;
    const path = /^\/(?:live|shorts|embed|video)\/([^/]+)/.exec(url.pathname);
    if (path) return path[1];
  }
  return value;
}

/** The post number in a Telegram post link (t.me/channel/123), or the text itself. */
export function telegramPostId(text) {
  const value = String(text ?? '').trim();
  const url = parseHttpUrl(value);
  if (!url || !/^(www\.)?(t|telegram)\.me$/.test(url.hostname)) return value;
  const match = /^\/(?:c\/)?[^/]+\/(\d+)\/?$/.exec(url.pathname);
  return match ? match[1] : value;
}

/**
 * A VK link to a video or a wall post of a community (vk.com/video-123_456,
 * vk.com/wall-123_456, or such a `z=` parameter) as {owner_id, object, object_id}, or null.
 */
export function vkLink(text) {
  const value = String(text ?? '').trim();
  const url = parseHttpUrl(value);
  if (!url || !/^((www|m)\.)?vk\.(com|ru)$/.test(url.hostname)) return null;
  const candidates = [url.pathname.slice(1), url.searchParams.get('z') ?? '', url.searchParams.get('w') ?? ''];
  for (const candidate of candidates) {
    const match = /^(video|wall)(-?\d+)_(\d+)/.exec(candidate);
    if (match) {
      return { owner_id: match[2], object: match[1] === 'video' ? 'video' : 'post', object_id: match[3] };
    }
  }
  return null;
}

/** The live video id in a Facebook link (…/videos/123), or the text itself. */
export function facebookVideoId(text) {
  const value = String(text ?? '').trim();
  const url = parseHttpUrl(value);
  if (!url || !/(^|\.)facebook\.com$|^fb\.watch$/.test(url.hostname)) return value;
  const match = /\/videos\/(?:[^/]+\/)?(\d+)/.exec(url.pathname) ?? null;
  if (match) return match[1];
  const v = url.searchParams.get('v');
  return v && /^\d+$/.test(v) ? v : value;
}

/** The form's values with links read: what the fields mean, as the server wants them. */
export function normalizedFollow(platformId, values = {}) {
  const text = (field) => String(values[field] ?? '').trim();
  switch (platformId) {
    case 'youtube':
      return { live_chat_id: text('live_chat_id'), video_id: youtubeVideoId(text('video_id')) };
    case 'telegram':
      return { chat_id: text('chat_id'), post_id: telegramPostId(text('post_id')) };
    case 'vk': {
      const link = vkLink(text('object_id')) ?? vkLink(text('owner_id'));
      if (link) return link;
      return { owner_id: text('owner_id'), object: text('object') === 'post' ? 'post' : 'video', object_id: text('object_id') };
    }
    case 'facebook':
      return { live_video_id: facebookVideoId(text('live_video_id')) };
    default:
      return {};
  }
}

/**
 * What is wrong with what the form says to follow on `platformId`, as {field, key} for the first
 * wrong field, or null. The server checks the same (`Follow::check`).
 */
export function followProblem(platformId, values = {}) {
  const follow = normalizedFollow(platformId, values);
  switch (platformId) {
    case 'youtube':
      // Both may be empty: the channel's active broadcast is found by itself.
      for (const field of ['live_chat_id', 'video_id']) {
        if (follow[field] !== '') {
          const problem = identifierProblem(field, follow[field]);
          if (problem) return problem;
        }
      }
      return null;
    case 'telegram': {
      if (follow.chat_id === '') return { field: 'chat_id', key: 'platforms.problem.required' };
      const chat = parseInteger(follow.chat_id);
      if (chat === null) return { field: 'chat_id', key: 'platforms.problem.integer' };
      if (chat >= 0) return { field: 'chat_id', key: 'platforms.problem.telegramChat' };
      if (follow.post_id === '') return { field: 'post_id', key: 'platforms.problem.required' };
      const post = parseInteger(follow.post_id);
      if (post === null) return { field: 'post_id', key: 'platforms.problem.integer' };
      if (post <= 0) return { field: 'post_id', key: 'platforms.problem.positive' };
      return null;
    }
    case 'vk': {
      if (follow.owner_id === '') return { field: 'owner_id', key: 'platforms.problem.required' };
      const owner = parseInteger(follow.owner_id);
      if (owner === null) return { field: 'owner_id', key: 'platforms.problem.integer' };
      if (owner >= 0) return { field: 'owner_id', key: 'platforms.problem.vkOwner' };
      if (follow.object_id === '') return { field: 'object_id', key: 'platforms.problem.required' };
      const id = parseInteger(follow.object_id);
      if (id === null) return { field: 'object_id', key: 'platforms.problem.integer' };
      if (id <= 0) return { field: 'object_id', key: 'platforms.problem.positive' };
      return null;
    }
    case 'facebook':
      if (follow.live_video_id === '') return { field: 'live_video_id', key: 'platforms.problem.required' };
      return identifierProblem('live_video_id', follow.live_video_id);
    default:
      return { field: null, key: 'platforms.problem.unknownPlatform' };
  }
}

/**
 * The body of `PUT /api/meetings/{id}/platforms/{platform}` (the follow without `platform`), from
 * the form's values. Check `followProblem` first: numbers that do not parse are left out.
 */
export function followBody(platformId, values = {}) {
  const follow = normalizedFollow(platformId, values);
  switch (platformId) {
    case 'youtube': {
      const body = {};
      if (follow.live_chat_id !== '') body.live_chat_id = follow.live_chat_id;
      if (follow.video_id !== '') body.video_id = follow.video_id;
      return body;
    }
    case 'telegram':
      return { chat_id: parseInteger(follow.chat_id), post_id: parseInteger(follow.post_id) };
    case 'vk':
      return {
        owner_id: parseInteger(follow.owner_id),
        [follow.object === 'post' ? 'post_id' : 'video_id']: parseInteger(follow.object_id),
      };
    case 'facebook':
      return { live_video_id: follow.live_video_id };
    default:
      return {};
  }
}

/** The form's values for a follow the server holds (`PlatformFeed.follow`), to fill the form. */
export function followValues(follow) {
  const text = (value) => (value === null || value === undefined ? '' : String(value));
  switch (follow?.platform) {
    case 'youtube':
      return { live_chat_id: text(follow.live_chat_id), video_id: text(follow.video_id) };
    case 'telegram':
      return { chat_id: text(follow.chat_id), post_id: text(follow.post_id) };
    case 'vk':
      return {
        owner_id: text(follow.owner_id),
        object: follow.post_id != null ? 'post' : 'video',
        object_id: text(follow.post_id ?? follow.video_id),
      };
    case 'facebook':
      return { live_video_id: text(follow.live_video_id) };
    default:
      return {};
  }
}

/**
 * What a follow is, in words: {key, params}. YouTube with neither id follows the channel's
 * active broadcast.
 */
export function describeFollow(follow) {
  switch (follow?.platform) {
    case 'youtube':
      if (follow.live_chat_id && follow.video_id) {
        return { key: 'platforms.follow.youtubeBoth', params: { chat: follow.live_chat_id, video: follow.video_id } };
      }
      if (follow.live_chat_id) return { key: 'platforms.follow.youtubeChat', params: { chat: follow.live_chat_id } };
      if (follow.video_id) return { key: 'platforms.follow.youtubeVideo', params: { video: follow.video_id } };
      return { key: 'platforms.follow.youtubeActive', params: {} };
    case 'telegram':
      return { key: 'platforms.follow.telegram', params: { chat: follow.chat_id, post: follow.post_id } };
    case 'vk':
      return follow.post_id != null
        ? { key: 'platforms.follow.vkPost', params: { owner: follow.owner_id, id: follow.post_id } }
        : { key: 'platforms.follow.vkVideo', params: { owner: follow.owner_id, id: follow.video_id } };
    case 'facebook':
      return { key: 'platforms.follow.facebook', params: { video: follow.live_video_id } };
    default:
      return { key: 'platforms.follow.none', params: {} };
  }
}

// ---------------------------------------------------------------------------------------------
// A reader's status

/** The states, as the page shows them: a string key and a tone for the badge. */
const STATES = {
  idle: { tone: 'idle' },
  connecting: { tone: 'pending' },
  live: { tone: 'live' },
  backing_off: { tone: 'pending' },
  unauthorized: { tone: 'broken' },
  failing: { tone: 'broken' },
  stopped: { tone: 'idle' },
};

export const STATE_NAMES = Object.keys(STATES);

/**
 * How a reader's status reads: {state, key, tone, advice, reason, until, comments, refused,
 * quotaUnits, lastError, resolved}. `connected`: whether the akim's account is connected on
 * the platform (null when not known). No status: the meeting does not follow the platform.
 */
export function statusView(status, { connected = null } = {}) {
  if (!status || typeof status !== 'object' || !STATES[status.state]) {
    return {
      state: 'none',
      key: 'platforms.state.none',
      tone: 'idle',
      advice: connected === false ? 'platforms.advice.connect' : null,
      reason: '',
      until: null,
      comments: 0,
      refused: 0,
      quotaUnits: null,
      lastError: '',
      resolved: '',
    };
  }
  let advice = null;
  if (status.state === 'unauthorized') advice = 'platforms.advice.unauthorized';
  else if (connected === false) advice = 'platforms.advice.connect';
  else if (status.state === 'idle') advice = 'platforms.advice.idle';
  return {
    state: status.state,
    key: `platforms.state.${status.state}`,
    tone: STATES[status.state].tone,
    advice,
    reason: text(status.reason),
    until: typeof status.until === 'string' && status.until !== '' ? status.until : null,
    comments: count(status.comments),
    refused: count(status.refused),
    quotaUnits: status.quota_units == null ? null : count(status.quota_units),
    lastError: text(status.last_error),
    resolved: text(status.resolved),
  };
}

function text(value) {
  return typeof value === 'string' ? value : '';
}

function count(value) {
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? Math.floor(number) : 0;
}

function instant(value) {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : 0;
}

/** Where a status stands in time, to tell a late copy from a newer one. */
function progress(status) {
  const actions = Array.isArray(status.actions) ? status.actions : [];
  const settled = actions.filter((action) => action?.outcome && action.outcome !== 'pending').length;
  const lastAction = Math.max(0, ...actions.map((action) => instant(action?.at)));
  return [instant(status.since), count(status.comments) + count(status.refused), lastAction, actions.length, settled];
}

/**
 * Whether `next` should replace `previous`: the same reader's status comes from several places
 * (the meeting, the event stream, the live channel, the feed list), and a late copy must not
 * undo a newer one. A status whose state began later is newer; within one state, more comments
 * or later actions are.
 */
export function isNewerStatus(previous, next) {
  if (!previous) return true;
  if (!next) return false;
  const a = progress(previous);
  const b = progress(next);
  for (let index = 0; index < a.length; index += 1) {
    if (b[index] !== a[index]) return b[index] > a[index];
  }
  return true; // the same: taking it changes nothing
}

/** A status worth keeping: an object naming a known platform and state. */
export function isStatus(status) {
  return Boolean(status && typeof status === 'object' && platform(status.platform) && STATES[status.state]);
}

/**
 * `statuses` (a Map platform → status) with `status` put in, unless the one held is newer.
 * Returns whether it changed.
 */
export function putStatus(statuses, status) {
  if (!isStatus(status)) return false;
  if (!isNewerStatus(statuses.get(status.platform), status)) return false;
  statuses.set(status.platform, status);
  return true;
}

/** The statuses of a meeting's JSON (`platforms`), put into `statuses` (a Map). */
export function putMeetingStatuses(statuses, meeting) {
  let changed = false;
  for (const status of Array.isArray(meeting?.platforms) ? meeting.platforms : []) {
    if (putStatus(statuses, status)) changed = true;
  }
  return changed;
}

/** Statuses in the pages' platform order. */
export function orderedStatuses(statuses) {
  return PLATFORM_IDS.map((id) => statuses.get(id)).filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// Moderation sent back to the platforms

const OUTCOMES = ['pending', 'done', 'failed', 'unsupported'];
const ACTIONS = ['remove', 'ban', 'time_out'];

/**
 * The moderation outcomes of every status, for the console: {comments: Map(comment → outcome),
 * viewers: Map(viewer → outcome)}, each the newest (highest `seq`) for that comment (removals)
 * or author (bans and time-outs). An outcome is the action with its `platform`.
 */
export function actionOutcomes(statuses) {
  const comments = new Map();
  const viewers = new Map();
  const list = statuses instanceof Map ? [...statuses.values()] : Array.isArray(statuses) ? statuses : [];
  for (const status of list) {
    for (const action of Array.isArray(status?.actions) ? status.actions : []) {
      if (!action || !ACTIONS.includes(action.action) || !OUTCOMES.includes(action.outcome)) continue;
      const outcome = { ...action, platform: status.platform };
      if (action.action === 'remove' && Number.isInteger(action.comment)) {
        keepNewest(comments, action.comment, outcome);
      } else if (action.action !== 'remove' && Number.isInteger(action.viewer)) {
        keepNewest(viewers, action.viewer, outcome);
      }
    }
  }
  return { comments, viewers };
}

function keepNewest(map, key, outcome) {
  const held = map.get(key);
  if (!held || (Number(outcome.seq) || 0) >= (Number(held.seq) || 0)) map.set(key, outcome);
}

/**
 * How an outcome reads: {key, params: {platform (a name key), action (a key), reason}, outcome,
 * tone}. The page translates `params.platform` and `params.action` before filling the template.
 */
export function outcomeView(outcome) {
  if (!outcome || !OUTCOMES.includes(outcome.outcome) || !ACTIONS.includes(outcome.action)) return null;
  const tone = { pending: 'pending', done: 'done', failed: 'failed', unsupported: 'idle' }[outcome.outcome];
  return {
    key: `platforms.outcome.${outcome.outcome}`,
    outcome: outcome.outcome,
    tone,
    params: {
      platform: platformNameKey(outcome.platform),
      action: `platforms.action.${outcome.action}`,
      reason: text(outcome.reason),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Where a comment came from

/** `text` as an https link, or null: nothing else from a platform is ever made a link. */
export function safeLink(textValue) {
  const url = parseHttpUrl(textValue);
  return url && url.protocol === 'https:' ? url.href : null;
}

function parseHttpUrl(value) {
  const textValue = String(value ?? '').trim();
  if (!/^https?:\/\//i.test(textValue)) return null;
  try {
    const url = new URL(textValue);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
    if (url.username || url.password) return null;
    return url;
  } catch {
    return null;
  }
}

/**
 * A comment's `source` as the pages show it: {platform, nameKey, url (https only, or null),
 * authorId (staff only, or '')}, or null when the comment was written on Kezdesu's page.
 */
export function sourceView(source) {
  if (!source || typeof source !== 'object' || typeof source.platform !== 'string' || source.platform === '') {
    return null;
  }
  return {
    platform: platform(source.platform) ? source.platform : 'other',
    nameKey: platformNameKey(source.platform),
    url: safeLink(source.url),
    authorId: typeof source.author_id === 'string' ? source.author_id : '',
    externalId: typeof source.external_id === 'string' ? source.external_id : '',
  };
}

// ---------------------------------------------------------------------------------------------
// The server's refusals

/**
 * A refusal of the platforms API (`{status, code, detail}` of its problem document) as {key,
 * detail}: the page shows the key's text, with the server's detail where it says more.
 */
export function problemKey(problem) {
  const code = problem?.code ?? null;
  const status = Number(problem?.status) || 0;
  const detail = typeof problem?.detail === 'string' ? problem.detail : '';
  switch (code) {
    case 'invalid_follow':
    case 'invalid_credential':
    case 'secret_key_missing':
    case 'unknown_platform':
    case 'not_an_akim':
      return { key: `platforms.error.${code}`, detail };
    case 'network':
      return { key: 'error.network', detail: '' };
    default:
      break;
  }
  if (status === 401) return { key: 'platforms.error.signedOut', detail: '' };
  if (status === 403) return { key: 'platforms.error.forbidden', detail: '' };
  if (status === 404) return { key: 'platforms.error.notFound', detail: '' };
  return { key: null, detail };
}
