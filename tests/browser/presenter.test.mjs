// The presenter page's question queue follows the live channel, in a real browser against the
// real server binary. An admin's presenter page joins the live channel with its session cookie
// (no token); a viewer comments over its own WebSocket and a moderator (the admin's token)
// promotes, pins and puts questions on air over another, both from a page of the server:
//
// - each change shows on the presenter page within seconds, with no reload, the pinned
//   question first, and the issue list is not read while the channel is up;
// - when the channel drops, the page says so and reads the issue list in its place; when it is
//   back, it resumes with `since` (the last event it saw) and catches up, pins included.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/
// KEZDESU_BIN picks another server binary (default target/debug/kezdesu); CHROMIUM another
// browser (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { openLive, send } from './live-sockets.mjs';
import { api, launchChromium, signIn, sleep, startServer, waitFor, watchPage } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start
const LIVE_TIMEOUT_MS = 5000; // "within a few seconds": events are pushed, not polled
const LIVE_PATH = new RegExp(`/api/meetings/${MEETING}/live(\\?|$)`);

/** The question numbers listed in the presenter's queue, in order. */
async function queueNumbers(page) {
  return page.locator('#queue li.question').evaluateAll((items) => items.map((item) => Number(item.dataset.question)));
}

/** The number of the queued question whose text is `text`. */
async function queuedQuestion(page, text) {
  const item = page.locator('#queue li.question', { has: page.locator('.question__body', { hasText: text }) });
  return Number(await item.getAttribute('data-question'));
}

