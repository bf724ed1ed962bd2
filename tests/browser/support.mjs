// Helpers of the browser tests: start the real server binary on a free loopback port with a
// fresh data folder, call its API, launch Debian's Chromium through playwright-core, read WebRTC
// statistics from a page, and run a child process with a deadline. Not a test file itself
// (node --test runs only *.test.mjs here).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The server binary: $KEZDESU_BIN (relative to the working folder) or target/debug/kezdesu. */
export function serverBinary() {
  const configured = process.env.KEZDESU_BIN;
  if (configured) return path.resolve(process.cwd(), configured);
  return path.join(REPO_ROOT, 'target', 'debug', 'kezdesu');
}

/** A strong password for the first admin: long, with upper and lower case, digits and signs. */
export function strongPassword() {
  return `Kz-${randomBytes(12).toString('base64url')}-7aQ!`;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Polls `check` until it returns a truthy value (which is returned), or fails after `timeout`
 * ms with `message` and the last value or error seen.
 */
export async function waitFor(check, { timeout = 30000, interval = 250, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? `${last.name}: ${last.message}` : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${message}; last seen: ${seen}`);
    }
    await sleep(interval);
  }
}

/** Keeps the last lines a child printed, for showing when a test fails. */
class LogTail {
  constructor(limit = 600) {
    this.limit = limit;
    this.lines = [];
    this.partial = { stdout: '', stderr: '' };
  }

  push(stream, chunk) {
    const text = this.partial[stream] + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial[stream] = parts.pop();
    for (const line of parts) {
      this.lines.push(`[${stream}] ${line}`);
      if (this.lines.length > this.limit) this.lines.shift();
    }
  }

  text() {
    const rest = Object.entries(this.partial)
      .filter(([, line]) => line !== '')
      .map(([stream, line]) => `[${stream}] ${line}`);
    return [...this.lines, ...rest].join('\n');
  }
}

/**
 * Starts `kezdesu serve` on a free port with a fresh data folder and a config file holding
 * `configToml` (and `env` added to its environment), and waits for GET /healthz to answer 200. Returns
 * {base, adminPassword, child, logs(), stop()}.
 */
export async function startServer({ configToml = '', startTimeout = 60000, env: extraEnv = {} } = {}) {
  const bin = serverBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'kezdesu-browser-'));
  const dataDir = path.join(dir, 'data');
  const configFile = path.join(dir, 'kezdesu.toml');
  await writeFile(configFile, configToml);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const adminPassword = strongPassword();
  // The server's own configuration variables of the caller's shell must not leak into the test.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KEZDESU__')));
  env.KEZDESU_ADMIN_PASSWORD = adminPassword;
  // No recorder nor HLS packager per broadcast on the test machine's two cores; the
  // recording and HLS tests turn them on.
  env.KEZDESU__RECORDING__ENABLED = 'false';
  env.KEZDESU__HLS__ENABLED = 'false';
  Object.assign(env, extraEnv);
  const logs = new LogTail();
  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir, '--config', configFile], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => logs.push('stdout', chunk));
  child.stderr.on('data', (chunk) => logs.push('stderr', chunk));
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', (error) => {
      exited = { code: null, signal: null, error };
      resolve(exited);
    });
  });
  // Never leave the server behind, whatever happens to the test process.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function stop() {
    process.off('exit', killOnExit);
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  }

  try {
    await waitFor(
      async () => {
        if (exited !== null) {
          const why = exited.error ? exited.error.message : `code ${exited.code}, signal ${exited.signal}`;
          throw new Error(`the server exited (${why}): is ${bin} built?`);
        }
        const response = await fetch(`${base}/healthz`).catch(() => null);
        return response?.status === 200;
      },
      { timeout: startTimeout, interval: 200, message: `GET ${base}/healthz to answer 200` },
    );
  } catch (error) {
    console.error(`--- server output (${bin}) ---\n${logs.text()}\n--- end of server output ---`);
    await stop();
    throw error;
  }
  return { base, adminPassword, child, logs: () => logs.text(), stop, exited: () => exited };
}

/**
 * Calls the JSON API. Returns {status, headers, body} with the body parsed when JSON; throws
 * when `expect` is given and the status differs.
 */
export async function api(base, urlPath, { method = 'GET', token = null, json = undefined, expect = null } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${base}${urlPath}`, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  let body = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (expect !== null && response.status !== expect) {
    throw new Error(`${method} ${urlPath}: expected ${expect}, got ${response.status}: ${text}`);
  }
  return { status: response.status, headers: response.headers, body };
}

/** Signs a staff member in; returns the bearer token (also the session cookie's value). */
export async function signIn(base, login, password) {
  const { body } = await api(base, '/api/session', { method: 'POST', json: { login, password }, expect: 200 });
  return body.token;
}

/**
 * Signs the admin in, puts `meeting` in its presentation (so that it may go on air) and reads
 * its stream key. Returns {token, streamKey}.
 */
export async function liveWithStreamKey(server, meeting) {
  const token = await signIn(server.base, 'admin', server.adminPassword);
  await api(server.base, `/api/meetings/${meeting}/phase`, {
    method: 'POST',
    token,
    json: { phase: 'presentation' },
    expect: 200,
  });
  const { body } = await api(server.base, `/api/meetings/${meeting}/stream-key`, { token, expect: 200 });
  return { token, streamKey: body.stream_key };
}

/** Posts an SDP offer to a WHIP or WHEP endpoint. Returns {status, headers, contentType, text, problem}. */
export async function postSdp(url, sdp, { token = null } = {}) {
  const headers = { 'Content-Type': 'application/sdp' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: sdp });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  let problem = null;
  if (contentType.includes('json')) {
    try {
      problem = JSON.parse(text);
    } catch {
      problem = null;
    }
  }
  return { status: response.status, headers: response.headers, contentType, text, problem };
}

/**
 * Whether this process runs under libfaketime (tests/services/clock at …): its clock, and the
 * server's, then stand at a moment other than the machine's.
 */
export function clockIsFaked() {
  return /libfaketime/.test(process.env.LD_PRELOAD ?? '') && Boolean(process.env.FAKETIME);
}

/**
 * Launches Debian's Chromium (or $CHROMIUM) with fake camera and microphone, in the machine's
 * zone ($TZ, which tests/run sets apart from the server's).
 *
 * Chromium's processes crash under libfaketime, so when this process runs under it Chromium is
 * started without it, and every new context's pages get this process's (faked) time through
 * Playwright's clock, which runs on from there: the pages, the tests and the server then agree
 * on the moment.
 */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const faked = clockIsFaked();
  const env = { ...process.env };
  if (faked) {
    env.LD_PRELOAD = env.LD_PRELOAD.split(':').filter((library) => !/libfaketime/.test(library)).join(':');
    if (env.LD_PRELOAD === '') delete env.LD_PRELOAD;
    for (const name of ['FAKETIME', 'NO_FAKE_STAT']) delete env[name];
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    env,
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--no-sandbox',
    ],
  });
  if (faked) {
    // browser.newPage() makes its context through this.newContext(), so it is covered too.
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (options) => {
      const context = await newContext(options);
      await context.clock.install({ time: Date.now() });
      return context;
    };
  }
  return browser;
}

