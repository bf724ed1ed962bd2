// Owns the live channel's state as plain data: what the server's messages (hello, events, acks,
// vote answers) do to one state object. No DOM, no socket, no clock, so the page and tests feed
// it the same JSON the server sends (tests/fixtures/protocol/). The rules mirror
// docs/protocol.md: comments and their states, questions and the queue order, my own statuses,
// and for the moderator console authors' standing and the `pin` positions that move a question.

/** Comments kept (and shown) at most; older ones drop off. The reader's own are kept apart. */
export const DEFAULT_MAX_COMMENTS = 300;

/** Phases in which the server takes comments. */
export const OPEN_PHASES = ['presentation', 'qa'];

/** A fresh state. `viewerId` is who "I" am (from the viewer token), `myVotes` remembered votes. */
export function createState({ viewerId = null, maxComments = DEFAULT_MAX_COMMENTS, myVotes = [] } = {}) {
  return {
    viewerId,
    role: null,
    displayName: null,
    // The last seq applied: an event at or below it is a duplicate and is ignored.
    lastSeq: 0,
    // The log's head at the first hello. A client that joined without `since` got only recent
    // history, so it resumes from here at least (and never asks for the whole log).
    floorSeq: 0,
    // The log's head at the latest hello: events up to it are replayed, later ones are live.
    helloSeq: 0,
    connectedOnce: false,
    maxComments,
    // The highest comment number listed, so the common case (a newer comment) just appends.
    newestComment: null,
    maxCommentChars: null,
    hideReasons: [],
    phase: null,
    viewers: null,
    // number → comment, in number order (oldest first).
    comments: new Map(),
    // number → comment (the same objects), the reader's own, never dropped.
    mine: new Map(),
    // client_id → comment number, from my acks.
    myClientIds: new Map(),
    // number → question.
    questions: new Map(),
    pinned: [],
    onAir: null,
    myVotes: new Set(myVotes.map(Number).filter(Number.isInteger)),
    slowModeSeconds: 0,
    holdFirstComments: false,
    me: { banned: false, timedOutUntil: null },
    // viewer id → {viewer, name, banned, timedOutUntil}: every author heard of, for moderators
    // (the public hears of time-outs and bans too, by viewer id).
    authors: new Map(),
  };
}

/** Forgets the log (the server's log is not the one we followed) but keeps who I am. */
export function resetLog(state) {
  const fresh = createState({ viewerId: state.viewerId, maxComments: state.maxComments });
  fresh.role = state.role;
  fresh.displayName = state.displayName;
  fresh.maxCommentChars = state.maxCommentChars;
  fresh.hideReasons = state.hideReasons;
  fresh.phase = state.phase;
  Object.assign(state, fresh);
  return state;
}

/** The `since` to reconnect with: the last event seen, or the head at the first hello. */
export function resumeSeq(state) {
  return Math.max(state.lastSeq, state.floorSeq);
}

/** A `changes` record: what an update touched, for the page to redraw only that. */
export function newChanges() {
  return {
    added: [], // comment numbers, in order
    updated: new Set(), // comment numbers whose state or ownership changed
    removed: [], // comment numbers dropped to keep the cap
    mine: false, // my comments list changed
    questions: false,
    myVotes: false,
    me: false, // my standing (banned, timed out) changed
    authors: new Set(), // viewer ids whose standing (banned, timed out) changed
    settings: false, // slow mode, holding first comments
    phase: null, // the last phase_changed event applied
    replay: false, // every event applied was already in the log when we connected
    snapshot: false, // a snapshot replaced the comments and questions: redraw them all
    applied: 0,
  };
}

/** Applies `hello`. Returns true when it resumes an earlier connection. */
export function applyHello(state, hello) {
  const resumed = state.connectedOnce;
  state.connectedOnce = true;
  const you = hello.you ?? {};
  state.role = you.role ?? null;
  if (you.viewer_id != null) state.viewerId = you.viewer_id;
  state.displayName = you.display_name ?? state.displayName;
  if (Number.isInteger(hello.max_comment_chars)) state.maxCommentChars = hello.max_comment_chars;
  if (Array.isArray(hello.hide_reasons)) state.hideReasons = hello.hide_reasons.slice();
  if (hello.meeting?.phase) state.phase = hello.meeting.phase;
  // How many are connected as we join; `viewers` messages keep it current.
  if (Number.isInteger(hello.viewers)) state.viewers = hello.viewers;
  const head = Number(hello.last_seq) || 0;
  state.helloSeq = head;
  if (!resumed) state.floorSeq = Math.max(state.floorSeq, head);
  return resumed;
}

