// The pages' benchmark (tests/bench/pages.sh runs it): two builds of the server, each serving its
// own pages, measured in Debian's Chromium in one run.
//
//   node tests/bench/pages.mjs --baseline BIN --new BIN [--rate 50] [--seconds 300] [--preload 100000]
//
// For each build, on a fresh data folder with the comment rate limits opened up (the benchmark
// measures the pages, not the limits):
//   (a) the meeting page of a viewer on a phone-class browser (360 px wide, CPU throttled 4×
//       through the DevTools protocol, Emulation.setCPUThrottlingRate) and
//   (b) the moderator console on a desktop (no throttling)
//   both open while posters flood a fresh meeting with RATE comments a second for SECONDS. Each
//   comment carries its send instant (`t=<ms>`); a MutationObserver on the page's comment list
//   takes the moment its row enters the DOM (the paint follows within the frame, whose longest
//   gap is reported too). Also: the longest gap between animation frames during the flood, and
//   the page's DOM node count at the end (every node, text included).
//   (c) joining late: a second meeting is preloaded with PRELOAD comments (posters on the live
//       channel, as fast as the server acknowledges them), once, on the baseline's data folder,
//       which the new build then opens as a copy; then the time from opening the console to
//       the newest comment on its screen, and its DOM node count.
// Prints one JSON line per build and a Markdown table of both, side by side.

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { api, freePort, launchChromium, signIn, sleep, strongPassword, waitFor } from '../browser/support.mjs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split(/--/)
    .filter(Boolean)
    .map((pair) => pair.trim().split(/\s+/)),
);
const RATE = Number(args.rate ?? 50);
const SECONDS = Number(args.seconds ?? 300);
const PRELOAD = Number(args.preload ?? 100000);
// Few posters: every poster's socket receives every comment too, and that fan-out would only
// load the machine the pages are measured on.
const POSTERS = Number(args.posters ?? 4);
/** Comments each poster has in flight while preloading. */
const PRELOAD_IN_FLIGHT = 25;
// Words for the comments' texts, the same as the live benchmark's generator (kezdesu-load).
const BENCH_WORDS = readFileSync(new URL('../fixtures/bench-words.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((word) => word !== '');
const BUILDS = { baseline: args.baseline, new: args.new };
// `together`: the phone page and the console open during one flood (a real meeting); `apart`:
// one flood each, so that on a 2-core machine neither page's frames wait for the other's.
const PAGES = args.pages === 'apart' ? 'apart' : 'together';
// `--pin yes` (the default on 2 cores or more): the server, the posters' page, the browser
// process and this script share the first core, and only the measured page's renderer and
// Chromium's GPU process may run on the second (and on the first). A citizen's phone does not
// run the server: without this, a frame of the measured page waits whenever the server and the
// posters take both cores, and the frame gaps measure the machine's scheduler more than the
// page. (The page alone on one core was tried: its compositor, raster and GPU threads then
// wait for its main thread, and it drew fewer frames.)
const PIN = (args.pin ?? 'yes') !== 'no' && cpus().length >= 2;
const PHONE = { width: 360, height: 780 };
const DESKTOP = { width: 1366, height: 900 };
const MODERATOR = { login: 'bench-moderator', password: 'bench moderator password 7!' };
const AKIM = { login: 'bench-akim', password: 'bench akim password 7!' };

function log(...parts) {
  console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

/** The ids of this machine's Chromium processes whose arguments pass `wanted`. */
function chromiumProcesses(wanted = () => true) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv;
    try {
      // Chromium rewrites its process title: its arguments are then one string, with spaces.
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split(/[\0 ]/);
    } catch {
      continue; // ended meanwhile
    }
    if (/chrom/.test(path.basename(argv[0] ?? '')) && wanted(argv)) found.push(Number(name));
  }
  return found;
}

const isRenderer = (argv) => argv.includes('--type=renderer');
const isGpu = (argv) => argv.includes('--type=gpu-process');

/** Lets every thread of each process run only on `cpus` ("0", "0,1"; taskset; what they start later follows). */
function pinTo(pids, cpus) {
  if (!PIN) return;
  for (const pid of pids) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    } catch {
      // It ended meanwhile.
    }
  }
}

/** Opens the page to measure (`open()` makes and navigates it), free to use both cores, as the GPU process. */
async function openMeasured(open) {
  const before = new Set(chromiumProcesses(isRenderer));
  await open();
  pinTo([...chromiumProcesses(isRenderer).filter((pid) => !before.has(pid)), ...chromiumProcesses(isGpu)], '0,1');
}

