// Owns WebRTC ingest and playback over HTTP: a small WHIP (RFC 9725) and WHEP client.
//
// Both send one SDP offer, non-trickle: the offer is posted once ICE gathering is complete (or
// after a short wait), and the answer comes back in the 201 with a Location to DELETE at the end.
// Errors are thrown as MediaError with the server's problem `code` (`publisher_present`,
// `not_on_air`, …), the HTTP status, Retry-After, and whether trying again later may help.
//
//   const session = await publish({ url, token, stream, onState });
//   const session = await play({ url, video, onState });
//   session.stop(); // ends it on the server (DELETE) and closes the peer connection
//
// No DOM other than the <video> given to play(); no imports, so it can be used on any page.

const DEFAULT_GATHER_TIMEOUT_MS = 2000;
const DEFAULT_REQUEST_TIMEOUT_MS = 15000;

/** A WHIP/WHEP request that did not succeed. */
export class MediaError extends Error {
  constructor({ status = 0, code = null, title = '', detail = '', retryAfterSeconds = null, cause = undefined }) {
    super(detail || title || (status ? `HTTP ${status}` : 'network error'), cause ? { cause } : undefined);
    this.name = 'MediaError';
    /** The HTTP status; 0 when the server was never reached or gave no usable answer. */
    this.status = status;
    /** The problem's `code` (snake_case, as the server spells them), or null. */
    this.code = code;
    this.title = title;
    this.detail = detail;
    /** Seconds to wait before retrying, from Retry-After, or null. */
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Whether the same request may succeed later without the user changing anything. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * ICE servers from `Link: <stun:host>; rel="ice-server"` headers (RFC 9725, section 4.6), as
 * RTCIceServer objects. Credentials, when given, come as username="…" and credential="…".
 */
export function parseIceServerLinks(linkHeader) {
  const servers = [];
  if (!linkHeader) return servers;
  // Split on commas that start a new <…> link, not those inside quoted values.
  for (const part of linkHeader.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const params = {};
    for (const param of match[2].split(';')) {
      const pair = /^\s*([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^\s;]*))\s*$/.exec(param);
      if (pair) params[pair[1].toLowerCase()] = pair[2] ?? pair[3];
    }
    if (!(params.rel ?? '').split(/\s+/).includes('ice-server')) continue;
    const server = { urls: match[1] };
    if (params.username !== undefined) server.username = params.username;
    if (params.credential !== undefined) server.credential = params.credential;
    servers.push(server);
  }
  return servers;
}

/** Retry-After as seconds (a number or an HTTP date), or null. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value === '') return null;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/** Turns a failed response into a MediaError, reading an application/problem+json body. */
export async function errorFromResponse(response) {
  let problem = null;
  const type = response.headers.get('Content-Type') ?? '';
  const text = await response.text().catch(() => '');
  if (/json/i.test(type) || text.startsWith('{')) {
    try {
      problem = JSON.parse(text);
    } catch {
      problem = null;
    }
  }
  return new MediaError({
    status: response.status,
    // Read kebab-case as snake_case too, so that either spelling matches.
    code: typeof problem?.code === 'string' ? problem.code.replace(/-/g, '_') : null,
    title: typeof problem?.title === 'string' ? problem.title : response.statusText,
    detail: typeof problem?.detail === 'string' ? problem.detail : '',
    retryAfterSeconds: parseRetryAfter(response.headers.get('Retry-After')),
  });
}

/** Resolves once ICE gathering is complete, or after `timeoutMs`, whichever comes first. */
export function waitForIceGathering(pc, timeoutMs = DEFAULT_GATHER_TIMEOUT_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** The current ICE servers learnt from the server's Link headers, shared by later connections. */
let learntIceServers = [];

/** ICE servers the last WHIP/WHEP answer named (for a later connection). */
export function knownIceServers() {
  return learntIceServers.slice();
}

/**
 * Posts the local offer and applies the answer. Returns the session's absolute Location.
 * `pc` must already have its transceivers.
 */
async function negotiate(pc, { url, token, gatherTimeoutMs, requestTimeoutMs, fetchImpl }) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitForIceGathering(pc, gatherTimeoutMs);
  const headers = { 'Content-Type': 'application/sdp', Accept: 'application/sdp, application/problem+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), requestTimeoutMs);
  let response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers,
      body: pc.localDescription.sdp,
      credentials: 'omit',
      cache: 'no-store',
      signal: abort.signal,
    });
  } catch (cause) {
    throw new MediaError({ status: 0, code: 'network', cause });
  } finally {
    clearTimeout(timer);
  }
  if (response.status !== 201 && response.status !== 200) throw await errorFromResponse(response);
  const answer = await response.text();
  const locationHeader = response.headers.get('Location');
  if (!locationHeader || !answer.startsWith('v=')) {
    throw new MediaError({ status: response.status, code: 'bad_answer', detail: 'no Location or SDP answer' });
  }
  const servers = parseIceServerLinks(response.headers.get('Link'));
  if (servers.length > 0) learntIceServers = servers;
  const location = new URL(locationHeader, new URL(url, globalThis.location?.href)).href;
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  } catch (cause) {
    // The server holds a session we cannot use: end it before reporting.
    deleteSession(location, token, fetchImpl);
    throw new MediaError({
      status: response.status,
      code: 'bad_answer',
      detail: String(cause?.message ?? cause),
      cause,
    });
  }
  return location;
}

