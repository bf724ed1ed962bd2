// The platform comments' rules (web/js/platforms-model.js), with the shapes the server sends
// (server/src/wire.rs PlatformStatus, PlatformFeedView; kezdesu_core::platforms Follow,
// CommentSource). Run with `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  PLATFORMS,
  actionOutcomes,
  credentialBody,
  credentialProblem,
  describeFollow,
  followBody,
  followProblem,
  followValues,
  isNewerStatus,
  orderedStatuses,
  outcomeView,
  parseInteger,
  platformNameKey,
  problemKey,
  putMeetingStatuses,
  putStatus,
  safeLink,
  sourceView,
  statusView,
  telegramPostId,
  vkLink,
  youtubeVideoId,
} from '../../web/js/platforms-model.js';
import strings from '../../web/js/strings/platforms.js';

const protocol = (name) => JSON.parse(readFileSync(new URL(`../fixtures/protocol/${name}.json`, import.meta.url), 'utf8'));

/** A status as the server sends it. */
function status(fields = {}) {
  return {
    meeting_id: 7,
    platform: 'youtube',
    state: 'live',
    reason: null,
    until: null,
    comments: 3,
    refused: 1,
    quota_units: 25,
    last_error: null,
    resolved: 'live chat chat1 of video vid1',
    since: '2026-03-02T05:00:00Z',
    actions: [],
    ...fields,
  };
}

test('the platforms are the server’s four, each with the fields it takes', () => {
  assert.deepEqual(PLATFORMS.map((entry) => entry.id), ['youtube', 'telegram', 'vk', 'facebook']);
  assert.deepEqual(PLATFORMS[0].credential, ['client_id', 'client_secret', 'refresh_token']);
  assert.equal(platformNameKey('vk'), 'platforms.name.vk');
  assert.equal(platformNameKey('myspace'), 'platforms.name.other');
});

test('tokens are checked as the server checks them, and sent trimmed', () => {
  assert.equal(credentialProblem('telegram', { bot_token: '123456:ABC-def_ghi' }), null);
  assert.deepEqual(credentialProblem('telegram', { bot_token: '  ' }), { field: 'bot_token', key: 'platforms.problem.tokenEmpty' });
  assert.deepEqual(credentialProblem('vk', { access_token: 'with space' }), {
    field: 'access_token',
    key: 'platforms.problem.tokenCharacters',
  });
  assert.deepEqual(credentialProblem('facebook', { access_token: 'токен' }), {
    field: 'access_token',
    key: 'platforms.problem.tokenCharacters',
  });
  assert.equal(credentialProblem('vk', { access_token: 'x'.repeat(4097) }).key, 'platforms.problem.tokenTooLong');
  // YouTube needs all three, the first missing one is named.
  assert.deepEqual(credentialProblem('youtube', { client_id: 'id', refresh_token: 'r' }), {
    field: 'client_secret',
    key: 'platforms.problem.tokenEmpty',
  });
  assert.deepEqual(credentialBody('youtube', { client_id: ' id ', client_secret: 's', refresh_token: 'r\n', extra: 'x' }), {
    client_id: 'id',
    client_secret: 's',
    refresh_token: 'r',
  });
  assert.deepEqual(credentialBody('telegram', { bot_token: '1:a', access_token: 'no' }), { bot_token: '1:a' });
});

test('a YouTube follow may be empty (the active broadcast), and a link gives the video id', () => {
  assert.equal(followProblem('youtube', {}), null);
  assert.deepEqual(followBody('youtube', { live_chat_id: '', video_id: ' ' }), {});
  assert.deepEqual(followBody('youtube', { live_chat_id: 'chat1', video_id: 'https://www.youtube.com/watch?v=vid_1-x&t=3' }), {
    live_chat_id: 'chat1',
    video_id: 'vid_1-x',
  });
  assert.equal(youtubeVideoId('https://youtu.be/abc123?si=x'), 'abc123');
  assert.equal(youtubeVideoId('https://www.youtube.com/live/abc123'), 'abc123');
  assert.deepEqual(followProblem('youtube', { live_chat_id: 'chat one' }), {
    field: 'live_chat_id',
    key: 'platforms.problem.identifier',
  });
  assert.equal(followProblem('youtube', { video_id: 'x'.repeat(129) }).key, 'platforms.problem.identifier');
});