/**
 * Applies `authenticated` (docs/protocol.md: a reader who joined sends `auth` on the open
 * socket): from now on the state is that participant's. Returns a `changes` record.
 */
export function applyAuthenticated(state, message, changes = newChanges()) {
  const you = message?.you ?? {};
  state.role = you.role ?? state.role;
  if (you.viewer_id != null) state.viewerId = you.viewer_id;
  if (you.display_name) state.displayName = you.display_name;
  changes.me = true;
  changes.settings = true;
  // Comments the reader wrote before the page knew who they were (another tab) are theirs.
  if (state.viewerId != null) {
    for (const comment of state.comments.values()) {
      if (comment.author === state.viewerId && !comment.mine) {
        comment.mine = true;
        state.mine.set(comment.number, comment);
        changes.updated.add(comment.number);
        changes.mine = true;
      }
    }
  }
  return changes;
}

const QUESTION_STATES = ['queued', 'on_air', 'answered', 'dismissed', 'merged'];
const COMMENT_STATES = ['visible', 'held', 'hidden', 'promoted'];

/**
 * Applies a `snapshot` (sent once after `hello` when joining with `?snapshot=true`): the log
 * folded up to `seq` — settings, questions, the latest comments (for moderators every held one
 * too), authors' standing and my votes. It replaces the comments and questions held, since it
 * is the truth up to `seq`; the events after it follow as usual. Returns a `changes` record
 * with `snapshot` set, so a page redraws its lists once.
 */
export function applySnapshot(state, snapshot, changes = newChanges()) {
  if (!snapshot || typeof snapshot !== 'object') return changes;
  const seq = Number(snapshot.seq) || 0;
  state.lastSeq = Math.max(state.lastSeq, seq);
  state.floorSeq = Math.max(state.floorSeq, seq);
  state.helloSeq = Math.max(state.helloSeq, seq);
  changes.snapshot = true;

  state.slowModeSeconds = Number(snapshot.slow_mode_seconds) || 0;
  state.holdFirstComments = snapshot.hold_first_comments === true;
  changes.settings = true;

  state.questions = new Map();
  for (const entry of Array.isArray(snapshot.questions) ? snapshot.questions : []) {
    if (!entry || !Number.isInteger(entry.question)) continue;
    const question = ensureQuestion(state, entry.question);
    question.text = entry.text ?? null;
    question.sources = numbers(entry.sources);
    question.votes = Number(entry.votes) || 0;
    question.state = QUESTION_STATES.includes(entry.state) ? entry.state : 'queued';
    if (question.state === 'answered') question.outcome = entry.summary ?? null;
    if (question.state === 'dismissed') question.outcome = entry.reason ?? null;
    if (question.state === 'merged') question.into = Number.isInteger(entry.into) ? entry.into : null;
  }
  state.pinned = numbers(snapshot.pinned);
  state.onAir = Number.isInteger(snapshot.on_air) ? snapshot.on_air : null;
  if (state.onAir !== null) ensureQuestion(state, state.onAir).state = 'on_air';
  changes.questions = true;

  for (const entry of Array.isArray(snapshot.authors) ? snapshot.authors : []) {
    if (!entry || !Number.isInteger(entry.viewer)) continue;
    setAuthor(state, entry.viewer, { banned: entry.banned === true, timedOutUntil: entry.timed_out_until ?? null }, changes);
    if (isMe(state, entry.viewer)) {
      state.me.banned = entry.banned === true;
      state.me.timedOutUntil = entry.timed_out_until ?? null;
      changes.me = true;
    }
  }

  if (Array.isArray(snapshot.my_votes)) {
    state.myVotes = new Set(numbers(snapshot.my_votes));
    changes.myVotes = true;
  }

  // Comments, oldest first. The list is rebuilt; my own are kept (the snapshot lists my recent
  // ones, and those heard of before stay among mine).
  state.comments = new Map();
  state.newestComment = null;
  const comments = (Array.isArray(snapshot.comments) ? snapshot.comments : [])
    .filter((entry) => entry && Number.isInteger(entry.comment))
    .sort((a, b) => a.comment - b.comment);
  for (const entry of comments) {
    noteAuthor(state, entry.author, entry.author_name);
    const comment = newComment(
      { ...entry, at: entry.posted_at ?? entry.at ?? null, seq: Number.isInteger(entry.seq) ? entry.seq : null },
      {
        clientId: null,
        state: COMMENT_STATES.includes(entry.state) ? entry.state : 'visible',
        mine: isMe(state, entry.author),
      },
    );
    comment.reason = entry.reason ?? null;
    comment.question = Number.isInteger(entry.question) ? entry.question : null;
    const known = state.mine.get(entry.comment);
    if (known) comment.clientId = known.clientId;
    insertComment(state, comment, changes);
  }
  return changes;
}