function deleteSession(location, token, fetchImpl) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  // keepalive, so that it still goes out when the page is being closed.
  return fetchImpl(location, { method: 'DELETE', headers, credentials: 'omit', keepalive: true }).catch(() => null);
}

/**
 * A WebRTC session with the server. `pc` is the RTCPeerConnection; `state` its connectionState.
 * `stop()` ends it on the server and closes the connection; it is safe to call twice.
 */
class MediaSession {
  constructor({ pc, token, fetchImpl, onState }) {
    this.pc = pc;
    this.location = null;
    this.token = token;
    this.fetchImpl = fetchImpl;
    this.stopped = false;
    this.onState = onState;
    this.state = 'new';
    pc.addEventListener('connectionstatechange', () => this.report(pc.connectionState));
  }

  report(state) {
    if (this.stopped || this.state === state) return;
    this.state = state;
    try {
      this.onState?.(state, this);
    } catch (error) {
      console.error(error);
    }
  }

  /** Ends the session: DELETE on its Location (resolved when sent), and closes the connection. */
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'closed';
    try {
      this.pc.close();
    } catch {
      // already closed
    }
    if (this.location) await deleteSession(this.location, this.token, this.fetchImpl);
  }
}

/** A WHIP publishing session; `replaceStream(stream)` swaps the sent tracks without renegotiating. */
class PublishSession extends MediaSession {
  constructor(options) {
    super(options);
    this.senders = { audio: null, video: null };
  }

  /** Sends `stream`'s tracks instead (a different camera or microphone). */
  async replaceStream(stream) {
    for (const kind of ['audio', 'video']) {
      const sender = this.senders[kind];
      if (!sender) continue;
      const track = stream.getTracks().find((candidate) => candidate.kind === kind) ?? null;
      await sender.replaceTrack(track);
    }
  }
}

/**
 * Publishes `stream` by WHIP to `url` with the bearer `token`. Resolves once the answer is
 * applied (the media connects shortly after: watch `onState(state)` for 'connected').
 * `preferVideoCodec` (e.g. 'video/H264') puts that codec first in the offer.
 */
export async function publish({
  url,
  token,
  stream,
  onState = () => {},
  iceServers = knownIceServers(),
  gatherTimeoutMs = DEFAULT_GATHER_TIMEOUT_MS,
  requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  fetchImpl = globalThis.fetch.bind(globalThis),
  preferVideoCodec = null,
}) {
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  const session = new PublishSession({ pc, token, fetchImpl, onState });
  try {
    // One transceiver per kind, audio first, each send-only.
    for (const kind of ['audio', 'video']) {
      const track = stream.getTracks().find((candidate) => candidate.kind === kind);
      if (!track) continue;
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (kind === 'video' && preferVideoCodec) preferCodec(transceiver, preferVideoCodec);
      session.senders[kind] = transceiver.sender;
    }
    if (!session.senders.audio && !session.senders.video) {
      throw new MediaError({ status: 0, code: 'no_tracks', detail: 'the stream has no audio or video track' });
    }
    session.location = await negotiate(pc, { url, token, gatherTimeoutMs, requestTimeoutMs, fetchImpl });
    session.report('connecting');
    return session;
  } catch (error) {
    session.stopped = true;
    pc.close();
    throw error;
  }
}

/**
 * Lists `mimeType`'s codecs first in the transceiver's preferences (e.g. `video/H264`), keeping
 * the others as fallbacks, where the browser lets a page choose (RTCRtpSender.getCapabilities).
 */
export function preferCodec(transceiver, mimeType) {
  const codecs = globalThis.RTCRtpSender?.getCapabilities?.('video')?.codecs;
  if (!codecs || typeof transceiver.setCodecPreferences !== 'function') return false;
  const wanted = mimeType.toLowerCase();
  const preferred = codecs.filter((codec) => codec.mimeType.toLowerCase() === wanted);
  if (preferred.length === 0) return false;
  transceiver.setCodecPreferences([...preferred, ...codecs.filter((codec) => codec.mimeType.toLowerCase() !== wanted)]);
  return true;
}

/**
 * Plays the stream at `url` by WHEP into `video` (receive-only audio and video). Resolves once
 * the answer is applied; `onState(state)` follows the connection.
 */
export async function play({
  url,
  video,
  token = null,
  onState = () => {},
  onTrack = () => {},
  iceServers = knownIceServers(),
  gatherTimeoutMs = DEFAULT_GATHER_TIMEOUT_MS,
  requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  fetchImpl = globalThis.fetch.bind(globalThis),
}) {
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  const session = new MediaSession({ pc, token, fetchImpl, onState });
  const stream = new MediaStream();
  session.stream = stream;
  pc.addEventListener('track', (event) => {
    if (!stream.getTracks().includes(event.track)) stream.addTrack(event.track);
    if (video && video.srcObject !== stream) video.srcObject = stream;
    onTrack(event.track, session);
  });
  try {
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    session.location = await negotiate(pc, { url, token, gatherTimeoutMs, requestTimeoutMs, fetchImpl });
    session.report('connecting');
    return session;
  } catch (error) {
    session.stopped = true;
    pc.close();
    throw error;
  }
}
