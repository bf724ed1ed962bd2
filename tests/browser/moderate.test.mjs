// The moderator console (web/moderate.html), in a real browser against the real server binary.
// The admin creates a moderator account through the API and starts the demo meeting; viewers
// comment over their own WebSockets (from a page of the server), and the moderator signs in
// through signin.html and runs the discussion from the console, mostly by keyboard:
//
// - a comment hidden with one key press, and the reason reaching the viewers' channel;
// - two comments promoted into one question (with its own text), pinned, moved, put on air and
//   answered; a command the server refuses shows its error, by request, in the live region;
// - holding first comments: a newcomer's comment is held (the public gets only `redacted`),
//   shown as held in the console, and released;
// - the browser going offline and back: the console says so, resumes with `since` and shows
//   what was said meanwhile, once;
// - on a 360 px phone: no horizontal scrolling, and no serious accessibility violations;
// - only moderators and admins get the console and the links to it.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/
// KEZDESU_BIN picks another server binary (default target/debug/kezdesu); CHROMIUM another
// browser (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { listedComments, openLive, receivedEvent, send } from './live-sockets.mjs';
import { api, launchChromium, signIn, sleep, startServer, strongPassword, waitFor, watchPage } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start
const LIVE_TIMEOUT_MS = 5000; // events are pushed: "within a few seconds"
// Viewers here comment faster than people do.
const CONFIG = `
[live]
comment_interval_seconds = 0.1
comment_burst = 50
`;

/** The question numbers in the console's queue, in order. */
async function queued(page) {
  return page.locator('#question-list > li').evaluateAll((items) => items.map((item) => Number(item.dataset.question)));
}

/** What has the focus: {comment, question, id}. */
async function focused(page) {
  return page.evaluate(() => {
    const element = document.activeElement;
    return {
      comment: element?.dataset?.comment !== undefined ? Number(element.dataset.comment) : null,
      question: element?.dataset?.question !== undefined ? Number(element.dataset.question) : null,
      id: element?.id ?? null,
    };
  });
}

/** Whether the page scrolls sideways. */
async function overflowsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
}

