// The replay of an ended meeting, end to end against the real server binary with recording on:
//
// - aiortc publishes H.264 (tests/media/aiortc_peer.py) while a viewer comments, a moderator
//   hides one comment, the meeting moves to Q&A, and a comment becomes a question that is put
//   on air and answered; the meeting ends and the server makes its replay (an MP4);
// - Chromium opens the meeting page at 360 px in English, Kazakh and Russian: the recording
//   plays, the phase bar has the presentation and the Q&A, the page does not overflow and axe
//   finds nothing serious;
// - the discussion follows the video: at the start no comment is shown yet; clicking the
//   question's "on air at" seeks the video to the moment it was put on air (within 0.5 s of
//   what the server's own event times give) and the panel shows it on air there;
// - the hidden comment's text is never in the page, not even at the end of the recording;
// - an admin deletes the recording on the page (asked to confirm); the page then says it was
//   deleted and when.
//
// Needs KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER (as media.test.mjs), and ffmpeg; without
// them it is skipped. Run after `cargo build`:  node --test tests/browser/replay.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { openLive, receivedEvent, send } from './live-sockets.mjs';
import { api, launchChromium, runChild, signIn, sleep, startServer, waitFor, watchPage } from './support.mjs';

const MEETING = 1;
const CONFIG = '[media]\nudp_addresses = ["127.0.0.1"]\n';
const AIORTC_PYTHON = process.env.KEZDESU_AIORTC_PYTHON;
const AIORTC_PEER = process.env.KEZDESU_AIORTC_PEER;
const AIORTC = AIORTC_PYTHON && AIORTC_PEER ? null : 'set KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER to run it';
const SECRET = 'HIDDEN-BY-MODERATOR-7f3a';
const PARK = 'When will the park on Abai street be repaired?';
const SEEK_TOLERANCE_SECONDS = 0.5;

