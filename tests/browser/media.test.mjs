// The live broadcast end to end, in a real browser against the real server binary:
//
// - WHIP and WHEP refuse what they must (no token 401, wrong token 403, nobody on air 503), all
//   as application/problem+json;
// - an admin signs in, opens the presenter page, picks the (fake) camera and microphone and goes
//   on air; a citizen opens the meeting page and its player decodes the video and receives the
//   audio; the on-air badge and viewer count show; a second publisher is turned away (409); the
//   key is rotated mid-broadcast; stopping takes the meeting off air;
// - with KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER set (tests/media/aiortc_peer.py), a
//   Python WebRTC stack plays Chromium's broadcast, and Chromium plays the one aiortc publishes,
//   across two stacks whose payload types differ.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/
// KEZDESU_BIN picks another server binary (default target/debug/kezdesu); CHROMIUM another
// browser (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  api,
  chromiumOffer,
  launchChromium,
  playerStats,
  postSdp,
  runChild,
  signIn,
  startServer,
  waitFor,
  watchPage,
} from './support.mjs';

const MEETING = 1; // the demo meeting of the first start; its akim is demo-akim
const MIN_FRAMES = 60;
const MEDIA_TIMEOUT_MS = 120000; // generous: CI has two cores for the server, browser and all
const CONFIG = '[media]\nudp_addresses = ["127.0.0.1"]\n';
const AIORTC_PYTHON = process.env.KEZDESU_AIORTC_PYTHON;
const AIORTC_PEER = process.env.KEZDESU_AIORTC_PEER;
const AIORTC = AIORTC_PYTHON && AIORTC_PEER ? null : 'set KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER to run it';

