// The yearly calendar, the compliance dashboard and personal receptions in a real browser against
// the real server binary, on a phone-sized screen (360 px wide) where it matters:
//
// - an admin sets up (through the API) a district with two villages, an akim governing it, a
//   meeting with a place and an online link, a reception slot after it and a problem issue;
// - the akim signs in through signin.html and lands on their calendar; they start the first
//   revision with a meeting in one village, save the draft with a meeting in every quarter there,
//   and see the other village named as a gap in each quarter; a date of agreement that has not
//   come yet is refused and the server's problem read out; they record the maslikhat's agreement;
// - an anonymous reader sees the agreed revision in force, its meetings (the online link a safe
//   link), the deadlines and the gaps, and no workspace;
// - the compliance dashboard opens on this year with the akim, shows the quarter in progress as
//   pending (not as a failure), keeps its filters in the address, and its CSV link answers
//   text/csv with the same filters;
// - on the meeting page a citizen sees the place, the online link and the akim's calendar link,
//   books the reception and gets a code once; the slot has one place fewer; a second booking with
//   the same contact is refused with the translated already-booked message;
// - the akim goes from the meeting page to receptions.html, sees the booking with the citizen's
//   name, contact and topic, links it to the issue (and unlinks, and links again), cancels the
//   booking (after a confirmation) and the public slot list shows the place free again, opens a
//   second slot from Almaty local time (sent with +05:00) and cancels it.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/
// KEZDESU_BIN picks another server binary (default target/debug/kezdesu); CHROMIUM another
// browser (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { serverDay, serverLocalInput, serverParts, serverYear } from './civil.mjs';
import { api, launchChromium, signIn, startServer, strongPassword, watchPage } from './support.mjs';

const PHONE = { width: 360, height: 780 };
const DISTRICT = { kato: '551000000', kind: 'district', name: { kk: 'Сарыарқа ауданы', ru: 'Сарыаркинский район', en: 'Saryarka district' } };
const AKSU = { kato: '551010000', kind: 'village', name: { kk: 'Ақсу ауылы', ru: 'село Аксу', en: 'Aksu village' } };
const KOKTOBE = { kato: '551020000', kind: 'village', name: { kk: 'Көктөбе ауылы', ru: 'село Коктобе', en: 'Koktobe village' } };
const AKIM = { login: 'akim-saryarka', display_name: 'Ержан Қасымов' };
const PLACE = 'Дом культуры «Достык», ул. Абая 5';
const STREAM = 'https://example.org/live/saryarka';
const CITIZEN = { name: 'Гүлнар Омарова', contact: '+7 701 222 33 44', topic: 'Ремонт моста через ручей в Аксу' };
const DECISION = '№ 7/45';