/** Applies a list of events (an `events` frame's `events`), skipping duplicates, in order. */
export function applyEvents(state, events, changes = newChanges()) {
  let newest = 0;
  for (const event of Array.isArray(events) ? events : []) {
    if (applyEvent(state, event, changes)) {
      changes.applied += 1;
      newest = Math.max(newest, event.seq);
    }
  }
  changes.replay = changes.applied > 0 && newest <= state.helloSeq;
  return changes;
}

/** Applies one event. Returns false when it was a duplicate (seq at or below the last seen). */
export function applyEvent(state, event, changes = newChanges()) {
  if (!event || typeof event !== 'object' || !Number.isInteger(event.seq)) return false;
  if (event.seq <= state.lastSeq) return false;
  state.lastSeq = event.seq;
  const handler = EVENT_HANDLERS[event.type];
  if (handler) handler(state, event, changes);
  return true; // an unknown type still takes its place in the sequence
}

const EVENT_HANDLERS = {
  comment_posted(state, event, changes) {
    noteAuthor(state, event.author, event.author_name);
    const number = event.comment;
    const mine =
      (state.viewerId != null && event.author === state.viewerId) ||
      state.myClientIds.get(event.client_id) === number;
    const comment = newComment(event, {
      clientId: event.client_id ?? null,
      state: event.held ? 'held' : 'visible',
      mine,
    });
    // An automatic rule that hid it at once: hidden with the rule's public reason.
    if (comment.flagged?.action === 'hide') {
      comment.state = 'hidden';
      comment.reason = comment.flagged.reason ?? null;
    }
    insertComment(state, comment, changes);
  },
  comment_hidden(state, event, changes) {
    setCommentState(
      state,
      event.comment,
      { state: 'hidden', reason: event.reason ?? null, hiddenBy: event.by?.name ?? null },
      changes,
    );
  },
  comment_restored: reappear,
  comment_released: reappear,
  author_timed_out(state, event, changes) {
    setAuthor(state, event.viewer, { timedOutUntil: event.until ?? null }, changes);
    if (!isMe(state, event.viewer)) return;
    state.me.timedOutUntil = event.until ?? null;
    changes.me = true;
  },
  author_banned(state, event, changes) {
    setAuthor(state, event.viewer, { banned: true }, changes);
    if (!isMe(state, event.viewer)) return;
    state.me.banned = true;
    changes.me = true;
  },
  author_unbanned(state, event, changes) {
    setAuthor(state, event.viewer, { banned: false, timedOutUntil: null }, changes);
    if (!isMe(state, event.viewer)) return;
    state.me.banned = false;
    state.me.timedOutUntil = null;
    changes.me = true;
  },
  slow_mode_set(state, event, changes) {
    state.slowModeSeconds = Number(event.seconds) || 0;
    changes.settings = true;
  },
  hold_first_comments_set(state, event, changes) {
    state.holdFirstComments = Boolean(event.on);
    changes.settings = true;
  },
  question_created(state, event, changes) {
    const question = ensureQuestion(state, event.question);
    question.text = event.text ?? question.text;
    question.sources = numbers(event.sources);
    question.state = 'queued';
    if (question.votes == null) question.votes = 0;
    question.createdSeq = event.seq;
    promote(state, question.sources, question.number, changes);
    changes.questions = true;
  },
  question_merged(state, event, changes) {
    const target = ensureQuestion(state, event.into);
    target.sources = numbers(event.sources);
    if (event.votes != null) target.votes = Number(event.votes);
    promote(state, target.sources, target.number, changes);
    // Every vote moves with the merge, mine included.
    if (state.myVotes.has(event.question)) {
      state.myVotes.add(target.number);
      changes.myVotes = true;
    }
    closeQuestion(state, event.question, 'merged', null, event.seq);
    ensureQuestion(state, event.question).into = target.number;
    changes.questions = true;
  },
  question_edited(state, event, changes) {
    ensureQuestion(state, event.question).text = event.text ?? null;
    changes.questions = true;
  },
  queue_reordered(state, event, changes) {
    state.pinned = numbers(event.pinned);
    changes.questions = true;
  },
  question_on_air(state, event, changes) {
    // The one on air before goes back to the queue (protocol: `replaces`).
    for (const previous of [event.replaces, state.onAir]) {
      const found = previous != null && previous !== event.question ? state.questions.get(previous) : null;
      if (found && found.state === 'on_air') found.state = 'queued';
    }
    ensureQuestion(state, event.question).state = 'on_air';
    state.onAir = event.question;
    changes.questions = true;
  },
  question_answered(state, event, changes) {
    closeQuestion(state, event.question, 'answered', event.summary ?? null, event.seq);
    changes.questions = true;
  },
  question_dismissed(state, event, changes) {
    closeQuestion(state, event.question, 'dismissed', event.reason ?? null, event.seq);
    changes.questions = true;
  },
  vote_cast(state, event, changes) {
    ensureQuestion(state, event.question).votes = Number(event.votes) || 0;
    changes.questions = true;
    if (isMe(state, event.voter)) {
      setMyVote(state, event.question, Boolean(event.up));
      changes.myVotes = true;
    }
  },
  votes_changed(state, event, changes) {
    ensureQuestion(state, event.question).votes = Number(event.votes) || 0;
    changes.questions = true;
  },
  phase_changed(state, event, changes) {
    state.phase = event.phase ?? state.phase;
    changes.phase = event;
  },
  // `redacted` is the public form of something this reader may not see: it only keeps the
  // sequence gap-free, which applyEvent has already taken care of.
  redacted() {},
};

