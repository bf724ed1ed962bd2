// The register of problem issues in a real browser against the real server binary, on a phone-
// sized screen:
//
// - a citizen opens a scheduled meeting's page, sends the request form and gets a receipt link;
//   until the commission takes the request up it is not public;
// - a commission member (an account made by the admin; the session cookie) finds it in the list
//   marked "not public", and works it on its page through the workspace: reads the citizen's
//   contact, accepts the issue, adds an action-plan item with executor and deadline (and one
//   more, past its deadline and so overdue, then marked done today), moves it to planned,
//   reports progress; a refused merge shows the server's problem next to the form;
// - an anonymous reader finds the issue in the public list with filters applied through the form
//   and through a linked address, with export links carrying the same filters;
// - the receipt page shows the issue planned, its executor and the progress text; an unknown
//   code gets a friendly message;
// - a viewer who joined the discussion gets their "follow my questions" receipt;
// - once the meeting starts the form closes; its published results list the issue with its plan;
// - the citizen's name and contact appear on no public page.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/
// KEZDESU_BIN picks another server binary (default target/debug/kezdesu); CHROMIUM another
// browser (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { api, launchChromium, signIn, startServer, strongPassword, waitFor, watchPage } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start, scheduled a few minutes ahead
const CITIZEN = {
  name: 'Айгүл Серікқызы Жұмабаева',
  contact: '+7 701 555 12 34',
  title: 'Нет освещения на улице Абая',
  text: 'Вечером на улице Абая от дома 10 до дома 40\nне горит ни один фонарь.',
};
const PLAN = {
  measure: 'Установить 12 светодиодных фонарей',
  organisation: 'ГУ «Отдел ЖКХ города Косшы»',
  person: 'Нұрлан Серікұлы Әбенов',
  deadline: '2030-06-30',
  amount: '1 500 000',
  maslikhat: '2030-03-15',
};
// Past its deadline on purpose: overdue until it is marked done.
const CHECK = { measure: 'Проверить работу освещения', organisation: 'ТОО «Светлый город»', person: 'Иванов И. И.', deadline: '2020-07-15' };
const PROGRESS = 'Смета согласована, подрядчик выбран по конкурсу.';
const LIVE_TIMEOUT_MS = 10000;

