// web/js/frame-batch.js under Node: batches are run at most once per frame, by the animation
// frame or by the timer that stands in for it in a hidden tab.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameBatch, frameRenderer, frameScheduler, immediateScheduler } from '../../web/js/frame-batch.js';

class Clock {
  constructor() {
    this.frames = new Map();
    this.timers = new Map();
    this.next = 1;
  }
  requestFrame = (callback) => {
    const id = this.next++;
    this.frames.set(id, callback);
    return id;
  };
  cancelFrame = (id) => this.frames.delete(id);
  setTimeout(callback) {
    const id = this.next++;
    this.timers.set(id, callback);
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  frame() {
    const due = [...this.frames.values()];
    this.frames.clear();
    due.forEach((callback) => callback());
  }
  timeout() {
    const due = [...this.timers.values()];
    this.timers.clear();
    due.forEach((callback) => callback());
  }
}

test('items pushed between two frames are flushed together, once', () => {
  const clock = new Clock();
  const flushed = [];
  const batch = new FrameBatch({
    flush: (items) => flushed.push(items),
    schedule: frameScheduler({ requestFrame: clock.requestFrame, cancelFrame: clock.cancelFrame, timers: clock }),
  });
  batch.push(1);
  batch.push(2);
  batch.push(3);
  assert.deepEqual(flushed, []);
  assert.equal(clock.frames.size, 1, 'one frame asked for, however many items');
  clock.frame();
  assert.deepEqual(flushed, [[1, 2, 3]]);
  assert.equal(clock.timers.size, 0, 'the fallback timer is cancelled by the frame');
  batch.push(4);
  clock.frame();
  assert.deepEqual(flushed, [[1, 2, 3], [4]]);
});

test('in a hidden tab (no frames) the timer runs the batch, and the frame then does nothing', () => {
  const clock = new Clock();
  const flushed = [];
  const batch = new FrameBatch({
    flush: (items) => flushed.push(items),
    schedule: frameScheduler({ requestFrame: clock.requestFrame, cancelFrame: clock.cancelFrame, timers: clock }),
  });
  batch.push('a');
  batch.push('b');
  clock.timeout();
  assert.deepEqual(flushed, [['a', 'b']]);
  assert.equal(clock.frames.size, 0);
});

test('flushNow runs a waiting batch at once; an immediate scheduler runs every push', () => {
  const clock = new Clock();
  const flushed = [];
  const batch = new FrameBatch({
    flush: (items) => flushed.push(items),
    schedule: frameScheduler({ requestFrame: clock.requestFrame, cancelFrame: clock.cancelFrame, timers: clock }),
  });
  batch.push(1);
  batch.flushNow();
  assert.deepEqual(flushed, [[1]]);
  clock.frame();
  assert.deepEqual(flushed, [[1]], 'nothing left for the frame');
  batch.flushNow();
  assert.deepEqual(flushed, [[1]], 'an empty batch is not flushed');

  const now = [];
  const direct = new FrameBatch({ flush: (items) => now.push(items), schedule: immediateScheduler() });
  direct.push(1);
  direct.push(2);
  assert.deepEqual(now, [[1], [2]]);
});

test('a frame renderer draws once per frame however often asked', () => {
  const clock = new Clock();
  let draws = 0;
  const renderer = frameRenderer(
    () => {
      draws += 1;
    },
    frameScheduler({ requestFrame: clock.requestFrame, cancelFrame: clock.cancelFrame, timers: clock }),
  );
  for (let i = 0; i < 10; i += 1) renderer.request();
  clock.frame();
  assert.equal(draws, 1);
  renderer.request();
  clock.timeout();
  assert.equal(draws, 2);
  const direct = frameRenderer(() => {
    draws += 1;
  }, immediateScheduler());
  direct.request();
  direct.request();
  assert.equal(draws, 4);
});

test('minIntervalMs spaces the runs: a batch waits out the interval, then its frame', () => {
  const clock = new Clock();
  let now = 0;
  const timed = [];
  const timers = {
    setTimeout(callback, ms) {
      const id = clock.next++;
      timed.push({ id, callback, at: now + ms });
      return id;
    },
    clearTimeout(id) {
      const index = timed.findIndex((timer) => timer.id === id);
      if (index >= 0) timed.splice(index, 1);
    },
  };
  const advance = (ms) => {
    now += ms;
    for (const timer of timed.filter((entry) => entry.at <= now)) {
      timers.clearTimeout(timer.id);
      timer.callback();
    }
  };
  const flushed = [];
  const batch = new FrameBatch({
    flush: (items) => flushed.push(items),
    schedule: frameScheduler({ requestFrame: clock.requestFrame, cancelFrame: clock.cancelFrame, timers, now: () => now, minIntervalMs: 100, fallbackMs: 250 }),
  });
  batch.push(1);
  clock.frame();
  assert.deepEqual(flushed, [[1]], 'the first batch goes on the next frame');
  advance(10);
  batch.push(2);
  batch.push(3);
  clock.frame();
  assert.deepEqual(flushed, [[1]], 'not before the interval is over');
  advance(90);
  clock.frame();
  assert.deepEqual(flushed, [[1], [2, 3]]);
});