describe('the replay beside its discussion', { timeout: 6 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
  let desk = null; // the page the viewer's and the moderator's sockets live in
  let onAirAt = null; // the server's instant of question_on_air
  let question = null;
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

  const meetingView = async () => (await api(server.base, `/api/meetings/${MEETING}`, { expect: 200 })).body;
  const manifest = async () => (await api(server.base, `/api/meetings/${MEETING}/recording`)).body;

  async function phase(name) {
    await api(server.base, `/api/meetings/${MEETING}/phase`, {
      method: 'POST',
      token: adminToken,
      json: { phase: name },
      expect: 200,
    });
  }

  async function done(message) {
    const answer = await send(desk, 'admin', { ...message, request_id: `r-${message.type}-${Date.now()}` });
    assert.equal(answer.type, 'done', JSON.stringify(answer));
    return answer;
  }

  /** The meeting page at 360 px in `language`. */
  async function phonePage(language, name) {
    const context = await browser.newContext({ viewport: { width: 360, height: 780 }, locale: 'en-US' });
    await context.addInitScript((lang) => localStorage.setItem('kezdesu.lang', lang), language);
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    watchPage(page, name, pageLog);
    await page.goto(`${server.base}/meetings/${MEETING}`);
    return page;
  }

  before(async () => {
    if (AIORTC !== null) return;
    server = await startServer({ configToml: CONFIG, env: { KEZDESU__RECORDING__ENABLED: 'true' } });
    await withDiagnostics('the recorded meeting', async () => {
      adminToken = await signIn(server.base, 'admin', server.adminPassword);
      await phase('presentation');
      const streamKey = (await api(server.base, `/api/meetings/${MEETING}/stream-key`, { token: adminToken, expect: 200 }))
        .body.stream_key;
      browser = await launchChromium();
      desk = await (await browser.newContext()).newPage();
      watchPage(desk, 'desk', pageLog);
      await desk.goto(`${server.base}/`);
      const viewer = (
        await api(server.base, `/api/meetings/${MEETING}/viewers`, {
          method: 'POST',
          json: { display_name: 'Aigul' },
          expect: 201,
        })
      ).body;
      await openLive(desk, MEETING, 'aigul', viewer.token);
      await openLive(desk, MEETING, 'admin', adminToken);

      const publisher = runChild(
        AIORTC_PYTHON,
        [AIORTC_PEER, 'publish', '--url', `${server.base}/api/meetings/${MEETING}/whip`, `--token=${streamKey}`,
          '--seconds', '60', '--codec', 'h264'],
        { timeout: 120000 },
      );
      try {
        await waitFor(async () => (await meetingView()).broadcast?.on_air === true, {
          timeout: 60000,
          message: 'the broadcast on air',
        });
        await sleep(2500);
        const park = await send(desk, 'aigul', { type: 'comment', client_id: 'park-1', text: 'The park on Abai street needs repair' });
        assert.equal(park.type, 'ack', JSON.stringify(park));
        const secret = await send(desk, 'aigul', { type: 'comment', client_id: 'secret-1', text: SECRET });
        assert.equal(secret.type, 'ack', JSON.stringify(secret));
        await done({ type: 'hide', comment: secret.comment, reason: 'spam' });
        await sleep(2000);
        await phase('qa');
        await sleep(1000);
        await done({ type: 'promote', comments: [park.comment], text: PARK });
        question = (await receivedEvent(desk, 'admin', { type: 'question_created' })).question;
        await sleep(1500);
        await done({ type: 'put_on_air', question });
        onAirAt = Date.parse((await receivedEvent(desk, 'admin', { type: 'question_on_air', question })).at);
        await sleep(3000);
        await done({ type: 'answer', question, summary: 'The repair starts in May' });
        await sleep(2000);
      } finally {
        publisher.kill('SIGTERM');
        await publisher.catch(() => {});
      }
      await waitFor(async () => (await meetingView()).broadcast?.on_air === false, {
        timeout: 20000,
        message: 'the broadcast off air',
      });
      await phase('ended');
      // The sweep (every 10 s) makes the replay once the meeting has ended.
      await waitFor(async () => (await manifest()).state === 'ready', {
        timeout: 90000,
        interval: 1000,
        message: 'the recording to be ready',
      });
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('the replay plays at 360 px, in step with the discussion, and never shows a hidden comment', { skip: AIORTC ?? false }, async () => {
    await withDiagnostics('replay in English', async () => {
      const recording = await manifest();
      assert.equal(recording.files.length, 1, JSON.stringify(recording));
      assert.equal(recording.files[0].content_type, 'video/mp4');
      const partStart = Date.parse(recording.parts[0].started_at);
      const expected = (onAirAt - partStart) / 1000;

      const page = await phonePage('en', 'replay-en');
      await page.locator('#replay-body').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#live').isVisible(), false, 'the live panel gives way to the replay');
      assert.equal(await page.locator('#broadcast').isVisible(), false, 'so does the live player');
      assert.equal(await page.locator('#replay-heading').textContent(), 'Recording of the meeting');

      // The phase bar: the presentation, then the Q&A.
      const phases = await page.locator('#replay-phase-track .phase-bar__segment').evaluateAll((blocks) =>
        blocks.map((block) => block.dataset.phase),
      );
      assert.deepEqual(phases, ['presentation', 'qa']);

      // It plays.
      await page.evaluate(() => {
        const video = document.getElementById('replay-video');
        video.muted = true;
        return video.play();
      });
      await waitFor(() => page.evaluate(() => document.getElementById('replay-video').currentTime > 1), {
        timeout: 20000,
        message: 'the recording to play',
      });
      const quality = await page.evaluate(() => {
        const { totalVideoFrames, droppedVideoFrames } = document.getElementById('replay-video').getVideoPlaybackQuality();
        return { totalVideoFrames, droppedVideoFrames };
      });
      assert.ok(quality.totalVideoFrames > 10, `frames decoded: ${JSON.stringify(quality)}`);

      // At its start, nothing had been said yet.
      await page.evaluate(() => {
        const video = document.getElementById('replay-video');
        video.pause();
        video.currentTime = 0.1;
      });
      await waitFor(() => page.evaluate(() => document.querySelectorAll('#replay-comments > li').length === 0), {
        timeout: 5000,
        message: 'no comment at the start',
      });
      assert.equal(await page.locator('#replay-on-air').isVisible(), false);

      // The question's "on air at" seeks to that moment, and the panel shows it on air.
      const link = page.locator(`#replay-questions li[data-question="${question}"] [data-moment="on-air"]`);
      assert.match(await link.textContent(), /^On air at \d+:\d\d$/);
      await link.click();
      await page.locator('#replay-on-air').waitFor({ state: 'visible', timeout: 5000 });
      assert.match(await page.locator('#replay-on-air-text').textContent(), new RegExp(PARK.replace(/\?/g, '\\?')));
      const position = await page.evaluate(() => window.__kezdesuReplay.position);
      assert.ok(
        Math.abs(position - expected) <= SEEK_TOLERANCE_SECONDS,
        `the video is at ${position} s; the question went on air ${expected} s into the recording`,
      );
      // By then the park comment had been made and promoted; the hidden one is not there.
      const shown = await page.locator('#replay-comments > li .comment__text').allTextContents();
      assert.deepEqual(shown, ['The park on Abai street needs repair']);

      // Nothing overflows, and axe finds nothing serious.
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `nothing overflows a 360 px screen (scrollWidth ${width})`);
      await assertAccessible(page, 'the replay at 360 px');

      // At the very end, every event is folded in: still no hidden text anywhere in the page.
      await page.evaluate(() => {
        const video = document.getElementById('replay-video');
        video.currentTime = video.duration;
      });
      await waitFor(() => page.evaluate(() => document.getElementById('replay-on-air').hidden), {
        timeout: 5000,
        message: 'the answered question off air at the end',
      });
      const html = await page.content();
      assert.ok(!html.includes(SECRET), 'the hidden comment is nowhere in the page');
      await page.context().close();
    });
  });

  test('the replay speaks Kazakh and Russian at 360 px', { skip: AIORTC ?? false }, async () => {
    await withDiagnostics('replay in kk and ru', async () => {
      for (const [language, heading, onAir] of [
        ['kk', 'Кездесудің жазбасы', /^Эфирге шықты: \d+:\d\d$/],
        ['ru', 'Запись встречи', /^В эфире с \d+:\d\d$/],
      ]) {
        const page = await phonePage(language, `replay-${language}`);
        await page.locator('#replay-body').waitFor({ state: 'visible' });
        assert.equal(await page.locator('#replay-heading').textContent(), heading);
        assert.match(await page.locator('[data-moment="on-air"]').first().textContent(), onAir);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 360, `${language}: nothing overflows a 360 px screen (scrollWidth ${width})`);
        await assertAccessible(page, `the replay in ${language}`);
        await page.context().close();
      }
    });
  });

  test('an admin deletes the recording from the page, which then says when', { skip: AIORTC ?? false }, async () => {
    await withDiagnostics('deleted recording', async () => {
      const context = await browser.newContext({ viewport: { width: 360, height: 780 } });
      await context.addInitScript(() => localStorage.setItem('kezdesu.lang', 'en'));
      await context.addCookies([{ name: 'kezdesu_session', value: adminToken, url: server.base }]);
      const page = await context.newPage();
      watchPage(page, 'replay-admin', pageLog);
      await page.goto(`${server.base}/meetings/${MEETING}`);
      await page.locator('#replay-body').waitFor({ state: 'visible' });
      await page.locator('#replay-delete').click();
      await page.locator('#replay-delete-yes').click();
      await page.locator('#replay-notice').waitFor({ state: 'visible' });
      assert.match(await page.locator('#replay-notice').textContent(), /^The recording was deleted on .+\d{1,2}:\d\d/);
      assert.equal(await page.locator('#replay-body').isVisible(), false);
      assert.equal((await manifest()).state, 'deleted');
      await context.close();

      // A reader who comes later is told too, and gets the meeting's record as before.
      const later = await phonePage('en', 'replay-deleted');
      await later.locator('#replay-notice').waitFor({ state: 'visible' });
      assert.match(await later.locator('#replay-notice').textContent(), /^The recording was deleted on /);
      await later.locator('#live').waitFor({ state: 'visible' });
      await later.context().close();
    });
  });
});