/** Starts `bin serve` on `data`; returns {base, adminPassword, stop()}. */
async function startServer(bin, data, adminPassword) {
  await mkdir(data, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KEZDESU')));
  Object.assign(env, {
    KEZDESU_ADMIN_PASSWORD: adminPassword,
    KEZDESU__LOG__LEVEL: 'warn',
    KEZDESU__AUTH__VIEWER_TOKENS_PER_MINUTE: '1000000',
    KEZDESU__LIVE__COMMENT_INTERVAL_SECONDS: '0.001',
    KEZDESU__LIVE__COMMENT_BURST: '1000',
    KEZDESU__LIVE__COMMENTS_PER_MINUTE_PER_ADDRESS: '100000000',
  });
  // Run in the data folder: a server reads config/default.toml from its working folder, and
  // this checkout's documents keys an older baseline does not know.
  const command = ['serve', '--listen', `127.0.0.1:${port}`, '--data', data];
  const child = spawn(PIN ? 'taskset' : bin, PIN ? ['-c', '0', bin, ...command] : command, {
    env,
    cwd: data,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  process.on('exit', () => child.kill('SIGKILL'));
  await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status === 200, {
    timeout: 60000,
    message: `${bin} to answer (${stderr})`,
  });
  return {
    base,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The accounts and a meeting in its presentation, ready for comments; returns its id. */
async function newMeeting(base, admin, title) {
  const demo = (await api(base, '/api/meetings/1', { expect: 200 })).body;
  const accounts = (await api(base, '/api/accounts', { token: admin, expect: 200 })).body.accounts;
  let akim = accounts.find((entry) => entry.login === AKIM.login);
  if (!akim) {
    await api(base, '/api/accounts', {
      method: 'POST',
      token: admin,
      json: { login: AKIM.login, display_name: 'Bench akim', role: 'akim', password: AKIM.password, territory_id: demo.territory_id },
      expect: 201,
    });
    await api(base, '/api/accounts', {
      method: 'POST',
      token: admin,
      json: { login: MODERATOR.login, display_name: 'Bench moderator', role: 'moderator', password: MODERATOR.password },
      expect: 201,
    });
    akim = (await api(base, '/api/accounts', { token: admin, expect: 200 })).body.accounts.find(
      (entry) => entry.login === AKIM.login,
    );
  }
  const start = new Date(Date.now() + 10 * 60 * 1000);
  start.setUTCSeconds(0, 0);
  const id = (
    await api(base, '/api/meetings', {
      method: 'POST',
      token: admin,
      json: {
        title: { kk: title, ru: title, en: title },
        territory_id: demo.territory_id,
        akim_account_id: akim.id,
        planned_start: start.toISOString(),
        planned_minutes: 240,
        kind: 'unscheduled',
        place: 'Bench hall',
      },
      expect: 201,
    })
  ).body.id;
  await api(base, `/api/meetings/${id}/phase`, { method: 'POST', token: admin, json: { phase: 'presentation' }, expect: 200 });
  return id;
}

/** Viewer tokens for the posters. */
async function posterTokens(base, meeting, count) {
  const tokens = [];
  for (let index = 0; index < count; index += 1) {
    const body = (
      await api(base, `/api/meetings/${meeting}/viewers`, { method: 'POST', json: { display_name: `Poster ${index + 1}` }, expect: 201 })
    ).body;
    tokens.push(body.token);
  }
  return tokens;
}

/**
 * A page (not throttled) that opens the posters' sockets. `mode` 'rate': RATE comments a second
 * for SECONDS, each with its send instant; 'fast': `total` comments as fast as acknowledged
 * (a few in flight per poster). Resolves with {sent, acked} when done.
 */
async function post(page, { base, meeting, tokens, mode, rate = RATE, seconds = SECONDS, total = 0, label = 'c' }) {
  if (!page.url().startsWith(base)) await page.goto(`${base}/`);
  return page.evaluate(
    ({ meeting, tokens, mode, rate, seconds, total, label, inFlightEach, WORDS }) =>
      new Promise((resolve, reject) => {
        const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
        const sockets = [];
        let sent = 0;
        let acked = 0;
        let opened = 0;
        const inFlight = new Map();
        const sendOne = (socket, index) => {
          if (mode === 'fast' && sent >= total) return;
          sent += 1;
          const id = `${label}-${index}-${sent}`;
          // Words that differ from one comment to the next, as people's do: the same text
          // again and again from one author is what the automatic flood rule hides.
          // A multiplicative hash, so that no two of a poster's comments share their words.
          const mixed = Math.imul(sent + 1, 0x9e3779b1) >>> 0;
          const topic = [0, 1, 2, 3, 4].map((k) => WORDS[Math.floor(mixed / 40 ** k + k * 7) % WORDS.length]).join(' ');
          const text = mode === 'fast' ? `${topic} (${sent} of ${total})` : `${topic} t=${Date.now()}`;
          inFlight.set(id, socket);
          socket.send(JSON.stringify({ type: 'comment', client_id: id, text }));
        };
        tokens.forEach((token, index) => {
          const socket = new WebSocket(`${scheme}://${location.host}/api/meetings/${meeting}/live?token=${encodeURIComponent(token)}`);
          socket.addEventListener('message', (event) => {
            const message = JSON.parse(event.data);
            if (message.type === 'hello') {
              opened += 1;
              if (opened === tokens.length) start();
            } else if (message.type === 'ack' || message.type === 'error') {
              if (message.type === 'ack') acked += 1;
              if (message.type === 'error' && message.code !== 'rate_limited') console.warn(JSON.stringify(message));
              inFlight.delete(message.client_id);
              if (mode === 'fast') {
                if (acked >= total) finish();
                else sendOne(socket, index);
              }
            }
          });
          socket.addEventListener('close', (event) => {
            if (!done) reject(new Error(`poster closed: ${event.code}`));
          });
          sockets.push(socket);
        });
        let done = false;
        function finish() {
          if (done) return;
          done = true;
          setTimeout(() => {
            sockets.forEach((socket) => socket.close());
            resolve({ sent, acked });
          }, 1000);
        }
        function start() {
          if (mode === 'fast') {
            sockets.forEach((socket, index) => {
              for (let k = 0; k < inFlightEach; k += 1) sendOne(socket, index);
            });
            return;
          }
          const began = performance.now();
          let next = 0;
          const timer = setInterval(() => {
            const due = Math.floor(((performance.now() - began) / 1000) * rate);
            while (sent < due) {
              sendOne(sockets[next % sockets.length], next % sockets.length);
              next += 1;
            }
            if (performance.now() - began >= seconds * 1000) {
              clearInterval(timer);
              finish();
            }
          }, 5);
        }
      }),
    { meeting, tokens, mode, rate, seconds, total, label, inFlightEach: PRELOAD_IN_FLIGHT, WORDS: BENCH_WORDS },
  );
}

/**
 * Watches a page: each row added to `listSelector` with a `t=<ms>` mark gives a latency, an
 * animation frame loop the gaps between frames. Installed before the page's own scripts run.
 */
function watcherScript(listSelector) {
  return `(() => {
    const bench = (window.__bench = { latencies: [], gaps: [], measuring: false, newest: null });
    let last = null;
    const tick = (now) => {
      if (bench.measuring && last !== null) bench.gaps.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const observe = () => {
      const list = document.querySelector(${JSON.stringify(listSelector)});
      if (!list) return;
      new MutationObserver((records) => {
        const now = Date.now();
        for (const record of records) {
          for (const node of record.addedNodes) {
            if (node.nodeType !== 1) continue;
            const match = /t=(\\d{13})/.exec(node.textContent);
            if (match && bench.measuring) bench.latencies.push(now - Number(match[1]));
          }
        }
      }).observe(list, { childList: true });
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', observe);
    else observe();
  })();`;
}

function domNodes(page) {
  return page.evaluate(() => {
    const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
    let count = 1;
    while (walker.nextNode()) count += 1;
    return count;
  });
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function frameFigures(page) {
  const { latencies, gaps } = await page.evaluate(() => ({ latencies: window.__bench.latencies, gaps: window.__bench.gaps }));
  return {
    shown: latencies.length,
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
    max_ms: latencies.length ? Math.max(...latencies) : null,
    longest_frame_gap_ms: gaps.length ? Math.round(Math.max(...gaps)) : null,
    frame_gaps_over_100ms: gaps.filter((gap) => gap > 100).length,
    frame_gaps_over_50ms: gaps.filter((gap) => gap > 50).length,
    frames: gaps.length,
    dom_nodes: await domNodes(page),
  };
}

/** The page's main thread time so far, in seconds (CDP Performance metrics), by kind of work. */
async function mainThreadSeconds(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const value = (name) => metrics.find((metric) => metric.name === name)?.value ?? 0;
  return {
    task: value('TaskDuration'),
    script: value('ScriptDuration'),
    layout: value('LayoutDuration'),
    style: value('RecalcStyleDuration'),
  };
}

async function moderatorContext(browser, base, options) {
  const context = await browser.newContext(options);
  const token = await signIn(base, MODERATOR.login, MODERATOR.password);
  await context.addCookies([{ name: 'kezdesu_session', value: token, url: base }]);
  return context;
}

/** (a) and (b): the viewer's phone page and the moderator's console while the flood runs. */
async function flood(browser, base, admin, which = ['phone', 'console']) {
  const meeting = await newMeeting(base, admin, 'Bench flood');
  const tokens = await posterTokens(base, meeting, POSTERS);

  let phone = null;
  let phoneContext = null;
  let cdp = null;
  if (which.includes('phone')) {
    phoneContext = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    await phoneContext.addInitScript(watcherScript('#live-comments'));
    await openMeasured(async () => {
      phone = await phoneContext.newPage();
      await phone.goto(`${base}/meetings/${meeting}`);
    });
    // Both builds join as a viewer (the old page could read only after joining).
    await phone.locator('#live-join-name').waitFor({ state: 'visible', timeout: 30000 });
    await phone.fill('#live-join-name', 'Reader');
    await phone.click('#live-join-submit');
    await phone.locator('#live-post-text').waitFor({ state: 'visible', timeout: 30000 });
    cdp = await phoneContext.newCDPSession(phone);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await cdp.send('Performance.enable');
  }

  let console_ = null;
  let consoleContext = null;
  if (which.includes('console')) {
    consoleContext = await moderatorContext(browser, base, { viewport: DESKTOP });
    await consoleContext.addInitScript(watcherScript('#comment-list'));
    await openMeasured(async () => {
      console_ = await consoleContext.newPage();
      await console_.goto(`${base}/moderate.html?meeting=${meeting}`);
    });
    await console_.locator('#mod-connection[data-state="live"]').waitFor({ timeout: 60000 });
  }
  const pages = [phone, console_].filter(Boolean);

  // The posters' page is opened before measuring: opening a page busies the browser and its GPU
  // process for a moment, which would show as the measured pages' frame gap at the start.
  const desk = await (await browser.newContext()).newPage();
  await desk.goto(`${base}/`);
  await sleep(1000);
  for (const page of pages) await page.evaluate(() => (window.__bench.measuring = true));
  const metricsBefore = cdp ? await mainThreadSeconds(cdp) : null;
  log(`flood: ${RATE}/s for ${SECONDS} s into meeting ${meeting}`);
  const posted = await post(desk, { base, meeting, tokens, mode: 'rate' });
  await sleep(3000); // the last comments reach the pages
  for (const page of pages) await page.evaluate(() => (window.__bench.measuring = false));
  const result = { posted };
  if (phone) {
    const metricsAfter = await mainThreadSeconds(cdp);
    const busy = Object.fromEntries(
      Object.entries(metricsAfter).map(([name, value]) => [name, Number((value - metricsBefore[name]).toFixed(1))]),
    );
    result.viewer_phone = { ...(await frameFigures(phone)), main_thread_s: busy };
  }
  if (console_) result.console_desktop = await frameFigures(console_);
  await Promise.all([phoneContext?.close(), consoleContext?.close(), desk.context().close()]);
  return result;
}

/** Fills meeting `meeting` with `total` comments as fast as the server takes them. */
async function preload(browser, base, meeting, total) {
  const tokens = await posterTokens(base, meeting, POSTERS);
  const desk = await (await browser.newContext()).newPage();
  const began = Date.now();
  const posted = await post(desk, { base, meeting, tokens, mode: 'fast', total, label: 'p' });
  const seconds = (Date.now() - began) / 1000;
  log(`preloaded ${posted.acked} comments in ${seconds.toFixed(0)} s`);
  await desk.context().close();
  return { ...posted, seconds };
}

/** (c): the console opened on the preloaded meeting, until its newest comment is on screen. */
async function lateJoin(browser, base, meeting, total) {
  const context = await moderatorContext(browser, base, { viewport: DESKTOP });
  // The page's renderer free to use both cores from its first moment, as the flood's pages.
  const before = new Set(chromiumProcesses(isRenderer));
  const pinning = setInterval(() => pinTo(chromiumProcesses(isRenderer).filter((pid) => !before.has(pid)), '0,1'), 50);
  const page = await context.newPage();
  const newest = `(${total} of ${total})`;
  const began = Date.now();
  await page.goto(`${base}/moderate.html?meeting=${meeting}`);
  await page.waitForFunction(
    (text) => [...document.querySelectorAll('#comment-list > li')].some((item) => item.textContent.includes(text)),
    newest,
    { timeout: 600000, polling: 'raf' },
  );
  const seconds = (Date.now() - began) / 1000;
  clearInterval(pinning);
  await sleep(500);
  const result = { newest_on_screen_s: Number(seconds.toFixed(2)), dom_nodes: await domNodes(page) };
  await context.close();
  return result;
}

async function main() {
  for (const [name, bin] of Object.entries(BUILDS)) if (!bin) throw new Error(`--${name} BIN is required`);
  const browser = await launchChromium();
  // Everything but the measured pages on the first core (see PIN).
  pinTo([process.pid, ...chromiumProcesses()], '0');
  const root = await mkdtemp(path.join(tmpdir(), 'kezdesu-bench-pages-'));
  const adminPassword = strongPassword();
  const results = {};
  let lateMeeting = null;
  try {
    for (const [name, bin] of Object.entries(BUILDS)) {
      const data = path.join(root, name);
      if (name !== 'baseline') await cp(path.join(root, 'baseline'), data, { recursive: true });
      log(`${name}: ${bin}`);
      const server = await startServer(bin, data, adminPassword);
      try {
        const admin = await signIn(server.base, 'admin', adminPassword);
        const result = { build: name };
        if (PAGES === 'together') {
          result.flood = await flood(browser, server.base, admin);
        } else {
          const viewer = await flood(browser, server.base, admin, ['phone']);
          const moderator = await flood(browser, server.base, admin, ['console']);
          result.flood = { posted: viewer.posted, viewer_phone: viewer.viewer_phone, console_desktop: moderator.console_desktop };
        }
        if (name === 'baseline') {
          lateMeeting = await newMeeting(server.base, admin, 'Bench late join');
          result.preload = await preload(browser, server.base, lateMeeting, PRELOAD);
        }
        result.late_join = await lateJoin(browser, server.base, lateMeeting, PRELOAD);
        results[name] = result;
        console.log(JSON.stringify(result));
      } finally {
        await server.stop();
      }
      if (name === 'baseline') {
        // The copy for the next build is taken from a stopped server.
      }
    }
  } finally {
    await browser.close();
    await rm(root, { recursive: true, force: true });
  }
  console.log(table(results));
}

function table(results) {
  const builds = Object.keys(results);
  const row = (label, pick, unit = '') =>
    `| ${label} | ${builds.map((build) => `${pick(results[build]) ?? '—'}${unit}`).join(' | ')} |`;
  return [
    `| ${RATE}/s for ${SECONDS} s (pages ${PAGES}); late join at ${PRELOAD} comments | ${builds.join(' | ')} |`,
    `| --- | ${builds.map(() => '---:').join(' | ')} |`,
    row('(a) viewer, phone 4× CPU: comment to screen p50', (r) => r.flood.viewer_phone.p50_ms, ' ms'),
    row('(a) viewer: p95', (r) => r.flood.viewer_phone.p95_ms, ' ms'),
    row('(a) viewer: max', (r) => r.flood.viewer_phone.max_ms, ' ms'),
    row('(a) viewer: longest gap between frames', (r) => r.flood.viewer_phone.longest_frame_gap_ms, ' ms'),
    row('(a) viewer: animation frames', (r) => r.flood.viewer_phone.frames),
    row('(a) viewer: frame gaps over 100 ms', (r) => r.flood.viewer_phone.frame_gaps_over_100ms),
    row('(a) viewer: DOM nodes at the end', (r) => r.flood.viewer_phone.dom_nodes),
    row('(a) viewer: comments seen arriving', (r) => `${r.flood.viewer_phone.shown} of ${r.flood.posted.acked}`),
    row(
      '(a) viewer: main thread busy (script / layout / style)',
      (r) => {
        const busy = r.flood.viewer_phone.main_thread_s;
        return `${busy.task} s (${busy.script} / ${busy.layout} / ${busy.style})`;
      },
    ),
    row('(b) console, desktop: comment to screen p50', (r) => r.flood.console_desktop.p50_ms, ' ms'),
    row('(b) console: p95', (r) => r.flood.console_desktop.p95_ms, ' ms'),
    row('(b) console: max', (r) => r.flood.console_desktop.max_ms, ' ms'),
    row('(b) console: longest gap between frames', (r) => r.flood.console_desktop.longest_frame_gap_ms, ' ms'),
    row('(b) console: frame gaps over 50 ms', (r) => r.flood.console_desktop.frame_gaps_over_50ms),
    row('(b) console: DOM nodes at the end', (r) => r.flood.console_desktop.dom_nodes),
    row('(c) console joining late: newest comment on screen', (r) => r.late_join.newest_on_screen_s, ' s'),
    row('(c) console joining late: DOM nodes', (r) => r.late_join.dom_nodes),
  ].join('\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