function newComment(event, { clientId = null, state = 'visible', mine = false }) {
  return {
    number: event.comment,
    author: event.author ?? null,
    authorName: event.author_name ?? '',
    clientId,
    text: event.text ?? '',
    seq: event.seq,
    at: event.at ?? null,
    state,
    reason: null,
    hiddenBy: null,
    question: null,
    mine,
    // Where it was written when not on this page: {platform, external_id, url?, author_id?}.
    source: sourceOf(event),
    // An automatic rule that held or hid it: {rule, action: hold | hide, reason}.
    flagged: flaggedOf(event),
    // It reads as a question (for the console's likely-question filter).
    likelyQuestion: event.likely_question === true,
    // The near-duplicate cluster it joins: {comment: n} or {question: n}.
    similarTo: event.similar_to && typeof event.similar_to === 'object' ? { ...event.similar_to } : null,
  };
}

/** A comment's `flagged` (an automatic rule acted), copied, or null. */
function flaggedOf(event) {
  const flagged = event?.flagged;
  if (!flagged || typeof flagged !== 'object' || typeof flagged.rule !== 'string') return null;
  return { rule: flagged.rule, action: flagged.action === 'hide' ? 'hide' : 'hold', reason: flagged.reason ?? null };
}

/** A comment event's `source` (a platform comment), copied, or null. */
function sourceOf(event) {
  const source = event?.source;
  if (!source || typeof source !== 'object' || typeof source.platform !== 'string') return null;
  return { ...source };
}

