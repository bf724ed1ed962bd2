// A whole meeting in Chromium, every role on its own page, against the real server binary:
//
// - the akim signs in on the presenter page and goes on air with the fake camera, then starts
//   the presentation;
// - three viewers join on the meeting page and comment;
// - a moderator, on the console, hides one comment with a reason, and its author sees the
//   reason; promotes the two others into one question, which the viewers vote for;
// - the session timer switches to Q&A by itself when the presentation's share is spent;
// - the moderator puts the question on air and marks it answered, and the viewers see both;
// - the akim ends the meeting, the commission publishes the results, and the question is in the
//   public issue list and on the meeting's results.
//
// The meeting is planned for 2 minutes, so its presentation budget (a quarter) is 30 s: the rule
// set here is the shipped one with a lower minimum of planned minutes. Pages are phone-sized and
// checked with axe-core along the way.

import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { REPO_ROOT, api, launchChromium, signIn, startServer, waitFor, watchPage } from './support.mjs';

const PHONE = { width: 360, height: 780 };
const LIVE_TIMEOUT_MS = 15000;
const COMMENTS = {
  aigul: 'Когда отремонтируют дорогу на улице Абая?',
  yerlan: 'Дорога на Абая разбита, когда ремонт?',
  dana: 'Реклама: окна недорого, звоните!',
};
const QUESTION = 'Когда отремонтируют дорогу на улице Абая?';
const ANSWER = 'Ремонт дороги на улице Абая включён в план на май.';