test('Telegram follows a post in a discussion group with a negative id', () => {
  assert.equal(followProblem('telegram', { chat_id: '-1001234567890', post_id: '42' }), null);
  assert.deepEqual(followBody('telegram', { chat_id: ' -1001234567890 ', post_id: 'https://t.me/akimat/42' }), {
    chat_id: -1001234567890,
    post_id: 42,
  });
  assert.equal(telegramPostId('https://t.me/c/123/45'), '45');
  assert.deepEqual(followProblem('telegram', { chat_id: '1001', post_id: '1' }), {
    field: 'chat_id',
    key: 'platforms.problem.telegramChat',
  });
  assert.deepEqual(followProblem('telegram', { chat_id: '-1', post_id: '0' }), { field: 'post_id', key: 'platforms.problem.positive' });
  assert.deepEqual(followProblem('telegram', { chat_id: '-1.5', post_id: '1' }), { field: 'chat_id', key: 'platforms.problem.integer' });
  assert.deepEqual(followProblem('telegram', { chat_id: '', post_id: '1' }), { field: 'chat_id', key: 'platforms.problem.required' });
  assert.equal(parseInteger('99999999999999999'), null, 'beyond a safe integer');
});

test('VK follows one video or one wall post of a community, typed or from a link', () => {
  assert.deepEqual(followBody('vk', { owner_id: '-123', object: 'video', object_id: '456' }), { owner_id: -123, video_id: 456 });
  assert.deepEqual(followBody('vk', { owner_id: '-123', object: 'post', object_id: '7' }), { owner_id: -123, post_id: 7 });
  assert.deepEqual(followBody('vk', { owner_id: '', object: 'video', object_id: 'https://vk.com/wall-55_9' }), {
    owner_id: -55,
    post_id: 9,
  });
  assert.deepEqual(vkLink('https://vk.com/video-55_10'), { owner_id: '-55', object: 'video', object_id: '10' });
  assert.deepEqual(vkLink('https://vk.com/akimat?z=video-55_11%2Fvideos-55'), { owner_id: '-55', object: 'video', object_id: '11' });
  assert.equal(vkLink('https://example.com/video-55_10'), null);
  assert.deepEqual(followProblem('vk', { owner_id: '123', object: 'video', object_id: '1' }), {
    field: 'owner_id',
    key: 'platforms.problem.vkOwner',
  });
  assert.deepEqual(followProblem('vk', { owner_id: '-1', object: 'video', object_id: '' }), {
    field: 'object_id',
    key: 'platforms.problem.required',
  });
});

test('Facebook follows a live video; the forms are filled back from what the server holds', () => {
  assert.deepEqual(followBody('facebook', { live_video_id: 'https://www.facebook.com/akimat/videos/123456/' }), {
    live_video_id: '123456',
  });
  assert.deepEqual(followProblem('facebook', { live_video_id: '' }), { field: 'live_video_id', key: 'platforms.problem.required' });
  assert.deepEqual(followValues({ platform: 'vk', owner_id: -5, post_id: 8 }), { owner_id: '-5', object: 'post', object_id: '8' });
  assert.deepEqual(followValues({ platform: 'youtube' }), { live_chat_id: '', video_id: '' });
  assert.deepEqual(followValues({ platform: 'telegram', chat_id: -100, post_id: 3 }), { chat_id: '-100', post_id: '3' });
  // What the form sends is what the server gives back, and the other way round.
  for (const follow of [
    { platform: 'youtube', live_chat_id: 'c', video_id: 'v' },
    { platform: 'telegram', chat_id: -100, post_id: 3 },
    { platform: 'vk', owner_id: -5, video_id: 8 },
    { platform: 'facebook', live_video_id: '77' },
  ]) {
    const { platform, ...body } = follow;
    assert.deepEqual(followBody(platform, followValues(follow)), body, platform);
  }
});

