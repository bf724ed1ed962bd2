// The live broadcast in H.264, end to end with independent WebRTC stacks, against the real server
// binary (which forwards H.264 as it comes, without transcoding):
//
// - aiortc publishes H.264 only (tests/media/aiortc_peer.py publish --codec h264) and the meeting
//   page's player in Chromium decodes more than 60 frames; getStats (inbound-rtp -> codecId ->
//   codec) must say video/H264;
// - Chromium publishes H.264 only (web/js/webrtc-client.js's publish(), its video transceiver
//   limited to H.264 by setCodecPreferences) and aiortc plays it, and must decode video/H264.
//
// Both need KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER (as media.test.mjs); without them they
// are skipped. Run after `cargo build`:  npm ci --prefix tests/browser && node --test tests/browser/

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, launchChromium, liveWithStreamKey, runChild, startServer, waitFor, watchPage } from './support.mjs';

const MEETING = 1;
const MIN_FRAMES = 60;
const MEDIA_TIMEOUT_MS = 120000; // generous: CI has two cores for the server, browser and all
const CONFIG = '[media]\nudp_addresses = ["127.0.0.1"]\n';
const AIORTC_PYTHON = process.env.KEZDESU_AIORTC_PYTHON;
const AIORTC_PEER = process.env.KEZDESU_AIORTC_PEER;
const AIORTC = AIORTC_PYTHON && AIORTC_PEER ? null : 'set KEZDESU_AIORTC_PYTHON and KEZDESU_AIORTC_PEER to run it';

/**
 * The video RTP stream of `pc` (found by `pcOf`, run in the page) as getStats reports it, with
 * the codec its codecId points at: {framesDecoded|framesEncoded, packets, mimeType, sdpFmtpLine,
 * payloadType, implementation, audioPackets, connection}, or null while there is no connection.
 */
async function videoCodecStats(page, which) {
  return page.evaluate(async (which) => {
    const pc = which === 'player' ? window.__kezdesuPlayer?.pc : window.__h264Publisher?.pc;
    if (!pc) return null;
    const report = await pc.getStats();
    const type = which === 'player' ? 'inbound-rtp' : 'outbound-rtp';
    const result = { connection: pc.connectionState, audioPackets: 0, video: null };
    report.forEach((entry) => {
      if (entry.type !== type) return;
      const kind = entry.kind ?? entry.mediaType;
      if (kind === 'audio') {
        result.audioPackets += (type === 'inbound-rtp' ? entry.packetsReceived : entry.packetsSent) ?? 0;
      } else if (kind === 'video') {
        const codec = entry.codecId ? report.get(entry.codecId) : undefined;
        result.video = {
          frames: (type === 'inbound-rtp' ? entry.framesDecoded : entry.framesEncoded) ?? 0,
          packets: (type === 'inbound-rtp' ? entry.packetsReceived : entry.packetsSent) ?? 0,
          codecId: entry.codecId ?? null,
          mimeType: codec?.mimeType ?? null,
          sdpFmtpLine: codec?.sdpFmtpLine ?? null,
          payloadType: codec?.payloadType ?? null,
          implementation: (type === 'inbound-rtp' ? entry.decoderImplementation : entry.encoderImplementation) ?? null,
          width: entry.frameWidth ?? null,
          height: entry.frameHeight ?? null,
        };
      }
    });
    return result;
  }, which);
}