describe('live broadcast over WebRTC (WHIP and WHEP)', { timeout: 15 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let adminToken = null;
  let streamKey = null; // {stream_key, whip_url, rotated_at}
  const pageLog = [];
  const contexts = [];

  const whipUrl = () => `${server.base}/api/meetings/${MEETING}/whip`;
  const whepUrl = () => `${server.base}/api/meetings/${MEETING}/whep`;
  const meetingView = async () => (await api(server.base, `/api/meetings/${MEETING}`, { expect: 200 })).body;

  /** Runs `body`; on failure prints the server's output and the pages' errors, then fails. */
  async function withDiagnostics(name, body) {
    try {
      await body();
    } catch (error) {
      console.error(`\n--- ${name} failed; server output ---\n${server?.logs() ?? '(no server)'}`);
      console.error(`--- pages ---\n${pageLog.join('\n') || '(nothing logged)'}\n--- end ---\n`);
      throw error;
    }
  }

  async function newPage(name) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(60000);
    watchPage(page, name, pageLog);
    return page;
  }

  /** Opens the meeting page as a citizen and waits for its player to decode MIN_FRAMES frames. */
  async function watchUntilDecoded(page) {
    await page.goto(`${server.base}/meetings/${MEETING}`);
    await page.locator('#broadcast-badge[data-on-air="true"]').waitFor({ timeout: MEDIA_TIMEOUT_MS });
    let last = null;
    try {
      return await waitFor(
        async () => {
          last = await playerStats(page);
          return last && last.video.framesDecoded > MIN_FRAMES && last.audio.packetsReceived > 0 ? last : false;
        },
        {
          timeout: MEDIA_TIMEOUT_MS,
          interval: 500,
          message: `the player to decode > ${MIN_FRAMES} video frames and receive audio`,
        },
      );
    } catch (error) {
      const player = await page.evaluate(() => window.__kezdesuPlayer?.state).catch(() => '?');
      throw new Error(`${error.message}; player state ${player}, last stats ${JSON.stringify(last)}`);
    }
  }

  /**
   * Waits for the server to show the meeting off air. After a clean stop (DELETE) that is at
   * once; the default wait is well under the ~30 s in which the server gives up on a publisher
   * that vanished without one, so a stop that failed to DELETE is caught.
   */
  async function waitOffAir(timeout = 10000) {
    return waitFor(async () => (await meetingView()).broadcast?.on_air === false, {
      timeout,
      message: 'GET /api/meetings/1 to show broadcast.on_air false',
    });
  }

  before(async () => {
    server = await startServer({ configToml: CONFIG });
    await withDiagnostics('setup', async () => {
      adminToken = await signIn(server.base, 'admin', server.adminPassword);
      await api(server.base, `/api/meetings/${MEETING}/phase`, {
        method: 'POST',
        token: adminToken,
        json: { phase: 'presentation' },
        expect: 200,
      });
      streamKey = (await api(server.base, `/api/meetings/${MEETING}/stream-key`, { token: adminToken, expect: 200 }))
        .body;
      assert.equal(typeof streamKey.stream_key, 'string');
      assert.match(streamKey.whip_url, new RegExp(`/api/meetings/${MEETING}/whip$`));
      browser = await launchChromium();
    });
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('WHIP asks for the bearer stream key: none is 401, a wrong one 403, as problem+json', async () => {
    await withDiagnostics('WHIP auth', async () => {
      const offer = await chromiumOffer(browser, { direction: 'sendonly' });

      const none = await postSdp(whipUrl(), offer);
      assert.equal(none.status, 401, `no token: ${none.text}`);
      assert.match(none.contentType, /^application\/problem\+json/);
      assert.equal(none.problem?.status, 401);

      const wrong = await postSdp(whipUrl(), offer, { token: 'not-the-stream-key' });
      assert.equal(wrong.status, 403, `wrong token: ${wrong.text}`);
      assert.match(wrong.contentType, /^application\/problem\+json/);
      assert.equal(wrong.problem?.status, 403);
      assert.equal(typeof wrong.problem?.title, 'string');

      // A staff sign-in token is not the stream key either.
      const staff = await postSdp(whipUrl(), offer, { token: adminToken });
      assert.equal(staff.status, 403, `a sign-in token: ${staff.text}`);
    });
  });

  test('WHEP says 503 not_on_air, with Retry-After, while nobody publishes', async () => {
    await withDiagnostics('WHEP not on air', async () => {
      assert.equal((await meetingView()).broadcast?.on_air, false);
      const offer = await chromiumOffer(browser, { direction: 'recvonly' });
      const answer = await postSdp(whepUrl(), offer);
      assert.equal(answer.status, 503, answer.text);
      assert.match(answer.contentType, /^application\/problem\+json/);
      assert.equal(answer.problem?.code, 'not_on_air');
      assert.ok(answer.headers.get('retry-after'), 'a Retry-After header');
    });
  });

  test('the presenter page publishes from Chromium and the meeting page plays it', async (t) => {
    await withDiagnostics('Chromium to Chromium', async () => {
      // The presenter: not signed in, so the page sends them to sign in and back.
      const presenter = await newPage('presenter');
      await presenter.goto(`${server.base}/present.html?meeting=${MEETING}`);
      await presenter.waitForURL(/\/signin\.html\?next=/);
      await presenter.fill('#login', 'admin');
      await presenter.fill('#password', server.adminPassword);
      await presenter.click('#signin-form button[type="submit"]');
      await presenter.waitForURL(new RegExp(`/present\\.html\\?meeting=${MEETING}$`));

      // The devices: the fake camera and a fake microphone; picking restarts the local stream.
      await waitFor(async () => (await presenter.locator('#camera-select option').count()) > 0, {
        message: 'the camera picker to list a camera',
      });
      await waitFor(async () => (await presenter.locator('#microphone-select option').count()) > 0, {
        message: 'the microphone picker to list a microphone',
      });
      const cameras = await presenter
        .locator('#camera-select option')
        .evaluateAll((options) => options.map((o) => o.value));
      const microphones = await presenter
        .locator('#microphone-select option')
        .evaluateAll((options) => options.map((o) => o.value));
      await presenter.selectOption('#camera-select', cameras[cameras.length - 1]);
      await presenter.selectOption('#microphone-select', microphones[microphones.length - 1]);
      await waitFor(
        () =>
          presenter.evaluate(() => {
            const stream = document.getElementById('preview').srcObject;
            return (
              stream?.getVideoTracks()[0]?.readyState === 'live' && stream.getAudioTracks()[0]?.readyState === 'live'
            );
          }),
        { message: 'the preview to show the picked camera' },
      );
      // The OBS settings show the same key and URL the API gives.
      assert.equal(await presenter.inputValue('#obs-key'), streamKey.stream_key);
      assert.equal(await presenter.inputValue('#obs-url'), streamKey.whip_url);

      await presenter.locator('#go-live:not([disabled])').click();
      await presenter
        .locator('#publish-state[data-publish="on-air"]')
        .waitFor({ timeout: MEDIA_TIMEOUT_MS })
        .catch(async (error) => {
          const state = await presenter.locator('#publish-state').textContent();
          const problem = await presenter.locator('#publish-error').textContent();
          throw new Error(`the presenter did not get on air: "${state}" "${problem}" (${error.message})`);
        });
      await waitFor(async () => (await meetingView()).broadcast?.on_air === true, {
        message: 'GET /api/meetings/1 to show broadcast.on_air true',
      });

      // A second publisher with the right key is turned away while the first is on.
      const second = await postSdp(whipUrl(), await chromiumOffer(browser, { direction: 'sendonly' }), {
        token: streamKey.stream_key,
      });
      assert.equal(second.status, 409, second.text);
      assert.equal(second.problem?.code, 'publisher_present');

      // A citizen watches.
      const viewer = await newPage('viewer');
      const stats = await watchUntilDecoded(viewer);
      t.diagnostic(`viewer decoded ${stats.video.framesDecoded} frames, ${stats.audio.packetsReceived} audio packets`);

      // The badge: on air, and at least this viewer watching, on both pages and in the API.
      await waitFor(async () => Number(await viewer.locator('#broadcast-badge').getAttribute('data-viewers')) >= 1, {
        timeout: 30000,
        message: 'the viewer badge to count at least one viewer',
      });
      assert.ok((await viewer.locator('#broadcast-viewers').textContent()).match(/\d/), 'the count is shown');
      await waitFor(async () => Number(await presenter.locator('#broadcast-badge').getAttribute('data-viewers')) >= 1, {
        timeout: 30000,
        message: 'the presenter badge to count at least one viewer',
      });
      assert.ok((await meetingView()).broadcast.viewers >= 1);
      assert.equal(await viewer.locator('#player-unmute').isVisible(), true, 'an unmute button');

      if (AIORTC === null) {
        await t.test('aiortc plays the Chromium broadcast', async () => {
          const run = await runChild(
            AIORTC_PYTHON,
            [AIORTC_PEER, 'play', '--url', whepUrl(), '--seconds', '30', '--min-frames', String(MIN_FRAMES)],
            {
              timeout: 120000,
            },
          );
          assert.equal(run.code, 0, `aiortc viewer exited ${run.code} (${run.signal}):\n${run.output}`);
        });
      }

      // A new key mid-broadcast (OBS gets the new one): the page shows it, and stopping still
      // ends our session on the server, which by now knows only the new key.
      presenter.once('dialog', (dialog) => dialog.accept());
      await presenter.click('#obs-rotate');
      await waitFor(async () => (await presenter.inputValue('#obs-key')) !== streamKey.stream_key, {
        message: 'the presenter page to show the new key',
      });
      streamKey = (await api(server.base, `/api/meetings/${MEETING}/stream-key`, { token: adminToken, expect: 200 }))
        .body;
      assert.equal(await presenter.inputValue('#obs-key'), streamKey.stream_key);

      // Off air: the presenter stops; the server and the viewer's badge follow.
      await presenter.click('#stop-live');
      await presenter.locator('#publish-state[data-publish="off"]').waitFor();
      await waitOffAir();
      await viewer.locator('#broadcast-badge[data-on-air="false"]').waitFor({ timeout: 30000 });
      await waitFor(() => viewer.evaluate(() => window.__kezdesuPlayer?.pc === null), {
        timeout: 30000,
        message: 'the player to close its connection',
      });
      await presenter.context().close();
      await viewer.context().close();
    });
  });

  test('Chromium plays what aiortc publishes', { skip: AIORTC ?? false }, async (t) => {
    await withDiagnostics('aiortc to Chromium', async () => {
      await waitOffAir(60000);
      const publisher = runChild(
        AIORTC_PYTHON,
        [AIORTC_PEER, 'publish', '--url', whipUrl(), `--token=${streamKey.stream_key}`, '--seconds', '45'],
        { timeout: 150000 },
      );
      let failure = null;
      try {
        await waitFor(async () => (await meetingView()).broadcast?.on_air === true, {
          timeout: 60000,
          message: 'the aiortc publisher to put the meeting on air',
        });
        const viewer = await newPage('viewer-of-aiortc');
        const stats = await watchUntilDecoded(viewer);
        t.diagnostic(`viewer decoded ${stats.video.framesDecoded} frames from aiortc`);
        await viewer.context().close();
      } catch (error) {
        failure = error;
        publisher.kill();
      }
      const run = await publisher.catch((error) => ({ code: null, signal: null, output: error.message }));
      if (failure) {
        console.error(`aiortc publisher output:\n${run.output}`);
        throw failure;
      }
      assert.equal(run.code, 0, `aiortc publisher exited ${run.code} (${run.signal}):\n${run.output}`);
      await waitOffAir();
    });
  });
});