test('a follow reads in words; YouTube with no ids follows the active broadcast', () => {
  assert.equal(describeFollow({ platform: 'youtube' }).key, 'platforms.follow.youtubeActive');
  assert.deepEqual(describeFollow({ platform: 'youtube', live_chat_id: 'chat1' }), {
    key: 'platforms.follow.youtubeChat',
    params: { chat: 'chat1' },
  });
  assert.equal(describeFollow({ platform: 'vk', owner_id: -1, post_id: 2 }).key, 'platforms.follow.vkPost');
  assert.equal(describeFollow(null).key, 'platforms.follow.none');
});

test('a status reads with its numbers, and unauthorized tells the akim to connect again', () => {
  const live = statusView(status());
  assert.equal(live.key, 'platforms.state.live');
  assert.equal(live.tone, 'live');
  assert.equal(live.comments, 3);
  assert.equal(live.refused, 1);
  assert.equal(live.quotaUnits, 25);
  assert.equal(live.resolved, 'live chat chat1 of video vid1');
  assert.equal(live.advice, null);
  const refused = statusView(status({ state: 'unauthorized', last_error: 'invalid_grant' }));
  assert.equal(refused.advice, 'platforms.advice.unauthorized');
  assert.equal(refused.tone, 'broken');
  assert.equal(refused.lastError, 'invalid_grant');
  const waiting = statusView(status({ state: 'backing_off', reason: 'quotaExceeded', until: '2026-03-02T06:00:00Z' }));
  assert.equal(waiting.reason, 'quotaExceeded');
  assert.equal(waiting.until, '2026-03-02T06:00:00Z');
  assert.equal(statusView(status({ platform: 'telegram', quota_units: null })).quotaUnits, null, 'quota is YouTube’s only');
  assert.equal(statusView(status({ state: 'stopped' }), { connected: false }).advice, 'platforms.advice.connect');
  assert.equal(statusView(null).state, 'none');
  assert.equal(statusView({ state: 'exploded' }).state, 'none');
  assert.equal(statusView(status({ comments: 'many', refused: -3 })).comments, 0);
});

test('the live channel’s platform message reads, and its outcomes land on their comment and author', () => {
  const message = protocol('server/platform');
  assert.equal(message.type, 'platform');
  const view = statusView(message.status, { connected: true });
  assert.equal(view.key, 'platforms.state.backing_off');
  assert.equal(view.tone, 'pending');
  assert.match(view.reason, /quotaExceeded/);
  assert.equal(view.until, message.status.until);
  assert.equal(view.comments, 148);
  assert.equal(view.quotaUnits, 9985);
  const statuses = new Map();
  assert.equal(putStatus(statuses, message.status), true);
  const { comments, viewers } = actionOutcomes(statuses);
  assert.equal(comments.get(97).outcome, 'done');
  assert.equal(viewers.get(203).action, 'time_out');
  assert.equal(outcomeView(viewers.get(203)).key, 'platforms.outcome.failed');
  assert.match(outcomeView(viewers.get(203)).params.reason, /not properly authorized/);
  const source = sourceView(protocol('events/comment_posted.from_platform').source);
  assert.equal(source.platform, 'youtube');
  assert.equal(source.url, 'https://www.youtube.com/watch?v=vid-akimat-2026-03');
  assert.equal(source.authorId, 'UCq9kX2vYwL3sT8mN4pR7aBc');
});

