// Takes the screenshots in docs/screenshots/: every page of the web app, on a phone (360 px)
// and a desktop (1280 px), from a fresh server with the demo and a live meeting in progress.
//
//   npm ci --prefix tests/browser && cargo build && node tests/browser/screenshots.mjs
//
// Not a test (node --test runs only *.test.mjs): it only drives the pages into a state worth
// showing and writes PNG files, replacing the old ones.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { serverYear } from './civil.mjs';
import { REPO_ROOT, api, launchChromium, signIn, sleep, startServer } from './support.mjs';

const MEETING = 1; // the demo meeting of the first start
const OUT = path.join(REPO_ROOT, 'docs', 'screenshots');
const SIZES = {
  phone: { width: 360, height: 780 },
  desktop: { width: 1280, height: 860 },
};

/** Opens the live channel from the desk page as `name`, and waits for its hello. */
async function openLive(page, name, token) {
  await page.evaluate(
    ({ meeting, name, token }) =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://${location.host}/api/meetings/${meeting}/live?token=${encodeURIComponent(token)}`);
        window.__sockets ??= {};
        window.__sockets[name] = socket;
        socket.addEventListener('message', (event) => {
          if (JSON.parse(event.data).type === 'hello') resolve();
        });
        socket.addEventListener('close', () => reject(new Error(`${name} closed`)));
      }),
    { meeting: MEETING, name, token },
  );
}

/** Sends a command on the socket `name` and waits for its answer. */
async function send(page, name, message) {
  return page.evaluate(
    ({ name, message }) =>
      new Promise((resolve) => {
        const socket = window.__sockets[name];
        const key = message.client_id !== undefined ? 'client_id' : 'request_id';
        socket.addEventListener('message', function answer(event) {
          const reply = JSON.parse(event.data);
          if (['ack', 'done', 'error'].includes(reply.type) && reply[key] === message[key]) {
            socket.removeEventListener('message', answer);
            resolve(reply);
          }
        });
        socket.send(JSON.stringify(message));
      }),
    { name, message },
  );
}

const server = await startServer();
const browser = await launchChromium();
try {
  const admin = await signIn(server.base, 'admin', server.adminPassword);
  const year = serverYear();
  const akim = (await api(server.base, `/api/meetings/${MEETING}`, { expect: 200 })).body.akim_account_id;

  // A live meeting: three viewers comment, one comment is hidden, two become one question.
  await api(server.base, `/api/meetings/${MEETING}/phase`, {
    method: 'POST',
    token: admin,
    json: { phase: 'presentation' },
    expect: 200,
  });
  const desk = await (await browser.newContext()).newPage();
  await desk.goto(`${server.base}/`);
  await openLive(desk, 'moderator', admin);
  const comments = [
    ['Айгүл', 'Когда отремонтируют дорогу на улице Абая?'],
    ['Ерлан', 'Дорога на Абая разбита уже третий год, когда ремонт?'],
    ['Дана', 'Нужен второй автобусный маршрут до районной больницы.'],
    ['Ерлан', 'Реклама: купите окна недорого!'],
  ];
  const numbers = [];
  for (const [index, [name, text]] of comments.entries()) {
    const viewer = (
      await api(server.base, `/api/meetings/${MEETING}/viewers`, { method: 'POST', json: { display_name: name }, expect: 201 })
    ).body;
    await openLive(desk, `viewer${index}`, viewer.token);
    const ack = await send(desk, `viewer${index}`, { type: 'comment', client_id: `shot-${index}`, text });
    numbers.push(ack.comment);
  }
  await send(desk, 'moderator', { type: 'hide', request_id: 'hide', comment: numbers[3], reason: 'spam' });
  await send(desk, 'moderator', {
    type: 'promote',
    request_id: 'promote',
    comments: [numbers[0], numbers[1]],
    text: 'Когда отремонтируют дорогу на улице Абая?',
  });
  await send(desk, 'moderator', { type: 'promote', request_id: 'promote2', comments: [numbers[2]] });

  // [file name, page, signed in as, the part to scroll to (the top when none)]
  const pages = [
    ['home', '/', null],
    ['viewer', `/meetings/${MEETING}`, null],
    ['viewer-live', `/meetings/${MEETING}`, null, '#live'],
    ['presenter', `/present.html?meeting=${MEETING}`, admin],
    ['moderator', `/moderate.html?meeting=${MEETING}`, admin],
    ['moderator-columns', `/moderate.html?meeting=${MEETING}`, admin, '#mod-columns'],
    ['issues', '/issues.html', null],
    ['workspace', '/issue.html?id=1', admin],
    ['calendar', `/calendar.html?akim=${akim}&year=${year}`, null],
    ['compliance', `/compliance.html?year=${year}`, null],
    ['moderation-log', `/moderation-log.html?meeting=${MEETING}`, null],
    ['admin', '/admin.html', admin],
  ];
  await mkdir(OUT, { recursive: true });
  for (const [name, urlPath, token, part] of pages) {
    for (const [size, viewport] of Object.entries(SIZES)) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      if (token) await context.addCookies([{ name: 'kezdesu_session', value: token, url: server.base }]);
      const page = await context.newPage();
      await page.goto(`${server.base}${urlPath}`);
      // Live pages never go idle (event streams stay open): give them time to fill in.
      await sleep(2000);
      if (part) await page.locator(part).first().evaluate((element) => element.scrollIntoView());
      const file = path.join(OUT, `${name}-${size}.png`);
      await page.screenshot({ path: file });
      console.log(`wrote ${path.relative(REPO_ROOT, file)}`);
      await context.close();
    }
  }
} finally {
  await browser.close();
  await server.stop();
}
