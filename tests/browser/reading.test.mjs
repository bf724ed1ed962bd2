// The pages that keep up (issue 18), in Chromium against the real server binary:
//
// - a reader with no name reads the discussion at once (comments, questions with their votes,
//   the phase), and is asked for a name only on voting; after joining, the vote goes;
// - the comment list holds still while the reader reads back, says how many new comments came
//   ("Новые комментарии: N"), and catches up on the button;
// - the moderator console, opened late, shows the held comments and the pinned question from
//   the snapshot it joins with.
//
// The viewers and the moderator talk over WebSockets from a "desk" page, as moderate.test.mjs.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { openLive, send } from './live-sockets.mjs';
import { api, diagnostics, launchChromium, signIn, startServer, strongPassword, waitFor, watchPage } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start
const LIVE_TIMEOUT_MS = 10000;
const PHONE = { width: 360, height: 780 };
// Viewers here comment faster than people do.
const CONFIG = `
[live]
comment_interval_seconds = 0.01
comment_burst = 200
`;

const SCROLL_TEXTS = [
  'Дорога на Абая вся в ямах', 'Нет света во дворе дома 12', 'Школа №3 переполнена', 'Автобус 45 ходит редко',
  'В парке не убирают листья', 'Из крана течёт ржавая вода', 'Детский сад далеко от дома', 'Нужен светофор у рынка',
  'Мусор не вывозят неделю', 'В больнице нет терапевта', 'Тротуар на Ленина узкий', 'Крыша в подъезде течёт',
  'Отопление включили поздно', 'Мост через реку шатается', 'Аптеку закрыли на ремонт', 'Остановку снесли зачем-то',
  'Площадку для детей сломали', 'Газ подключат в этом году?', 'Снег во дворах не чистят', 'Бродячие собаки у школы',
  'Жол жөндеу керек', 'Мектепке автобус керек', 'Саябақта орындық жоқ', 'Ауруханада кезек көп',
  'Спортзал для молодёжи нужен', 'Интернет в селе слабый', 'Почта работает до обеда', 'Кладбище не огорожено',
  'Библиотеку бы обновить', 'Где взять справку о жилье?',
];