test('a late copy of a status never undoes a newer one', () => {
  const statuses = new Map();
  assert.equal(putStatus(statuses, status({ comments: 5 })), true);
  assert.equal(putStatus(statuses, status({ comments: 4 })), false, 'fewer comments in the same state is older');
  assert.equal(putStatus(statuses, status({ state: 'backing_off', comments: 5, since: '2026-03-02T05:01:00Z' })), true);
  assert.equal(putStatus(statuses, status({ comments: 9 })), false, 'a state that began earlier is older');
  // A reader started again counts from zero, and is newer.
  assert.equal(putStatus(statuses, status({ comments: 0, since: '2026-03-02T05:02:00Z' })), true);
  // An action's outcome arriving is newer.
  const pending = status({ since: '2026-03-02T05:02:00Z', comments: 0, actions: [{ seq: 9, comment: 2, viewer: null, action: 'remove', outcome: 'pending', reason: null, at: '2026-03-02T05:03:00Z' }] });
  const done = { ...pending, actions: [{ ...pending.actions[0], outcome: 'done', at: '2026-03-02T05:03:01Z' }] };
  assert.equal(putStatus(statuses, pending), true);
  assert.equal(putStatus(statuses, done), true);
  assert.equal(putStatus(statuses, pending), false);
  assert.equal(isNewerStatus(done, done), true, 'the same again changes nothing');
  assert.equal(putStatus(statuses, { platform: 'myspace', state: 'live' }), false);
  assert.equal(putStatus(statuses, null), false);
  // The meeting's JSON, and the pages' order.
  const fromMeeting = new Map();
  assert.equal(putMeetingStatuses(fromMeeting, { platforms: [status({ platform: 'vk' }), status(), 'nonsense'] }), true);
  assert.deepEqual(orderedStatuses(fromMeeting).map((entry) => entry.platform), ['youtube', 'vk']);
  assert.equal(putMeetingStatuses(fromMeeting, {}), false);
});

test('outcomes are matched by comment for removals and by author for bans, the newest kept', () => {
  const statuses = new Map([
    [
      'youtube',
      status({
        actions: [
          { seq: 10, comment: 4, viewer: null, action: 'remove', outcome: 'failed', reason: 'forbidden', at: '2026-03-02T05:03:00Z' },
          { seq: 14, comment: 4, viewer: null, action: 'remove', outcome: 'done', reason: null, at: '2026-03-02T05:04:00Z' },
          { seq: 11, comment: null, viewer: 31, action: 'time_out', outcome: 'pending', reason: null, at: '2026-03-02T05:03:00Z' },
          { seq: 12, comment: null, viewer: 31, action: 'ban', outcome: 'done', reason: null, at: '2026-03-02T05:03:30Z' },
          { seq: 13, comment: 5, viewer: null, action: 'explode', outcome: 'done', reason: null, at: '2026-03-02T05:03:30Z' },
        ],
      }),
    ],
    [
      'facebook',
      status({
        platform: 'facebook',
        actions: [{ seq: 20, comment: null, viewer: 40, action: 'ban', outcome: 'unsupported', reason: null, at: '2026-03-02T05:05:00Z' }],
      }),
    ],
  ]);
  const { comments, viewers } = actionOutcomes(statuses);
  assert.deepEqual([...comments.keys()], [4]);
  assert.equal(comments.get(4).outcome, 'done');
  assert.equal(comments.get(4).platform, 'youtube');
  assert.equal(viewers.get(31).action, 'ban');
  assert.equal(viewers.get(40).outcome, 'unsupported');
  assert.deepEqual(outcomeView(viewers.get(40)), {
    key: 'platforms.outcome.unsupported',
    outcome: 'unsupported',
    tone: 'idle',
    params: { platform: 'platforms.name.facebook', action: 'platforms.action.ban', reason: '' },
  });
  const failed = outcomeView({ platform: 'youtube', action: 'remove', outcome: 'failed', reason: 'forbidden' });
  assert.equal(failed.key, 'platforms.outcome.failed');
  assert.equal(failed.params.reason, 'forbidden');
  assert.equal(outcomeView({ action: 'remove', outcome: 'maybe' }), null);
  assert.deepEqual(actionOutcomes(null), { comments: new Map(), viewers: new Map() });
});

