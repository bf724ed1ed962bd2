// The restream panel in a real browser against the real server binary: the admin adds a
// destination on the presenter page (a bad URL is refused on the page, the key is never shown
// again), switches it off and on, goes on air from Chromium with H.264 first in the offer
// because a destination is on, and sees the destination's state change live (here `failed`:
// nothing listens on the port, and the message says so); the moderator console shows the same
// state. The restreams to real RTMP receivers are tests/media/test_egress.py's.
//
// Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { assertAccessible } from './accessibility.mjs';
import { api, launchChromium, signIn, startServer, waitFor, watchPage } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start
const KEY = 'browser-test-stream-key-9f3a';
const CONFIG = '[media]\nudp_addresses = ["127.0.0.1"]\n';

describe('the restream panel', { timeout: 5 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  const pageLog = [];

  before(async () => {
    server = await startServer({
      configToml: CONFIG,
      env: { KEZDESU_SECRET_KEY: randomBytes(32).toString('base64') },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function signedInPage(name, path) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(60000);
    watchPage(page, name, pageLog);
    await page.goto(`${server.base}${path}`);
    await page.waitForURL(/\/signin\.html\?next=/);
    await page.fill('#login', 'admin');
    await page.fill('#password', server.adminPassword);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForURL((url) => url.pathname + url.search === path);
    return page;
  }

  test('an admin adds a destination, goes on air with H.264, and sees its state on both pages', async () => {
    try {
      const admin = await signIn(server.base, 'admin', server.adminPassword);
      await api(server.base, `/api/meetings/${MEETING}/phase`, {
        method: 'POST',
        token: admin,
        json: { phase: 'presentation' },
        expect: 200,
      });
      const presenter = await signedInPage('presenter', `/present.html?meeting=${MEETING}`);
      await presenter.locator('#restream:not([hidden])').waitFor();
      assert.equal(await presenter.locator('#restream-empty').isVisible(), true);
      // YouTube's usual URL is offered.
      assert.equal(await presenter.inputValue('#restream-url'), 'rtmp://a.rtmp.youtube.com/live2');

      // Facebook takes RTMPS only: the page says so before anything is sent.
      await presenter.selectOption('#restream-platform', 'facebook');
      await presenter.fill('#restream-url', 'rtmp://live-api-s.facebook.com/rtmp/');
      await presenter.fill('#restream-key', KEY);
      await presenter.click('#restream-form button[type="submit"]');
      await waitFor(async () => /RTMPS/.test(await presenter.locator('#restream-error').textContent()), {
        message: 'the page to refuse Facebook over plain RTMP',
      });
      assert.equal(await presenter.locator('#restream-list li').count(), 0);

      // A destination nobody listens at (the discard port).
      await presenter.selectOption('#restream-platform', 'rtmp');
      await presenter.fill('#restream-name', 'Regional TV');
      await presenter.fill('#restream-url', 'rtmp://127.0.0.1:9/live');
      await presenter.fill('#restream-key', KEY);
      await presenter.click('#restream-form button[type="submit"]');
      const item = presenter.locator('#restream-list li');
      await item.first().waitFor();
      assert.equal(await presenter.inputValue('#restream-key'), '', 'the key leaves the page once saved');
      const shown = await item.first().textContent();
      assert.match(shown, /Regional TV/);
      assert.match(shown, /••••9f3a/);
      assert.equal((await presenter.content()).includes(KEY), false, 'the key is nowhere on the page');
      assert.equal(await item.first().getAttribute('data-state'), 'waiting');
      assert.equal(await presenter.locator('#restream-h264').isVisible(), true);

      // Off and on again.
      await item.first().locator('button[data-action="toggle"]').click();
      await waitFor(async () => (await item.first().getAttribute('data-state')) === 'off', { message: 'off' });
      await item.first().locator('button[data-action="toggle"]').click();
      await waitFor(async () => (await item.first().getAttribute('data-state')) === 'waiting', { message: 'on' });
      await assertAccessible(presenter, 'the presenter page with a destination');

      // On air: H.264 comes first in the offer, and the destination's failure shows at once.
      await waitFor(async () => (await presenter.locator('#camera-select option').count()) > 0, {
        message: 'a camera',
      });
      await presenter.locator('#go-live:not([disabled])').click();
      await presenter.locator('#publish-state[data-publish="on-air"]').waitFor({ timeout: 120000 });
      const firstVideoCodec = await presenter.evaluate(() => {
        const sdp = window.__kezdesuPresenter.pc.localDescription.sdp;
        const video = sdp.split('m=video ')[1];
        const firstPayload = video.split('\r\n')[0].split(' ')[2];
        const rtpmap = video.match(new RegExp(`a=rtpmap:${firstPayload} ([^/]+)/`));
        return rtpmap ? rtpmap[1] : null;
      });
      assert.equal(firstVideoCodec, 'H264');
      await waitFor(async () => (await item.first().getAttribute('data-state')) === 'failed', {
        timeout: 60000,
        message: 'the destination to show failed',
      });
      assert.match(await item.first().locator('.restream-item__error').textContent(), /cannot connect to 127\.0\.0\.1:9/);

      // The moderator console shows the same state, read only.
      const console_ = await signedInPage('console', `/moderate.html?meeting=${MEETING}`);
      const consoleItem = console_.locator('#restream-list li');
      await waitFor(async () => (await consoleItem.first().getAttribute('data-state')) === 'failed', {
        message: 'the console to show the failed destination',
      });
      assert.equal(await console_.locator('#restream button').count(), 0, 'the console only shows states');
      await presenter.locator('#stop-live').click();
    } catch (error) {
      console.error(`--- server output ---\n${server?.logs()}\n--- pages ---\n${pageLog.join('\n')}\n---`);
      throw error;
    }
  });
});
