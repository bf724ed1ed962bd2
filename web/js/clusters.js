// Owns the moderator console's "similar comments" panel (issue 18): the near-duplicate clusters
// the server marks with `similar_to`, newest activity first and a bounded number of them, each
// with how many comments say the same thing, expandable to those comments, and the moderator's
// choices: promote the cluster's published comments into one question (with its wording, which
// may be edited), or merge them into an open question (the cluster's own question offered
// first). Held comments cannot go into a question (the server refuses them with `comment_held`),
// so the panel says how many are held and offers to release them. Nothing is merged by itself.
//
// Also the console's likely-question view of the comment list (all, likely questions first,
// only them) and the marks on a comment's row: what an automatic rule did to it ("auto: rule —
// reason"), and that it reads as a question. The rules are clusters-model.js's; moderate.js calls
// `update` after each batch of events it applies (or with null after a snapshot or reset), asks
// `arrange` for its comment list, and adds `commentMarks(comment)` to each row. Commands go
// through the console's own `command` (request ids, errors shown in its error region).
//
// User text is only ever set with textContent. Rendering waits for the next animation frame,
// however many batches came in meanwhile.

import { formatNumber, registerStrings, t } from './i18n.js';
import * as live from './live-state.js';
import {
  LIKELY_MODES,
  MAX_PROMOTE_COMMENTS,
  arrangeLikely,
  clusterList,
  createClusterIndex,
  isLikelyQuestion,
  mergeTargets,
  promoteCommand,
  standingAutoModeration,
  updateClusters,
} from './clusters-model.js';
import { make } from './register-view.js';
import strings from './strings/clusters.js';

registerStrings(strings);

/** Clusters shown at first, and how many more each "more" shows. */
const CLUSTERS_SHOWN = 8;
/** Comments listed in an opened cluster at most. */
const MEMBERS_SHOWN = 30;
/** Held comments released by one click at most. */
const RELEASE_AT_ONCE = 50;

/** A key's text, or `fallback` when there is none. */
function known(key, fallback, params = {}) {
  const text = t(key, params);
  return text === key ? fallback : text;
}

/** An automatic rule's name in words (its id when unknown here). */
export function ruleName(rule) {
  return known(`automod.rule.${rule}`, String(rule ?? ''));
}

/** An automatic rule's public reason in words: the rules' own, then the hide reasons', then the code. */
export function autoReasonName(reason) {
  if (!reason) return '';
  return known(`automod.reason.${reason}`, known(`live.reason.${reason}`, String(reason)));
}

/**
 * The mark "auto: <rule> — <reason>" for a comment an automatic rule holds or hides (until a
 * moderator releases or restores it), or null.
 */
export function autoModerationBadge(comment) {
  const flagged = standingAutoModeration(comment);
  if (!flagged) return null;
  const badge = make(
    'span',
    'mod-badge mod-badge--auto',
    t('automod.badge', { rule: ruleName(flagged.rule), reason: autoReasonName(flagged.reason) }),
  );
  badge.dataset.rule = flagged.rule;
  badge.dataset.autoAction = flagged.action;
  return badge;
}

/** The mark of a comment that reads as a question, or null. */
export function likelyQuestionBadge(comment) {
  return isLikelyQuestion(comment) ? make('span', 'mod-badge mod-badge--likely', t('likely.badge')) : null;
}

/** The marks this module adds to a comment's row in the console (possibly none). */
export function commentMarks(comment) {
  return [autoModerationBadge(comment), likelyQuestionBadge(comment)].filter(Boolean);
}

/**
 * Mounts the panel in `section` (an empty element) and the likely-question view on `likelySelect`.
 * `command(message, label, {onDone, onError})` sends a moderation command; `onArrange()` is called
 * when the comment list's view changed.
 */
