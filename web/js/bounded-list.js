// A list of rows kept bounded on the page, and the reader's pause of it. At 50 comments a second
// a list that only grows costs a phone more on every frame (layout, style, memory), so a page
// shows at most `maxRows` rows, keyed by number (a higher number is newer), and drops the oldest
// as new ones come. Rows are built and updated by the page's own functions; listeners belong on
// the container (delegation), never on rows, so a dropped row leaves nothing behind.
//
// The container needs only insertBefore, replaceChildren and its rows' remove(): Node tests pass
// a stand-in.

export class BoundedList {
  /**
   * `build(item)` makes a row, `update(row, item)` refreshes one; `newestFirst` puts the newest
   * row at the top (the moderator console) rather than at the bottom (the meeting page).
   */
  constructor({ container, maxRows, build, update = () => {}, newestFirst = false }) {
    Object.assign(this, { container, maxRows, build, update, newestFirst });
    this.order = []; // keys, oldest first
    this.rows = new Map(); // key → row
  }

  get size() {
    return this.order.length;
  }

  has(key) {
    return this.rows.has(key);
  }

  row(key) {
    return this.rows.get(key) ?? null;
  }

  keys() {
    return this.order.slice();
  }

  /** The oldest key shown, or null. */
  oldest() {
    return this.order.length > 0 ? this.order[0] : null;
  }

  /** The newest key shown, or null. */
  newest() {
    return this.order.length > 0 ? this.order[this.order.length - 1] : null;
  }

  /**
   * Adds the row for `key` in its place, or updates it when shown. A key older than every row
   * of a full list is not added (it would drop off at once). Returns the keys dropped.
   */
  upsert(key, item) {
    const known = this.rows.get(key);
    if (known) {
      this.update(known, item);
      return [];
    }
    if (this.order.length >= this.maxRows && key < this.order[0]) return [];
    const row = this.build(item);
    const index = insertionIndex(this.order, key);
    const olderNeighbour = index > 0 ? this.rows.get(this.order[index - 1]) : null;
    const newerNeighbour = index < this.order.length ? this.rows.get(this.order[index]) : null;
    if (this.newestFirst) {
      // Newest at the top: the row goes just above its older neighbour.
      this.container.insertBefore(row, olderNeighbour ?? null);
    } else {
      this.container.insertBefore(row, newerNeighbour ?? null);
    }
    this.order.splice(index, 0, key);
    this.rows.set(key, row);
    return this.trim();
  }

  /** Removes the row for `key`, if shown. */
  remove(key) {
    const row = this.rows.get(key);
    if (!row) return;
    row.remove();
    this.rows.delete(key);
    const index = this.order.indexOf(key);
    if (index >= 0) this.order.splice(index, 1);
  }

  /** Drops the oldest rows beyond the cap; returns their keys. */
  trim() {
    const dropped = [];
    while (this.order.length > this.maxRows) {
      const key = this.order.shift();
      this.rows.get(key)?.remove();
      this.rows.delete(key);
      dropped.push(key);
    }
    return dropped;
  }

  /**
   * Shows exactly the newest `maxRows` of `entries` ([key, item] pairs, any order), rebuilding
   * in one DOM write; rows already shown are kept and updated.
   */
  replaceAll(entries) {
    const sorted = [...entries].sort((a, b) => a[0] - b[0]).slice(-this.maxRows);
    const next = new Map();
    for (const [key, item] of sorted) {
      const known = this.rows.get(key);
      if (known) this.update(known, item);
      next.set(key, known ?? this.build(item));
    }
    this.order = sorted.map(([key]) => key);
    this.rows = next;
    const rows = this.order.map((key) => next.get(key));
    if (this.newestFirst) rows.reverse();
    this.container.replaceChildren(...rows);
  }

  clear() {
    this.order = [];
    this.rows = new Map();
    this.container.replaceChildren();
  }
}

/** Where `key` goes in the ascending `order` (binary search; nearly always at the end). */
function insertionIndex(order, key) {
  if (order.length === 0 || key > order[order.length - 1]) return order.length;
  let low = 0;
  let high = order.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (order[middle] < key) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The reader's pause: while they have scrolled away from the newest end, the list stops moving
 * (new rows are only counted, "N new comments"), and it resumes when they come back to that
 * end or press the button. No DOM: the page says where the reader is and draws the count.
 */
export class ScrollPause {
  constructor() {
    this.paused = false;
    this.unseen = 0;
  }

  /** The reader scrolled; `atNewestEnd`: within a few pixels of the newest row. */
  scrolled(atNewestEnd) {
    if (atNewestEnd) return this.resume();
    this.paused = true;
    return false;
  }

  /** `count` new rows arrived: counted while paused. Returns whether the list may move. */
  added(count) {
    if (!this.paused) return true;
    this.unseen += count;
    return false;
  }

  /** Back to following. Returns true when the list had been paused (so it must catch up). */
  resume() {
    const was = this.paused;
    this.paused = false;
    this.unseen = 0;
    return was;
  }
}
