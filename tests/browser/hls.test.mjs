// The HLS rendition played by the meeting page's player in Chromium (hls.js, vendored under
// web/vendor), against the real server binary with HLS on, while aiortc publishes H.264:
//
// - with `?hls=1` the player starts in HLS, says so under the video, and decodes more than 60
//   frames (getVideoPlaybackQuality);
// - with the WHEP endpoint made to fail (500), the player falls back to HLS by itself, with the
//   same checks;
// - the server's HLS packager killed mid-broadcast is started again with new segment names, and
//   hls.js plays on by itself (the video's time and frames advance some 5 s more).
//
// Needs KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER (as media-h264.test.mjs); without them it
// is skipped. Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  diagnostics,
  launchChromium,
  liveWithStreamKey,
  runChild,
  startServer,
  waitFor,
  watchPage,
} from './support.mjs';

const MEETING = 1;
const MIN_FRAMES = 60;
const PLAY_TIMEOUT_MS = 60000;
const CONFIG = '[media]\nudp_addresses = ["127.0.0.1"]\n';
const AIORTC_PYTHON = process.env.KEZDESU_AIORTC_PYTHON;
const AIORTC_PEER = process.env.KEZDESU_AIORTC_PEER;
const AIORTC = AIORTC_PYTHON && AIORTC_PEER ? null : 'set KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER to run it';

describe('HLS in the meeting page (hls.js in Chromium)', { timeout: 5 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let publisher = null;
  const pageLog = [];
  const withDiagnostics = diagnostics(() => server, pageLog);

  async function newPage(name) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(60000);
    watchPage(page, name, pageLog);
    return page;
  }

  /** The player's mode, state, the mode's text and the video's decoded frames, as the page sees them. */
  async function playback(page) {
    return page.evaluate(() => ({
      mode: window.__kezdesuPlayer?.mode ?? null,
      state: window.__kezdesuPlayer?.state ?? null,
      hlsJs: Boolean(window.__kezdesuPlayer?.hls),
      text: document.getElementById('player-mode')?.textContent ?? '',
      frames: document.getElementById('player')?.getVideoPlaybackQuality?.().totalVideoFrames ?? 0,
      time: document.getElementById('player')?.currentTime ?? 0,
    }));
  }

  /** hls.js and its worker load under the pages' Content-Security-Policy. */
  function assertNoPolicyRefusal() {
    const refused = pageLog.filter((line) => /Content Security Policy|Refused to/i.test(line));
    assert.deepEqual(refused, [], 'nothing is refused by the Content-Security-Policy');
  }

  /** The pids of the server's HLS packagers: its ffmpeg children writing HLS. */
  function packagers() {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          const parent = Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[1]);
          const args = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
          return parent === server.child.pid && args[0].endsWith('ffmpeg') && args.includes('hls');
        } catch {
          return false; // gone meanwhile
        }
      })
      .map(Number);
  }

  async function playsByHls(page) {
    let last = null;
    try {
      return await waitFor(
        async () => {
          last = await playback(page);
          return last.mode === 'hls' && last.frames > MIN_FRAMES ? last : false;
        },
        { timeout: PLAY_TIMEOUT_MS, interval: 500, message: `the player to decode > ${MIN_FRAMES} frames by HLS` },
      );
    } catch (error) {
      throw new Error(`${error.message}; last seen ${JSON.stringify(last)}`);
    }
  }

  before(async () => {
    if (AIORTC !== null) return;
    server = await startServer({ configToml: CONFIG, env: { KEZDESU__HLS__ENABLED: 'true' } });
    await withDiagnostics('setup', async () => {
      const { streamKey: key } = await liveWithStreamKey(server, MEETING);
      const whip = `${server.base}/api/meetings/${MEETING}/whip`;
      publisher = runChild(
        AIORTC_PYTHON,
        [AIORTC_PEER, 'publish', '--url', whip, `--token=${key}`, '--seconds', '240', '--codec', 'h264'],
        { timeout: 270000 },
      );
      // Playing starts once the playlist has its first segments.
      await waitFor(
        async () => {
          const response = await fetch(`${server.base}/api/meetings/${MEETING}/hls/index.m3u8`);
          return response.status === 200 && (await response.text()).includes('#EXTINF');
        },
        { timeout: 60000, interval: 500, message: 'the HLS playlist to list a segment' },
      );
      browser = await launchChromium();
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    publisher?.kill('SIGTERM');
    await publisher?.catch(() => {});
    await server?.stop();
  });

  test('?hls=1 plays the HLS rendition and says so', { skip: AIORTC ?? false }, async (t) => {
    await withDiagnostics('?hls=1', async () => {
      const page = await newPage('hls-forced');
      await page.goto(`${server.base}/meetings/${MEETING}?hls=1`);
      const seen = await playsByHls(page);
      t.diagnostic(`by HLS: ${JSON.stringify(seen)}`);
      assert.ok(seen.hlsJs, 'hls.js plays (Chromium has no HLS of its own)');
      assert.match(seen.text, /HLS/, 'the mode is shown under the video');
      assertNoPolicyRefusal();
      await page.context().close();
    });
  });

  test('the player falls back to HLS by itself when WHEP fails', { skip: AIORTC ?? false }, async (t) => {
    await withDiagnostics('fallback', async () => {
      const page = await newPage('hls-fallback');
      let refused = 0;
      await page.route('**/whep*', (route) => {
        refused += 1;
        return route.fulfill({
          status: 500,
          contentType: 'application/problem+json',
          body: JSON.stringify({ type: 'urn:kezdesu:problem:internal', title: 'Internal Server Error', status: 500, code: 'internal', detail: 'made to fail by the test' }),
        });
      });
      await page.goto(`${server.base}/meetings/${MEETING}`);
      const seen = await playsByHls(page);
      t.diagnostic(`after ${refused} refused WHEP requests: ${JSON.stringify(seen)}`);
      assert.ok(refused >= 1, 'the player tried WHEP first');
      assert.match(seen.text, /HLS/, 'the mode is shown under the video');
      assertNoPolicyRefusal();
      await page.context().close();
    });
  });

  test('hls.js plays on when the packager is killed and started again', { skip: AIORTC ?? false }, async (t) => {
    await withDiagnostics('packager restart', async () => {
      const page = await newPage('hls-restart');
      await page.goto(`${server.base}/meetings/${MEETING}?hls=1`);
      const before = await playsByHls(page);
      const killed = packagers();
      assert.equal(killed.length, 1, `one packager: ${JSON.stringify(killed)}`);
      process.kill(killed[0], 'SIGKILL');
      await waitFor(async () => packagers().some((pid) => !killed.includes(pid)), {
        timeout: 20000,
        message: 'a new packager',
      });
      // Playing on: 60 more frames (2 s of video) decoded after the new packager started. The
      // deadline is generous: on CI the machine's two cores are busy with the server, ffmpeg,
      // aiortc and Chromium at once.
      const restarted = await playback(page);
      const after = await waitFor(
        async () => {
          const now = await playback(page);
          return now.frames > restarted.frames + 60 ? now : false;
        },
        { timeout: 30000, interval: 500, message: 'frames decoded after the restart' },
      );
      t.diagnostic(
        `before the kill ${JSON.stringify(before)}; at the new packager ${JSON.stringify(restarted)}; then ${JSON.stringify(after)}`,
      );
      assert.ok(after.frames > before.frames, 'frames went on being decoded');
      assert.equal(after.mode, 'hls');
      await page.context().close();
    });
  });
});