describe('the register of problem issues, from the request form to the receipt', { timeout: 6 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
  let commissionToken = null;
  let receiptHref = null;
  let issueId = null;
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

  /** A phone-sized page in a fresh browser context, signed in when `token` is given. */
  async function openPage(name, path, { token = null } = {}) {
    const context = await browser.newContext({ viewport: { width: 360, height: 780 } });
    if (token) await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    watchPage(page, name, pageLog);
    await page.goto(`${server.base}${path}`);
    return page;
  }

  /** Neither the text nor the markup of the page holds the citizen's name or contact. */
  async function assertNoPersonalData(page, where) {
    const { text, html } = await page.evaluate(() => ({
      text: document.body.innerText,
      html: document.documentElement.outerHTML,
    }));
    for (const secret of [CITIZEN.name, CITIZEN.contact, 'Серікқызы', '555 12 34']) {
      assert.ok(!text.includes(secret), `${where} shows "${secret}"`);
      assert.ok(!html.includes(secret), `${where} holds "${secret}" in its markup`);
    }
  }

  async function assertFitsPhone(page, where) {
    const overflows = await page.evaluate(
      () => document.documentElement.scrollWidth > document.documentElement.clientWidth,
    );
    assert.equal(overflows, false, `${where}: nothing overflows a 360 px screen`);
    await assertAccessible(page, where);
  }

  before(async () => {
    server = await startServer();
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    const password = strongPassword();
    await api(server.base, '/api/accounts', {
      method: 'POST',
      token: adminToken,
      json: { login: 'commission-1', display_name: 'Комиссия: Сәуле Ахметова', role: 'commission', password },
      expect: 201,
    });
    commissionToken = await signIn(server.base, 'commission-1', password);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a citizen sends a request from the meeting page and gets a receipt link', async () => {
    await withDiagnostics('request form', async () => {
      const page = await openPage('citizen', `/meetings/${MEETING}`);
      await page.locator('#request').waitFor({ state: 'visible' });
      assert.match(await page.locator('#request-privacy').textContent(), /никогда не публикуются/);
      await assertFitsPhone(page, 'the meeting page');

      // An empty form is refused on the page, next to the form.
      await page.locator('#request-submit').click();
      await page.locator('#request-error', { hasText: 'Укажите имя' }).waitFor();

      await page.locator('#request').getByLabel('Ваше имя', { exact: true }).fill(CITIZEN.name);
      await page.locator('#request-contact').fill(CITIZEN.contact);
      await page.locator('#request-title').fill(CITIZEN.title);
      await page.locator('#request-text').fill(CITIZEN.text);
      await page.locator('#request-category').selectOption('roads');
      await page.locator('#request-submit').click();

      const link = page.locator('#request-receipt-link');
      await link.waitFor({ state: 'visible' });
      receiptHref = await link.getAttribute('href');
      assert.match(receiptHref, /^\/receipt\.html\?code=[A-Za-z0-9_-]{16,64}$/);
      assert.equal((await link.textContent()).trim(), `${server.base}${receiptHref}`, 'the whole address is shown');
      assert.equal(await page.locator('#request-form').isHidden(), true, 'the form gives way to the receipt');
      assert.equal(await page.locator('#request-name').inputValue(), '', 'the form was cleared');

      const code = new URL(receiptHref, server.base).searchParams.get('code');
      const receipt = (await api(server.base, `/api/receipts/${code}`, { expect: 200 })).body;
      assert.equal(receipt.kind, 'request');
      assert.equal(receipt.issues.length, 1);
      issueId = receipt.issues[0].id;
      assert.equal(receipt.issues[0].status, 'new');
      assert.equal(receipt.issues[0].category, 'roads');

      // Not public until the commission takes it up.
      const early = await openPage('early reader', `/issue.html?id=${issueId}`);
      await early.locator('#page-message', { hasText: 'не найден' }).waitFor();
      assert.equal(await early.locator('#issue').isHidden(), true);
      await early.context().close();
    });
  });

  test('a commission member accepts, plans and reports on the issue in the workspace', async () => {
    await withDiagnostics('workspace', async () => {
      assert.ok(issueId, 'the request made an issue');
      // The keeper's list has the new request, marked as not public.
      const list = await openPage('commission list', '/issues.html?status=new', { token: commissionToken });
      const pending = list.locator(`#issue-list [data-issue="${issueId}"]`);
      await pending.waitFor();
      await pending.locator('[data-private="true"]').waitFor();
      await list.locator('#keeper-note').waitFor({ state: 'visible' });
      await pending.locator('a').click();

      const page = list;
      await page.waitForURL(new RegExp(`/issue\\.html\\?id=${issueId}$`));
      await page.locator('#workspace').waitFor({ state: 'visible' });
      await page.locator('#issue-title', { hasText: CITIZEN.title }).waitFor();
      await page.locator('#issue-badges [data-private="true"]').waitFor();
      // The request's own words and the citizen's contact, for the keeper only.
      await page.locator('#issue-sources', { hasText: 'не горит ни один фонарь' }).waitFor();
      await page.locator('#contacts-list', { hasText: CITIZEN.name }).waitFor();
      assert.match(await page.locator('#contacts-list').textContent(), /\+7 701 555 12 34/);

      // Rejecting needs a reason: said next to the form, nothing sent.
      await page.locator('#status-select').selectOption('rejected');
      await page.locator('#status-submit').click();
      await page.locator('#status-error', { hasText: 'причину' }).waitFor();

      // Accept.
      await page.locator('#status-select').selectOption('accepted');
      await page.locator('#status-note').fill('Принято в работу комиссией.');
      await page.locator('#status-submit').click();
      await page.locator('#issue-badges [data-status="accepted"]').waitFor();
      await page.locator('#status-done', { hasText: 'Статус изменён.' }).waitFor();
      assert.equal(await page.locator('#issue-badges [data-private="true"]').count(), 0, 'public once accepted');

      // An action-plan item with executor, deadline and financing.
      await page.locator('#action-measure').fill(PLAN.measure);
      await page.locator('#action-organisation').fill(PLAN.organisation);
      await page.locator('#action-person').fill(PLAN.person);
      await page.locator('#action-deadline').fill(PLAN.deadline);
      await page.locator('#action-financing').check();
      await page.locator('#action-amount').fill(PLAN.amount);
      await page.locator('#action-maslikhat').fill(PLAN.maslikhat);
      await page.locator('#action-submit').click();
      await page.locator('#action-done', { hasText: 'Добавлено в план.' }).waitFor();
      const row = page.locator('#issue-plan tbody tr', { hasText: PLAN.measure });
      await row.waitFor();
      const rowText = await row.textContent();
      assert.ok(rowText.includes(PLAN.organisation) && rowText.includes(PLAN.person), 'the executor is in the plan');
      assert.match(rowText, /30 июня 2030/);
      assert.match(rowText, /1\s500\s000/);
      assert.equal(await page.locator('#action-measure').inputValue(), '', 'the item form was cleared');

      // A second item, carried out today.
      await page.locator('#action-measure').fill(CHECK.measure);
      await page.locator('#action-organisation').fill(CHECK.organisation);
      await page.locator('#action-person').fill(CHECK.person);
      await page.locator('#action-deadline').fill(CHECK.deadline);
      await page.locator('#action-submit').click();
      const checkRow = page.locator('#issue-plan tbody tr', { hasText: CHECK.measure });
      await checkRow.locator('[data-overdue="true"]').waitFor();
      await page.locator('#issue-badges [data-overdue="true"]').waitFor();
      await page.locator('#issue-deadlines', { hasText: 'Пунктов плана с нарушенным сроком' }).waitFor();
      await checkRow.locator('button[data-mark-done]').click();
      await waitFor(async () => (await checkRow.locator('button[data-mark-done]').count()) === 0, {
        timeout: LIVE_TIMEOUT_MS,
        message: 'the item marked done',
      });
      assert.doesNotMatch(await checkRow.textContent(), /Ещё нет/);
      assert.equal(await checkRow.locator('[data-overdue]').count(), 0, 'done: no longer overdue');
      assert.equal(await page.locator('#issue-badges [data-overdue]').count(), 0);

      // Planned.
      await page.locator('#status-select').selectOption('planned');
      await page.locator('#status-submit').click();
      await page.locator('#issue-badges [data-status="planned"]').waitFor();

      // Progress.
      await page.locator('#progress-text').fill(PROGRESS);
      await page.locator('#progress-submit').click();
      await page.locator('#issue-progress', { hasText: PROGRESS }).waitFor();
      await page.locator('#progress-done', { hasText: 'Отчёт опубликован.' }).waitFor();

      // A merge the server refuses: its problem is shown next to the form.
      page.once('dialog', (dialog) => dialog.accept());
      await page.locator('#merge-into').fill('999999');
      await page.locator('#merge-submit').click();
      await page.locator('#merge-error', { hasText: /not found/i }).waitFor();
      await page.locator('#issue-badges [data-status="planned"]').waitFor();

      // The history, in words, with who did it.
      await waitFor(async () => (await page.locator('#issue-history li').count()) >= 7, {
        timeout: LIVE_TIMEOUT_MS,
        message: 'seven history entries',
      });
      const history = await page.locator('#issue-history').textContent();
      assert.match(history, /Поступил: Обращение до встречи/);
      assert.match(history, /Статус: Новый → Принят; примечание: Принято в работу комиссией\./);
      assert.match(history, /Статус: Принят → Запланирован/);
      assert.ok(history.includes(`В план добавлено: ${PLAN.measure}`));
      assert.ok(history.includes(PROGRESS));
      assert.ok(history.includes('Сәуле Ахметова'), 'who made the changes');
      await assertFitsPhone(page, 'the issue page with the workspace');

      const issue = (await api(server.base, `/api/issues/${issueId}`, { expect: 200 })).body;
      assert.equal(issue.status, 'planned');
      assert.equal(issue.actions.length, 2);
      const planned = issue.actions.find((item) => item.measure === PLAN.measure);
      const checked = issue.actions.find((item) => item.measure === CHECK.measure);
      assert.equal(planned.financing_amount, 1500000);
      assert.equal(planned.maslikhat_session_on, PLAN.maslikhat);
      assert.equal(planned.done_on, null);
      assert.match(checked.done_on ?? '', /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(checked.overdue, false);
      await page.context().close();
    });
  });

  test('the public list finds the issue with filters, and no public page shows the name or contact', async () => {
    await withDiagnostics('public list', async () => {
      const contactReads = [];
      const page = await openPage('reader', '/issues.html');
      page.on('request', (request) => {
        if (request.url().includes('/contacts')) contactReads.push(request.url());
      });
      // This issue and the demo issue that the first start plans.
      await page.locator('#list-summary', { hasText: 'Найдено вопросов: 2' }).waitFor();
      await assertFitsPhone(page, 'the issue list');

      // Filter through the form: the address follows, and so do the export links.
      await page.locator('#filter-status').selectOption('planned');
      await page.locator('#filter-category').selectOption('roads');
      await page.locator('#filters-apply').click();
      await page.waitForURL(/\/issues\.html\?status=planned&category=roads$/);
      const card = page.locator(`#issue-list [data-issue="${issueId}"]`);
      await card.waitFor();
      assert.equal(await card.getAttribute('data-status'), 'planned');
      assert.match(await card.textContent(), /Запланирован/);
      assert.match(await card.textContent(), /Дороги/);
      assert.match(await card.textContent(), /Ближайший срок по плану: 30 июня 2030/);
      assert.equal(await page.locator('#export-csv').getAttribute('href'), '/api/issues/export?format=csv&status=planned&category=roads');
      assert.equal(await page.locator('#export-json').getAttribute('href'), '/api/issues/export?format=json&status=planned&category=roads');
      assert.equal(await card.locator('[data-private]').count(), 0);
      await assertNoPersonalData(page, 'the filtered list');

      // Another status: nothing; the browser's back button brings the first search again.
      await page.locator('#filter-status').selectOption('resolved');
      await page.locator('#filters-apply').click();
      await page.locator('#list-summary', { hasText: 'По этим фильтрам вопросов нет.' }).waitFor();
      await page.goBack();
      await card.waitFor();
      assert.equal(await page.locator('#filter-status').inputValue(), 'planned');

      // A linked filtered list opens with its filters in the form.
      await page.goto(`${server.base}/issues.html?status=planned&overdue=false&sort=newest`);
      await card.waitFor();
      assert.equal(await page.locator('#filter-status').inputValue(), 'planned');
      assert.equal(await page.locator('#filter-sort').inputValue(), 'newest');

      // The export the link names answers with the issue and no personal data.
      const exported = await api(server.base, '/api/issues/export?format=json&status=planned&category=roads', { expect: 200 });
      assert.deepEqual(exported.body.map((issue) => issue.id), [issueId]);
      assert.ok(!JSON.stringify(exported.body).includes(CITIZEN.contact));

      // The issue page for everyone: status, plan and progress; no workspace, no contacts.
      await card.locator('a').click();
      await page.waitForURL(new RegExp(`/issue\\.html\\?id=${issueId}$`));
      await page.locator('#issue-badges [data-status="planned"]').waitFor();
      await page.locator('#issue-plan', { hasText: PLAN.organisation }).waitFor();
      await page.locator('#issue-progress', { hasText: PROGRESS }).waitFor();
      await page.locator('#issue-history li').first().waitFor();
      assert.equal(await page.locator('#workspace').isHidden(), true);
      await assertNoPersonalData(page, 'the public issue page');
      await assertFitsPhone(page, 'the public issue page');
      assert.deepEqual(contactReads, [], 'contacts are never asked for by a public page');
      await page.context().close();
    });
  });

  test('the receipt page shows the way to resolution', async () => {
    await withDiagnostics('receipt', async () => {
      assert.ok(receiptHref, 'the citizen got a receipt');
      const page = await openPage('receipt', receiptHref);
      const section = page.locator(`.receipt-issue[data-issue="${issueId}"]`);
      await section.waitFor();
      await section.locator('.issue-badges [data-status="planned"]').waitFor();
      assert.equal(await section.locator('[aria-current="step"]').textContent(), 'Запланирован');
      const text = await section.textContent();
      assert.ok(text.includes(PLAN.organisation), 'the executor organisation');
      assert.ok(text.includes(PLAN.person), 'the executor');
      assert.ok(text.includes(PROGRESS), 'the progress report');
      assert.match(text, /30 июня 2030/);
      // What they sent, in their words.
      await page.locator('#submitted-text', { hasText: 'не горит ни один фонарь' }).waitFor();
      await assertNoPersonalData(page, 'the receipt page');
      await assertFitsPhone(page, 'the receipt page');

      await page.goto(`${server.base}/receipt.html?code=no-such-receipt`);
      await page.locator('#page-message', { hasText: 'Квитанция не найдена' }).waitFor();
      assert.equal(await page.locator('#receipt').isHidden(), true);
      await page.context().close();
    });
  });

  test('a viewer who joined the discussion gets a receipt for their questions', async () => {
    await withDiagnostics('follow', async () => {
      const page = await openPage('viewer', `/meetings/${MEETING}`);
      await page.locator('#live-join').waitFor({ state: 'visible' });
      await page.locator('#live-join-name').fill('Зритель');
      await page.locator('#live-join-submit').click();
      await page.locator('#live-follow').waitFor({ state: 'visible' });
      await page.locator('#live-follow-button').click();
      const link = page.locator('#live-follow-link');
      await link.waitFor({ state: 'visible' });
      const href = await link.getAttribute('href');
      assert.match(href, /^\/receipt\.html\?code=[A-Za-z0-9_-]{16,64}$/);
      await link.click();
      await page.locator('#issues-empty', { hasText: 'ни один ваш комментарий' }).waitFor();
      await page.locator('#comments-intro').waitFor({ state: 'visible' });
      await page.context().close();
    });
  });

  test('the form closes when the meeting starts, and the results list the issue with its plan', async () => {
    await withDiagnostics('results', async () => {
      const page = await openPage('late citizen', `/meetings/${MEETING}`);
      await page.locator('#request').waitFor({ state: 'visible' });
      await api(server.base, `/api/meetings/${MEETING}/phase`, {
        method: 'POST',
        token: adminToken,
        json: { phase: 'presentation' },
        expect: 200,
      });
      await page.locator('#request').waitFor({ state: 'hidden', timeout: LIVE_TIMEOUT_MS });
      const late = await api(server.base, `/api/meetings/${MEETING}/requests`, {
        method: 'POST',
        json: { name: 'X', title: 'Поздно', text: 'Поздно' },
      });
      assert.equal(late.status, 409);
      assert.equal(late.body.code, 'requests_closed');

      await api(server.base, `/api/meetings/${MEETING}/phase`, {
        method: 'POST',
        token: adminToken,
        json: { phase: 'ended' },
        expect: 200,
      });
      await api(server.base, `/api/meetings/${MEETING}/results`, {
        method: 'PUT',
        token: commissionToken,
        json: { summary: 'Итоги встречи: освещение улицы Абая включено в план.' },
        expect: 200,
      });
      const reader = await openPage('results reader', `/meetings/${MEETING}`);
      const item = reader.locator(`#results-issue-list [data-issue="${issueId}"]`);
      await item.waitFor({ timeout: LIVE_TIMEOUT_MS });
      const text = await item.textContent();
      assert.ok(text.includes(CITIZEN.title));
      assert.ok(text.includes(PLAN.measure));
      assert.ok(text.includes(`Исполнитель: ${PLAN.organisation}, ${PLAN.person}`));
      assert.match(text, /Срок: 30 июня 2030/);
      assert.equal(await item.locator('[data-status="planned"]').count(), 1);
      assert.equal(await reader.locator('#request').isHidden(), true, 'no request form once the meeting is over');
      await assertNoPersonalData(reader, 'the meeting page with results');
      await assertFitsPhone(reader, 'the meeting page with results');
      await page.context().close();
      await reader.context().close();
    });
  });
});
