// The moderator console's near-duplicate clusters and likely questions as plain data: no DOM, no
// socket, no clock, so Node tests (tests/web/clusters-model.test.mjs) feed it comments as the
// live state holds them (web/js/live-state.js).
//
// A comment's `similar_to` (protocol-18 C) names the cluster it joins: its key is the cluster's
// first comment (`{comment: n}`) or an open question (`{question: n}`). The comments sharing a
// key, plus the key's comment itself, that are still visible or held form the cluster ("14
// comments like this"). Nothing here merges anything: it only says which comments belong
// together, and builds the `promote` command a moderator chooses to send.
//
// The index is kept up to date from the live state's `changes` records (the comments added,
// updated and dropped), so a console holding thousands of comments does work in proportion to
// what changed, and the list of clusters is rebuilt only for the keys a change touched. Without a
// `changes` record (a snapshot, a reset), or when the state's comment map was replaced, it is
// rebuilt from scratch, which is one pass over the comments.

/** The server takes at most this many comments in one `promote` (docs/protocol.md). */
export const MAX_PROMOTE_COMMENTS = 50;

/** States in which a comment still counts in its cluster. */
const MEMBER_STATES = new Set(['visible', 'held']);

/** A comment's `similar_to`, however the state stored it: {comment: n} | {question: n} | null. */
export function similarToOf(comment) {
  const similar = comment?.similarTo ?? comment?.similar_to ?? null;
  if (!similar || typeof similar !== 'object') return null;
  if (Number.isInteger(similar.comment)) return { comment: similar.comment };
  if (Number.isInteger(similar.question)) return { question: similar.question };
  return null;
}

/** Whether the comment reads as a question (protocol-18 C: `likely_question`). */
export function isLikelyQuestion(comment) {
  return (comment?.likelyQuestion ?? comment?.likely_question) === true;
}

/** A comment's `flagged` ({rule, action, reason}) when an automatic rule acted on it, or null. */
export function flaggedOf(comment) {
  const flagged = comment?.flagged;
  if (!flagged || typeof flagged !== 'object' || typeof flagged.rule !== 'string' || flagged.rule === '') return null;
  return {
    rule: flagged.rule,
    action: flagged.action === 'hide' ? 'hide' : 'hold',
    reason: typeof flagged.reason === 'string' ? flagged.reason : '',
  };
}

/**
 * The automatic rule's decision still standing on the comment, or null: held by the rule (and
 * not released yet), or hidden by it (with its reason, by no moderator; a comment restored and
 * hidden again by a moderator is the moderator's doing).
 */
export function standingAutoModeration(comment) {
  const flagged = flaggedOf(comment);
  if (!flagged) return null;
  if (comment.state === 'held') return flagged;
  if (comment.state === 'hidden' && !comment.hiddenBy && (comment.reason == null || comment.reason === flagged.reason)) {
    return flagged;
  }
  return null;
}

/** The key of a cluster: 'c:5' for comment 5's cluster, 'q:3' for open question 3's. */
export function clusterKey(similar) {
  if (!similar) return null;
  return similar.comment != null ? `c:${similar.comment}` : `q:${similar.question}`;
}

function parseKey(key) {
  const number = Number(key.slice(2));
  return key.startsWith('c:') ? { comment: number } : { question: number };
}

/** An empty index; `updateClusters` fills it from a live state. */
export function createClusterIndex() {
  return {
    // The state's comment map indexed, to notice when it is replaced (a reset, a re-sort).
    comments: null,
    // key → Set of the comment numbers whose `similar_to` names it.
    byKey: new Map(),
    // comment number → the key its `similar_to` names.
    keyOf: new Map(),
    // key → the cluster built from it (or null when it is too small to show).
    built: new Map(),
    // keys whose members or key question changed since they were built.
    dirty: new Set(),
    // Question fingerprint, to notice the open questions changing.
    questionsSeen: '',
  };
}

function indexComment(index, comment) {
  const key = clusterKey(similarToOf(comment));
  const number = comment.number;
  const before = index.keyOf.get(number);
  if (before !== undefined && before !== key) {
    const members = index.byKey.get(before);
    members?.delete(number);
    if (members?.size === 0) index.byKey.delete(before);
    index.dirty.add(before);
  }
  if (key !== null) {
    index.keyOf.set(number, key);
    let members = index.byKey.get(key);
    if (!members) {
      members = new Set();
      index.byKey.set(key, members);
    }
    members.add(number);
    index.dirty.add(key);
  } else {
    index.keyOf.delete(number);
  }
  // A comment may be the key of a cluster: its state counts there.
  if (index.byKey.has(`c:${number}`)) index.dirty.add(`c:${number}`);
}

function forgetComment(index, number) {
  const key = index.keyOf.get(number);
  if (key !== undefined) {
    const members = index.byKey.get(key);
    members?.delete(number);
    if (members?.size === 0) index.byKey.delete(key);
    index.keyOf.delete(number);
    index.dirty.add(key);
  }
  if (index.byKey.has(`c:${number}`)) index.dirty.add(`c:${number}`);
}

function rebuild(index, state) {
  index.byKey.clear();
  index.keyOf.clear();
  index.built.clear();
  index.dirty.clear();
  index.comments = state.comments;
  for (const comment of state.comments.values()) indexComment(index, comment);
  index.questionsSeen = '';
}

/**
 * Brings the index up to date with `state` after a live-state `changes` record (or from scratch
 * when `changes` is null, comes from a join snapshot, or the state's comment map was replaced). Returns whether any cluster's
 * members may have changed.
 */