describe('the moderator console', { timeout: 5 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
  let desk = null; // the page the viewers talk from
  const moderator = { login: 'moderator.asel', password: strongPassword() };
  let counter = 0;
  const pageLog = [];
  let roadQuestion = null; // open after the first test, for the phone test
  const viewers = {}; // name → viewer id

  async function withDiagnostics(name, body) {
    try {
      await body();
    } catch (error) {
      console.error(`\n--- ${name} failed; server output ---\n${server?.logs() ?? '(no server)'}`);
      console.error(`--- pages ---\n${pageLog.join('\n') || '(nothing logged)'}\n--- end ---\n`);
      throw error;
    }
  }

  /** A viewer of the meeting, joined on the desk page as `name`; returns its viewer id. */
  async function joinViewer(name, displayName) {
    const viewer = (
      await api(server.base, `/api/meetings/${MEETING}/viewers`, {
        method: 'POST',
        json: { display_name: displayName },
        expect: 201,
      })
    ).body;
    const you = await openLive(desk, MEETING, name, viewer.token);
    assert.equal(you.role, 'viewer');
    return you.viewer_id;
  }

  /** The viewer `name` comments; returns the ack ({comment, seq}). */
  async function comment(name, text) {
    const clientId = `c-${++counter}`;
    for (;;) {
      const answer = await send(desk, name, { type: 'comment', client_id: clientId, text });
      if (answer.type === 'error' && answer.code === 'rate_limited') {
        await sleep(Number(answer.retry_after_ms) || 500);
        continue;
      }
      assert.equal(answer.type, 'ack', JSON.stringify(answer));
      return answer;
    }
  }

  /** A context signed in as the moderator (by cookie, as signin.html leaves it). */
  async function moderatorContext(options) {
    const context = await browser.newContext(options);
    const token = await signIn(server.base, moderator.login, moderator.password);
    await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
    return context;
  }

  before(async () => {
    server = await startServer({ configToml: CONFIG });
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    await api(server.base, '/api/accounts', {
      method: 'POST',
      token: adminToken,
      json: { login: moderator.login, display_name: 'Асель Модератор', role: 'moderator', password: moderator.password },
      expect: 201,
    });
    await api(server.base, `/api/meetings/${MEETING}/phase`, {
      method: 'POST',
      token: adminToken,
      json: { phase: 'presentation' },
      expect: 200,
    });
    desk = await (await browser.newContext()).newPage();
    watchPage(desk, 'desk', pageLog);
    await desk.goto(`${server.base}/`);
    viewers.aigul = await joinViewer('aigul', 'Айгүл');
    viewers.yerlan = await joinViewer('yerlan', 'Ерлан');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a moderator signs in and runs the discussion by keyboard, and the console survives going offline', async () => {
    await withDiagnostics('console', async () => {
      const road = (await comment('aigul', 'Когда отремонтируют дорогу на улице Абая?')).comment;
      const spam = (await comment('yerlan', 'Дешёвые телефоны на нашем сайте, звоните!!!')).comment;
      const garden1 = (await comment('aigul', 'Нужен детский сад в Самале')).comment;
      const garden2 = (await comment('yerlan', 'Когда построят садик в микрорайоне Самал?')).comment;

      // Signed out: the console sends to signin.html, which comes back to it.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      watchPage(page, 'console', pageLog);
      const sockets = [];
      page.on('websocket', (socket) => sockets.push(socket.url()));
      await page.goto(`${server.base}/moderate.html?meeting=${MEETING}`);
      await page.waitForURL(/\/signin\.html\?next=/);
      await page.locator('#login').fill(moderator.login);
      await page.locator('#password').fill(moderator.password);
      await page.locator('#signin-form button[type="submit"]').click();
      await page.waitForURL(new RegExp(`/moderate\\.html\\?meeting=${MEETING}$`));
      await page.locator('#mod-connection[data-state="live"]').waitFor({ timeout: 15000 });
      await page.evaluate(() => {
        window.__sameDocument = true;
      });
      assert.match(sockets[0], /\/live\?snapshot=true$/, 'the console joins with a snapshot of the log');

      // Every comment, newest first.
      await waitFor(async () => (await listedComments(page)).length === 4, { message: 'the four comments' });
      assert.deepEqual(await listedComments(page), [garden2, garden1, spam, road]);
      assert.match(await page.locator('#mod-viewers').textContent(), /\d/, 'the viewer count shows');
      assert.notEqual(await page.locator('#mod-phase-name').textContent(), '', 'the phase shows');
      assert.notEqual(await page.locator('#countdown').textContent(), '', 'the session timer runs');

      // Hide the spam with ONE key: J moves to a comment, 1 is the first reason (spam).
      await page.keyboard.press('j');
      assert.equal((await focused(page)).comment, garden2);
      await page.keyboard.press('j');
      // With a Kazakh or Russian layout J types «о»: the physical key still counts.
      await page.evaluate(() =>
        document.activeElement.dispatchEvent(
          new KeyboardEvent('keydown', { key: 'о', code: 'KeyJ', bubbles: true, cancelable: true }),
        ),
      );
      assert.equal((await focused(page)).comment, spam);
      assert.equal(
        await page.locator(`#comment-list > li[data-comment="${spam}"] [aria-keyshortcuts="1"]`).count(),
        1,
        'the first reason button names its key',
      );
      await page.keyboard.press('1');
      const hidden = await receivedEvent(desk, 'aigul', { type: 'comment_hidden', comment: spam });
      assert.equal(hidden.reason, 'spam', 'the viewers get the reason');
      const spamItem = page.locator(`#comment-list > li[data-comment="${spam}"]`);
      await page.locator(`#comment-list > li[data-comment="${spam}"][data-state="hidden"]`).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(await spamItem.locator('.mod-badge--hidden').textContent(), /Спам/);
      assert.equal(await spamItem.locator('[data-action="restore"]').count(), 1, 'a hidden comment can be restored');
      assert.equal((await focused(page)).comment, spam, 'the focus stays on the comment');

      // Promote one comment with the mouse: its check box, then the button (its own text).
      await page.locator(`label[for="comment-${road}-select"]`).click();
      await page.locator('#promote-submit').click();
      const roadCreated = await receivedEvent(desk, 'aigul', { type: 'question_created', sources: [road] });
      roadQuestion = roadCreated.question;
      assert.equal(roadCreated.text, 'Когда отремонтируют дорогу на улице Абая?');

      // Promote two comments into one question by keyboard: X selects, P goes to the text, Enter.
      await spamItem.focus();
      await page.keyboard.press('k');
      assert.equal((await focused(page)).comment, garden1);
      await page.keyboard.press('x');
      await page.keyboard.press('k');
      await page.keyboard.press('x');
      assert.match(await page.locator('#promote-selected').textContent(), new RegExp(`№ ${garden1}, № ${garden2}`));
      await page.keyboard.press('p');
      assert.equal((await focused(page)).id, 'promote-text');
      const gardenText = 'Когда построят детский сад в микрорайоне Самал?';
      await page.keyboard.type(gardenText);
      await page.keyboard.press('Enter');
      const gardenCreated = await receivedEvent(desk, 'aigul', { type: 'question_created', sources: [garden1, garden2] });
      assert.equal(gardenCreated.text, gardenText, 'the edited text');
      const garden = gardenCreated.question;
      await page.locator(`#question-list > li[data-question="${garden}"]`).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.deepEqual(await queued(page), [roadQuestion, garden], 'equal votes: the older first');
      await page.locator(`#comment-list > li[data-comment="${garden1}"][data-state="promoted"]`).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.equal(await page.locator('#promote-text').inputValue(), '', 'the form is emptied');

      // Pin it (P on the question), then move it down (unpinned) and up again (pinned first).
      await page.keyboard.press('Escape'); // back to the comments
      await page.keyboard.press('q');
      assert.equal((await focused(page)).question, roadQuestion);
      await page.keyboard.press('j');
      assert.equal((await focused(page)).question, garden);
      await page.keyboard.press('p');
      await receivedEvent(desk, 'aigul', { type: 'queue_reordered', pinned: [garden] });
      await waitFor(async () => (await queued(page))[0] === garden, { message: 'the pinned question first' });
      assert.equal(await page.locator(`#question-list > li[data-question="${garden}"] .question__pinned`).count(), 1);
      assert.equal((await focused(page)).question, garden, 'the focus moves with the question');
      await page.keyboard.press('Shift+J');
      await receivedEvent(desk, 'aigul', { type: 'queue_reordered', pinned: [] });
      await waitFor(async () => (await queued(page))[0] === roadQuestion, { message: 'unpinned: back by age' });
      await page.keyboard.press('Shift+K');
      await waitFor(async () => (await queued(page))[0] === garden, { message: 'moved up: pinned first again' });

      // On air (A), then answered with a summary (S, type, Enter).
      await page.keyboard.press('a');
      await receivedEvent(desk, 'aigul', { type: 'question_on_air', question: garden });
      await page.locator('#on-air-box', { hasText: gardenText }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.deepEqual(await queued(page), [roadQuestion]);
      assert.equal((await focused(page)).question, garden, 'the focus follows the question on air');
      await page.keyboard.press('s');
      const summary = 'Сад откроют в 2027 году, подрядчик выбран.';
      await page.keyboard.type(summary);
      await page.keyboard.press('Enter');
      const answered = await receivedEvent(desk, 'aigul', { type: 'question_answered', question: garden });
      assert.equal(answered.summary, summary);
      await page.locator('#on-air-box').waitFor({ state: 'hidden', timeout: LIVE_TIMEOUT_MS });
      assert.match(await page.locator('#closed-list').textContent(), /2027/);

      // A command the server refuses: its error is shown in the live region, by request.
      await page.keyboard.press('q');
      assert.equal((await focused(page)).question, roadQuestion);
      await page.keyboard.press('e');
      const editField = page.locator(`#question-${roadQuestion}-edit`);
      assert.equal(await editField.inputValue(), 'Когда отремонтируют дорогу на улице Абая?');
      await editField.fill('   ');
      await page.keyboard.press('Enter');
      const error = page.locator('#mod-errors li[data-code="text_empty"]');
      await error.waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(await error.getAttribute('data-request-id'), /^m-/);
      assert.match(await error.textContent(), new RegExp(`№ ${roadQuestion}.*пустой текст`));
      assert.equal(await page.locator('#mod-errors').getAttribute('aria-live'), 'assertive');
      await page.keyboard.press('Escape');
      await editField.waitFor({ state: 'detached' });
      assert.equal((await focused(page)).question, roadQuestion, 'Escape closes the form');
      await page.keyboard.press('e');
      await editField.fill('Ремонт дороги на улице Абая');
      await page.keyboard.press('Enter');
      await receivedEvent(desk, 'aigul', { type: 'question_edited', question: roadQuestion, text: 'Ремонт дороги на улице Абая' });
      await editField.waitFor({ state: 'detached' });
      await page.locator(`#question-${roadQuestion}-text`, { hasText: 'Ремонт дороги на улице Абая' }).waitFor();

      // Hold first comments: a newcomer's comment is held, then released.
      await page.locator('#hold-first').check();
      await receivedEvent(desk, 'aigul', { type: 'hold_first_comments_set', on: true });
      await waitFor(() => page.locator('#hold-first').isChecked(), { message: 'the switch to show the setting' });
      await joinViewer('dana', 'Дана');
      const heldAck = await comment('dana', 'Будет ли автобус №45 ходить через новый мост?');
      const held = heldAck.comment;
      const heldItem = page.locator(`#comment-list > li[data-comment="${held}"][data-state="held"]`);
      await heldItem.waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(await heldItem.locator('.mod-badge--held').textContent(), /Задержан/);
      const redacted = await receivedEvent(desk, 'aigul', { seq: heldAck.seq });
      assert.equal(redacted.type, 'redacted', 'the public does not get a held comment');
      await page.locator('.mod-filter__button[data-filter="held"]').click();
      assert.deepEqual(await listedComments(page), [held]);
      await heldItem.locator('[data-action="release"]').click();
      const released = await receivedEvent(desk, 'aigul', { type: 'comment_released', comment: held });
      assert.equal(released.text, 'Будет ли автобус №45 ходить через новый мост?');
      await waitFor(async () => (await listedComments(page)).length === 0, { message: 'no held comment left' });
      await page.locator('.mod-filter__button[data-filter="all"]').click();
      await page.locator(`#comment-list > li[data-comment="${held}"][data-state="visible"]`).waitFor();

      // Released, it can be promoted; and that question merged into another (M, pick, Merge).
      await page.locator(`#comment-${held}-select`).check();
      await page.locator('#promote-submit').click();
      const bus = (await receivedEvent(desk, 'aigul', { type: 'question_created', sources: [held] })).question;
      const busItem = page.locator(`#question-list > li[data-question="${bus}"]`);
      await busItem.waitFor({ timeout: LIVE_TIMEOUT_MS });
      await busItem.focus();
      await page.keyboard.press('m');
      assert.equal(await page.locator(`#question-${bus}-merge`).inputValue(), String(roadQuestion));
      await busItem.locator('.mod-qform button[type="submit"]').click();
      const merged = await receivedEvent(desk, 'aigul', { type: 'question_merged', question: bus });
      assert.equal(merged.into, roadQuestion);
      assert.deepEqual(merged.sources, [road, held]);
      await busItem.waitFor({ state: 'detached', timeout: LIVE_TIMEOUT_MS });
      await page.locator(`#question-list > li[data-question="${roadQuestion}"] .mod-question__sources`, { hasText: `№ ${held}` }).waitFor();

      // Offline and back: the console says so, resumes with `since`, and shows what was said
      // meanwhile, once.
      const lastSeen = await page.evaluate(() => Number(document.querySelector('#comment-list > li')?.dataset.comment));
      const socketsBefore = sockets.length;
      await context.setOffline(true);
      await page.locator('#mod-connection[data-state="offline"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
      const meanwhile1 = (await comment('aigul', 'Пока модератор был офлайн: про освещение')).comment;
      const meanwhile2 = (await comment('yerlan', 'И про уборку снега во дворах')).comment;
      await sleep(1500); // reconnecting fails while offline
      await context.setOffline(false);
      await page.locator('#mod-connection[data-state="live"]').waitFor({ timeout: 30000 });
      await page.locator(`#comment-list > li[data-comment="${meanwhile2}"]`).waitFor({ timeout: LIVE_TIMEOUT_MS });
      const listed = await listedComments(page);
      assert.equal(new Set(listed).size, listed.length, 'no comment twice');
      assert.deepEqual(listed.slice(0, 3), [meanwhile2, meanwhile1, lastSeen]);
      assert.equal(listed.length, 7, 'every comment of the meeting, once');
      const resumed = sockets.slice(socketsBefore);
      assert.ok(resumed.length >= 1, 'reconnected');
      assert.ok(
        resumed.every((url) => url.endsWith(`/live?since=${merged.seq}`)),
        `every reconnect resumes after the last event seen (${merged.seq}): ${resumed.join(', ')}`,
      );
      // And it is live again: a command goes through.
      await page.locator(`#comment-list > li[data-comment="${meanwhile1}"] [data-reason="off_topic"]`).click();
      const offTopic = await receivedEvent(desk, 'yerlan', { type: 'comment_hidden', comment: meanwhile1 });
      assert.equal(offTopic.reason, 'off_topic');

      // Authors: T times out for the chosen length, B bans and unbans; slow mode is set.
      await page.locator('#timeout-minutes').selectOption('5');
      const yerlans = page.locator(`#comment-list > li[data-comment="${meanwhile2}"]`);
      await yerlans.focus();
      await page.keyboard.press('t');
      const timedOut = await receivedEvent(desk, 'aigul', { type: 'author_timed_out', viewer: viewers.yerlan });
      assert.equal(timedOut.minutes, 5);
      await yerlans.locator('.mod-badge--timeout').waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page.keyboard.press('b');
      await receivedEvent(desk, 'aigul', { type: 'author_banned', viewer: viewers.yerlan });
      await yerlans.locator('.mod-badge--banned').waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.ok((await page.locator('#comment-list .mod-badge--banned').count()) >= 2, 'on every comment of theirs');
      await page.keyboard.press('b');
      await receivedEvent(desk, 'aigul', { type: 'author_unbanned', viewer: viewers.yerlan });
      await yerlans.locator('.mod-badge--banned').waitFor({ state: 'detached', timeout: LIVE_TIMEOUT_MS });
      await page.locator('#slow-mode').selectOption('30');
      await page.locator('#slow-mode-set').click();
      await receivedEvent(desk, 'aigul', { type: 'slow_mode_set', seconds: 30 });
      await page.locator('#slow-mode-now', { hasText: '30' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page.locator('#slow-mode').selectOption('0');
      await page.locator('#slow-mode-set').click();
      await receivedEvent(desk, 'aigul', { type: 'slow_mode_set', seconds: 0 });
      assert.equal(await page.evaluate(() => window.__sameDocument === true), true, 'no reload');
      await assertAccessible(page, 'the console on a desktop');
      await context.close();
    });
  });

  test('on a 360 px phone: no sideways scrolling, and accessible', async () => {
    await withDiagnostics('phone', async () => {
      const context = await moderatorContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
      const page = await context.newPage();
      watchPage(page, 'phone', pageLog);
      await page.goto(`${server.base}/moderate.html?meeting=${MEETING}`);
      await page.locator('#mod-connection[data-state="live"]').waitFor({ timeout: 15000 });
      await waitFor(async () => (await listedComments(page)).length >= 7, { message: 'the comments' });
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 360), true, 'no horizontal overflow');
      assert.equal(await overflowsSideways(page), false);

      // One column at a time: the comments first, the questions a tap away.
      assert.equal(await page.locator('#mod-questions').isVisible(), false);
      await page.locator('.mod-views button[data-view="questions"]').click();
      await page.locator(`#question-list > li[data-question="${roadQuestion}"]`).waitFor({ state: 'visible' });
      assert.equal(await page.locator('#mod-comments').isVisible(), false);

      // With the shortcuts, the settings and a question's form open, too.
      await page.locator('#mod-keys-summary').click();
      await page.locator('#settings-heading').click();
      await page.locator(`#question-list > li[data-question="${roadQuestion}"] [data-action="edit"]`).click();
      await page.locator(`#question-${roadQuestion}-edit`).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 360), true, 'still no overflow');
      await assertAccessible(page, 'the console at 360 px, questions');
      await page.locator('.mod-views button[data-view="comments"]').click();
      await page.locator('#comment-list > li:first-child [data-action="ban"]').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 360), true, 'no overflow');
      await assertAccessible(page, 'the console at 360 px, comments');

      // In Kazakh: the page's own strings, the reasons from hello included.
      await page.locator('#language-switch').selectOption('kk');
      await page.locator('#comment-list [data-reason="insult"]', { hasText: 'Қорлау' }).first().waitFor();
      assert.match(await page.locator('.mod-views button[data-view="comments"]').textContent(), /^Пікірлер \(\d+\)$/);
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 360), true, 'no overflow in Kazakh');
      await context.close();
    });
  });

  test('only moderators and admins get the console, and the links to it', async () => {
    await withDiagnostics('roles', async () => {
      // A commission member is signed in, but this is not for them.
      const commission = { login: 'commission.bek', password: strongPassword() };
      await api(server.base, '/api/accounts', {
        method: 'POST',
        token: adminToken,
        json: { login: commission.login, display_name: 'Бек', role: 'commission', password: commission.password },
        expect: 201,
      });
      const other = await browser.newContext();
      const token = await signIn(server.base, commission.login, commission.password);
      await other.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
      const page = await other.newPage();
      watchPage(page, 'commission', pageLog);
      await page.goto(`${server.base}/moderate.html?meeting=${MEETING}`);
      await page.locator('#page-message', { hasText: 'модератор' }).waitFor({ timeout: 10000 });
      assert.equal(await page.locator('#moderate').isHidden(), true);
      await page.goto(`${server.base}/meetings/${MEETING}`);
      await page.locator('#meeting-title').waitFor();
      assert.equal(await page.locator('#moderate-link').isVisible(), false, 'no link for the commission');
      await other.close();

      // The moderator finds it from the meeting page; an admin from the presenter page.
      const mine = await moderatorContext();
      const meetingPage = await mine.newPage();
      watchPage(meetingPage, 'meeting', pageLog);
      await meetingPage.goto(`${server.base}/meetings/${MEETING}`);
      await meetingPage.locator('#moderate-link').waitFor({ state: 'visible', timeout: 10000 });
      assert.equal(await meetingPage.locator('#moderate-link').getAttribute('href'), `/moderate.html?meeting=${MEETING}`);
      await mine.close();

      const admin = await browser.newContext();
      await admin.addCookies([{ name: 'kezdesu_session', value: adminToken, url: server.base }]);
      const present = await admin.newPage();
      watchPage(present, 'present', pageLog);
      await present.goto(`${server.base}/present.html?meeting=${MEETING}`);
      await present.locator('#moderate-link').waitFor({ state: 'visible', timeout: 10000 });
      await present.locator('#moderate-link').click();
      await present.waitForURL(new RegExp(`/moderate\\.html\\?meeting=${MEETING}$`));
      await present.locator('#mod-connection[data-state="live"]').waitFor({ timeout: 15000 });
      await admin.close();
    });
  });
});
