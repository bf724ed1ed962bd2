// Coalesces work that arrives in bursts (live-channel frames at 50 comments a second) into at
// most one run per animation frame: the page applies and draws a whole batch once, instead of
// once per message. requestAnimationFrame does not fire in a hidden tab, so a timer stands in
// there (and wins whenever frames are starved), keeping the state current for when the reader
// comes back. No DOM: the scheduling functions are passed in, so Node tests drive it by hand.

/** How long a batch may wait when no animation frame comes (a hidden tab). */
export const HIDDEN_FALLBACK_MS = 250;

/**
 * A scheduler: `schedule(run)` calls `run` once, on the next animation frame or after
 * `fallbackMs`, whichever comes first; it returns a function that cancels it.
 *
 * `minIntervalMs` spaces runs further apart than frames: each redraw of a list costs a layout,
 * a paint and a commit whatever it adds, so a phone keeps up better drawing five comments ten
 * times a second than two comments twenty-five times.
 */
export function frameScheduler({
  requestFrame = globalThis.requestAnimationFrame?.bind(globalThis),
  cancelFrame = globalThis.cancelAnimationFrame?.bind(globalThis),
  timers = globalThis,
  now = () => globalThis.performance?.now() ?? Date.now(),
  fallbackMs = HIDDEN_FALLBACK_MS,
  minIntervalMs = 0,
} = {}) {
  let lastRun = -Infinity;
  return (run) => {
    let done = false;
    let frame = null;
    let timer = null;
    let waitTimer = null;
    const once = () => {
      if (done) return;
      done = true;
      if (frame !== null && cancelFrame) cancelFrame(frame);
      if (timer !== null) timers.clearTimeout(timer);
      lastRun = now();
      run();
    };
    const onFrame = () => {
      waitTimer = null;
      if (requestFrame) frame = requestFrame(once);
      timer = timers.setTimeout(once, requestFrame ? fallbackMs : 0);
    };
    const wait = lastRun + minIntervalMs - now();
    if (wait > 0) waitTimer = timers.setTimeout(onFrame, wait);
    else onFrame();
    return () => {
      done = true;
      if (waitTimer !== null) timers.clearTimeout(waitTimer);
      if (frame !== null && cancelFrame) cancelFrame(frame);
      if (timer !== null) timers.clearTimeout(timer);
    };
  };
}

/** Runs `run` at once (Node tests, and callers that want no batching). */
export function immediateScheduler() {
  return (run) => {
    run();
    return () => {};
  };
}

/**
 * Collects items pushed between two runs and hands them to `flush(items)` together, at most
 * once per `schedule`d turn. `flushNow()` runs a waiting batch at once (before something that
 * must come after it, such as a new connection's hello).
 */
export class FrameBatch {
  constructor({ flush, schedule = frameScheduler() }) {
    this.flush = flush;
    this.schedule = schedule;
    this.items = [];
    this.cancel = null;
    this.scheduled = false;
  }

  get pending() {
    return this.items.length;
  }

  push(item) {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    const cancel = this.schedule(() => this.run());
    // A scheduler that ran at once has already cleared the turn.
    if (this.scheduled) this.cancel = cancel;
  }

  flushNow() {
    if (this.items.length === 0) return;
    this.run();
  }

  clear() {
    this.cancel?.();
    this.cancel = null;
    this.scheduled = false;
    this.items = [];
  }

  run() {
    this.cancel?.();
    this.cancel = null;
    this.scheduled = false;
    const items = this.items;
    this.items = [];
    if (items.length > 0) this.flush(items);
  }
}

/**
 * Calls `render()` at most once per scheduled turn however often `request()` is called: a
 * page's "draw what changed" after state updates.
 */
export function frameRenderer(render, schedule = frameScheduler()) {
  let cancel = null;
  let scheduled = false;
  return {
    request() {
      if (scheduled) return;
      scheduled = true;
      const stop = schedule(() => {
        scheduled = false;
        cancel = null;
        render();
      });
      if (scheduled) cancel = stop;
    },
    cancel() {
      cancel?.();
      cancel = null;
      scheduled = false;
    },
  };
}
