// The restream panel's rules (web/js/restream-model.js), with the shapes the server sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  PLATFORMS,
  keyProblem,
  newDestinationBody,
  prefersH264,
  stateView,
  statusesOf,
  urlProblem,
  withStatus,
} from '../../web/js/restream-model.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/protocol/server/restream.json', import.meta.url)));

test('the platforms are the server’s, and the RTMPS-only ones say so', () => {
  assert.deepEqual(PLATFORMS.map((entry) => entry.id), ['youtube', 'facebook', 'instagram', 'vk', 'telegram', 'rtmp']);
  assert.deepEqual(PLATFORMS.filter((entry) => entry.rtmps).map((entry) => entry.id), ['facebook', 'instagram']);
  for (const entry of PLATFORMS.filter((candidate) => candidate.ingest)) {
    assert.equal(urlProblem(entry.id, entry.ingest), null, entry.id);
  }
});

test('URLs are checked as the server checks them', () => {
  assert.equal(urlProblem('youtube', 'rtmp://a.rtmp.youtube.com/live2'), null);
  assert.equal(urlProblem('youtube', 'http://a.rtmp.youtube.com/live2'), 'restream.problem.scheme');
  assert.equal(urlProblem('rtmp', 'rtmp:///live'), 'restream.problem.host');
  assert.equal(urlProblem('rtmp', 'rtmp://user:pw@host/live'), 'restream.problem.credentials');
  assert.equal(urlProblem('rtmp', 'rtmp://host/li ve'), 'restream.problem.urlSpaces');
  assert.equal(urlProblem('facebook', 'rtmp://live-api-s.facebook.com/rtmp'), 'restream.problem.rtmps');
  assert.equal(urlProblem('rtmp', `rtmp://host/${'a'.repeat(600)}`), 'restream.problem.urlTooLong');
});

test('keys are checked as the server checks them', () => {
  assert.equal(keyProblem('abcd-efgh-ijkl'), null);
  assert.equal(keyProblem(''), 'restream.problem.keyEmpty');
  assert.equal(keyProblem('with space'), 'restream.problem.keyCharacters');
  assert.equal(keyProblem('ключ'), 'restream.problem.keyCharacters');
  assert.equal(keyProblem('k'.repeat(257)), 'restream.problem.keyTooLong');
});

test('a state reads with its retries and error, and a destination not started reads as waiting or off', () => {
  const retrying = stateView({ id: 3, enabled: true, status: fixture.status });
  assert.equal(retrying.key, 'restream.state.retrying');
  assert.equal(retrying.retries, 2);
  assert.match(retrying.error, /Connection refused/);
  assert.equal(stateView({ id: 1, enabled: true, status: { ...fixture.status, state: 'live' } }).error, '');
  assert.equal(stateView({ id: 1, enabled: true }).state, 'waiting');
  assert.equal(stateView({ id: 1, enabled: false }).state, 'off');
  assert.equal(stateView({ id: 1, enabled: true, status: { state: 'unheard-of' } }).state, 'waiting');
});

test('a restream event lands on its destination only', () => {
  const destinations = [{ id: 3, enabled: true }, { id: 4, enabled: true }];
  const updated = withStatus(destinations, fixture.status);
  assert.equal(updated[0].status.state, 'retrying');
  assert.equal(updated[1].status, undefined);
  assert.equal(withStatus(destinations, null), destinations);
  const statuses = statusesOf({ restream: [fixture.status, { nonsense: true }] });
  assert.deepEqual([...statuses.keys()], [3]);
});

test('H.264 is preferred whenever a destination is enabled, or HLS is on', () => {
  assert.equal(prefersH264([]), false);
  assert.equal(prefersH264([{ enabled: false }]), false);
  assert.equal(prefersH264([{ enabled: false }, { enabled: true }]), true);
  assert.equal(prefersH264([], true), true);
  assert.equal(prefersH264([{ enabled: false }], false), false);
});

test('a new destination is sent trimmed, the key as typed', () => {
  assert.deepEqual(
    newDestinationBody({ platform: 'vk', name: ' Akimat ', ingestUrl: ' rtmp://ovsu.mycdn.me/input/ ', streamKey: 'k-1' }),
    { platform: 'vk', name: 'Akimat', ingest_url: 'rtmp://ovsu.mycdn.me/input/', stream_key: 'k-1', enabled: true },
  );
});