describe('pages that keep up', { timeout: 3 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let desk = null;
  let adminToken = null;
  let counter = 0;
  const pageLog = [];
  const withDiagnostics = diagnostics(() => server, pageLog);
  const moderator = { login: 'moderator.reading', password: strongPassword() };

  async function comment(name, text) {
    const answer = await send(desk, name, { type: 'comment', client_id: `r-${++counter}`, text });
    assert.equal(answer.type, 'ack', JSON.stringify(answer));
    return answer.comment;
  }

  async function moderate(message) {
    const answer = await send(desk, 'moderator', { ...message, request_id: `m-${++counter}` });
    assert.equal(answer.type, 'done', JSON.stringify(answer));
    return answer;
  }

  async function viewer(name, displayName) {
    const { token } = (
      await api(server.base, `/api/meetings/${MEETING}/viewers`, { method: 'POST', json: { display_name: displayName }, expect: 201 })
    ).body;
    await openLive(desk, MEETING, name, token);
  }

  before(async () => {
    server = await startServer({ configToml: CONFIG });
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    await api(server.base, '/api/accounts', {
      method: 'POST',
      token: adminToken,
      json: { login: moderator.login, display_name: 'Модератор', role: 'moderator', password: moderator.password },
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
    await viewer('aigul', 'Айгүл');
    await viewer('yerlan', 'Ерлан');
    await openLive(desk, MEETING, 'moderator', await signIn(server.base, moderator.login, moderator.password));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a reader with no name reads the discussion, and joins only to vote', async () => {
    await withDiagnostics('reader', async () => {
      const road = 'Когда отремонтируют дорогу на улице Абая?';
      const roadComment = await comment('aigul', road);
      await comment('yerlan', 'Поддерживаю, дорога разбита');
      await moderate({ type: 'promote', comments: [roadComment] });
      const issues = (await api(server.base, `/api/meetings/${MEETING}/issues`, { expect: 200 })).body.issues;
      const question = issues.find((issue) => issue.text === road).question;
      const vote = await send(desk, 'yerlan', { type: 'vote', question, up: true, request_id: `v-${++counter}` });
      assert.equal(vote.type, 'done');

      const context = await browser.newContext({ viewport: PHONE });
      const page = await context.newPage();
      watchPage(page, 'reader', pageLog);
      await page.goto(`${server.base}/meetings/${MEETING}`);
      // Read at once: comments, the question with its votes, the phase; no name asked for it.
      await page.locator('#live-comments', { hasText: 'Поддерживаю, дорога разбита' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page.locator('#live-queue .question', { hasText: road }).waitFor();
      assert.match(await page.locator(`#live-queue .vote-button[data-question="${question}"] .vote-button__count`).textContent(), /1/);
      await page.locator('#meeting-phase', { hasText: 'Доклад' }).waitFor();
      assert.equal(await page.locator('#live-post').isVisible(), false, 'no comment form before joining');
      assert.equal(await page.locator('#live-join').isVisible(), true, 'the join form is offered below');
      assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'nothing stored: not joined');
      await assertAccessible(page, 'the meeting page of a reader');

      // Live: a new comment arrives without joining.
      await comment('aigul', 'А тротуары тоже сделают?');
      await page.locator('#live-comments', { hasText: 'А тротуары тоже сделают?' }).waitFor({ timeout: LIVE_TIMEOUT_MS });

      // Voting asks for a name; once joined on the same page, the vote goes.
      await page.locator(`#live-queue .vote-button[data-question="${question}"]`).click();
      await page.locator('#live-join-error', { hasText: 'назовитесь' }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'live-join-name');
      await page.fill('#live-join-name', 'Дана');
      await page.click('#live-join-submit');
      await page.locator('#live-post-text').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT_MS });
      await page
        .locator(`#live-queue .vote-button[data-question="${question}"][aria-pressed="true"]`)
        .waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page
        .locator(`#live-queue .vote-button[data-question="${question}"] .vote-button__count`, { hasText: '2' })
        .waitFor({ timeout: LIVE_TIMEOUT_MS });

      // And comments as Дана.
      await page.fill('#live-post-text', 'Спасибо за ответ');
      await page.click('#live-post-submit');
      await page.locator('#live-mine-list', { hasText: 'Спасибо за ответ' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page.locator('#live-comments .comment--mine', { hasText: 'Спасибо за ответ' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await context.close();
    });
  });

  test('the list holds still while the reader reads back, and says how many came', async () => {
    await withDiagnostics('pause', async () => {
      const context = await browser.newContext({ viewport: PHONE });
      const page = await context.newPage();
      watchPage(page, 'pause', pageLog);
      await page.goto(`${server.base}/meetings/${MEETING}`);
      // Thirty different comments: the same text again from one author is a flood the
      // automatic rules hide.
      for (let index = 1; index <= 30; index += 1) await comment(index % 2 ? 'aigul' : 'yerlan', SCROLL_TEXTS[index - 1]);
      await page.locator('#live-comments', { hasText: SCROLL_TEXTS[29] }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      const lastRow = () => page.locator('#live-comments > li').last().textContent();
      assert.ok((await lastRow()).includes(SCROLL_TEXTS[29]), 'following the newest');
      // Following means the newest row is in view: the log is scrolled to its bottom.
      const atBottom = () =>
        page.locator('#live-comments-log').evaluate((log) => log.scrollHeight > log.clientHeight && log.scrollHeight - log.scrollTop - log.clientHeight < 2);
      await waitFor(atBottom, { timeout: LIVE_TIMEOUT_MS, message: 'the log at its newest row' });

      // The reader scrolls back up: three new comments do not move the list.
      await page.locator('#live-comments-log').evaluate((log) => {
        log.scrollTop = 0;
      });
      await page.waitForTimeout(300);
      const rowsBefore = await page.locator('#live-comments > li').count();
      for (const text of ['Когда откроют бассейн?', 'Фонари на Сатпаева не горят', 'Спасибо за новый сквер']) {
        await comment('aigul', text);
      }
      await page.locator('#live-comments-new', { hasText: 'Новые комментарии: 3' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.ok((await lastRow()).includes(SCROLL_TEXTS[29]), 'the list held still');
      assert.equal(await page.locator('#live-comments > li').count(), rowsBefore);
      assert.equal(await page.locator('#live-comments-log').evaluate((log) => log.scrollTop), 0);
      await assertAccessible(page, 'the paused comment list');

      // The button catches up and follows again.
      await page.click('#live-comments-new');
      await page.locator('#live-comments-new').waitFor({ state: 'hidden' });
      assert.match(await lastRow(), /Спасибо за новый сквер/);
      await comment('yerlan', 'И снова в ленте');
      await waitFor(async () => /снова в ленте/.test(await lastRow()), { timeout: LIVE_TIMEOUT_MS, message: 'following again' });
      await waitFor(atBottom, { timeout: LIVE_TIMEOUT_MS, message: 'the log at its newest row again' });
      // Screen readers hear a summary, not every comment.
      assert.equal(await page.locator('#live-comments-log').getAttribute('aria-live'), 'off');
      await page.locator('#live-comments-announce', { hasText: /Новые комментарии: \d+/ }).waitFor({ state: 'attached', timeout: LIVE_TIMEOUT_MS });
      await context.close();
    });
  });

  test('the console opened late shows the held comments and the pins from its snapshot', async () => {
    await withDiagnostics('console late', async () => {
      await moderate({ type: 'hold_first_comments', on: true });
      await viewer('newcomer', 'Новичок');
      const held = await comment('newcomer', 'Первый комментарий новичка, ждёт проверки');
      const parks = await comment('aigul', 'Что будет с парком?');
      await moderate({ type: 'promote', comments: [parks], text: 'Что будет с парком?' });
      const questions = (await api(server.base, `/api/meetings/${MEETING}/issues`, { expect: 200 })).body.issues;
      const park = questions.find((issue) => issue.text === 'Что будет с парком?').question;
      await moderate({ type: 'pin', question: park, position: 0 });

      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const token = await signIn(server.base, moderator.login, moderator.password);
      await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
      const page = await context.newPage();
      watchPage(page, 'console', pageLog);
      const sockets = [];
      page.on('websocket', (socket) => sockets.push(socket.url()));
      await page.goto(`${server.base}/moderate.html?meeting=${MEETING}`);
      await page.locator('#mod-connection[data-state="live"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(sockets[0], /\?snapshot=true$/);
      await page.locator(`#comment-list > li[data-comment="${held}"][data-state="held"]`).waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page.locator('.mod-filter__button[data-filter="held"]').click();
      await waitFor(
        async () => (await page.locator('#comment-list > li').evaluateAll((items) => items.map((item) => item.dataset.state))).every((state) => state === 'held'),
        { message: 'only held comments under the held filter' },
      );
      const first = page.locator('#question-list > li').first();
      await waitFor(async () => Number(await first.getAttribute('data-question')) === park, { message: 'the pinned question first' });
      assert.equal(await page.locator('#hold-first').isChecked(), true, 'the setting comes with the snapshot');
      await context.close();
    });
  });
});
