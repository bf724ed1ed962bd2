// The restream panel's rules, with no DOM: the platforms and where each shows its ingest URL,
// the checks the server makes of a URL (so the form says so before sending), how a
// destination's state reads, and when the presenter page should publish H.264.
//
// Tested under Node (tests/web/restream-model.test.mjs).

/**
 * The platforms. `ingest` is the URL the platform usually shows (the akim pastes the one their
 * platform page gives; this only fills the field), and `rtmps` whether it takes RTMPS only.
 */
export const PLATFORMS = [
  { id: 'youtube', ingest: 'rtmp://a.rtmp.youtube.com/live2', rtmps: false },
  { id: 'facebook', ingest: 'rtmps://live-api-s.facebook.com:443/rtmp/', rtmps: true },
  { id: 'instagram', ingest: '', rtmps: true },
  { id: 'vk', ingest: 'rtmp://ovsu.mycdn.me/input/', rtmps: false },
  { id: 'telegram', ingest: '', rtmps: false },
  { id: 'rtmp', ingest: '', rtmps: false },
];

export const MAX_URL_CHARS = 512;
export const MAX_KEY_CHARS = 256;

/** The platform's entry, or that of a plain RTMP server. */
export function platform(id) {
  return PLATFORMS.find((entry) => entry.id === id) ?? PLATFORMS[PLATFORMS.length - 1];
}

/**
 * What is wrong with an ingest URL for `platformId`, as a string key, or null. The server
 * checks the same (kezdesu_core::restream) and its answer is shown if this lets one through.
 */
export function urlProblem(platformId, url) {
  const text = String(url ?? '').trim();
  if (text.length > MAX_URL_CHARS) return 'restream.problem.urlTooLong';
  if (/\s/.test(text)) return 'restream.problem.urlSpaces';
  const secure = /^rtmps:\/\//i.test(text);
  if (!secure && !/^rtmp:\/\//i.test(text)) return 'restream.problem.scheme';
  const authority = text.replace(/^rtmps?:\/\//i, '').split('/')[0];
  if (authority === '' || authority.startsWith(':')) return 'restream.problem.host';
  if (authority.includes('@')) return 'restream.problem.credentials';
  if (platform(platformId).rtmps && !secure) return 'restream.problem.rtmps';
  return null;
}

/** What is wrong with a stream key, as a string key, or null. */
export function keyProblem(key) {
  const text = String(key ?? '');
  if (text === '') return 'restream.problem.keyEmpty';
  if ([...text].length > MAX_KEY_CHARS) return 'restream.problem.keyTooLong';
  if (!/^[\x21-\x7e]+$/.test(text)) return 'restream.problem.keyCharacters';
  return null;
}

/** States as the page shows them: a string key and a tone for the badge. */
const STATES = {
  starting: { key: 'restream.state.starting', tone: 'pending' },
  live: { key: 'restream.state.live', tone: 'live' },
  retrying: { key: 'restream.state.retrying', tone: 'pending' },
  failed: { key: 'restream.state.failed', tone: 'broken' },
  stopped: { key: 'restream.state.stopped', tone: 'idle' },
};

/**
 * How a destination's state reads: {key, tone, retries, error}. A destination that has not been
 * started (the meeting is not on air, or it is switched off) reads as "waiting" or "off".
 */
export function stateView(destination) {
  const status = destination?.status ?? null;
  if (status && STATES[status.state]) {
    return {
      ...STATES[status.state],
      state: status.state,
      retries: Number(status.retries) || 0,
      error: status.state === 'retrying' || status.state === 'failed' ? status.last_error ?? '' : '',
    };
  }
  if (destination && destination.enabled === false) {
    return { key: 'restream.state.off', tone: 'idle', state: 'off', retries: 0, error: '' };
  }
  return { key: 'restream.state.waiting', tone: 'idle', state: 'waiting', retries: 0, error: '' };
}

/** `destinations` with a `restream` status (from an event) put on the one it is of. */
export function withStatus(destinations, status) {
  if (!status || typeof status !== 'object') return destinations;
  return destinations.map((destination) =>
    destination.id === status.destination_id ? { ...destination, status } : destination,
  );
}

/** The statuses of a meeting (its `restream` list) by destination id, newest kept. */
export function statusesOf(meeting, previous = new Map()) {
  const statuses = new Map(previous);
  for (const status of Array.isArray(meeting?.restream) ? meeting.restream : []) {
    if (status && Number.isInteger(status.destination_id)) statuses.set(status.destination_id, status);
  }
  return statuses;
}

/**
 * Whether the presenter should publish H.264: RTMP and the server's HLS rendition carry H.264,
 * so a VP8 camera would have to be encoded again by the server (about a core at 720p) for every
 * restreamed meeting, and for every meeting while HLS is on (`hls`, from the stream key's answer).
 */
export function prefersH264(destinations, hls = false) {
  return hls === true || (Array.isArray(destinations) && destinations.some((destination) => destination.enabled));
}

/** The body of a new destination from the form's values, trimmed. */
export function newDestinationBody({ platform: platformId, name, ingestUrl, streamKey, enabled = true }) {
  return {
    platform: platformId,
    name: String(name ?? '').trim(),
    ingest_url: String(ingestUrl ?? '').trim(),
    stream_key: String(streamKey ?? ''),
    enabled: Boolean(enabled),
  };
}