/**
 * Puts a comment in the list in number order (nearly always at the end), and drops the oldest
 * beyond the cap. A comment older than all those held when the list is full is not listed
 * (it would drop off at once), though one of mine is still kept among mine.
 */
function insertComment(state, comment, changes) {
  const { number } = comment;
  if (comment.mine) {
    state.mine.set(number, comment);
    changes.mine = true;
  }
  const full = state.comments.size >= state.maxComments;
  const oldest = state.comments.size > 0 ? state.comments.keys().next().value : null;
  if (full && !state.comments.has(number) && oldest !== null && number < oldest) return;
  state.comments.delete(number);
  if (state.newestComment === null || number > state.newestComment) {
    state.comments.set(number, comment);
    state.newestComment = number;
  } else {
    const entries = [...state.comments.entries(), [number, comment]].sort((a, b) => a[0] - b[0]);
    state.comments = new Map(entries);
  }
  changes.added.push(number);
  while (state.comments.size > state.maxComments) {
    const dropped = state.comments.keys().next().value;
    state.comments.delete(dropped);
    changes.removed.push(dropped);
  }
}

/**
 * `comment_restored` and `comment_released` carry the comment again: shown again where we had
 * it, or added for a reader who never saw it (it was held, or replayed as `redacted`).
 */
function reappear(state, event, changes) {
  noteAuthor(state, event.author, event.author_name);
  const known = findComment(state, event.comment);
  if (known) {
    if (typeof event.text === 'string') known.text = event.text;
    if (event.author_name) known.authorName = event.author_name;
    if (event.source) known.source = sourceOf(event);
    setCommentState(state, event.comment, { state: 'visible' }, changes);
    return;
  }
  if (typeof event.text !== 'string') return; // nothing to show
  insertComment(state, newComment(event, { mine: isMe(state, event.author) }), changes);
}

/** The author's record (created on first mention). */
function ensureAuthor(state, viewer) {
  let author = state.authors.get(viewer);
  if (!author) {
    author = { viewer, name: '', banned: false, timedOutUntil: null };
    state.authors.set(viewer, author);
  }
  return author;
}

function noteAuthor(state, viewer, name) {
  if (!Number.isInteger(viewer)) return;
  const author = ensureAuthor(state, viewer);
  if (typeof name === 'string' && name !== '') author.name = name;
}

/** A change of an author's standing: `changes.authors` lists whose. */
function setAuthor(state, viewer, standing, changes) {
  if (!Number.isInteger(viewer)) return;
  Object.assign(ensureAuthor(state, viewer), standing);
  (changes.authors ??= new Set()).add(viewer);
}

function isMe(state, viewer) {
  return state.viewerId != null && viewer === state.viewerId;
}

function numbers(list) {
  return Array.isArray(list) ? list.map(Number).filter(Number.isInteger) : [];
}

/** The comment by number, whether still in the list or only among mine. */
export function findComment(state, number) {
  return state.comments.get(number) ?? state.mine.get(number) ?? null;
}

function setCommentState(state, number, next, changes) {
  const comment = findComment(state, number);
  if (!comment) return; // older than what we hold, or never shown to this reader
  comment.state = next.state;
  comment.reason = next.reason ?? null;
  comment.hiddenBy = next.hiddenBy ?? null;
  comment.question = next.question ?? null;
  changes.updated.add(number);
  if (comment.mine) changes.mine = true;
}

function promote(state, sources, question, changes) {
  for (const number of sources) setCommentState(state, number, { state: 'promoted', question }, changes);
}

function ensureQuestion(state, number) {
  let question = state.questions.get(number);
  if (!question) {
    // A question we first hear of mid-way (created before the history we got): what is not
    // known yet stays null until an event or the issue list fills it in.
    question = {
      number,
      text: null,
      sources: [],
      votes: null,
      state: null,
      outcome: null,
      into: null,
      createdSeq: null,
      closedSeq: null,
    };
    state.questions.set(number, question);
  }
  return question;
}

function closeQuestion(state, number, closedState, outcome, seq) {
  const question = ensureQuestion(state, number);
  question.state = closedState;
  question.outcome = outcome;
  question.closedSeq = seq ?? null;
  state.pinned = state.pinned.filter((pinned) => pinned !== number);
  if (state.onAir === number) state.onAir = null;
}