test('a comment’s source is shown with an https link only, and the author id only when given', () => {
  const staff = sourceView({ platform: 'youtube', external_id: 'LCC.1', url: 'https://www.youtube.com/watch?v=vid1', author_id: 'UC1' });
  assert.deepEqual(staff, {
    platform: 'youtube',
    nameKey: 'platforms.name.youtube',
    url: 'https://www.youtube.com/watch?v=vid1',
    authorId: 'UC1',
    externalId: 'LCC.1',
  });
  assert.equal(sourceView({ platform: 'vk', external_id: '-1_2' }).url, null);
  assert.equal(sourceView({ platform: 'vk', external_id: '-1_2' }).authorId, '');
  for (const url of [
    'javascript:alert(1)',
    'http://vk.com/wall-1_2',
    'data:text/html,<b>x</b>',
    'https://user:pw@vk.com/',
    ' //vk.com/x',
    42,
  ]) {
    assert.equal(sourceView({ platform: 'vk', external_id: 'x', url }).url, null, String(url));
  }
  assert.equal(safeLink('https://t.me/akimat/5?comment=7'), 'https://t.me/akimat/5?comment=7');
  assert.equal(sourceView(null), null);
  assert.equal(sourceView({ external_id: 'x' }), null);
  assert.equal(sourceView({ platform: 'myspace', external_id: 'x' }).nameKey, 'platforms.name.other');
});

test('the server’s refusals are named, with its detail where it says more', () => {
  assert.deepEqual(problemKey({ status: 422, code: 'invalid_follow', detail: 'name exactly one of video_id and post_id' }), {
    key: 'platforms.error.invalid_follow',
    detail: 'name exactly one of video_id and post_id',
  });
  assert.equal(problemKey({ status: 422, code: 'secret_key_missing', detail: '…' }).key, 'platforms.error.secret_key_missing');
  assert.equal(problemKey({ status: 403, code: 'forbidden' }).key, 'platforms.error.forbidden');
  assert.equal(problemKey({ status: 0, code: 'network' }).key, 'error.network');
  assert.deepEqual(problemKey({ status: 500, detail: 'boom' }), { key: null, detail: 'boom' });
});

test('every string is in Kazakh, Russian and English, and every key the rules name exists', () => {
  const keys = Object.keys(strings.ru);
  for (const language of ['kk', 'en']) {
    assert.deepEqual(Object.keys(strings[language]).sort(), [...keys].sort(), language);
  }
  for (const language of ['kk', 'ru', 'en']) {
    for (const [key, text] of Object.entries(strings[language])) {
      assert.ok(key.startsWith('platforms.'), key);
      assert.ok(typeof text === 'string' && text.trim() !== '', `${language} ${key}`);
    }
  }
  const named = [
    ...PLATFORMS.map((entry) => platformNameKey(entry.id)),
    ...['none', 'idle', 'connecting', 'live', 'backing_off', 'unauthorized', 'failing', 'stopped'].map((state) => `platforms.state.${state}`),
    ...['remove', 'ban', 'time_out'].map((action) => `platforms.action.${action}`),
    ...['pending', 'done', 'failed', 'unsupported'].map((outcome) => `platforms.outcome.${outcome}`),
    ...PLATFORMS.flatMap((entry) => [`platforms.account.hint.${entry.id}`, `platforms.follow.hint.${entry.id}`]),
  ];
  // Whatever the rules answer with is a key too.
  const source = readFileSync(new URL('../../web/js/platforms-model.js', import.meta.url), 'utf8');
  const literal = [...source.matchAll(/'(platforms\.[a-zA-Z_.]+)'/g)].map((match) => match[1]);
  const dom = readFileSync(new URL('../../web/js/platforms.js', import.meta.url), 'utf8');
  const used = [...dom.matchAll(/'(platforms\.[a-zA-Z_.]+)'/g)].map((match) => match[1]);
  for (const key of new Set([...named, ...literal, ...used])) {
    if (key.endsWith('.')) continue; // a prefix that is completed in code
    assert.ok(key in strings.ru, `${key} has strings`);
  }
});
