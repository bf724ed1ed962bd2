// The latency benchmark of the broadcast: from the publisher's camera to a viewer's screen, by
// WHEP (WebRTC) and by HLS, measured in the same run (tests/bench/hls.sh runs it).
//
//   node tests/bench/hls.mjs [--seconds 60] [--only whep|hls]
//
// The server (KEZDESU_BIN, a release build) runs with HLS on; aiortc publishes H.264 with
// `--stamp`: each frame carries the wall clock's milliseconds in its top-left corner, as 32
// black or white blocks (tests/media/aiortc_peer.py). Debian's Chromium opens the meeting page
// twice: as it plays by default (WHEP) and with `?hls=1`. Every 200 ms each page draws its
// <video> onto a canvas, reads the blocks back and takes now − stamp: how old the frame on the
// screen is. Everything runs on this machine, so both ends read the same clock. Prints each
// mode's p50, p95, minimum and maximum over the window, and a Markdown table.

import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import path from 'node:path';
import {
  REPO_ROOT,
  api,
  launchChromium,
  runChild,
  signIn,
  sleep,
  startServer,
  waitFor,
} from '../browser/support.mjs';

const MEETING = 1;
const SAMPLE_EVERY_MS = 200;
const PYTHON = process.env.KEZDESU_AIORTC_PYTHON ?? path.join(REPO_ROOT, 'target', 'aiortc-venv', 'bin', 'python');
const PEER = path.join(REPO_ROOT, 'tests', 'media', 'aiortc_peer.py');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const seconds = Number(option('seconds', '60'));
/** `--only whep` or `--only hls` measures one mode. */
const only = option('only', null);

/** Starts sampling the page's player: the age of the frame on screen, every 200 ms. */
async function startSampling(page) {
  await page.evaluate((every) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    window.__ages = [];
    window.__misreads = 0;
    setInterval(() => {
      const video = document.getElementById('player');
      if (!video || video.readyState < 2 || video.videoWidth === 0) return;
      context.drawImage(video, 0, 0, 640, 360);
      const pixels = context.getImageData(0, 0, 512, 64).data;
      let stamp = 0;
      for (let bit = 0; bit < 32; bit += 1) {
        const x = (bit % 16) * 32 + 16;
        const y = Math.floor(bit / 16) * 32 + 16;
        const at = (y * 512 + x) * 4;
        const light = (pixels[at] + pixels[at + 1] + pixels[at + 2]) / 3;
        stamp = stamp * 2 + (light > 128 ? 1 : 0);
      }
      const now = Date.now() % 2 ** 32;
      const age = (now - stamp + 2 ** 32) % 2 ** 32;
      if (age > 120000) window.__misreads += 1; // not a stamp (a frame still loading, a mis-read block)
      else window.__ages.push(age);
    }, every);
  }, SAMPLE_EVERY_MS);
}

function percentile(sorted, share) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

async function main() {
  const server = await startServer({
    configToml: '[media]\nudp_addresses = ["127.0.0.1"]\n[log]\nlevel = "warn"\n',
    env: only === 'whep' ? {} : { KEZDESU__HLS__ENABLED: 'true' },
  });
  let browser = null;
  let publisher = null;
  try {
    const token = await signIn(server.base, 'admin', server.adminPassword);
    await api(server.base, `/api/meetings/${MEETING}/phase`, { method: 'POST', token, json: { phase: 'presentation' }, expect: 200 });
    const key = (await api(server.base, `/api/meetings/${MEETING}/stream-key`, { token, expect: 200 })).body.stream_key;
    publisher = runChild(
      PYTHON,
      [PEER, 'publish', '--url', `${server.base}/api/meetings/${MEETING}/whip`, `--token=${key}`, '--codec', 'h264', '--stamp',
        '--seconds', String(seconds + 90)],
      { timeout: (seconds + 120) * 1000 },
    );
    publisher.catch(() => {});
    await waitFor(async () => (await api(server.base, `/api/meetings/${MEETING}`)).body?.broadcast?.on_air === true, {
      timeout: 60000,
      message: 'the broadcast on air',
    });
    browser = await launchChromium();
    const modes = [
      ['whep', 'WHEP (WebRTC)', `${server.base}/meetings/${MEETING}`],
      ['hls', 'HLS (hls.js)', `${server.base}/meetings/${MEETING}?hls=1`],
    ]
      .filter(([id]) => only === null || only === id)
      .map(([, name, url]) => [name, url]);
    const pages = [];
    for (const [name, url] of modes) {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      await page.goto(url);
      pages.push({ name, page });
    }
    for (const { name, page } of pages) {
      await waitFor(() => page.evaluate(() => (document.getElementById('player')?.currentTime ?? 0) > 1), {
        timeout: 60000,
        message: `${name} to play`,
      });
      await startSampling(page);
    }
    await sleep(seconds * 1000);
    const rows = [];
    for (const { name, page } of pages) {
      const { ages, misreads, mode } = await page.evaluate(() => ({
        ages: window.__ages,
        misreads: window.__misreads,
        mode: window.__kezdesuPlayer?.mode ?? null,
      }));
      const sorted = [...ages].sort((a, b) => a - b);
      const row = {
        name,
        mode,
        samples: sorted.length,
        misreads,
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        min: sorted[0] ?? null,
        max: sorted.at(-1) ?? null,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
    const model = cpus()[0]?.model ?? '?';
    const chromium = execFileSync(process.env.CHROMIUM || '/usr/bin/chromium', ['--version']).toString().trim();
    console.log(`\nMachine: ${model}, ${cpus().length} cores; ${chromium}; window ${seconds} s, a sample every ${SAMPLE_EVERY_MS} ms.\n`);
    console.log('| mode | player says | samples | p50 | p95 | min | max |');
    console.log('|---|---|---|---|---|---|---|');
    const ms = (value) => (value === null ? '—' : `${value} ms`);
    for (const row of rows) {
      console.log(`| ${row.name} | ${row.mode ?? '?'} | ${row.samples} (${row.misreads} unread) | **${ms(row.p50)}** | ${ms(row.p95)} | ${ms(row.min)} | ${ms(row.max)} |`);
    }
  } finally {
    await browser?.close().catch(() => {});
    publisher?.kill?.('SIGTERM');
    await server.stop();
  }
}

await main();