function setMyVote(state, question, up) {
  if (up) state.myVotes.add(question);
  else state.myVotes.delete(question);
}

/**
 * Applies my `ack`: the comment under `ack.comment` is mine. Returns that comment number and
 * marks the comment (when held) in `changes`.
 */
export function applyAck(state, ack, changes = newChanges()) {
  if (!ack || typeof ack.client_id !== 'string' || !Number.isInteger(ack.comment)) return null;
  state.myClientIds.set(ack.client_id, ack.comment);
  const comment = state.comments.get(ack.comment);
  if (comment && !comment.mine) {
    comment.mine = true;
    state.mine.set(ack.comment, comment);
    changes.updated.add(ack.comment);
    changes.mine = true;
  }
  return ack.comment;
}

/**
 * Applies the `done` of my `vote` request: `seq` null means nothing changed because the vote
 * already stood that way, which tells us our own vote too.
 */
export function applyVoteDone(state, request, changes = newChanges()) {
  if (!request || !Number.isInteger(request.question)) return changes;
  if (state.myVotes.has(request.question) !== Boolean(request.up)) {
    setMyVote(state, request.question, Boolean(request.up));
    changes.myVotes = true;
  }
  return changes;
}

/** The pending comment (by client_id) was posted if one of my comments carries it. */
export function findMineByClientId(state, clientId) {
  for (const comment of state.mine.values()) if (comment.clientId === clientId) return comment;
  return null;
}

/**
 * Fills in questions from `GET /api/meetings/{id}/issues` (`issues`): only what the events
 * have not said, since events may be newer than the list.
 */
export function seedIssues(state, issues, changes = newChanges()) {
  for (const issue of Array.isArray(issues) ? issues : []) {
    if (!issue || !Number.isInteger(issue.question)) continue;
    const question = ensureQuestion(state, issue.question);
    if (question.text == null) question.text = issue.text ?? null;
    if (question.votes == null) question.votes = Number(issue.votes) || 0;
    if (question.sources.length === 0) question.sources = (issue.sources ?? []).map((s) => s.comment);
    if (question.state == null) {
      question.state = ['queued', 'on_air', 'answered', 'dismissed', 'merged'].includes(issue.state)
        ? issue.state
        : 'queued';
      question.outcome = issue.outcome ?? null;
      if (question.state === 'merged') question.into = Number(issue.outcome) || null;
      if (question.state === 'on_air') {
        if (state.onAir == null) state.onAir = question.number;
        else if (state.onAir !== question.number) question.state = 'queued';
      }
    }
    changes.questions = true;
  }
  return changes;
}

function isQueued(state, question) {
  return (question.state === 'queued' || question.state === null) && question.number !== state.onAir;
}

/**
 * The queue, as question numbers: pinned ones in `pinned` order, then the others by votes
 * (most first) and age (lowest number first). The question on air is not in it.
 */
export function queueOrder(state) {
  const pinned = state.pinned.filter((number) => {
    const question = state.questions.get(number);
    return question != null && isQueued(state, question);
  });
  const rest = [...state.questions.values()]
    .filter((question) => isQueued(state, question) && !state.pinned.includes(question.number))
    .sort((a, b) => (b.votes ?? 0) - (a.votes ?? 0) || a.number - b.number);
  return [...pinned, ...rest.map((question) => question.number)];
}

/** The question on air, or null. */
export function onAirQuestion(state) {
  return state.onAir == null ? null : (state.questions.get(state.onAir) ?? null);
}

/** Answered and dismissed questions, the most recently closed first. */
export function closedQuestions(state) {
  return [...state.questions.values()]
    .filter((question) => question.state === 'answered' || question.state === 'dismissed')
    .sort((a, b) => (b.closedSeq ?? 0) - (a.closedSeq ?? 0) || b.number - a.number);
}

/** Whether this question takes votes: open, and known to us. */
export function isVotable(state, number) {
  const question = state.questions.get(number);
  return question != null && (question.state === 'queued' || question.state === 'on_air' || question.state === null);
}