describe('the yearly calendar, the compliance dashboard and personal receptions', { timeout: 6 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
  let akimToken = null;
  let akimPassword = null;
  let akimId = null;
  let district = null;
  let aksu = null;
  let koktobe = null;
  let meeting = null;
  let slot = null;
  let issueId = null;
  const year = serverYear();
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

  /** The quarter `index` of the akim's dashboard section names Koktobe as not covered. */
  async function assertGapNamed(section, index) {
    const quarter = section.locator(`tr[data-period="quarter"][data-index="${index}"]`);
    await quarter.waitFor();
    assert.ok((await quarter.textContent()).includes(KOKTOBE.name.ru), `the gap is named in quarter ${index}`);
  }

  async function openPage(name, path, { token = null, viewport = PHONE } = {}) {
    const context = await browser.newContext({ viewport });
    if (token) await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    watchPage(page, name, pageLog);
    await page.goto(`${server.base}${path}`);
    return page;
  }

  async function assertFits360(page, where) {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `${where}: nothing overflows a 360 px screen (scrollWidth ${width})`);
    await assertAccessible(page, where);
  }

  before(async () => {
    server = await startServer();
    browser = await launchChromium();
    adminToken = await signIn(server.base, 'admin', server.adminPassword);
    const territory = async (spec, parent) =>
      (
        await api(server.base, '/api/territories', {
          method: 'POST',
          token: adminToken,
          json: { ...spec, parent_id: parent },
          expect: 201,
        })
      ).body;
    district = await territory(DISTRICT, null);
    aksu = await territory(AKSU, district.id);
    koktobe = await territory(KOKTOBE, district.id);
    akimPassword = strongPassword();
    const akim = await api(server.base, '/api/accounts', {
      method: 'POST',
      token: adminToken,
      json: { ...AKIM, role: 'akim', password: akimPassword, territory_id: district.id },
      expect: 201,
    });
    akimId = akim.body.id;
    akimToken = await signIn(server.base, AKIM.login, akimPassword);
    const start = new Date(Date.now() + 60 * 60 * 1000);
    meeting = (
      await api(server.base, '/api/meetings', {
        method: 'POST',
        token: adminToken,
        json: {
          title: { kk: 'Ақсу тұрғындарымен кездесу', ru: 'Встреча с жителями Аксу', en: 'Meeting the people of Aksu' },
          territory_id: district.id,
          akim_account_id: akimId,
          planned_start: start.toISOString(),
          planned_minutes: 60,
          kind: 'unscheduled',
          place: PLACE,
          online_link: STREAM,
        },
        expect: 201,
      })
    ).body;
    slot = (
      await api(server.base, `/api/meetings/${meeting.id}/receptions`, {
        method: 'POST',
        token: akimToken,
        json: {
          starts_at: new Date(start.getTime() + 90 * 60 * 1000).toISOString(),
          minutes: 60,
          place: 'Акимат района, кабинет 12',
          officials: [{ name: 'Ерлан Сапаров', position: 'заместитель акима района' }],
          capacity: 3,
        },
        expect: 201,
      })
    ).body;
    const issue = await api(server.base, '/api/issues', {
      method: 'POST',
      token: adminToken,
      json: { title: 'Мост через ручей в Аксу', text: 'Мост аварийный.', meeting_id: meeting.id },
      expect: 201,
    });
    issueId = issue.body.issue.id;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the akim signs in, drafts the first revision, sees the missing village as a gap, and agrees it', async () => {
    await withDiagnostics('calendar keeper', async () => {
      const calendarPath = `/calendar.html?akim=${akimId}&year=${year}`;
      const page = await openPage('akim', `/signin.html?next=${encodeURIComponent(calendarPath)}`);
      await page.locator('#signin-form').waitFor({ state: 'visible' });
      await page.getByLabel('Логин').fill(AKIM.login);
      await page.getByLabel('Пароль').fill(akimPassword);
      await page.locator('#signin-form button[type="submit"]').click();
      await page.waitForURL(`${server.base}${calendarPath}`);

      await page.locator('#keeper').waitFor({ state: 'visible' });
      await page.locator('#calendar-akim', { hasText: AKIM.display_name }).waitFor();
      await page.locator('#calendar-title', { hasText: `Календарь встреч на ${year} год` }).waitFor();
      await page.locator('#revisions-empty', { hasText: 'Создайте первую редакцию' }).waitFor();
      await page.locator('#entries-form').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#agree-form').isHidden(), true, 'nothing to agree before a draft');

      // The territory choice holds the akim's district and its villages, nothing else.
      await page.locator('#entry-add').click();
      const first = page.locator('.entry-row').nth(0);
      const choices = await first.locator('[data-field="territory"] option').allTextContents();
      assert.deepEqual(
        choices.map((text) => text.trim()).filter((text) => text !== 'Выберите территорию').sort(),
        [DISTRICT.name.ru, AKSU.name.ru, KOKTOBE.name.ru].sort(),
      );
      assert.ok(
        await first.locator('[data-field="territory"]').evaluate((select) => select === document.activeElement),
        'a new row takes the focus',
      );

      // A row without a place is refused on the page, next to the form.
      await first.getByLabel('Территория').selectOption(String(aksu.id));
      await first.getByLabel('Дата').fill(`${year}-02-10`);
      await page.locator('#entries-save').click();
      await page.locator('#keeper-error', { hasText: 'Проверьте встречи: 1' }).waitFor();
      assert.equal(await first.locator('[data-field="place"]').getAttribute('aria-invalid'), 'true');

      await first.getByLabel('Время').fill('10:00');
      await first.getByLabel('Место проведения').fill('Сельский клуб');
      await first.getByLabel('Ссылка на онлайн-трансляцию').fill(STREAM);
      await page.locator('#entries-save').click();
      await page.locator('#keeper-status', { hasText: 'Проект создан.' }).waitFor();
      await page.locator('#revision-list [data-revision="1"] [data-state="draft"]').waitFor();
      assert.equal(await page.locator('#keeper-error').textContent(), '');

      // A meeting in Aksu in every quarter, none in Koktobe; the draft is saved with its version.
      const more = [`${year}-05-12`, `${year}-08-14`, `${year}-11-10`];
      for (const [index, date] of more.entries()) {
        await page.locator('#entry-add').click();
        const row = page.locator('.entry-row').nth(index + 1);
        await row.getByLabel('Территория').selectOption(String(aksu.id));
        await row.getByLabel('Дата').fill(date);
        await row.getByLabel('Место проведения').fill(`Сельский клуб, встреча ${index + 2}`);
      }
      // One row too many, removed again.
      await page.locator('#entry-add').click();
      assert.equal(await page.locator('.entry-row').count(), 5);
      await page.getByRole('button', { name: 'Удалить встречу 5' }).click();
      assert.equal(await page.locator('.entry-row').count(), 4);
      await page.locator('#entries-save').click();
      await page.locator('#keeper-status', { hasText: 'Проект сохранён.' }).waitFor();
      await page.locator('#entries-table tbody tr').nth(3).waitFor();
      assert.equal(await page.locator('#entries-table tbody tr').count(), 4);

      // The check names Koktobe as a gap in each of the four quarters, and Aksu in none.
      await page.locator('#validation-summary[data-gaps="4"]').waitFor();
      assert.match(await page.locator('#validation-summary').textContent(), /Пробелов в охвате: 4/);
      const gaps = page.locator('#gap-list li');
      assert.equal(await gaps.count(), 4);
      for (const text of await gaps.allTextContents()) assert.ok(text.includes(KOKTOBE.name.ru), text);
      assert.equal(await page.locator(`#gap-list [data-territory="${aksu.id}"]`).count(), 0);
      assert.equal(await page.locator(`#validation-periods tr[data-territory="${koktobe.id}"][data-gap="true"]`).count(), 4);
      await assertFits360(page, 'the calendar with the editor');

      // A day of agreement that has not come yet: the server's problem is read out.
      await page.locator('#agree-form').waitFor({ state: 'visible' });
      await page.getByLabel('Дата решения маслихата').fill(serverDay(1));
      await page.getByLabel('Номер решения').fill(DECISION);
      await page.locator('#agree-submit').click();
      await page.locator('#keeper-error', { hasText: /not come yet|year/ }).waitFor();
      assert.equal(await page.locator('#keeper-error').getAttribute('role'), 'alert');

      await page.getByLabel('Дата решения маслихата').fill(serverDay());
      await page.getByLabel('Номер решения').fill(DECISION);
      await page.locator('#agree-submit').click();
      await page.locator('#keeper-status', { hasText: 'Редакция согласована и вступила в силу.' }).waitFor();
      const agreed = page.locator('#revision-list [data-revision="1"]');
      await agreed.locator('[data-state="agreed"]').waitFor();
      await agreed.locator('[data-in-force="true"]').waitFor();
      assert.ok((await agreed.textContent()).includes(DECISION));
      await page.locator('#submit-form').waitFor({ state: 'visible' });
      await page.locator('#correct-form').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#entries-form').isHidden(), true, 'an agreed revision is frozen');
      await page.locator('#deadline-facts [data-deadline="approval"]').waitFor();
      await assertFits360(page, 'the calendar after agreement');

      const view = (await api(server.base, `/api/akims/${akimId}/calendars/${year}`, { expect: 200 })).body;
      assert.equal(view.in_force, 1);
      assert.equal(view.revisions[0].state, 'agreed');
      assert.equal(view.revisions[0].agreed_on, serverDay());
      assert.equal(view.revisions[0].entries.length, 4);
      await page.context().close();
    });
  });

  test('an anonymous reader sees the agreed revision, its meetings, deadlines and gaps', async () => {
    await withDiagnostics('public calendar', async () => {
      const page = await openPage('reader', `/calendar.html?akim=${akimId}&year=${year}`);
      const revision = page.locator('#revision-list [data-revision="1"]');
      await revision.locator('[data-in-force="true"]').waitFor();
      await revision.locator('[data-state="agreed"]').waitFor();
      assert.ok((await revision.textContent()).includes(DECISION));
      await page.locator('#entries-table tbody tr').nth(3).waitFor();
      assert.equal(await page.locator('#entries-table tbody tr').count(), 4);
      const link = page.locator('#entries-table a.entry-link');
      assert.equal(await link.count(), 1);
      assert.equal(await link.getAttribute('href'), STREAM);
      assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
      assert.match(await page.locator('#entries-table').textContent(), /10 февраля/);
      await page.locator(`#gap-list [data-territory="${koktobe.id}"]`).first().waitFor();
      await page.locator('#deadline-facts [data-deadline="submission"]').waitFor();
      // A district akim approves no calendar under the shipped rules: nothing shown as missed.
      await page.locator('#deadlines-note').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#deadline-facts [data-outcome="missed"]').count(), 0);
      assert.equal(await page.locator('#keeper').isHidden(), true, 'no workspace for the public');
      await assertFits360(page, 'the public calendar');
      await page.context().close();
    });
  });

  test('the compliance dashboard shows the akim this year, keeps its filters in the address, and exports CSV', async () => {
    await withDiagnostics('compliance', async () => {
      const page = await openPage('dashboard', '/compliance.html');
      await page.waitForURL(`${server.base}/compliance.html?year=${year}`);
      const section = page.locator(`#akim-list [data-akim="${akimId}"]`);
      await section.waitFor();
      assert.ok((await section.textContent()).includes(AKIM.display_name));
      assert.ok((await section.textContent()).includes(DISTRICT.name.ru));
      assert.equal(await page.locator('#filter-year').inputValue(), String(year));
      assert.equal(await page.locator('#report-as-of').textContent() !== '', true);
      assert.match(await page.locator('#report-rule-set').textContent(), /kz-decree/);
      // A quarter that is over is judged: no meeting was held in it, so both villages are named
      // as not covered. In the first quarter none of this year is over yet, so then it is last
      // year's fourth, at the end of this test.
      const currentQuarter = Math.floor((serverParts().month - 1) / 3) + 1;
      if (currentQuarter > 1) await assertGapNamed(section, 1);
      // The quarter in progress is not judged yet: no percentage, its requirement pending.
      const current = section.locator(`tr[data-period="quarter"][data-index="${currentQuarter}"]`);
      const coverage = current.locator('.coverage-cell');
      const pendingNote = coverage.locator('[data-pending]');
      await pendingNote.waitFor();
      assert.ok(Number(await pendingNote.getAttribute('data-pending')) > 0);
      assert.match(await pendingNote.textContent(), /период ещё идёт, требуется встреч: \d+/);
      assert.equal(await coverage.locator('.ratio').getAttribute('data-percent'), '', 'no percentage while pending');
      assert.equal(await coverage.locator('.gap-list').count(), 0, 'no gap named before the quarter is over');
      assert.equal(await section.locator('a', { hasText: `Календарь встреч на ${year} год` }).getAttribute('href'), `/calendar.html?akim=${akimId}&year=${year}`);
      assert.equal(await page.locator('#export-csv').getAttribute('href'), `/api/compliance?year=${year}&format=csv`);
      await assertFits360(page, 'the compliance dashboard');

      // Filtered to the district: the address and the CSV link follow; the demo akim is gone.
      await page.locator('#filter-period').selectOption('half_year');
      await page.locator('#filter-territory').selectOption(String(district.id));
      await page.locator('#filters-apply').click();
      await page.waitForURL(`${server.base}/compliance.html?year=${year}&period=half_year&territory_id=${district.id}`);
      await section.locator('tr[data-period="half_year"]').first().waitFor();
      assert.equal(await page.locator('#akim-list [data-akim]').count(), 1);
      const csvHref = await page.locator('#export-csv').getAttribute('href');
      assert.equal(csvHref, `/api/compliance?year=${year}&period=half_year&territory_id=${district.id}&format=csv`);
      const csv = await fetch(`${server.base}${csvHref}`);
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type'), /^text\/csv/);
      assert.ok((await csv.text()).includes(AKIM.display_name));

      // The back button brings the unfiltered view again.
      await page.goBack();
      await page.waitForURL(`${server.base}/compliance.html?year=${year}`);
      await page.locator('#akim-list [data-akim]').nth(1).waitFor();
      assert.equal(await page.locator('#filter-period').inputValue(), 'quarter');
      if (currentQuarter === 1) {
        await page.goto(`${server.base}/compliance.html?year=${year - 1}`);
        await assertGapNamed(page.locator(`#akim-list [data-akim="${akimId}"]`), 4);
      }
      await page.context().close();
    });
  });

  test('a citizen books a reception on the meeting page and gets a code', async () => {
    await withDiagnostics('booking', async () => {
      const page = await openPage('citizen', `/meetings/${meeting.id}`);
      await page.locator('#meeting').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#meeting-place').textContent(), PLACE);
      const stream = page.locator('#meeting-link a');
      assert.equal(await stream.getAttribute('href'), STREAM);
      assert.equal(await stream.getAttribute('rel'), 'noopener noreferrer');
      assert.equal(
        await page.locator('#meeting-calendar-link').getAttribute('href'),
        `/calendar.html?akim=${akimId}&year=${serverYear()}`,
      );
      const card = page.locator(`#reception-list [data-reception="${slot.id}"]`);
      await card.waitFor();
      assert.match(await card.textContent(), /Свободных мест: 3 из 3/);
      assert.ok((await card.textContent()).includes('Ерлан Сапаров, заместитель акима района'));
      assert.equal(await page.locator('#receptions-arrange-row').isHidden(), true, 'no staff link for the public');
      await assertFits360(page, 'the meeting page with receptions');

      // Missing fields are said next to the form.
      await page.locator('#booking-submit').click();
      await page.locator('#booking-error', { hasText: 'укажите имя' }).waitFor();

      assert.equal(await page.locator('#booking-slot').inputValue(), String(slot.id), 'the only open slot is chosen');
      const form = page.locator('#booking-form');
      await form.getByLabel('Ваше имя').fill(CITIZEN.name);
      await form.getByLabel('Телефон или e-mail').fill(CITIZEN.contact);
      await form.getByLabel('Тема обращения').fill(CITIZEN.topic);
      await page.locator('#booking-submit').click();
      const code = page.locator('#booking-code');
      await code.waitFor({ state: 'visible' });
      const codeText = (await code.textContent()).trim();
      assert.match(codeText, /^[A-Za-z0-9_-]{16,64}$/);
      await page.locator('#booking-done', { hasText: 'показывается один раз' }).waitFor();
      assert.equal(await page.locator('#booking-form').isHidden(), true);
      await card.filter({ hasText: 'Свободных мест: 2 из 3' }).waitFor();
      await assertFits360(page, 'the meeting page after booking');

      // The same contact again: one place per person and slot, said in the page's language.
      await page.locator('#booking-again').click();
      await page.locator('#booking-form').waitFor({ state: 'visible' });
      await form.getByLabel('Ваше имя').fill(CITIZEN.name);
      await form.getByLabel('Телефон или e-mail').fill(CITIZEN.contact);
      await form.getByLabel('Тема обращения').fill('Ещё раз о мосте');
      await page.locator('#booking-submit').click();
      await page
        .locator('#booking-error', { hasText: 'С этим телефоном или e-mail на этот приём уже есть запись' })
        .waitFor();
      assert.equal(await page.locator('#booking-done').isHidden(), true, 'no code for a refused booking');
      await card.filter({ hasText: 'Свободных мест: 2 из 3' }).waitFor();
      await page.locator('#language-switch').selectOption('en');
      await page.locator('#booking-submit').click();
      await page.locator('#booking-error', { hasText: 'already has a place at this reception' }).waitFor();
      await page.locator('#language-switch').selectOption('ru');

      const own = (await api(server.base, `/api/bookings/${encodeURIComponent(codeText)}`, { expect: 200 })).body;
      assert.equal(own.topic, CITIZEN.topic);
      // The name and contact are on no public page.
      const reader = await openPage('meeting reader', `/meetings/${meeting.id}`);
      await reader.locator(`#reception-list [data-reception="${slot.id}"]`).waitFor();
      const html = await reader.evaluate(() => document.documentElement.outerHTML);
      assert.ok(!html.includes(CITIZEN.name) && !html.includes(CITIZEN.contact));
      await reader.context().close();
      await page.context().close();
    });
  });

  test('the akim arranges receptions: sees the booking, links it to an issue, cancels it, opens and cancels a slot', async () => {
    await withDiagnostics('receptions', async () => {
      const page = await openPage('akim receptions', `/meetings/${meeting.id}`, { token: akimToken });
      const arrange = page.locator('#receptions-arrange-link');
      await arrange.waitFor({ state: 'visible' });
      await arrange.click();
      await page.waitForURL(`${server.base}/receptions.html?meeting=${meeting.id}`);
      await page.locator('#arrange').waitFor({ state: 'visible' });

      const booking = page.locator('#slot-list .booking').first();
      await booking.waitFor();
      const text = await booking.textContent();
      for (const part of [CITIZEN.name, CITIZEN.contact, CITIZEN.topic]) assert.ok(text.includes(part), part);
      await assertFits360(page, 'the receptions page');

      // Link, unlink, link again.
      const bookingId = await booking.getAttribute('data-booking');
      await booking.getByLabel('Номер вопроса').fill(String(issueId));
      await booking.getByRole('button', { name: 'Связать' }).click();
      await page.locator('#work-status', { hasText: `Связано с вопросом № ${issueId}.` }).waitFor();
      const linked = page.locator(`#slot-list [data-booking="${bookingId}"] [data-issue="${issueId}"]`);
      await linked.waitFor();
      assert.equal(await linked.locator('a').getAttribute('href'), `/issue.html?id=${issueId}`);
      await linked.getByRole('button', { name: `Убрать связь с № ${issueId}` }).click();
      await page.locator('#work-status', { hasText: `Связь с вопросом № ${issueId} убрана.` }).waitFor();
      assert.equal(await linked.count(), 0);
      await booking.getByLabel('Номер вопроса').fill(`№ ${issueId}`);
      await booking.getByRole('button', { name: 'Связать' }).click();
      await linked.waitFor();
      const stored = (await api(server.base, `/api/receptions/${slot.id}/bookings`, { token: akimToken, expect: 200 })).body;
      assert.deepEqual(stored[0].issue_ids, [issueId]);

      // The akim cancels the booking (after a confirmation naming the citizen): it shows as
      // cancelled, and its place is free again on the public meeting page.
      const slotItem = page.locator(`#slot-list [data-reception="${slot.id}"]`);
      await slotItem.locator('.issue-badges', { hasText: 'Записано: 1 из 3' }).waitFor();
      const confirmed = new Promise((resolve) => {
        page.once('dialog', async (dialog) => {
          const message = dialog.message();
          await dialog.accept();
          resolve(message);
        });
      });
      await booking.getByRole('button', { name: 'Отменить запись' }).click();
      assert.ok((await confirmed).includes(CITIZEN.name), 'the confirmation names the citizen');
      await page.locator('#work-status', { hasText: 'Запись отменена, место освободилось.' }).waitFor();
      await booking.locator('.badge[data-cancelled="true"]', { hasText: 'Отменена' }).waitFor();
      assert.equal(await booking.getAttribute('data-cancelled'), 'true');
      assert.equal(await booking.getByRole('button', { name: 'Отменить запись' }).count(), 0, 'cancelled once');
      await slotItem.locator('.issue-badges', { hasText: 'Записано: 0 из 3' }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), `booking-${bookingId}-name`);
      const afterCancel = (await api(server.base, `/api/receptions/${slot.id}/bookings`, { token: akimToken, expect: 200 })).body;
      assert.equal(afterCancel[0].cancelled, true);
      const publicPage = await openPage('meeting after cancel', `/meetings/${meeting.id}`);
      await publicPage
        .locator(`#reception-list [data-reception="${slot.id}"]`, { hasText: 'Свободных мест: 3 из 3' })
        .waitFor();
      await publicPage.context().close();

      // A second slot from Almaty local time, sent with +05:00.
      const later = new Date(Date.parse(meeting.planned_start) + 3 * 60 * 60 * 1000);
      later.setUTCSeconds(0, 0);
      await page.getByLabel('Начало').fill(serverLocalInput(later));
      await page.getByLabel('Продолжительность, минут').fill('45');
      await page.getByLabel('Место', { exact: true }).fill('Сельский клуб Коктобе');
      await page
        .getByLabel('Принимающие должностные лица')
        .fill('Айгерім Сәрсенова — руководитель отдела ЖКХ\nБолат Нұрланов');
      await page.getByLabel('Сколько граждан принять').fill('5');
      await page.locator('#slot-submit').click();
      await page.locator('#work-status', { hasText: 'Приём открыт.' }).waitFor();
      await page.locator('#slot-list > li').nth(1).waitFor();
      const slots = (await api(server.base, `/api/meetings/${meeting.id}/receptions`, { expect: 200 })).body;
      assert.equal(slots.length, 2);
      const added = slots.find((entry) => entry.id !== slot.id);
      assert.equal(Date.parse(added.starts_at), later.getTime(), 'the local time was read as Almaty time');
      assert.match(added.starts_at, /\+05:00$/);
      assert.deepEqual(added.officials, [
        { name: 'Айгерім Сәрсенова', position: 'руководитель отдела ЖКХ' },
        { name: 'Болат Нұрланов', position: '' },
      ]);
      assert.equal(added.minutes, 45);
      assert.equal(added.capacity, 5);

      page.once('dialog', (dialog) => dialog.accept());
      const addedItem = page.locator(`#slot-list [data-reception="${added.id}"]`);
      await addedItem.getByRole('button', { name: 'Отменить приём' }).click();
      await addedItem.locator('[data-cancelled="true"]').waitFor();
      await page.locator('#work-status', { hasText: 'Приём отменён.' }).waitFor();
      await assertFits360(page, 'the receptions page with two slots');
      await page.context().close();
    });
  });
});