/** An SDP offer made by Chromium, with one transceiver per kind in `direction`. */
export async function chromiumOffer(browser, { direction = 'sendonly', kinds = ['audio', 'video'] } = {}) {
  const page = await browser.newPage();
  try {
    return await page.evaluate(
      async ({ direction, kinds }) => {
        const pc = new RTCPeerConnection();
        for (const kind of kinds) pc.addTransceiver(kind, { direction });
        const offer = await pc.createOffer();
        pc.close();
        return offer.sdp;
      },
      { direction, kinds },
    );
  } finally {
    await page.close();
  }
}

/**
 * The inbound RTP counters of the meeting page's player (its test hook
 * window.__kezdesuPlayer.pc): {video: {framesDecoded, packetsReceived}, audio: {packetsReceived}},
 * or null while it has no connection.
 */
export async function playerStats(page) {
  return page.evaluate(async () => {
    const pc = window.__kezdesuPlayer?.pc;
    if (!pc) return null;
    const report = await pc.getStats();
    const result = {
      video: { framesDecoded: 0, packetsReceived: 0 },
      audio: { packetsReceived: 0 },
      connection: pc.connectionState,
    };
    report.forEach((entry) => {
      if (entry.type !== 'inbound-rtp') return;
      const kind = entry.kind ?? entry.mediaType;
      if (kind === 'video') {
        result.video.framesDecoded += entry.framesDecoded ?? 0;
        result.video.packetsReceived += entry.packetsReceived ?? 0;
      } else if (kind === 'audio') {
        result.audio.packetsReceived += entry.packetsReceived ?? 0;
      }
    });
    return result;
  });
}

/**
 * Runs a command; resolves {code, signal, output} when it exits, or kills it (and rejects) after
 * `timeout` ms. The promise has kill(signal) to end it early.
 */
export function runChild(command, args, { timeout = 120000, env = process.env, cwd = REPO_ROOT } = {}) {
  let child;
  const running = new Promise((resolve, reject) => {
    const logs = new LogTail(400);
    child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => logs.push('stdout', chunk));
    child.stderr.on('data', (chunk) => logs.push('stderr', chunk));
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${path.basename(args[0] ?? command)} ${args[1] ?? ''} did not finish within ${timeout} ms:\n${logs.text()}`,
        ),
      );
    }, timeout);
    child.on('error', (error) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      resolve({ code, signal, output: logs.text() });
    });
  });
  /** Ends the child early (its promise then resolves with the signal). */
  running.kill = (signal = 'SIGTERM') => child.kill(signal);
  return running;
}

/**
 * A test's `withDiagnostics(name, body)`: runs `body`; when it fails, prints the server's output
 * (`server()` is read then, so the server may start after this is made) and what the pages
 * logged into `pageLog` (see watchPage), then fails.
 */
export function diagnostics(server, pageLog) {
  return async function withDiagnostics(name, body) {
    try {
      await body();
    } catch (error) {
      console.error(`\n--- ${name} failed; server output ---\n${server()?.logs() ?? '(no server)'}`);
      console.error(`--- pages ---\n${pageLog.join('\n') || '(nothing logged)'}\n--- end ---\n`);
      throw error;
    }
  };
}

/** Collects a page's console errors and failed requests, for showing when a test fails. */
export function watchPage(page, name, sink) {
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      sink.push(`[${name} console.${message.type()}] ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => sink.push(`[${name} pageerror] ${error.message}`));
  page.on('requestfailed', (request) =>
    sink.push(`[${name} requestfailed] ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) {
      sink.push(`[${name} HTTP ${response.status()}] ${response.request().method()} ${response.url()}`);
    }
  });
}
