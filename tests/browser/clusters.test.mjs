// Issue 18 in the moderator console (web/moderate.html with web/js/clusters.js) and the public
// moderation log, in a real browser against the real server binary:
//
// - viewers post near-duplicates of one question; the server marks them `similar_to`, the console
//   shows them as one cluster with its count, the likely-question view keeps the questions, and
//   the moderator promotes the cluster into one question (its wording edited) that has every
//   source comment (the console's queue and GET /api/meetings/{id}/issues); a latecomer like it
//   is merged into that question from the panel;
// - a comment with an obfuscated blocked term, and one with a link, are held by the automatic
//   rules: the author learns why, the public gets only `redacted`, the console marks them
//   "auto: <rule> — <reason>" and releases one, and the moderation log names the rule instead of a
//   moderator and counts the rules' actions apart.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/
// KEZDESU_BIN picks another server binary (default target/debug/kezdesu).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { listedComments, openLive, receivedEvent, send } from './live-sockets.mjs';
import { api, launchChromium, signIn, sleep, startServer, strongPassword, waitFor, watchPage } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start
const LIVE_TIMEOUT_MS = 5000;
// Viewers here comment faster than people do.
const CONFIG = `
[live]
comment_interval_seconds = 0.1
comment_burst = 50
`;

const ROAD = 'Когда отремонтируют дорогу на улице Абая?';
const ROAD_VARIANTS = [
  ROAD,
  'Когда отремонтируют дорогу на улице Абая??',
  'когда отремонтируют дорогу на улице Абая',
  'Когда же отремонтируют дорогу на улице Абая?',
  'Когда отремонтируют дорогу на улице Абая?!',
];

