// The broadcast player's own strings: which way the video arrives (WebRTC live, or HLS a few
// seconds behind, for networks that block WebRTC).
export default {
  kk: {
    'player.mode.webrtc': 'Режим: WebRTC, тікелей',
    'player.mode.hls': 'Режим: HLS, ~5 с кідіріспен',
  },
  ru: {
    'player.mode.webrtc': 'Режим: WebRTC, в реальном времени',
    'player.mode.hls': 'Режим: HLS, с задержкой ~5 с',
  },
  en: {
    'player.mode.webrtc': 'Mode: WebRTC, live',
    'player.mode.hls': 'Mode: HLS, ~5 s behind',
  },
};
