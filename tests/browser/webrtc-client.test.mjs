// Unit tests of web/js/webrtc-client.js in Node, with a stand-in RTCPeerConnection and fetch:
// what goes over HTTP (method, headers, body, Location, DELETE) and how failures are reported.
// The real WebRTC path is media.test.mjs, in Chromium against the real server.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';

/** Enough of RTCPeerConnection for the client: transceivers, offer/answer, gathering. */
class FakePeerConnection extends EventTarget {
  static created = [];

  constructor(config) {
    super();
    this.config = config;
    this.transceivers = [];
    this.localDescription = null;
    this.remoteDescription = null;
    this.iceGatheringState = 'new';
    this.connectionState = 'new';
    this.closed = false;
    this.gatherNever = FakePeerConnection.gatherNever;
    FakePeerConnection.created.push(this);
  }

  addTransceiver(trackOrKind, init) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    const transceiver = {
      kind,
      direction: init?.direction,
      sender: {
        track: typeof trackOrKind === 'string' ? null : trackOrKind,
        replaceTrack: async (track) => {
          transceiver.sender.track = track;
        },
      },
    };
    this.transceivers.push(transceiver);
    return transceiver;
  }

  async createOffer() {
    const lines = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0'];
    for (const transceiver of this.transceivers)
      lines.push(`m=${transceiver.kind} 9 UDP/TLS/RTP/SAVPF 96`, `a=${transceiver.direction}`);
    return { type: 'offer', sdp: `${lines.join('\r\n')}\r\n` };
  }

  async setLocalDescription(description) {
    this.localDescription = { ...description, sdp: description.sdp };
    this.iceGatheringState = 'gathering';
    if (!this.gatherNever) {
      setTimeout(() => {
        this.localDescription.sdp += 'a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n';
        this.iceGatheringState = 'complete';
        this.dispatchEvent(new Event('icegatheringstatechange'));
      }, 5);
    }
  }

  async setRemoteDescription(description) {
    if (!description.sdp.startsWith('v=0')) throw new Error('bad answer');
    this.remoteDescription = description;
  }

  setConnectionState(state) {
    this.connectionState = state;
    this.dispatchEvent(new Event('connectionstatechange'));
  }

  close() {
    this.closed = true;
  }
}

class FakeMediaStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }

  getTracks() {
    return this.tracks;
  }

  addTrack(track) {
    this.tracks.push(track);
  }
}

globalThis.RTCPeerConnection = FakePeerConnection;
globalThis.MediaStream = FakeMediaStream;

const client = await import('../../web/js/webrtc-client.js');

/** A fetch that records requests and answers from `respond(request)`. */
function fakeFetch(respond) {
  const calls = [];
  const fetchImpl = async (url, init = {}) => {
    const request = {
      url: String(url),
      method: init.method ?? 'GET',
      headers: { ...(init.headers ?? {}) },
      body: init.body,
      init,
    };
    calls.push(request);
    return respond(request);
  };
  return { calls, fetchImpl };
}

const ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

function created({ location = '/api/meetings/1/whip/abc', link = null } = {}) {
  const headers = new Headers({ 'Content-Type': 'application/sdp', Location: location });
  if (link) headers.set('Link', link);
  return new Response(ANSWER, { status: 201, headers });
}

function problem(status, code, extraHeaders = {}) {
  return new Response(
    JSON.stringify({ type: 'about:blank', title: 'Refused', status, detail: `because ${code}`, code }),
    {
      status,
      headers: { 'Content-Type': 'application/problem+json', ...extraHeaders },
    },
  );
}

