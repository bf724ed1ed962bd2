// Comments from social-media platforms, in Chromium against the real server binary and the fake
// platforms (tests/services/platforms, docs/platforms-contract.md section 1):
//
// - the akim, on the presenter page, connects the YouTube account (the tokens leave the page
//   once saved, and only the hint is shown), is told on the page what is wrong with a chat id
//   before anything is sent, follows a live chat of a broadcast and starts the meeting; the
//   reader's state becomes live on the page, with its numbers;
// - a message written in the fake YouTube chat reaches the meeting page (a viewer who joined
//   sees it with the YouTube mark beside the author) and the moderator console (the mark links
//   to the broadcast in a new tab, and the author's channel id is shown to moderators);
// - the moderator hides it: the console says the removal was done on YouTube too, and the fake
//   has the message deleted;
// - another message is promoted into a question: its issue page names YouTube and links to it,
//   and the public moderation log counts YouTube's two comments, one hidden and one a question;
// - the token is revoked on YouTube: the presenter page says to connect the account again, and
//   once connected again with a new token the reader is live again;
// - the new panels fit a 360 px phone and pass axe-core.
//
// The fake is started here unless KEZDESU_TEST_PLATFORMS_URL names one already running.
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { REPO_ROOT, api, diagnostics, launchChromium, signIn, startServer, waitFor, watchPage } from './support.mjs';

const run = promisify(execFile);
const PHONE = { width: 360, height: 780 };
const WIDE = { width: 1280, height: 900 };
const LIVE_TIMEOUT_MS = 15000;
const FAKE = path.join(REPO_ROOT, 'tests', 'services', 'platforms');

