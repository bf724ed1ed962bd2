// Screen-reader announcements that keep up with a flood: instead of reading out every comment
// (a live region over a list at 50 a second says nothing useful and never stops), new arrivals
// are counted and summed up in one polite announcement ("5 new comments") at most once every
// `intervalMs`. No DOM: `say(text)` writes the live region; timers and the clock are passed in
// so Node tests drive them.

export const ANNOUNCE_INTERVAL_MS = 5000;

export class ThrottledAnnouncer {
  /** `text(n)` words the summary of `n` new items; `say(text)` announces it. */
  constructor({ say, text, intervalMs = ANNOUNCE_INTERVAL_MS, timers = globalThis, now = () => Date.now() }) {
    Object.assign(this, { say, text, intervalMs, timers, now });
    this.count = 0;
    this.timer = null;
    this.lastAt = -Infinity;
    this.muted = false;
  }

  /** `n` new items arrived. */
  added(n = 1) {
    if (this.muted || n <= 0) return;
    this.count += n;
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastAt + this.intervalMs - this.now());
    this.timer = this.timers.setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = null;
    if (this.count === 0) return;
    const n = this.count;
    this.count = 0;
    this.lastAt = this.now();
    this.say(this.text(n));
  }

  /** Forgets what was counted (history replayed on joining is not news). */
  reset() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.count = 0;
  }

  /** Stops (or resumes) counting: the reader is reading the list themselves. */
  setMuted(muted) {
    this.muted = muted;
    if (muted) this.reset();
  }
}