describe('near-duplicate clusters and automatic moderation in the console', { timeout: 5 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
  let desk = null; // the page the viewers talk from
  const moderator = { login: 'moderator.dana', password: strongPassword() };
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

  /** The console, signed in as the moderator by cookie, live. */
  async function openConsole(options = { viewport: { width: 1280, height: 900 } }) {
    const context = await browser.newContext(options);
    const token = await signIn(server.base, moderator.login, moderator.password);
    await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
    const page = await context.newPage();
    watchPage(page, 'console', pageLog);
    await page.goto(`${server.base}/moderate.html?meeting=${MEETING}`);
    await page.locator('#mod-connection[data-state="live"]').waitFor({ timeout: 15000 });
    return page;
  }

  before(async () => {
    server = await startServer({ configToml: CONFIG });
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    await api(server.base, '/api/accounts', {
      method: 'POST',
      token: adminToken,
      json: { login: moderator.login, display_name: 'Дана Модератор', role: 'moderator', password: moderator.password },
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
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('near-duplicates form a cluster that the moderator promotes into one question, and a latecomer joins it', async () => {
    await withDiagnostics('clusters', async () => {
      const names = ['asel', 'bolat', 'gulnar', 'daniyar', 'erlan'];
      for (const [index, name] of names.entries()) await joinViewer(name, `Житель ${index + 1}`);
      await joinViewer('other', 'Сауле');
      await openLive(desk, MEETING, 'admin', adminToken);
      const numbers = [];
      for (const [index, text] of ROAD_VARIANTS.entries()) {
        // The last author's first comment is held for review: it stays in the cluster, held.
        const last = index === ROAD_VARIANTS.length - 1;
        if (last) await send(desk, 'admin', { type: 'hold_first_comments', on: true, request_id: 'hold-on' });
        numbers.push((await comment(names[index], text)).comment);
        if (last) await send(desk, 'admin', { type: 'hold_first_comments', on: false, request_id: 'hold-off' });
      }
      const heldMember = numbers.at(-1);
      const thanks = (await comment('other', 'Спасибо за встречу, всё понятно')).comment;

      // The server marks the near-duplicates: each joins the first one's cluster.
      const events = [];
      // The admin's socket sees every comment in full, the held one too.
      for (const number of [...numbers, thanks]) events.push(await receivedEvent(desk, 'admin', { type: 'comment_posted', comment: number }));
      assert.equal(events[numbers.length - 1].held, true, 'the newcomer is held');
      const [first, ...others] = events.slice(0, numbers.length);
      assert.equal(first.similar_to ?? null, null, 'the first comment starts the cluster');
      const joined = others.filter((event) => event.similar_to?.comment === first.comment).map((event) => event.comment);
      assert.ok(joined.length >= 3, `most variations are near-duplicates: ${JSON.stringify(others.map((e) => e.similar_to))}`);
      assert.equal(events.at(-1).similar_to ?? null, null, 'an unrelated comment joins no cluster');
      assert.equal(first.likely_question, true, 'a question mark reads as a question');
      assert.notEqual(events.at(-1).likely_question, true, 'thanks are no question');
      const members = [first.comment, ...joined];

      const page = await openConsole();
      const cluster = page.locator(`#cluster-list > li[data-cluster="c:${first.comment}"]`);
      await cluster.waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.equal(await cluster.getAttribute('data-count'), String(members.length));
      assert.equal(
        (await cluster.locator('.mod-cluster__count').textContent()).trim(),
        `Похожих комментариев: ${members.length}`,
      );
      const newest = events.filter((event) => members.includes(event.comment)).at(-1);
      assert.equal(await cluster.locator('.mod-cluster__label').textContent(), newest.text, 'labelled by the newest text');
      assert.equal(await page.locator('#cluster-list > li').count(), 1, 'one cluster only');
      assert.ok(members.includes(heldMember), 'the held near-duplicate is in the cluster');

      // Opened, it lists its comments, newest first.
      await cluster.locator('summary').click();
      await waitFor(async () => (await cluster.locator('.mod-cluster__member').count()) === members.length, {
        message: 'the cluster lists its comments',
      });
      const listed = await cluster
        .locator('.mod-cluster__member')
        .evaluateAll((rows) => rows.map((row) => Number(row.dataset.member)));
      assert.deepEqual(listed, [...members].sort((a, b) => b - a));

      // Likely questions: first, or only them; the thanks drop out of "only".
      await page.locator('#likely-filter').selectOption('only');
      await waitFor(async () => !(await listedComments(page)).includes(thanks), { message: 'only likely questions' });
      const likely = events.filter((event) => event.likely_question === true).map((event) => event.comment);
      assert.deepEqual(new Set(await listedComments(page)), new Set(likely));
      assert.ok((await page.locator(`#comment-list > li[data-comment="${first.comment}"] .mod-badge--likely`).count()) === 1);
      await page.locator('#likely-filter').selectOption('first');
      const likelyFirst = async () => {
        const order = await listedComments(page);
        const firstOther = order.findIndex((number) => !likely.includes(number));
        return order.includes(thanks) && order.slice(firstOther).every((number) => !likely.includes(number));
      };
      await waitFor(likelyFirst, { message: 'likely questions first, then the others' });
      await page.locator('#likely-filter').selectOption('all');
      await waitFor(async () => (await listedComments(page))[0] === thanks, { message: 'newest first again' });

      await assertAccessible(page, 'the console with a cluster');
      // On a 360 px phone the opened cluster and its forms fit, in Kazakh too (longer words).
      await page.setViewportSize({ width: 360, height: 800 });
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 360), true, 'no sideways scrolling');
      await page.locator('#language-switch').selectOption('kk');
      await waitFor(async () => (await cluster.locator('.mod-cluster__count').textContent()).startsWith('Осындай'), {
        message: 'the panel in Kazakh',
      });
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 360), true, 'no sideways scrolling in Kazakh');
      await page.locator('#language-switch').selectOption('ru');
      await page.setViewportSize({ width: 1280, height: 900 });

      // A held comment cannot go into a question: the panel says so and releases it on request.
      assert.match(await cluster.locator('.mod-cluster__held-note').textContent(), /Задержано из них: 1\./);
      await cluster.locator('[data-action="release-held"]').click();
      await receivedEvent(desk, 'other', { type: 'comment_released', comment: heldMember });
      await cluster.locator('.mod-cluster__held-note').waitFor({ state: 'detached', timeout: LIVE_TIMEOUT_MS });

      // Promote: one question of every comment in the cluster, with its wording edited.
      const wording = 'Когда отремонтируют дорогу на улице Абая? (несколько жителей)';
      await cluster.locator('textarea[data-field="text"]').fill(wording);
      await cluster.locator('[data-action="promote-cluster"]').click();
      const created = await receivedEvent(desk, 'other', { type: 'question_created', text: wording });
      assert.deepEqual([...created.sources].sort((a, b) => a - b), [...members].sort((a, b) => a - b));
      await page.locator(`#question-list > li[data-question="${created.question}"]`).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(
        await page.locator(`#question-list > li[data-question="${created.question}"] .mod-question__sources`).textContent(),
        new RegExp(members.map((n) => `№ ${n}`).join('|')),
      );
      await cluster.waitFor({ state: 'detached', timeout: LIVE_TIMEOUT_MS });
      await page.locator('#clusters-empty').waitFor({ state: 'visible' });
      const issues = (await api(server.base, `/api/meetings/${MEETING}/issues`, { expect: 200 })).body.issues;
      const issue = issues.find((entry) => entry.question === created.question);
      assert.ok(issue, 'the question is an issue of the meeting');
      assert.deepEqual(
        issue.sources.map((source) => source.comment).sort((a, b) => a - b),
        [...members].sort((a, b) => a - b),
        'every source comment',
      );

      // A latecomer like it: offered to join that question, which the picker offers first.
      await joinViewer('late', 'Опоздавший');
      const late = (await comment('late', 'Когда отремонтируют дорогу на улице Абая???')).comment;
      const lateEvent = await receivedEvent(desk, 'other', { type: 'comment_posted', comment: late });
      assert.ok(lateEvent.similar_to, 'the latecomer joins the cluster');
      const lateItem = page.locator(`#cluster-list > li[data-key-question="${created.question}"]`);
      await lateItem.waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.equal(await lateItem.getAttribute('data-count'), '1');
      const picker = lateItem.locator('select[data-field="into"]');
      assert.equal(await picker.inputValue(), String(created.question), 'its own question offered first');
      await lateItem.locator('[data-action="merge-cluster"]').click();
      const merged = await receivedEvent(desk, 'other', { type: 'question_merged', into: created.question });
      assert.ok(merged.sources.includes(late), 'the latecomer is a source of the question now');
      await lateItem.waitFor({ state: 'detached', timeout: LIVE_TIMEOUT_MS });
      await page.context().close();
    });
  });

  test('automatic rules hold a blocked term and a link; the console says so and the log names the rule', async () => {
    await withDiagnostics('automatic rules', async () => {
      await joinViewer('seller', 'Продавец');
      await joinViewer('watcher', 'Наблюдатель');
      // `казино*` is a blocked stem (config/moderation/terms/ru.txt), spelled out to slip past.
      const blocked = await comment('seller', 'Лучшее к.а.з.и.н.о онлайн, заходите');
      const link = await comment('seller', 'Подробности тут bit.ly/xyz');
      const blockedEvent = await receivedEvent(desk, 'seller', { type: 'comment_posted', comment: blocked.comment });
      const linkEvent = await receivedEvent(desk, 'seller', { type: 'comment_posted', comment: link.comment });
      for (const event of [blockedEvent, linkEvent]) {
        assert.equal(event.held, true, `held: ${JSON.stringify(event)}`);
        assert.ok(event.flagged?.rule, 'an automatic rule acted');
        assert.ok(event.flagged?.reason, 'with its public reason');
      }
      // The public gets only the comment's place in the log.
      const seqs = [blocked.seq, link.seq];
      await desk.waitForFunction(
        (seqs) => seqs.every((seq) => window.__events.watcher.some((event) => event.seq === seq && event.type === 'redacted')),
        seqs,
        { timeout: LIVE_TIMEOUT_MS },
      );

      const page = await openConsole();
      const row = (number) => page.locator(`#comment-list > li[data-comment="${number}"]`);
      for (const event of [blockedEvent, linkEvent]) {
        const badge = row(event.comment).locator('.mod-badge--auto');
        await badge.waitFor({ timeout: LIVE_TIMEOUT_MS });
        assert.equal(await badge.getAttribute('data-rule'), event.flagged.rule);
        assert.match(await badge.textContent(), /^авто: .+ — .+$/);
      }
      await page.locator('.mod-filter__button[data-filter="held"]').click();
      await waitFor(async () => (await listedComments(page)).includes(blocked.comment), { message: 'in the held list' });
      // The moderator releases the link's comment with the usual button.
      await row(link.comment).locator('[data-action="release"]').click();
      await receivedEvent(desk, 'watcher', { type: 'comment_released', comment: link.comment });
      await waitFor(async () => !(await listedComments(page)).includes(link.comment), { message: 'released: no longer held' });
      await page.locator('.mod-filter__button[data-filter="all"]').click();
      await row(link.comment).locator('.mod-badge--auto').waitFor({ state: 'detached', timeout: LIVE_TIMEOUT_MS });
      await page.context().close();

      // The public log: the rule, not a moderator, and the rules' actions counted apart.
      const record = (await api(server.base, `/api/meetings/${MEETING}/moderation-log`, { expect: 200 })).body;
      const ruleEntries = record.entries.filter((entry) => entry.rule);
      assert.ok(ruleEntries.length >= 2, JSON.stringify(record.entries));
      assert.ok(ruleEntries.every((entry) => entry.moderator === null));
      const log = await browser.newPage();
      watchPage(log, 'log', pageLog);
      await log.goto(`${server.base}/moderation-log.html?meeting=${MEETING}`);
      const ruleRow = log.locator(`#entries-table tr[data-actor="rule"][data-target-id="${blocked.comment}"]`);
      await ruleRow.waitFor();
      assert.equal(await ruleRow.getAttribute('data-rule'), blockedEvent.flagged.rule);
      assert.match(await ruleRow.textContent(), /Автоматическое правило: /);
      assert.match(await ruleRow.textContent(), /Комментарий задержан для проверки/);
      const release = log.locator(`#entries-table tr[data-action="release"][data-target-id="${link.comment}"]`);
      assert.match(await release.textContent(), /Дана Модератор/, 'a moderator by name');
      await log.locator('#by-rules').waitFor({ state: 'visible' });
      assert.equal(
        await log.locator('#by-actor [data-actor="rules"] dd').textContent(),
        String(record.by_actor.rules),
      );
      assert.ok(record.by_actor.rules >= 2);
      assert.equal(await log.locator(`#by-rule [data-rule="${blockedEvent.flagged.rule}"]`).count(), 1);
      await assertAccessible(log, 'the moderation log with automatic rules');
      await log.close();
    });
  });
});