describe('a whole meeting, from the camera to the issue list', () => {
  let server;
  let browser;
  let adminToken;
  let meeting;
  const people = {};
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

  async function account(login, role, extra = {}) {
    const password = `${login} has a long password 7!`;
    await api(server.base, '/api/accounts', {
      method: 'POST',
      token: adminToken,
      json: { login, display_name: login, role, password, ...extra },
      expect: 201,
    });
    return { login, password };
  }

  /** A phone-sized page in its own context, signed in through the sign-in page when `who`. */
  async function openPage(name, urlPath, who = null) {
    const context = await browser.newContext({ viewport: PHONE });
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    watchPage(page, name, pageLog);
    page.on('dialog', (dialog) => dialog.accept()); // "End the meeting?" and the like
    await page.goto(`${server.base}${urlPath}`);
    if (who) {
      await page.waitForURL(/\/signin\.html\?next=/);
      await page.fill('#login', who.login);
      await page.fill('#password', who.password);
      await page.click('#signin-form button[type="submit"]');
      await page.waitForURL((url) => !url.pathname.endsWith('/signin.html'));
    }
    return page;
  }

  before(async () => {
    // The shipped rules with a lower minimum of planned minutes, so that the presentation's
    // quarter runs out within the test.
    const rules = (await readFile(path.join(REPO_ROOT, 'config/rules/kz-decree-826-2022.toml'), 'utf8')).replace(
      /min_planned_minutes = \d+/,
      'min_planned_minutes = 1',
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'kezdesu-meeting-rules-'));
    const rulesFile = path.join(dir, 'rules.toml');
    await writeFile(rulesFile, rules);
    server = await startServer({ configToml: `[rules]\nfile = ${JSON.stringify(rulesFile)}\n` });
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    const demo = (await api(server.base, '/api/meetings/1', { expect: 200 })).body;
    people.akim = await account('whole-akim', 'akim', { territory_id: demo.territory_id });
    people.moderator = await account('whole-moderator', 'moderator');
    people.commission = await account('whole-commission', 'commission');
    const akimId = (await api(server.base, '/api/accounts', { token: adminToken, expect: 200 })).body.accounts.find(
      (entry) => entry.login === 'whole-akim',
    ).id;
    const start = new Date(Date.now() + 10 * 60 * 1000);
    start.setUTCSeconds(0, 0);
    meeting = (
      await api(server.base, '/api/meetings', {
        method: 'POST',
        token: adminToken,
        json: {
          title: { kk: 'Әкіммен кездесу', ru: 'Встреча с акимом', en: 'Meeting the akim' },
          territory_id: demo.territory_id,
          akim_account_id: akimId,
          planned_start: start.toISOString(),
          planned_minutes: 2,
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
  });

  test('the whole meeting', async () => {
    await withDiagnostics('whole meeting', async () => {
      // The akim goes on air with the fake camera and starts the presentation.
      const presenter = await openPage('akim', `/present.html?meeting=${meeting}`, people.akim);
      await presenter.locator('#go-live:not([disabled])').click();
      await presenter.locator('#publish-state[data-publish="on-air"]').waitFor({ timeout: 30000 });
      await presenter.locator('#start-presentation').click();
      await presenter.locator('#meeting-phase', { hasText: 'Доклад' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await assertAccessible(presenter, 'the presenter page on air');

      // Three viewers join and comment.
      const viewers = {};
      for (const [name, display] of [
        ['aigul', 'Айгүл'],
        ['yerlan', 'Ерлан'],
        ['dana', 'Дана'],
      ]) {
        const page = await openPage(name, `/meetings/${meeting}`);
        await page.locator('#live-join').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT_MS });
        await page.fill('#live-join-name', display);
        await page.click('#live-join-submit');
        await page.locator('#live-post-text').waitFor({ state: 'visible' });
        await page.fill('#live-post-text', COMMENTS[name]);
        await page.click('#live-post-submit');
        await page.locator('#live-mine-list li').first().waitFor({ timeout: LIVE_TIMEOUT_MS });
        viewers[name] = page;
      }
      await assertAccessible(viewers.aigul, 'the viewer page with comments');
      // The viewer page plays the akim's broadcast.
      await viewers.aigul.locator('#broadcast-badge[data-on-air="true"]').waitFor({ timeout: 30000 });

      // The moderator hides Dana's advert as spam in one click; Dana sees why.
      const console_ = await openPage('moderator', `/moderate.html?meeting=${meeting}`, people.moderator);
      await console_.locator('#mod-connection[data-state="live"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
      const numberOf = async (text) =>
        waitFor(
          async () => {
            const items = await console_.locator('#comment-list > li').evaluateAll((nodes) =>
              nodes.map((node) => ({ number: Number(node.dataset.comment), text: node.textContent })),
            );
            return items.find((item) => item.text.includes(text))?.number;
          },
          { timeout: LIVE_TIMEOUT_MS, message: `the console to list "${text}"` },
        );
      const advert = await numberOf(COMMENTS.dana);
      const road1 = await numberOf(COMMENTS.aigul);
      const road2 = await numberOf(COMMENTS.yerlan);
      await console_.locator(`#comment-list > li[data-comment="${advert}"] [aria-keyshortcuts="1"]`).click();
      await console_
        .locator(`#comment-list > li[data-comment="${advert}"][data-state="hidden"]`)
        .waitFor({ timeout: LIVE_TIMEOUT_MS });
      await viewers.dana.locator('#live-mine-list', { hasText: /Скрыт: спам/ }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      const others = await viewers.aigul.locator('#live-comments').textContent();
      assert.ok(!others.includes(COMMENTS.dana), 'the other viewers no longer see the advert');

      // The two road comments become one question.
      await console_.locator(`label[for="comment-${road1}-select"]`).click();
      await console_.locator(`label[for="comment-${road2}-select"]`).click();
      await console_.fill('#promote-text', QUESTION);
      await console_.click('#promote-submit');
      // On a phone the console shows one column at a time: over to the questions.
      await console_.locator('.mod-filter__button[data-view="questions"]').click();
      const questionItem = console_.locator('#question-list > li', { hasText: QUESTION });
      await questionItem.waitFor({ timeout: LIVE_TIMEOUT_MS });
      const question = Number(await questionItem.getAttribute('data-question'));
      await assertAccessible(console_, 'the moderator console');
      for (const name of ['aigul', 'yerlan']) {
        await viewers[name].locator('#live-mine-list', { hasText: `Стал вопросом №${question}` }).waitFor({
          timeout: LIVE_TIMEOUT_MS,
        });
      }

      // The viewers vote for it.
      for (const name of ['aigul', 'yerlan', 'dana']) {
        const vote = viewers[name].locator(`#live-queue .vote-button[data-question="${question}"]`);
        await vote.waitFor({ timeout: LIVE_TIMEOUT_MS });
        await vote.click();
      }
      await waitFor(
        async () => /3/.test(await questionItem.textContent()),
        { timeout: LIVE_TIMEOUT_MS, message: 'three votes on the console' },
      );

      // The presentation's 30 s run out and the timer switches to Q&A by itself.
      await viewers.aigul.locator('#meeting-phase', { hasText: 'Вопросы и ответы' }).waitFor({ timeout: 60000 });
      const phase = (await api(server.base, `/api/meetings/${meeting}`, { expect: 200 })).body;
      assert.equal(phase.phase, 'qa');

      // On air, then answered.
      await questionItem.locator('[data-action="on-air"]').click();
      await console_.locator('#on-air-box', { hasText: QUESTION }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await viewers.aigul.locator('#live-on-air', { hasText: QUESTION }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await console_.locator('#on-air-box [data-action="answer"]').click();
      const summary = console_.locator('#on-air-box .mod-qform [data-field]');
      await summary.fill(ANSWER);
      await summary.press('Enter');
      await console_.locator('#on-air-box').waitFor({ state: 'hidden', timeout: LIVE_TIMEOUT_MS });
      await viewers.aigul.locator('#live-on-air').waitFor({ state: 'hidden', timeout: LIVE_TIMEOUT_MS });
      await viewers.aigul.locator('#live-closed-list', { hasText: QUESTION }).waitFor({ state: 'attached', timeout: LIVE_TIMEOUT_MS });

      // The akim ends the meeting; the commission publishes the results.
      await presenter.locator('#end-meeting').click();
      await waitFor(
        async () => (await api(server.base, `/api/meetings/${meeting}`, { expect: 200 })).body.phase === 'ended',
        { timeout: LIVE_TIMEOUT_MS, message: 'the meeting to end' },
      );
      const commission = await signIn(server.base, people.commission.login, people.commission.password);
      await api(server.base, `/api/meetings/${meeting}/results`, {
        method: 'PUT',
        token: commission,
        json: { summary: `Итоги: ${ANSWER}` },
        expect: 200,
      });

      // The question is a public issue, in the list and on the results.
      const list = await openPage('reader', '/issues.html');
      await list.locator('main', { hasText: QUESTION }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await assertAccessible(list, 'the issue list');
      const results = await openPage('results reader', `/meetings/${meeting}`);
      await results.locator('#results-issue-list', { hasText: QUESTION }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await results.locator('#results-summary', { hasText: ANSWER }).waitFor();
      await assertAccessible(results, 'the meeting page with results');
      for (const page of [presenter, console_, results, list, ...Object.values(viewers)]) {
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= PHONE.width, `${page.url()}: nothing overflows 360 px (scrollWidth ${width})`);
      }
    });
  });
});