export function mountClusters({ section, likelySelect = null, command, onArrange = () => {} }) {
  const index = createClusterIndex();
  let state = null;
  let shownLimit = CLUSTERS_SHOWN;
  let likelyMode = 'all';
  let frame = null;
  // Per cluster key: its element and parts, and what they show.
  const items = new Map();
  // Per cluster key: the question text being edited, and the merge target picked.
  const drafts = new Map();
  const targetsPicked = new Map();

  section.classList.add('mod-clusters');
  section.setAttribute('aria-labelledby', 'clusters-heading');
  const heading = make('h2', null);
  heading.id = 'clusters-heading';
  heading.tabIndex = -1;
  const intro = make('p', 'hint');
  const list = make('ol', 'mod-list mod-cluster-list');
  list.id = 'cluster-list';
  list.setAttribute('aria-labelledby', 'clusters-heading');
  const empty = make('p', 'notice');
  empty.id = 'clusters-empty';
  const more = make('button', 'button button--quiet button--small');
  more.type = 'button';
  more.id = 'clusters-more';
  section.replaceChildren(heading, intro, list, empty, more);
  section.hidden = false;

  more.addEventListener('click', () => {
    shownLimit += CLUSTERS_SHOWN;
    render();
  });
  section.addEventListener('submit', onSubmit);
  section.addEventListener('click', onClick);
  section.addEventListener('input', onInput);
  section.addEventListener('change', onInput);
  // i18n.js's switch sets the language first (its listener was added before this one).
  document.getElementById('language-switch')?.addEventListener('change', () => {
    for (const item of items.values()) item.signatures = {};
    fillLikelySelect(true);
    render();
  });

  if (likelySelect) {
    fillLikelySelect(true);
    likelySelect.addEventListener('change', () => {
      likelyMode = LIKELY_MODES.includes(likelySelect.value) ? likelySelect.value : 'all';
      onArrange();
    });
  }

  function fillLikelySelect(force) {
    if (!likelySelect || (!force && likelySelect.options.length > 0)) return;
    likelySelect.replaceChildren(
      ...LIKELY_MODES.map((mode) => {
        const option = make('option', null, t(`likely.${mode}`));
        option.value = mode;
        return option;
      }),
    );
    likelySelect.value = likelyMode;
  }

  function clusterOf(element) {
    const item = element instanceof Element ? element.closest('[data-cluster]') : null;
    if (!item || !state) return null;
    return clusterList(index, state).find((cluster) => cluster.key === item.dataset.cluster) ?? null;
  }

  function onInput(event) {
    const field = event.target;
    if (!(field instanceof Element)) return;
    const key = field.closest('[data-cluster]')?.dataset.cluster;
    if (!key) return;
    if (field.dataset.field === 'text') drafts.set(key, field.value);
    if (field.dataset.field === 'into') targetsPicked.set(key, field.value);
  }

  function onSubmit(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.form) return;
    event.preventDefault();
    const cluster = clusterOf(form);
    if (!cluster) return;
    const key = cluster.key;
    if (form.dataset.form === 'promote') {
      const text = form.querySelector('[data-field="text"]').value;
      const message = promoteCommand(cluster, { text });
      if (!message) return;
      command(message, t('clusters.action.promote', { list: numberList(message.comments) }), {
        onDone() {
          drafts.delete(key);
        },
      });
    } else if (form.dataset.form === 'merge') {
      const into = Number(form.querySelector('[data-field="into"]').value);
      const message = Number.isInteger(into) && into > 0 ? promoteCommand(cluster, { into }) : null;
      if (!message) return;
      command(message, t('clusters.action.merge', { list: numberList(message.comments), into }), {
        onDone() {
          targetsPicked.delete(key);
        },
      });
    }
  }

  function onClick(event) {
    const control = event.target instanceof Element ? event.target.closest('[data-action="release-held"]') : null;
    if (!control) return;
    const cluster = clusterOf(control);
    if (!cluster) return;
    for (const number of cluster.held.slice(0, RELEASE_AT_ONCE)) {
      command({ type: 'release', comment: number }, t('clusters.action.release', { n: number }));
    }
  }

  function scheduleRender() {
    if (frame !== null) return;
    const next = globalThis.requestAnimationFrame ?? ((callback) => setTimeout(callback, 16));
    frame = next(() => {
      frame = null;
      render();
    });
  }

  function render() {
    setTextIfChanged(heading, t('clusters.title'));
    setTextIfChanged(intro, t('clusters.intro'));
    if (!state) return;
    const all = clusterList(index, state);
    const shown = all.slice(0, shownLimit);
    const focused = document.activeElement;
    const hadFocus = list.contains(focused);
    const wanted = new Set(shown.map((cluster) => cluster.key));
    for (const key of items.keys()) if (!wanted.has(key)) items.delete(key);
    const openQuestions = live.openQuestions(state);
    const elements = shown.map((cluster) => clusterElement(cluster, openQuestions));
    // Reconciled by key: elements kept (and what is typed in them), moved only when needed.
    for (const child of [...list.children]) if (!wanted.has(child.dataset.cluster)) child.remove();
    let cursor = list.firstElementChild;
    for (const element of elements) {
      if (element === cursor) cursor = cursor.nextElementSibling;
      else list.insertBefore(element, cursor);
    }
    if (hadFocus && !focused.isConnected) heading.focus({ preventScroll: true });
    else if (hadFocus && focused !== document.activeElement) focused.focus({ preventScroll: true });
    empty.hidden = all.length > 0;
    setTextIfChanged(empty, t('clusters.empty'));
    more.hidden = all.length <= shown.length;
    setTextIfChanged(more, t('clusters.more', { n: formatNumber(all.length - shown.length) }));
  }

  function clusterElement(cluster, openQuestions) {
    let item = items.get(cluster.key);
    if (!item) {
      const element = make('li', 'mod-cluster');
      element.dataset.cluster = cluster.key;
      const head = make('div', 'mod-cluster__head');
      const members = make('details', 'mod-cluster__members');
      const summary = make('summary');
      const memberList = make('ol', 'mod-cluster__member-list');
      members.append(summary, memberList);
      members.addEventListener('toggle', () => {
        if (members.open) render();
      });
      const held = make('div', 'mod-cluster__held');
      const promote = promoteForm(cluster.key);
      const merge = mergeForm(cluster.key);
      element.append(head, members, held, promote.form, merge.form);
      item = { element, head, members, summary, memberList, held, promote, merge, signatures: {} };
      items.set(cluster.key, item);
    }
    const { element } = item;
    element.dataset.count = String(cluster.count);
    element.dataset.keyQuestion = cluster.keyQuestion == null ? '' : String(cluster.keyQuestion);
    // The head: how many, what they say, which question they are like.
    patch(item, 'head', [cluster.count, cluster.label, cluster.keyQuestion, cluster.keyQuestionText], () => {
      const count = make('p', 'mod-cluster__count', t('clusters.count', { n: formatNumber(cluster.count) }));
      const label = make('p', 'mod-cluster__label', cluster.label);
      const parts = [count, label];
      if (cluster.keyQuestion != null) {
        parts.push(
          make('p', 'mod-cluster__question', t('clusters.likeQuestion', { n: cluster.keyQuestion, text: cluster.keyQuestionText ?? '' })),
        );
      }
      item.head.replaceChildren(...parts);
    });
    setTextIfChanged(item.summary, t('clusters.show', { n: formatNumber(cluster.count) }));
    // The comments, only while opened.
    if (item.members.open) {
      const shown = cluster.members.slice(0, MEMBERS_SHOWN).map((number) => live.findComment(state, number)).filter(Boolean);
      patch(item, 'members', [shown.map((comment) => `${comment.number}:${comment.state}:${comment.text}:${comment.authorName}`).join('\u0002')], () => {
        const rows = shown.map((comment) => {
          const row = make('li', 'mod-cluster__member');
          row.dataset.member = String(comment.number);
          row.dataset.state = comment.state;
          row.append(make('span', 'mod-comment__number', `№ ${comment.number}`), ' ');
          row.append(make('span', 'mod-comment__author', comment.authorName || '—'), ': ');
          row.append(make('span', 'mod-cluster__text', comment.text));
          if (comment.state === 'held') row.append(' ', make('span', 'mod-badge mod-badge--held', t('clusters.memberHeld')));
          return row;
        });
        const rest = cluster.members.length - shown.length;
        if (rest > 0) rows.push(make('li', 'mod-cluster__rest', t('clusters.moreMembers', { n: formatNumber(rest) })));
        item.memberList.replaceChildren(...rows);
      });
    }
    // Held members: released before they can go into a question.
    patch(item, 'held', [cluster.held.length, cluster.visible.length], () => {
      const parts = [];
      if (cluster.held.length > 0) {
        const note = make('p', 'mod-cluster__held-note', t('clusters.held', { n: formatNumber(cluster.held.length) }));
        const release = make('button', 'mod-chip mod-chip--go', t('clusters.releaseHeld', { n: formatNumber(cluster.held.length) }));
        release.type = 'button';
        release.dataset.action = 'release-held';
        parts.push(note, release);
      }
      if (cluster.visible.length === 0) parts.push(make('p', 'hint', t('clusters.noneVisible')));
      else if (cluster.visible.length > MAX_PROMOTE_COMMENTS) {
        parts.push(make('p', 'hint', t('clusters.overLimit', { max: MAX_PROMOTE_COMMENTS })));
      }
      item.held.replaceChildren(...parts);
    });
    // Promote: the newest wording unless the moderator typed their own.
    const { promote, merge } = item;
    promote.form.hidden = cluster.visible.length === 0;
    const draft = drafts.get(cluster.key);
    const wording = draft ?? cluster.label;
    if (promote.field.value !== wording && document.activeElement !== promote.field) promote.field.value = wording;
    setTextIfChanged(promote.labelElement, t('clusters.promote.label'));
    setTextIfChanged(promote.submit, t('clusters.promote.submit'));
    // Merge: the open questions, the cluster's own first.
    const targets = mergeTargets(cluster, openQuestions);
    merge.form.hidden = cluster.visible.length === 0 || targets.length === 0;
    setTextIfChanged(merge.labelElement, t('clusters.merge.label'));
    setTextIfChanged(merge.submit, t('clusters.merge.submit'));
    patch(item, 'targets', [cluster.keyQuestion, targets.map((question) => `${question.number}:${question.text}`).join('\u0002')], () => {
      merge.field.replaceChildren(
        ...targets.map((question) => {
          const key = question.number === cluster.keyQuestion ? 'clusters.merge.keyOption' : 'clusters.merge.option';
          const option = make('option', null, t(key, { n: question.number, text: question.text ?? '' }));
          option.value = String(question.number);
          return option;
        }),
      );
      const picked = targetsPicked.get(cluster.key);
      if (picked && targets.some((question) => String(question.number) === picked)) merge.field.value = picked;
    });
    return element;
  }

  /** Rebuilds a part of a cluster's element when what it shows changed. */
  function patch(item, part, values, build) {
    const signature = values.join('\u0001');
    if (item.signatures[part] === signature) return;
    item.signatures[part] = signature;
    build();
  }

  function promoteForm(key) {
    const field = make('textarea');
    field.rows = 2;
    return clusterForm(key, { kind: 'promote', field: 'text', input: field, submitClass: 'button' });
  }

  function mergeForm(key) {
    return clusterForm(key, { kind: 'merge', field: 'into', input: make('select', 'select'), submitClass: 'button button--quiet' });
  }

  /** One of a cluster's forms: a labelled `input` and its submit button; their texts are set as the cluster is drawn. */
  function clusterForm(key, { kind, field, input, submitClass }) {
    const form = make('form', kind === 'merge' ? 'mod-cluster__form mod-cluster__form--merge' : 'mod-cluster__form');
    form.noValidate = true;
    form.dataset.form = kind;
    const id = `cluster-${key.replace(':', '-')}-${field}`;
    const labelElement = make('label');
    labelElement.htmlFor = id;
    input.id = id;
    input.dataset.field = field;
    const submit = make('button', submitClass);
    submit.type = 'submit';
    submit.dataset.action = `${kind}-cluster`;
    const box = make('div', 'field');
    box.append(labelElement, input);
    form.append(box, submit);
    return { form, field: input, labelElement, submit };
  }

  return {
    /** After a batch of events or a join snapshot (`changes`), or with null after a hello or a reset. */
    update(nextState, changes = null) {
      if (!nextState) return;
      state = nextState;
      if (changes === null || changes.snapshot) {
        // Joined again (a snapshot, a reset): the clusters are drawn afresh.
        items.clear();
        list.replaceChildren();
      }
      updateClusters(index, state, changes);
      scheduleRender();
    },
    render,
    /** The console's comment list (newest first) in the likely-question view chosen. */
    arrange(currentState, filter, limit) {
      if (likelyMode === 'all') return live.commentsNewestFirst(currentState, filter, limit);
      return arrangeLikely(live.commentsNewestFirst(currentState, filter), likelyMode).slice(0, limit);
    },
    /** How many comments the list has in that view (`counts`: live.commentCounts). */
    total(currentState, filter, counts) {
      if (likelyMode !== 'only') return counts[filter] ?? 0;
      return arrangeLikely(live.commentsNewestFirst(currentState, filter), 'only').length;
    },
  };
}

/** "№ 1, № 2, № 5" (the console names comments so). */
function numberList(numbers) {
  return numbers.map((number) => `№ ${number}`).join(', ');
}

function setTextIfChanged(element, text) {
  if (element.textContent !== text) element.textContent = text;
}