describe('webrtc-client', () => {
  beforeEach(() => {
    FakePeerConnection.created = [];
    FakePeerConnection.gatherNever = false;
  });

  test('publish posts the gathered offer with the bearer key and DELETEs its Location on stop', async () => {
    const { calls, fetchImpl } = fakeFetch((request) =>
      request.method === 'POST' ? created() : new Response(null, { status: 200 }),
    );
    const stream = new FakeMediaStream([{ kind: 'video' }, { kind: 'audio' }]);
    const states = [];
    const session = await client.publish({
      url: 'http://example.test/api/meetings/1/whip',
      token: 'key-1',
      stream,
      fetchImpl,
      onState: (state) => states.push(state),
    });
    const pc = FakePeerConnection.created[0];
    assert.deepEqual(
      pc.transceivers.map((t) => [t.kind, t.direction]),
      [
        ['audio', 'sendonly'],
        ['video', 'sendonly'],
      ],
    );
    const [post] = calls;
    assert.equal(post.method, 'POST');
    assert.equal(post.url, 'http://example.test/api/meetings/1/whip');
    assert.equal(post.headers['Content-Type'], 'application/sdp');
    assert.equal(post.headers.Authorization, 'Bearer key-1');
    assert.match(post.body, /a=candidate:/, 'the offer waited for ICE gathering');
    assert.equal(pc.remoteDescription.sdp, ANSWER);
    assert.equal(session.location, 'http://example.test/api/meetings/1/whip/abc');

    pc.setConnectionState('connected');
    assert.deepEqual(states, ['connecting', 'connected']);

    await session.stop();
    await session.stop(); // twice is harmless
    assert.equal(pc.closed, true);
    const deletes = calls.filter((call) => call.method === 'DELETE');
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0].url, 'http://example.test/api/meetings/1/whip/abc');
    assert.equal(deletes[0].headers.Authorization, 'Bearer key-1');
    assert.equal(deletes[0].init.keepalive, true);
  });

  test('publish swaps tracks in place with replaceStream', async () => {
    const { fetchImpl } = fakeFetch(() => created());
    const session = await client.publish({
      url: 'http://example.test/w',
      token: 'k',
      stream: new FakeMediaStream([
        { kind: 'audio', id: 'a1' },
        { kind: 'video', id: 'v1' },
      ]),
      fetchImpl,
    });
    await session.replaceStream(
      new FakeMediaStream([
        { kind: 'audio', id: 'a2' },
        { kind: 'video', id: 'v2' },
      ]),
    );
    const pc = FakePeerConnection.created[0];
    assert.deepEqual(
      pc.transceivers.map((t) => t.sender.track.id),
      ['a2', 'v2'],
    );
  });

  test('play offers recvonly audio and video without a token and gives up waiting for ICE after the timeout', async () => {
    FakePeerConnection.gatherNever = true;
    const { calls, fetchImpl } = fakeFetch(() => created({ location: 'http://example.test/api/meetings/1/whep/s1' }));
    const started = Date.now();
    const session = await client.play({
      url: 'http://example.test/api/meetings/1/whep',
      video: null,
      fetchImpl,
      gatherTimeoutMs: 50,
    });
    assert.ok(Date.now() - started >= 45, 'waited for the gathering timeout');
    const pc = FakePeerConnection.created[0];
    assert.deepEqual(
      pc.transceivers.map((t) => [t.kind, t.direction]),
      [
        ['audio', 'recvonly'],
        ['video', 'recvonly'],
      ],
    );
    assert.equal(calls[0].headers.Authorization, undefined);
    assert.equal(session.location, 'http://example.test/api/meetings/1/whep/s1');
  });

  test('a refusal surfaces the problem code, status and Retry-After, and closes the connection', async () => {
    const { fetchImpl } = fakeFetch(() => problem(503, 'not_on_air', { 'Retry-After': '3' }));
    await assert.rejects(client.play({ url: 'http://example.test/whep', video: null, fetchImpl }), (error) => {
      assert.equal(error.name, 'MediaError');
      assert.equal(error.status, 503);
      assert.equal(error.code, 'not_on_air');
      assert.equal(error.retryAfterSeconds, 3);
      assert.equal(error.retryable, true);
      assert.equal(error.detail, 'because not_on_air');
      return true;
    });
    assert.equal(FakePeerConnection.created[0].closed, true);

    // A kebab-case code reads the same as the server's snake_case.
    const refused = fakeFetch(() => problem(409, 'publisher-present'));
    await assert.rejects(
      client.publish({
        url: 'http://example.test/whip',
        token: 'k',
        stream: new FakeMediaStream([{ kind: 'video' }]),
        fetchImpl: refused.fetchImpl,
      }),
      (error) => error.code === 'publisher_present' && error.status === 409 && error.retryable === false,
    );
  });

  test('a network failure is status 0, code network, retryable', async () => {
    const fetchImpl = async () => {
      throw new TypeError('Failed to fetch');
    };
    await assert.rejects(client.play({ url: 'http://example.test/whep', video: null, fetchImpl }), (error) => {
      assert.equal(error.status, 0);
      assert.equal(error.code, 'network');
      assert.equal(error.retryable, true);
      return true;
    });
  });

  test('Link headers become ICE servers for later connections', async () => {
    assert.deepEqual(
      client.parseIceServerLinks(
        '<stun:stun.example.test:3478>; rel="ice-server", <turn:turn.example.test?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password", </other>; rel="next"',
      ),
      [
        { urls: 'stun:stun.example.test:3478' },
        { urls: 'turn:turn.example.test?transport=udp', username: 'u', credential: 'p' },
      ],
    );
    assert.deepEqual(client.parseIceServerLinks(null), []);

    const { fetchImpl } = fakeFetch(() => created({ link: '<stun:127.0.0.1:3478>; rel="ice-server"' }));
    await client.play({ url: 'http://example.test/whep', video: null, fetchImpl });
    assert.deepEqual(client.knownIceServers(), [{ urls: 'stun:127.0.0.1:3478' }]);
    await client.play({ url: 'http://example.test/whep', video: null, fetchImpl });
    assert.deepEqual(FakePeerConnection.created[1].config.iceServers, [{ urls: 'stun:127.0.0.1:3478' }]);
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    assert.equal(client.parseRetryAfter('5'), 5);
    assert.equal(client.parseRetryAfter(null), null);
    assert.equal(
      client.parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
      10,
    );
    assert.equal(client.parseRetryAfter('soon'), null);
  });
});
