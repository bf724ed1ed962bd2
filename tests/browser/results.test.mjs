// The meeting page's results section, in a real browser against the real server binary:
//
// - while the meeting runs there is no results section; when it ends, open pages show one at
//   once, with no reload (the event stream's phase change, then the meeting fetched for its
//   deadlines): a "due by" badge, the due day, and "not published yet";
// - a signed-in admin (session cookie) gets the publishing form, publishes a two-line summary,
//   and sees it with both lines (plain text, never HTML) and the "published" badge; the button
//   then updates;
// - an anonymous reader sees the published summary and badge, and no form.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/
// KEZDESU_BIN picks another server binary (default target/debug/kezdesu); CHROMIUM another
// browser (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { api, launchChromium, signIn, startServer, waitFor, watchPage } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start
const LIVE_TIMEOUT_MS = 10000; // the end is pushed over the event stream, not polled
const SUMMARY_LINES = ['Решено: отремонтировать дорогу на Абая до 1 июня.', 'Ответственный: <b>отдел ЖКХ</b>'];

describe('the meeting page shows and publishes the results', { timeout: 5 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
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

  /** A phone-sized meeting page, signed in as the admin when `token` is given. */
  async function openMeeting(name, { token = null } = {}) {
    const context = await browser.newContext({ viewport: { width: 360, height: 780 } });
    if (token) await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    watchPage(page, name, pageLog);
    await page.goto(`${server.base}/meetings/${MEETING}`);
    await page.locator('#meeting').waitFor({ state: 'visible' });
    return page;
  }

  const badgeState = (page) => page.locator('#results-badge').getAttribute('data-state');

  before(async () => {
    server = await startServer();
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    await api(server.base, `/api/meetings/${MEETING}/phase`, {
      method: 'POST',
      token: adminToken,
      json: { phase: 'presentation' },
      expect: 200,
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the section appears when the meeting ends, and the admin publishes a two-line summary', async () => {
    await withDiagnostics('results', async () => {
      const admin = await openMeeting('admin', { token: adminToken });
      const reader = await openMeeting('reader');
      for (const page of [admin, reader]) {
        await page.locator('#connection-state[data-state="live"]').waitFor();
        assert.equal(await page.locator('#results').isHidden(), true, 'no results section while the meeting runs');
      }
      // Not yet: the server refuses results before the end.
      const early = await api(server.base, `/api/meetings/${MEETING}/results`, {
        method: 'PUT',
        token: adminToken,
        json: { summary: 'too early' },
      });
      assert.equal(early.status, 409);
      assert.equal(early.body.code, 'meeting_not_ended');

      await api(server.base, `/api/meetings/${MEETING}/phase`, {
        method: 'POST',
        token: adminToken,
        json: { phase: 'ended' },
        expect: 200,
      });
      const deadlines = (await api(server.base, `/api/meetings/${MEETING}`, { expect: 200 })).body.deadlines;
      assert.equal(typeof deadlines?.results_due, 'string', 'an ended meeting has deadlines');
      assert.equal(deadlines.results_published_at, null);

      // Both open pages show the section without a reload: due, not published yet.
      for (const page of [admin, reader]) {
        await page.locator('#results').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT_MS });
        await waitFor(async () => (await badgeState(page)) === 'due', {
          timeout: LIVE_TIMEOUT_MS,
          message: 'the "due by" badge',
        });
        assert.match(await page.locator('#results-badge').textContent(), /\d{4}/, 'the badge names the due day');
        assert.notEqual((await page.locator('#results-due').textContent()).trim(), '—');
        await page.locator('#results-status', { hasText: /не опубликованы/ }).waitFor();
      }
      assert.equal(await reader.locator('#results-form').isHidden(), true, 'no form for an anonymous reader');

      // The admin publishes through the form.
      await admin.locator('#results-form').waitFor({ state: 'visible' });
      assert.equal((await admin.locator('#results-submit').textContent()).trim(), 'Опубликовать');
      await admin.locator('#results-text').fill(SUMMARY_LINES.join('\n'));
      await admin.locator('#results-submit').click();
      await waitFor(async () => (await badgeState(admin)) === 'published', {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the "published" badge on the admin page',
      });
      assert.match(await admin.locator('#results-badge').textContent(), /^Опубликовано /);
      await admin.locator('#results-saved', { hasText: 'Итоги опубликованы.' }).waitFor();
      assert.equal((await admin.locator('#results-submit').textContent()).trim(), 'Обновить');
      await assertSummary(admin);

      const published = (await api(server.base, `/api/meetings/${MEETING}/results`, { expect: 200 })).body;
      assert.equal(published.summary, SUMMARY_LINES.join('\n'));

      // A fresh anonymous page: the summary and the badge, no form.
      const later = await openMeeting('later reader');
      await later.locator('#results-summary').waitFor({ state: 'visible' });
      await waitFor(async () => (await badgeState(later)) === 'published', {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the "published" badge on the anonymous page',
      });
      await assertSummary(later);
      assert.equal(await later.locator('#results-form').isHidden(), true, 'no form for an anonymous reader');
      assert.equal(await later.locator('#results-status').textContent(), '', 'no "not published" note');
      await assertAccessible(later, 'the meeting page with published results');
      await assertAccessible(admin, 'the meeting page with the results form');
    });
  });

  /** The summary shows both lines, as text (the markup in it stays text), on a 360 px screen. */
  async function assertSummary(page) {
    const shown = await page.locator('#results-summary').evaluate((element) => ({
      text: element.textContent,
      rendered: element.innerText,
      children: element.children.length,
      whiteSpace: getComputedStyle(element).whiteSpace,
      overflows: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    }));
    assert.equal(shown.text, SUMMARY_LINES.join('\n'));
    assert.equal(shown.children, 0, 'the summary is text, not HTML');
    assert.equal(shown.whiteSpace, 'pre-line');
    assert.deepEqual(shown.rendered.split('\n'), SUMMARY_LINES, 'the line break is shown');
    assert.equal(shown.overflows, false, 'nothing overflows a 360 px screen');
  }
});