/**
 * What the author of `comment` is told: {kind: 'visible' | 'held' | 'hidden' | 'promoted',
 * reason, question}.
 */
export function commentStatus(comment) {
  return { kind: comment.state, reason: comment.reason, question: comment.question, flagged: comment.flagged ?? null };
}

// ---------------------------------------------------------------------------------------------
// For moderators: every comment (held and hidden ones too), authors' standing, queue moves.

/**
 * Comments newest first: `filter` 'all', 'held' (awaiting release) or 'hidden'. `limit` keeps
 * only the newest that many.
 */
export function commentsNewestFirst(state, filter = 'all', limit = Infinity) {
  const list = [];
  const all = [...state.comments.values()];
  for (let index = all.length - 1; index >= 0 && list.length < limit; index -= 1) {
    const comment = all[index];
    if (filter === 'all' || comment.state === filter) list.push(comment);
  }
  return list;
}

/** How many comments are listed in each state: {all, visible, held, hidden, promoted}. */
export function commentCounts(state) {
  const counts = { all: state.comments.size, visible: 0, held: 0, hidden: 0, promoted: 0 };
  for (const comment of state.comments.values()) {
    if (comment.state in counts) counts[comment.state] += 1;
  }
  return counts;
}

/**
 * An author's standing at `now` (ms): {banned, timedOutUntil} with `timedOutUntil` null once
 * the time-out is over. Unknown authors are in good standing.
 */
export function authorStanding(state, viewer, now) {
  const author = state.authors.get(viewer);
  if (!author) return { banned: false, timedOutUntil: null };
  const until = author.timedOutUntil != null ? Date.parse(author.timedOutUntil) : NaN;
  return { banned: author.banned, timedOutUntil: Number.isFinite(until) && until > now ? author.timedOutUntil : null };
}

/**
 * The `pin` command's `position` that moves question `number` in the queue, as `{position}`
 * (`null` unpins), or null when the move is not possible. `move` is:
 * - 'pin': to the end of the pinned questions (pinned first, in the order pinned);
 * - 'unpin': back among the others, by votes and age;
 * - 'up', 'down': one place in the queue. Only pinned questions keep an order of their own, so
 *   an unpinned question moved up is pinned (just above the first unpinned one, or just below
 *   the pinned ones), and the last pinned question moved down is unpinned; an unpinned question
 *   cannot be moved down (the others are ordered by votes).
 * The server removes the question from the pinned list and inserts it at `position`, so the
 * positions count the server's pinned list without it (which may hold the question on air).
 */
export function pinMove(state, number, move) {
  const queue = queueOrder(state);
  const index = queue.indexOf(number);
  const pinnedShown = queue.filter((question) => state.pinned.includes(question));
  const pinnedIndex = pinnedShown.indexOf(number);
  const others = state.pinned.filter((question) => question !== number);
  const before = (question) => others.indexOf(question);
  const after = (question) => (question === undefined ? 0 : others.indexOf(question) + 1);
  const lastOtherPinned = pinnedShown.filter((question) => question !== number).at(-1);
  switch (move) {
    case 'pin':
      if (state.pinned.includes(number) || !isVotable(state, number)) return null;
      return { position: after(lastOtherPinned) };
    case 'unpin':
      return state.pinned.includes(number) ? { position: null } : null;
    case 'up':
      if (index <= 0) return null;
      if (pinnedIndex > 0) return { position: before(pinnedShown[pinnedIndex - 1]) };
      if (index === pinnedShown.length) return { position: before(pinnedShown.at(-1)) };
      return { position: after(pinnedShown.at(-1)) };
    case 'down':
      if (index === -1 || pinnedIndex === -1 || index === queue.length - 1) return null;
      if (pinnedIndex < pinnedShown.length - 1) return { position: after(pinnedShown[pinnedIndex + 1]) };
      return { position: null };
    default:
      return null;
  }
}

/** The open questions (queued or on air) other than `number`, for a merge target. */
export function openQuestions(state, except = null) {
  return [...state.questions.values()].filter(
    (question) => question.number !== except && (question.state === 'queued' || question.state === 'on_air'),
  );
}