describe('the presenter page follows the live channel', { timeout: 5 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
  let desk = null; // the page the viewer and the moderator talk from
  let counter = 0;
  const pageLog = [];

  async function withDiagnostics(name, body) {
    try {
      await body();
    } catch (error) {
      console.error(`\n--- ${name} failed; server output ---\n${server?.logs() ?? '(no server)'}`);
      console.error(`--- pages ---\n${pageLog.join('\n') || '(nothing logged)'}\n--- end ---\n`);
      throw error;
    }
  }

  /** The viewer comments; returns the comment's number. Waits out the comment rate limit. */
  async function comment(text) {
    const clientId = `c-${++counter}`;
    for (;;) {
      const answer = await send(desk, 'viewer', { type: 'comment', client_id: clientId, text });
      if (answer.type === 'error' && answer.code === 'rate_limited') {
        await sleep(Number(answer.retry_after_ms) || 1000);
        continue;
      }
      assert.equal(answer.type, 'ack', JSON.stringify(answer));
      return answer.comment;
    }
  }

  /** The moderator's command; returns its `done`. */
  async function moderate(message) {
    const done = await send(desk, 'moderator', { ...message, request_id: `r-${++counter}` });
    assert.equal(done.type, 'done', JSON.stringify(done));
    return done;
  }

  /** A phone-sized presenter page of a signed-in admin, and the issue list reads it makes. */
  async function openPresenter(name, { beforeLoad = async () => {} } = {}) {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const token = await signIn(server.base, 'admin', server.adminPassword);
    await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
    const page = await context.newPage();
    watchPage(page, name, pageLog);
    const issueReads = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === `/api/meetings/${MEETING}/issues`) issueReads.push(Date.now());
    });
    await beforeLoad(page);
    await page.goto(`${server.base}/present.html?meeting=${MEETING}`);
    await page.locator('#queue-connection[data-state="live"]').waitFor({ timeout: 15000 });
    await assertAccessible(page, 'the presenter page');
    // A mark that a reload would wipe.
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    return { page, issueReads };
  }

  before(async () => {
    server = await startServer();
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    // Comments are taken while the meeting is live.
    await api(server.base, `/api/meetings/${MEETING}/phase`, {
      method: 'POST',
      token: adminToken,
      json: { phase: 'presentation' },
      expect: 200,
    });
    desk = await (await browser.newContext()).newPage();
    watchPage(desk, 'desk', pageLog);
    await desk.goto(`${server.base}/`);
    const viewer = (
      await api(server.base, `/api/meetings/${MEETING}/viewers`, {
        method: 'POST',
        json: { display_name: 'Айгүл' },
        expect: 201,
      })
    ).body;
    assert.equal((await openLive(desk, MEETING, 'viewer', viewer.token)).role, 'viewer');
    assert.equal((await openLive(desk, MEETING, 'moderator', adminToken)).role, 'admin');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a question promoted, pinned and put on air shows at once, with no reload', async () => {
    await withDiagnostics('presenter queue', async () => {
      // A question from before the page opened is there from the start.
      const road = 'Когда отремонтируют дорогу на Абая?';
      await moderate({ type: 'promote', comments: [await comment(road)] });
      const { page, issueReads } = await openPresenter('presenter');
      await page.locator('#queue .question__body', { hasText: road }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      const liveSince = Date.now();

      // Promoted live: shown within seconds.
      const kindergarten = 'Будет ли новый детский сад в микрорайоне Самал?';
      await moderate({ type: 'promote', comments: [await comment('садик?')], text: kindergarten });
      await page.locator('#queue .question__body', { hasText: kindergarten }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      const roadNumber = await queuedQuestion(page, road);
      const kindergartenNumber = await queuedQuestion(page, kindergarten);
      assert.deepEqual(await queueNumbers(page), [roadNumber, kindergartenNumber], 'equal votes: the older first');

      // Pinned: first in the queue, and marked.
      await moderate({ type: 'pin', question: kindergartenNumber, position: 0 });
      await waitFor(async () => (await queueNumbers(page))[0] === kindergartenNumber, {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the pinned question to lead the queue',
      });
      assert.equal(
        await page.locator(`#queue li[data-question="${kindergartenNumber}"] .question__pinned`).isVisible(),
        true,
        'the pinned question is marked',
      );

      // On air: out of the queue and into the on-air box.
      await moderate({ type: 'put_on_air', question: kindergartenNumber });
      await page.locator('#queue-on-air-text', { hasText: kindergarten }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await waitFor(async () => JSON.stringify(await queueNumbers(page)) === JSON.stringify([roadNumber]), {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the queue to hold only the question not on air',
      });

      // Answered: the box empties.
      await moderate({ type: 'answer', question: kindergartenNumber, summary: 'Да, в 2027 году.' });
      await page.locator('#queue-on-air').waitFor({ state: 'hidden', timeout: LIVE_TIMEOUT_MS });

      assert.equal(await page.evaluate(() => window.__sameDocument === true), true, 'no reload');
      assert.equal(await page.locator('#queue-connection').getAttribute('data-state'), 'live');
      assert.deepEqual(
        issueReads.filter((time) => time >= liveSince),
        [],
        'the issue list is not read while the channel is live',
      );
      await page.context().close();
    });
  });

  test('a dropped channel falls back to the issue list, then resumes with since', async () => {
    await withDiagnostics('presenter resume', async () => {
      // Every live socket of the page goes through this route: passed on to the server, or,
      // while `down`, closed at once (as a server that is away would).
      let down = false;
      const routes = [];
      const { page, issueReads } = await openPresenter('presenter-resume', {
        beforeLoad: (target) =>
          target.routeWebSocket(LIVE_PATH, (route) => {
            const query = new URL(route.url()).searchParams;
            routes.push({ route, since: query.get('since'), snapshot: query.get('snapshot') });
            if (down) route.close({ code: 1011, reason: 'away' });
            else route.connectToServer();
          }),
      });
      assert.equal(routes[0].snapshot, 'true', 'the first join asks for a snapshot of the log');
      assert.equal(routes[0].since, null);
      // (A server without snapshots refuses it; the page then joins from the start of the log.)
      await page.locator('#queue-connection[data-state="live"]').waitFor({ timeout: 15000 });
      const joined = routes.length;

      const school = 'Когда откроют школу №12 после ремонта?';
      const schoolDone = await moderate({ type: 'promote', comments: [await comment(school)] });
      await page.locator('#queue .question__body', { hasText: school }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      const schoolNumber = await queuedQuestion(page, school);

      // The channel drops (4000: "fell behind, resume") and stays down for a while.
      down = true;
      const dropped = Date.now();
      await routes[joined - 1].route.close({ code: 4000, reason: 'fell behind' });
      await page.locator('#queue-connection[data-state="reconnecting"]').waitFor({ timeout: LIVE_TIMEOUT_MS });

      // Meanwhile: a question promoted is read from the issue list; a pin is not in the list,
      // so the order stays as last heard live until the channel is back.
      const bus = 'Пустят ли автобус №45 через новый мост?';
      await moderate({ type: 'promote', comments: [await comment(bus)], text: bus });
      await page.locator('#queue .question__body', { hasText: bus }).waitFor({ timeout: 15000 });
      assert.ok(issueReads.some((time) => time >= dropped), 'the issue list was read while down');
      assert.notEqual(await page.locator('#queue-updated').textContent(), '', 'says when the list was read');
      const busNumber = await queuedQuestion(page, bus);
      await moderate({ type: 'pin', question: busNumber, position: 0 });

      // Back: the page resumes from the last event it saw, and catches up.
      down = false;
      await page.locator('#queue-connection[data-state="live"]').waitFor({ timeout: 30000 });
      assert.ok(routes.length > joined, 'reconnected');
      for (const { since } of routes.slice(joined)) {
        assert.equal(since, String(schoolDone.seq), 'every reconnect resumes after the last event seen');
      }
      await waitFor(async () => (await queueNumbers(page))[0] === busNumber, {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the question pinned while down to lead the queue',
      });
      assert.ok((await queueNumbers(page)).includes(schoolNumber));
      assert.equal(await page.locator('#queue-updated').textContent(), '');

      // And it is live again.
      const park = 'Что будет с парком у реки Есентай?';
      await moderate({ type: 'promote', comments: [await comment(park)] });
      await page.locator('#queue .question__body', { hasText: park }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.equal(await page.evaluate(() => window.__sameDocument === true), true, 'no reload');
      await page.context().close();
    });
  });
});
