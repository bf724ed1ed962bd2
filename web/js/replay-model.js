// The replay of an ended meeting, in step with its discussion: where each moment of the
// meeting lies on the recording's timeline, and what the discussion was at any moment. No DOM:
// the page draws, and Node tests drive this with plain values.
//
// The recording's manifest (GET /api/meetings/{id}/recording) lists its files, played one
// after another as one timeline, and its parts (each on-air period) with the file each is in
// and where it starts there. The log (GET /api/meetings/{id}/log) lists the public events, each
// with its instant `at`. Between two on-air periods nothing was recorded: every instant of such
// a gap maps to the next period's start, so the discussion of the pause shows as the video
// resumes.

import * as live from './live-state.js';

/** How many events between two kept states, for seeking back without folding from the start. */
export const CHECKPOINT_EVERY = 500;

const millis = (text) => {
  const value = Date.parse(text ?? '');
  return Number.isFinite(value) ? value : null;
};

/**
 * The timeline of a manifest: its files one after another ({number, start, duration} in
 * seconds of the whole) and its parts ({from, to} instants in ms, {start} on the timeline, in
 * seconds), in order. Parts not placed in a file (the replay was not made) are left out.
 */
export function timeline(manifest) {
  const files = [];
  let start = 0;
  for (const file of [...(manifest?.files ?? [])].sort((a, b) => a.number - b.number)) {
    const duration = Math.max(0, Number(file.duration_seconds) || 0);
    files.push({ number: file.number, url: file.url, start, duration });
    start += duration;
  }
  const parts = [];
  for (const part of manifest?.parts ?? []) {
    const file = files.find((candidate) => candidate.number === part.file);
    const from = millis(part.started_at);
    const duration = Number(part.duration_seconds);
    if (!file || from === null || !Number.isFinite(duration) || duration <= 0) continue;
    const offset = Math.max(0, Number(part.offset_seconds) || 0);
    parts.push({ from, to: from + duration * 1000, start: file.start + offset, duration });
  }
  parts.sort((a, b) => a.from - b.from);
  return { files, parts, duration: start };
}

/** Where the meeting's instant `at` (ms) is on the timeline, in seconds. */
export function positionOf(line, at) {
  for (const part of line.parts) {
    if (at < part.from) return part.start; // before it: in a pause, or before the first
    if (at < part.to) return part.start + (at - part.from) / 1000;
  }
  return line.duration;
}

/** The meeting's instant (ms) at `position` seconds of the timeline; null with no parts. */
export function instantAt(line, position) {
  if (line.parts.length === 0) return null;
  let last = line.parts[0];
  for (const part of line.parts) {
    if (position < part.start) break;
    last = part;
  }
  const into = Math.min(Math.max(0, position - last.start), last.duration);
  return last.from + into * 1000;
}

/** The file playing at `position` seconds of the timeline, and the position inside it. */
export function fileAt(line, position) {
  if (line.files.length === 0) return null;
  let found = line.files[0];
  for (const file of line.files) if (position >= file.start) found = file;
  return { number: found.number, url: found.url, seconds: Math.min(Math.max(0, position - found.start), found.duration) };
}

/**
 * The discussion at any instant: the live state folded from the log up to it. Going forward
 * folds only the new events; going back starts again from the nearest kept state before it.
 */
export class ReplayDiscussion {
  constructor(events, { maxComments = live.DEFAULT_MAX_COMMENTS } = {}) {
    this.events = [...(events ?? [])]
      .map((event) => ({ event, at: millis(event?.at) }))
      .filter((entry) => entry.at !== null)
      .sort((a, b) => a.event.seq - b.event.seq);
    this.maxComments = maxComments;
    this.checkpoints = []; // {index, state}: the state after `index` events
    this.reset();
  }

  reset() {
    this.state = live.createState({ maxComments: this.maxComments });
    this.index = 0;
  }

  /** The state with every event at or before `at` (ms) folded in. */
  at(at) {
    if (this.index > 0 && this.events[this.index - 1].at > at) this.rewind(at);
    while (this.index < this.events.length && this.events[this.index].at <= at) {
      live.applyEvent(this.state, this.events[this.index].event);
      this.index += 1;
      if (this.index % CHECKPOINT_EVERY === 0 && !this.checkpoints.some((kept) => kept.index === this.index)) {
        this.checkpoints.push({ index: this.index, state: structuredClone(this.state) });
      }
    }
    return this.state;
  }

  rewind(at) {
    let kept = null;
    for (const checkpoint of this.checkpoints) {
      if (this.events[checkpoint.index - 1].at <= at) kept = checkpoint;
    }
    if (kept) {
      this.state = structuredClone(kept.state);
      this.index = kept.index;
    } else {
      this.reset();
    }
  }
}

/**
 * The phases on the timeline: [{phase, from, to}] in seconds, from each phase change's instant,
 * for the bar under the video that shows the presentation and the Q&A.
 */
export function phaseBar(events, line) {
  const changes = (events ?? [])
    .filter((event) => event?.type === 'phase_changed' && millis(event.at) !== null)
    .map((event) => ({ phase: event.phase, position: positionOf(line, millis(event.at)) }))
    .sort((a, b) => a.position - b.position);
  const segments = [];
  changes.forEach((change, index) => {
    const to = index + 1 < changes.length ? changes[index + 1].position : line.duration;
    if (to > change.position && change.phase !== 'ended') {
      segments.push({ phase: change.phase, from: change.position, to });
    }
  });
  return segments;
}

/** Each question's moments (ms): first put on air, and answered. */
export function questionMoments(events) {
  const moments = new Map();
  for (const event of events ?? []) {
    const at = millis(event?.at);
    if (at === null || !Number.isInteger(event.question)) continue;
    const moment = moments.get(event.question) ?? { onAir: null, answered: null };
    if (event.type === 'question_on_air' && moment.onAir === null) moment.onAir = at;
    if (event.type === 'question_answered' && moment.answered === null) moment.answered = at;
    moments.set(event.question, moment);
  }
  return moments;
}

/** A place on the timeline as the video's controls show it: m:ss, or h:mm:ss from an hour. */
export function formatPosition(seconds) {
  const whole = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** Whether the public discussion shows `comment`: hidden and held ones never are. */
export function isShown(comment) {
  return comment?.state === 'visible' || comment?.state === 'promoted';
}