/** The video codecs (rtpmap names with payload type and fmtp) of an SDP's first video m-line. */
function videoCodecs(sdp) {
  const section = (sdp.split(/\r?\nm=/).find((part) => part.startsWith('video ')) ?? '').split(/\r?\n/);
  const fmtp = Object.fromEntries(
    section.filter((l) => l.startsWith('a=fmtp:')).map((l) => l.slice(7).split(' ', 2)),
  );
  return section
    .filter((l) => l.startsWith('a=rtpmap:'))
    .map((l) => l.slice(9).split(' ', 2))
    .filter(([, codec]) => !/^rtx\//i.test(codec))
    .map(([pt, codec]) => `${codec} pt=${pt}${fmtp[pt] ? ` (${fmtp[pt]})` : ''}`);
}

describe('live broadcast in H.264 (aiortc and Chromium)', { timeout: 10 * 60 * 1000 }, () => {
  let server = null;
  let browser = null;
  let streamKey = null;
  const pageLog = [];
  const contexts = [];

  const whipUrl = () => `${server.base}/api/meetings/${MEETING}/whip`;
  const whepUrl = () => `${server.base}/api/meetings/${MEETING}/whep`;
  const meetingView = async () => (await api(server.base, `/api/meetings/${MEETING}`, { expect: 200 })).body;

  async function withDiagnostics(name, body) {
    try {
      await body();
    } catch (error) {
      console.error(`\n--- ${name} failed; server output ---\n${server?.logs() ?? '(no server)'}`);
      console.error(`--- pages ---\n${pageLog.join('\n') || '(nothing logged)'}\n--- end ---\n`);
      throw error;
    }
  }

  async function newPage(name) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(60000);
    watchPage(page, name, pageLog);
    return page;
  }

  async function waitOnAir(onAir, timeout = 60000) {
    return waitFor(async () => (await meetingView()).broadcast?.on_air === onAir, {
      timeout,
      message: `GET /api/meetings/${MEETING} to show broadcast.on_air ${onAir}`,
    });
  }

  before(async () => {
    if (AIORTC !== null) return;
    server = await startServer({ configToml: CONFIG });
    await withDiagnostics('setup', async () => {
      ({ streamKey } = await liveWithStreamKey(server, MEETING));
      browser = await launchChromium();
    });
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('Chromium plays, and decodes as H.264, what aiortc publishes in H.264', { skip: AIORTC ?? false }, async (t) => {
    await withDiagnostics('aiortc H.264 to Chromium', async () => {
      await waitOnAir(false);
      const publisher = runChild(
        AIORTC_PYTHON,
        [AIORTC_PEER, 'publish', '--url', whipUrl(), `--token=${streamKey}`, '--seconds', '90', '--codec', 'h264'],
        { timeout: 150000 },
      );
      let failure = null;
      let stats = null;
      try {
        await waitOnAir(true);
        const viewer = await newPage('viewer-of-aiortc-h264');
        await viewer.goto(`${server.base}/meetings/${MEETING}`);
        await viewer.locator('#broadcast-badge[data-on-air="true"]').waitFor({ timeout: MEDIA_TIMEOUT_MS });
        let last = null;
        try {
          stats = await waitFor(
            async () => {
              last = await videoCodecStats(viewer, 'player');
              return last?.video && last.video.frames > MIN_FRAMES && last.audioPackets > 0 ? last : false;
            },
            {
              timeout: MEDIA_TIMEOUT_MS,
              interval: 500,
              message: `the player to decode > ${MIN_FRAMES} video frames and receive audio`,
            },
          );
        } catch (error) {
          const state = await viewer.evaluate(() => window.__kezdesuPlayer?.state).catch(() => '?');
          const sdp = await viewer
            .evaluate(() => window.__kezdesuPlayer?.pc?.remoteDescription?.sdp ?? null)
            .catch(() => null);
          throw new Error(
            `${error.message}; player state ${state}, last stats ${JSON.stringify(last)}, answer video ${JSON.stringify(
              sdp && videoCodecs(sdp),
            )}`,
          );
        }
        t.diagnostic(`Chromium decoded ${JSON.stringify(stats.video)}; ${stats.audioPackets} audio packets`);
        assert.equal(
          stats.video.mimeType?.toLowerCase(),
          'video/h264',
          `Chromium's inbound video codec: ${JSON.stringify(stats.video)}`,
        );
        assert.match(stats.video.sdpFmtpLine ?? '', /packetization-mode=1/, 'H.264 in packetization mode 1');
        const answer = await viewer.evaluate(() => window.__kezdesuPlayer.pc.remoteDescription.sdp);
        const answered = videoCodecs(answer);
        t.diagnostic(`the WHEP answer's video codecs: ${JSON.stringify(answered)}`);
        assert.ok(
          answered.length > 0 && answered.every((codec) => /^H264\/90000/i.test(codec)),
          `the viewer is offered only H.264: ${JSON.stringify(answered)}`,
        );
        await viewer.context().close();
      } catch (error) {
        failure = error;
      }
      // Done: the publisher stops on SIGTERM, DELETEs its resource and exits 0.
      publisher.kill('SIGTERM');
      const run = await publisher.catch((error) => ({ code: null, signal: null, output: error.message }));
      if (failure) {
        console.error(`aiortc publisher output:\n${run.output}`);
        throw failure;
      }
      assert.equal(run.code, 0, `aiortc publisher exited ${run.code} (${run.signal}):\n${run.output}`);
      assert.match(run.output, /publishing video\/H264/, 'the publisher sent H.264');
      await waitOnAir(false, 10000);
    });
  });

  test('aiortc plays, and decodes as H.264, what Chromium publishes in H.264', { skip: AIORTC ?? false }, async (t) => {
    await withDiagnostics('Chromium H.264 to aiortc', async () => {
      await waitOnAir(false);
      const presenter = await newPage('chromium-h264-publisher');
      // Any page of the server: the same origin, so web/js/webrtc-client.js can be imported.
      await presenter.goto(`${server.base}/`);
      const negotiated = await presenter.evaluate(
        async ({ url, token }) => {
          const { publish } = await import('/js/webrtc-client.js');
          const all = RTCRtpSender.getCapabilities('video').codecs;
          const h264 = all.filter((codec) => codec.mimeType.toLowerCase() === 'video/h264');
          if (h264.length === 0) {
            throw new Error(`this Chromium has no H.264 encoder: ${JSON.stringify(all.map((c) => c.mimeType))}`);
          }
          // publish() builds its own RTCPeerConnection: have its video transceiver offer H.264 only.
          const addTransceiver = RTCPeerConnection.prototype.addTransceiver;
          RTCPeerConnection.prototype.addTransceiver = function (trackOrKind, init) {
            const transceiver = addTransceiver.call(this, trackOrKind, init);
            const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
            if (kind === 'video') transceiver.setCodecPreferences(h264);
            return transceiver;
          };
          const stream = await navigator.mediaDevices.getUserMedia({
            audio: true,
            video: { width: 640, height: 360, frameRate: 30 },
          });
          try {
            window.__h264Publisher = await publish({
              url,
              token,
              stream,
              onState: (state) => {
                window.__h264PublisherState = state;
              },
            });
          } finally {
            RTCPeerConnection.prototype.addTransceiver = addTransceiver;
          }
          const pc = window.__h264Publisher.pc;
          return { offer: pc.localDescription.sdp, answer: pc.remoteDescription.sdp };
        },
        { url: whipUrl(), token: streamKey },
      );
      const offered = videoCodecs(negotiated.offer);
      const answered = videoCodecs(negotiated.answer);
      t.diagnostic(`Chromium offered ${JSON.stringify(offered)}; the WHIP answer ${JSON.stringify(answered)}`);
      assert.ok(
        offered.length > 0 && offered.every((codec) => /^H264\/90000/i.test(codec)),
        `Chromium's offer lists only H.264: ${JSON.stringify(offered)}`,
      );
      assert.ok(
        answered.length > 0 && answered.every((codec) => /^H264\/90000/i.test(codec)),
        `the WHIP answer accepts H.264: ${JSON.stringify(answered)}`,
      );
      await waitFor(() => presenter.evaluate(() => window.__h264PublisherState === 'connected'), {
        timeout: MEDIA_TIMEOUT_MS,
        message: 'the Chromium publisher to connect',
      });
      await waitOnAir(true);

      const run = await runChild(
        AIORTC_PYTHON,
        [
          AIORTC_PEER,
          'play',
          '--url',
          whepUrl(),
          '--seconds',
          '60',
          '--min-frames',
          String(MIN_FRAMES),
          '--expect-codec',
          'h264',
        ],
        { timeout: 120000 },
      );
      const sent = await videoCodecStats(presenter, 'publisher');
      t.diagnostic(`Chromium sent ${JSON.stringify(sent?.video)}`);
      const line = run.output.split('\n').find((l) => l.startsWith('[stdout] {'));
      const summary = line ? JSON.parse(line.slice('[stdout] '.length)) : null;
      t.diagnostic(`aiortc's summary: ${JSON.stringify(summary)}`);
      assert.equal(run.code, 0, `aiortc viewer exited ${run.code} (${run.signal}):\n${run.output}`);
      assert.ok(summary && summary.frames >= MIN_FRAMES, `aiortc decoded >= ${MIN_FRAMES} frames: ${line}`);
      assert.equal(summary.video_codec, 'video/H264', `aiortc decoded H.264: ${line}`);
      assert.equal(sent?.video?.mimeType?.toLowerCase(), 'video/h264', `Chromium encoded H.264: ${JSON.stringify(sent)}`);

      await presenter.evaluate(() => window.__h264Publisher.stop());
      await waitOnAir(false, 10000);
      await presenter.context().close();
    });
  });
});