export function updateClusters(index, state, changes = null) {
  if (!changes || changes.snapshot || index.comments !== state.comments) {
    rebuild(index, state);
    return true;
  }
  for (const number of changes.removed ?? []) forgetComment(index, number);
  const touched = new Set([...(changes.added ?? []), ...(changes.updated ?? [])]);
  for (const number of touched) {
    const comment = state.comments.get(number);
    if (comment) indexComment(index, comment);
    else forgetComment(index, number);
  }
  // Questions that change (opened, merged, answered, reworded) are noticed by clusterList.
  return index.dirty.size > 0;
}

/** The open question a question number leads to (following merges), or null. */
export function openQuestionFor(state, number) {
  const seen = new Set();
  let current = number;
  while (current != null && !seen.has(current)) {
    seen.add(current);
    const question = state.questions?.get(current);
    if (!question) return null;
    if (question.state === 'queued' || question.state === 'on_air' || question.state === null) return question;
    if (question.state !== 'merged') return null;
    current = question.into;
  }
  return null;
}

function buildCluster(index, state, key) {
  const numbers = new Set(index.byKey.get(key) ?? []);
  const target = parseKey(key);
  let keyComment = null;
  let questionNumber = target.question ?? null;
  if (target.comment != null) {
    keyComment = state.comments.get(target.comment) ?? null;
    numbers.add(target.comment);
    // The key comment was promoted meanwhile: its question is where the others belong.
    if (keyComment?.state === 'promoted' && keyComment.question != null) questionNumber = keyComment.question;
  }
  const members = [];
  for (const number of numbers) {
    const comment = state.comments.get(number);
    if (comment && MEMBER_STATES.has(comment.state)) members.push(comment);
  }
  members.sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0) || b.number - a.number);
  const question = questionNumber != null ? openQuestionFor(state, questionNumber) : null;
  const visible = members.filter((comment) => comment.state === 'visible').map((comment) => comment.number);
  const held = members.filter((comment) => comment.state === 'held').map((comment) => comment.number);
  return {
    key,
    keyComment: target.comment ?? null,
    // The open question the cluster is keyed to (or its key comment was promoted into), if any.
    keyQuestion: question ? question.number : null,
    keyQuestionText: question ? (question.text ?? '') : null,
    members: members.map((comment) => comment.number),
    visible,
    held,
    count: members.length,
    label: members[0]?.text ?? '',
    // Activity: the newest member's place in the log.
    activity: members.length > 0 ? Math.max(...members.map((comment) => comment.seq ?? 0)) : 0,
    newest: members[0]?.number ?? 0,
  };
}

/**
 * The clusters worth showing, newest activity first: at least `minSize` members (2: one comment
 * alone is no cluster), or one or more when keyed to an open question (then they can join it).
 * `limit` keeps the first that many. Each cluster: {key, keyComment, keyQuestion,
 * keyQuestionText, members (numbers, newest first), visible, held, count, label (the newest
 * text), activity, newest}.
 */
export function clusterList(index, state, { limit = Infinity, minSize = 2 } = {}) {
  const fingerprint = questionFingerprint(state);
  if (fingerprint !== index.questionsSeen) {
    index.questionsSeen = fingerprint;
    for (const key of index.byKey.keys()) index.dirty.add(key);
  }
  for (const key of index.dirty) {
    if (index.byKey.has(key)) index.built.set(key, buildCluster(index, state, key));
    else index.built.delete(key);
  }
  index.dirty.clear();
  const shown = [];
  for (const cluster of index.built.values()) {
    if (cluster.count >= minSize || (cluster.keyQuestion != null && cluster.count >= 1)) shown.push(cluster);
  }
  shown.sort((a, b) => b.activity - a.activity || b.newest - a.newest);
  return Number.isFinite(limit) ? shown.slice(0, limit) : shown;
}

/** The open questions' numbers, states and texts in one string (a few dozen questions). */
function questionFingerprint(state) {
  let text = '';
  for (const question of state.questions?.values() ?? []) {
    text += `${question.number}:${question.state}:${question.into}:${question.text}\u0001`;
  }
  return text;
}

/**
 * The `promote` command for a cluster: its visible members, at most 50 (oldest first, so that
 * the cluster's first comment leads), with `text` when given (not blank), or `into` an open
 * question. Null when no member is visible.
 */
export function promoteCommand(cluster, { text = null, into = null } = {}) {
  const comments = [...cluster.visible].sort((a, b) => a - b).slice(0, MAX_PROMOTE_COMMENTS);
  if (comments.length === 0) return null;
  const message = { type: 'promote', comments };
  if (into != null) message.into = Number(into);
  else if (typeof text === 'string' && text.trim() !== '') message.text = text;
  return message;
}

/**
 * The open questions a cluster may be merged into, for the picker: its key question first (when
 * open), then the others, newest first. `questions`: the live state's open questions.
 */
export function mergeTargets(cluster, questions) {
  const list = [...questions].sort((a, b) => b.number - a.number);
  const first = list.findIndex((question) => question.number === cluster.keyQuestion);
  if (first > 0) list.unshift(...list.splice(first, 1));
  return list;
}

/** The likely-question views of the comment list. */
export const LIKELY_MODES = ['all', 'first', 'only'];

/**
 * Arranges a comment list (newest first) for the likely-question view: 'all' leaves it as it
 * is, 'first' puts the likely questions first (each part keeping its order), 'only' keeps only
 * them. Returns a new array.
 */
export function arrangeLikely(comments, mode = 'all') {
  if (mode === 'only') return comments.filter(isLikelyQuestion);
  if (mode !== 'first') return [...comments];
  const likely = [];
  const others = [];
  for (const comment of comments) (isLikelyQuestion(comment) ? likely : others).push(comment);
  return likely.concat(others);
}
