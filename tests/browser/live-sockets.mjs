// Live channel sockets opened inside a page, for browser tests that act as viewers or
// moderators beside the page under test: each socket is kept in window.__sockets[name], and
// the events it receives in window.__events[name].

/** How long a test waits for an event to reach a socket. */
const LIVE_TIMEOUT_MS = 5000;

/**
 * Opens a live channel socket named `name` in `page` for `meeting` with `token` and waits for
 * its hello (or, on a server that lets a socket read first, its `authenticated`); resolves with
 * the hello's `you`.
 */
export async function openLive(page, meeting, name, token) {
  return page.evaluate(
    ({ meeting, name, token }) =>
      new Promise((resolve, reject) => {
        const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
        const url = `${scheme}://${location.host}/api/meetings/${meeting}/live?token=${encodeURIComponent(token)}`;
        const socket = new WebSocket(url);
        window.__sockets ??= {};
        window.__events ??= {};
        window.__sockets[name] = socket;
        window.__events[name] = [];
        const timer = setTimeout(() => reject(new Error(`${name}: no hello within 10 s`)), 10000);
        socket.addEventListener('message', (event) => {
          const message = JSON.parse(event.data);
          if (message.type === 'hello' || message.type === 'authenticated') {
            if (message.you?.role === 'reader') return;
            clearTimeout(timer);
            resolve(message.you);
          } else if (message.type === 'events') {
            window.__events[name].push(...message.events);
          }
        });
        socket.addEventListener('close', (event) => {
          clearTimeout(timer);
          reject(new Error(`${name}: closed ${event.code} ${event.reason}`));
        });
      }),
    { meeting, name, token },
  );
}

/** Sends `message` on the socket `name`; resolves with its ack, done or error. */
export async function send(page, name, message) {
  return page.evaluate(
    ({ name, message }) =>
      new Promise((resolve, reject) => {
        const socket = window.__sockets[name];
        const key = message.client_id !== undefined ? 'client_id' : 'request_id';
        const timer = setTimeout(() => reject(new Error(`${name}: no answer to ${JSON.stringify(message)}`)), 10000);
        const onMessage = (event) => {
          const answer = JSON.parse(event.data);
          if (!['ack', 'done', 'error'].includes(answer.type) || answer[key] !== message[key]) return;
          clearTimeout(timer);
          socket.removeEventListener('message', onMessage);
          resolve(answer);
        };
        socket.addEventListener('message', onMessage);
        socket.send(JSON.stringify(message));
      }),
    { name, message },
  );
}

/** Waits until the socket `name` has received an event with every field of `fields`; returns it. */
export async function receivedEvent(page, name, fields, timeout = LIVE_TIMEOUT_MS) {
  const handle = await page.waitForFunction(
    ({ name, fields }) =>
      window.__events[name].find((event) =>
        Object.entries(fields).every(([key, value]) => JSON.stringify(event[key]) === JSON.stringify(value)),
      ),
    { name, fields },
    { timeout },
  );
  return handle.jsonValue();
}

/** The comment numbers the console's comment list shows, top to bottom. */
export async function listedComments(page) {
  return page.locator('#comment-list > li').evaluateAll((items) => items.map((item) => Number(item.dataset.comment)));
}