/** Calls the fake's control API. */
async function control(base, urlPath, json = undefined) {
  const response = await fetch(`${base}/_control/${urlPath}`, {
    method: json === undefined ? 'GET' : 'POST',
    headers: json === undefined ? {} : { 'Content-Type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${urlPath}: ${text}`);
  return JSON.parse(text);
}

describe('comments from social-media platforms', { timeout: 3 * 60 * 1000 }, () => {
  let fake = process.env.KEZDESU_TEST_PLATFORMS_URL || null;
  let fakeDir = null;
  let server = null;
  let browser = null;
  let adminToken = null;
  let meeting = null;
  const people = {};
  const pageLog = [];
  const withDiagnostics = diagnostics(() => server, pageLog);
  // Unique ids, so that a fake shared with other tests serves this one's chat only.
  const tag = randomBytes(4).toString('hex');
  const ids = {
    video: `vid${tag}`,
    chat: `chat${tag}`,
    message: `LCC.${tag}`,
    channel: `UCviewer${tag}`,
    clientId: `client-${tag}.apps.googleusercontent.com`,
    clientSecret: `secret-${tag}`,
    refreshToken: `1//refresh-${tag}-Zq9X`,
  };
  const TEXT = `Реклама: окна недорого ${tag}`;
  const QUESTION = `Когда откроют школу в Жезказгане? ${tag}`;

  async function account(login, role, extra = {}) {
    const password = `${login} has a long password 7!`;
    const { body } = await api(server.base, '/api/accounts', {
      method: 'POST',
      token: adminToken,
      json: { login, display_name: login, role, password, ...extra },
      expect: 201,
    });
    const token = await signIn(server.base, login, password);
    return { login, password, token, id: body.id };
  }

  /** A page in its own context, signed in by `who`'s session cookie when given. */
  async function openPage(name, urlPath, { who = null, viewport = PHONE } = {}) {
    const context = await browser.newContext({ viewport });
    if (who) await context.addCookies([{ name: 'kezdesu_session', value: who.token, url: server.base }]);
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    watchPage(page, name, pageLog);
    page.on('dialog', (dialog) => dialog.accept());
    await page.goto(`${server.base}${urlPath}`);
    return page;
  }

  async function assertFits(page, where, selector) {
    const widths = await page.evaluate((selector) => {
      const box = document.querySelector(selector).getBoundingClientRect();
      return { page: document.documentElement.scrollWidth, right: Math.ceil(box.right) };
    }, selector);
    assert.ok(widths.page <= PHONE.width, `${where}: nothing overflows a 360 px screen (scrollWidth ${widths.page})`);
    assert.ok(widths.right <= PHONE.width, `${where}: ${selector} ends at ${widths.right} px`);
  }

  before(async () => {
    if (!fake) {
      fakeDir = await mkdtemp(path.join(tmpdir(), 'kezdesu-platforms-fake-'));
      const { stdout } = await run(FAKE, ['start', fakeDir], { timeout: 30000 });
      fake = stdout.trim().split('\n').pop();
    }
    assert.match(fake, /^http:\/\/127\.0\.0\.1:\d+$/);
    server = await startServer({
      env: {
        KEZDESU_SECRET_KEY: randomBytes(32).toString('base64'),
        KEZDESU__PLATFORMS__YOUTUBE_API_URL: `${fake}/google`,
        KEZDESU__PLATFORMS__YOUTUBE_OAUTH_URL: `${fake}/google-oauth`,
        KEZDESU__PLATFORMS__TELEGRAM_API_URL: `${fake}/telegram`,
        KEZDESU__PLATFORMS__VK_API_URL: `${fake}/vk`,
        KEZDESU__PLATFORMS__FACEBOOK_GRAPH_URL: `${fake}/facebook`,
        KEZDESU__PLATFORMS__RECONCILE_MS: '200',
        KEZDESU__PLATFORMS__FACEBOOK_POLL_MS: '300',
        KEZDESU__PLATFORMS__LONG_POLL_SECONDS: '2',
      },
    });
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    const demo = (await api(server.base, '/api/meetings/1', { expect: 200 })).body;
    people.akim = await account(`akim-${tag}`, 'akim', { territory_id: demo.territory_id });
    people.moderator = await account(`moderator-${tag}`, 'moderator');
    const start = new Date(Date.now() + 10 * 60 * 1000);
    start.setUTCSeconds(0, 0);
    meeting = (
      await api(server.base, '/api/meetings', {
        method: 'POST',
        token: adminToken,
        json: {
          title: { kk: 'Әкіммен кездесу', ru: 'Встреча с акимом', en: 'Meeting the akim' },
          territory_id: demo.territory_id,
          akim_account_id: people.akim.id,
          planned_start: start.toISOString(),
          planned_minutes: 60,
          kind: 'unscheduled',
          place: 'Дом культуры',
        },
        expect: 201,
      })
    ).body.id;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (fakeDir) await run(FAKE, ['stop', fakeDir], { timeout: 30000 }).catch(() => {});
  });

  test('the akim connects YouTube and follows its chat; a message there is moderated here and there', async () => {
    await withDiagnostics('platforms', async () => {
      // ---- The presenter page: connect the account.
      const presenter = await openPage('akim', `/present.html?meeting=${meeting}`, { who: people.akim });
      await presenter.locator('#platforms:not([hidden])').waitFor();
      const card = presenter.locator('#platforms-list li[data-platform="youtube"]');
      await card.waitFor();
      assert.equal(await card.getAttribute('data-connected'), 'false');
      assert.equal(await presenter.locator('#platforms-list li.platform-card').count(), 4, 'YouTube, Telegram, VK, Facebook');
      await card.locator('summary').click();
      const client = card.locator('#platform-youtube-credential-client_id');
      await client.fill(ids.clientId);
      await card.locator('#platform-youtube-credential-client_secret').fill(ids.clientSecret);
      await card.locator('#platform-youtube-credential-refresh_token').fill(ids.refreshToken);
      await card.locator('button[data-action="connect"]').click();
      await card.locator('[data-account="connected"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.ok((await card.locator('[data-account]').textContent()).includes(`••••${ids.refreshToken.slice(-4)}`), 'the hint');
      const html = await presenter.content();
      for (const secret of [ids.clientSecret, ids.refreshToken]) {
        assert.equal(html.includes(secret), false, 'no token is on the page once saved');
      }
      const stored = (await api(server.base, `/api/accounts/${people.akim.id}/platforms`, { token: people.akim.token, expect: 200 })).body;
      assert.deepEqual(stored.platforms.map((entry) => entry.platform), ['youtube']);
      assert.equal(JSON.stringify(stored).includes(ids.refreshToken), false, 'the API shows the hint only');

      // ---- What the meeting follows: a wrong id is refused on the page, then the chat.
      const chatField = card.locator('#platform-youtube-follow-live_chat_id');
      await chatField.fill('chat with spaces');
      await card.locator('button[data-action="follow"]').click();
      await waitFor(async () => (await chatField.getAttribute('aria-invalid')) === 'true', { message: 'the chat id marked wrong' });
      assert.notEqual((await card.locator('#platform-youtube-follow-live_chat_id-problem').textContent()).trim(), '');
      assert.equal(await card.getAttribute('data-followed'), 'false', 'nothing was sent');
      await control(fake, 'youtube/broadcasts', { id: ids.video, live_chat_id: ids.chat });
      await chatField.fill(ids.chat);
      await card.locator('#platform-youtube-follow-video_id').fill(`https://www.youtube.com/watch?v=${ids.video}`);
      await card.locator('button[data-action="follow"]').click();
      await waitFor(async () => (await card.getAttribute('data-followed')) === 'true', { message: 'the chat followed' });
      assert.equal(await chatField.getAttribute('aria-invalid'), null);
      const feeds = (await api(server.base, `/api/meetings/${meeting}/platforms`, { token: people.akim.token, expect: 200 })).body;
      assert.deepEqual(feeds.platforms[0].follow, { platform: 'youtube', live_chat_id: ids.chat, video_id: ids.video });
      assert.equal(feeds.platforms[0].connected, true);
      assert.equal(await card.getAttribute('data-state'), 'idle', 'not read before the meeting starts');

      // ---- The meeting starts: the reader goes live on the page.
      await presenter.locator('#start-presentation').click();
      await waitFor(async () => (await card.getAttribute('data-state')) === 'live', {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the YouTube reader to be live on the presenter page',
      });
      assert.equal(await card.locator('.platform-card__state').getAttribute('aria-live'), 'polite');
      await card.locator('[data-fact="quota"]').waitFor();
      await assertFits(presenter, 'the presenter page with the platforms panel', '#platforms');
      await assertAccessible(presenter, 'the presenter page with the platforms panel');

      // ---- A viewer on the meeting page, and the moderator on the console.
      const viewer = await openPage('viewer', `/meetings/${meeting}`);
      await viewer.locator('#live-join').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT_MS });
      await viewer.fill('#live-join-name', 'Айгүл');
      await viewer.click('#live-join-submit');
      await viewer.locator('#live-post-text').waitFor({ state: 'visible' });
      const console_ = await openPage('moderator', `/moderate.html?meeting=${meeting}`, { who: people.moderator });
      await console_.locator('#platforms:not([hidden]) li[data-platform="youtube"][data-state="live"]').waitFor({
        timeout: LIVE_TIMEOUT_MS,
      });

      // ---- A message in the YouTube chat.
      await control(fake, 'youtube/messages', {
        live_chat_id: ids.chat,
        author_channel_id: ids.channel,
        author_name: 'Ерлан YouTube',
        text: TEXT,
        id: ids.message,
      });
      const onPage = viewer.locator('#live-comments li.comment', { hasText: TEXT });
      await onPage.waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(await onPage.locator('.comment__author').textContent(), /Ерлан YouTube/);
      const pageMark = onPage.locator('.comment__platform .platform-badge');
      assert.match(await pageMark.textContent(), /^YouTube/);
      assert.equal(await onPage.locator('.platform-source__author').count(), 0, 'the public gets no platform author id');
      await assertFits(viewer, 'the meeting page with a YouTube comment', '#live-comments');
      await assertAccessible(viewer, 'the meeting page with a YouTube comment');

      const item = console_.locator('#comment-list > li', { hasText: TEXT });
      await item.waitFor({ timeout: LIVE_TIMEOUT_MS });
      const link = item.locator('a.platform-badge');
      assert.match(await link.textContent(), /^YouTube/);
      assert.equal(await link.getAttribute('href'), `https://www.youtube.com/watch?v=${ids.video}`);
      assert.equal(await link.getAttribute('target'), '_blank');
      assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
      assert.match(await item.locator('.platform-source__author').textContent(), new RegExp(ids.channel));
      await console_.locator('#platforms [data-fact="comments"] dd', { hasText: '1' }).waitFor({ timeout: LIVE_TIMEOUT_MS });

      // ---- The moderator hides it: removed on YouTube too.
      await item.locator('button[data-action^="hide:"]').first().click();
      await waitFor(async () => (await item.getAttribute('data-state')) === 'hidden', { message: 'the comment hidden' });
      const sentBack = item.locator('.mod-sent-back__item[data-outcome="done"]');
      await sentBack.waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(await sentBack.textContent(), /YouTube/);
      const state = await control(fake, 'state');
      assert.ok(state.youtube.deleted.includes(ids.message), `the fake deleted the message: ${JSON.stringify(state.youtube)}`);
      await viewer.locator('#live-comments li.comment[data-state="hidden"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.equal(await viewer.locator('#live-comments', { hasText: TEXT }).count(), 0, 'the viewer no longer reads it');

      await assertFits(console_, 'the console with the platforms panel', '#platforms');
      await assertAccessible(console_, 'the console with a YouTube comment');

      // ---- Another message becomes a question: the issue names YouTube, with the link.
      await control(fake, 'youtube/messages', {
        live_chat_id: ids.chat,
        author_channel_id: `${ids.channel}b`,
        author_name: 'Дана YouTube',
        text: QUESTION,
      });
      const asked = console_.locator('#comment-list > li', { hasText: QUESTION });
      await asked.waitFor({ timeout: LIVE_TIMEOUT_MS });
      await asked.locator('input[data-action="select"]').check();
      await console_.locator('#promote-submit').click();
      await waitFor(async () => (await asked.getAttribute('data-state')) === 'promoted', { message: 'the comment promoted' });
      const issues = (await api(server.base, `/api/issues?meeting_id=${meeting}`, { expect: 200 })).body.items;
      assert.equal(issues.length, 1, JSON.stringify(issues));
      const issuePage = await openPage('issue', `/issue.html?id=${issues[0].id}`);
      const mark = issuePage.locator('#issue-sources .source__platforms a.platform-badge');
      await mark.waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.equal(await mark.getAttribute('href'), `https://www.youtube.com/watch?v=${ids.video}`);
      assert.equal(await mark.getAttribute('rel'), 'noopener noreferrer');
      assert.equal(await issuePage.locator('#issue-sources .platform-source__author').count(), 0, 'no author id in public');
      await assertFits(issuePage, 'the issue page with a YouTube source', '#issue-sources');
      await assertAccessible(issuePage, 'the issue page with a YouTube source');

      // ---- The public moderation log counts what became of YouTube's comments.
      const log = await openPage('moderation log', `/moderation-log.html?meeting=${meeting}`);
      const counted = log.locator('#by-platform:not([hidden]) tr[data-platform="youtube"]');
      await counted.waitFor({ timeout: LIVE_TIMEOUT_MS });
      const cells = () => counted.locator('th, td').allTextContents();
      assert.deepEqual(await cells(), ['YouTube', '2', '0', '1', '1'], 'comments, held, hidden, made questions');
      assert.equal(await counted.locator('th').getAttribute('scope'), 'row');
      assert.equal(await log.locator('#by-platform caption').textContent(), 'Комментарии из социальных сетей');
      assert.equal(await log.locator('#by-platform thead th[scope="col"]').count(), 5);
      assert.equal(await log.locator('#by-platform tbody tr').count(), 1, 'only the platforms that brought comments');
      await assertFits(log, 'the moderation log with comments from YouTube', '#by-platform');
      await assertAccessible(log, 'the moderation log with comments from YouTube');
      await log.locator('#language-switch').selectOption('kk');
      await log.locator('#by-platform caption', { hasText: 'Әлеуметтік желілердегі пікірлер' }).waitFor();
      await log.locator('#language-switch').selectOption('en');
      await log.locator('#by-platform thead th', { hasText: 'Made questions' }).waitFor();
      assert.deepEqual(await cells(), ['YouTube', '2', '0', '1', '1']);
      await log.context().close();

      // ---- The channel's owner revokes the token: the akim is told to connect again.
      await control(fake, 'revoke', { platform: 'youtube', token: ids.refreshToken });
      await waitFor(async () => (await card.getAttribute('data-state')) === 'unauthorized', {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the YouTube reader to be refused',
      });
      const advice = card.locator('.platform-card__advice');
      assert.equal(await advice.isVisible(), true);
      assert.notEqual((await advice.textContent()).trim(), '');
      await console_.locator('#platforms li[data-platform="youtube"][data-state="unauthorized"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
      await card.locator('button[data-action="reconnect"]').click();
      await client.fill(ids.clientId);
      await card.locator('#platform-youtube-credential-client_secret').fill(ids.clientSecret);
      await card.locator('#platform-youtube-credential-refresh_token').fill(`${ids.refreshToken}-new`);
      await card.locator('button[data-action="connect"]').click();
      await waitFor(async () => (await card.getAttribute('data-state')) === 'live', {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the YouTube reader live again with the new token',
      });
      assert.equal(await advice.isVisible(), false);
      assert.ok((await card.locator('[data-account]').textContent()).includes('••••-new'), 'the new token’s hint');
    });
  });
});
