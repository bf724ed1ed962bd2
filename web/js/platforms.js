// Comments from the akimat's social-media accounts, on the pages.
//
// - `mountPlatforms` is the presenter page's panel, for the meeting's akim and admins: per
//   platform, the akim's account (paste its tokens; then only a hint is ever shown; connect
//   again; disconnect), what the meeting follows there, and its reader's status as it changes.
// - `mountPlatformStatus` is the moderator console's panel: the readers' statuses, read only,
//   and the outcomes of the moderation sent back to the platforms, for the comments list.
// - `platformBadge` is the mark of a comment written on a platform (its name, a link to it when
//   there is one, and for staff the author's id there), on the meeting page, the console and
//   the issue pages.
//
// The rules are platforms-model.js's. Statuses come with the meeting (`platforms`), its event
// stream (`platform` events), the live channel (`platform` messages, staff only) and the feed
// list; a late copy never replaces a newer one. Tokens go to the server once and leave the
// page; platform text is set with textContent only, and only https links are made.

import { api, describeError } from './api.js';
import { formatMeetingDateTime, formatMeetingTime, formatNumber, t } from './i18n.js';
import {
  PLATFORMS,
  actionOutcomes,
  credentialBody,
  credentialProblem,
  describeFollow,
  followBody,
  followProblem,
  followValues,
  orderedStatuses,
  outcomeView,
  platformNameKey,
  problemKey,
  putMeetingStatuses,
  putStatus,
  sourceView,
  statusView,
} from './platforms-model.js';
import { make } from './register-view.js';

/** How long "saved" and the like stay shown. */
const DONE_NOTICE_MS = 6000;
/** A status of a platform not known to be followed reads the feeds again, at most this often. */
const FEEDS_REFRESH_MS = 5000;

/** The fields of each platform's forms: label, input type and hint keys. */
const FIELDS = {
  client_id: { label: 'platforms.field.clientId', type: 'text' },
  client_secret: { label: 'platforms.field.clientSecret', type: 'password' },
  refresh_token: { label: 'platforms.field.refreshToken', type: 'password' },
  bot_token: { label: 'platforms.field.botToken', type: 'password' },
  access_token: { label: 'platforms.field.accessToken', type: 'password' },
  live_chat_id: { label: 'platforms.field.liveChatId', type: 'text', hint: 'platforms.field.liveChatIdHint' },
  video_id: { label: 'platforms.field.videoId', type: 'text', hint: 'platforms.field.videoIdHint' },
  chat_id: { label: 'platforms.field.chatId', type: 'text', hint: 'platforms.field.chatIdHint', inputmode: 'numeric' },
  post_id: { label: 'platforms.field.postId', type: 'text', hint: 'platforms.field.postIdHint' },
  owner_id: { label: 'platforms.field.ownerId', type: 'text', hint: 'platforms.field.ownerIdHint' },
  object: { label: 'platforms.field.object', type: 'select', options: ['video', 'post'] },
  object_id: { label: 'platforms.field.objectId', type: 'text', hint: 'platforms.field.objectIdHint' },
  live_video_id: { label: 'platforms.field.liveVideoId', type: 'text', hint: 'platforms.field.liveVideoIdHint' },
};

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

function platformName(id) {
  return t(platformNameKey(id));
}

/** The text of an outcome (platforms-model's outcomeView), in the page's language. */
export function outcomeText(outcome) {
  const view = outcomeView(outcome);
  if (!view) return '';
  return t(view.key, { platform: t(view.params.platform), action: t(view.params.action), reason: view.params.reason || '—' });
}

/** The text of a refusal of the platforms API. */
export function platformErrorText(error) {
  const { key, detail } = problemKey({ ...(error?.problem ?? {}), status: error?.status });
  if (key === null) return describeError(error);
  return t(key, { detail: detail || '—' });
}

/**
 * The mark of a comment written on a platform: its name (a link to the comment, opening in a
 * new tab, when the platform gave an https one) and, with `staff`, the author's id there as
 * text. Null for a comment written on Kezdesu's page.
 */
export function platformBadge(source, { staff = false } = {}) {
  const view = sourceView(source);
  if (!view) return null;
  const wrap = make('span', 'platform-source');
  wrap.dataset.platform = view.platform;
  const name = t(view.nameKey);
  if (view.url) {
    const link = make('a', 'platform-badge platform-badge--link', name);
    link.href = view.url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.dataset.platform = view.platform;
    link.append(make('span', 'visually-hidden', ` ${t('platforms.badge.newTab')}`));
    wrap.append(link);
  } else {
    const badge = make('span', 'platform-badge', name);
    badge.dataset.platform = view.platform;
    wrap.append(badge);
  }
  if (staff && view.authorId) {
    wrap.append(make('span', 'platform-source__author', t('platforms.badge.authorId', { id: view.authorId })));
  }
  return wrap;
}

/** What the badge shows, as a string: for signatures of rendered items. */
export function platformBadgeSignature(source, { staff = false } = {}) {
  const view = sourceView(source);
  if (!view) return '';
  return [view.platform, view.url ?? '', staff ? view.authorId : ''].join('\u0002');
}

/** A status's details as rows of a definition list: [[label, value, name]]. */
function statusRows(view, timeZone) {
  const rows = [];
  if (view.reason) rows.push(['platforms.status.reason', view.reason, 'reason']);
  if (view.until) rows.push(['platforms.status.until', formatMeetingTime(view.until, timeZone), 'until']);
  rows.push(['platforms.status.comments', formatNumber(view.comments), 'comments']);
  rows.push(['platforms.status.refused', formatNumber(view.refused), 'refused']);
  if (view.quotaUnits !== null) rows.push(['platforms.status.quota', formatNumber(view.quotaUnits), 'quota']);
  if (view.resolved) rows.push(['platforms.status.resolved', view.resolved, 'resolved']);
  if (view.lastError) rows.push(['platforms.status.lastError', view.lastError, 'last-error']);
  return rows;
}

/** Fills `list` (a <dl>) with the rows, rebuilding only when they changed. */
function fillFacts(list, rows) {
  const signature = rows.map((row) => `${t(row[0])}\u0001${row[1]}`).join('\u0002');
  if (list.dataset.signature === signature) return;
  list.dataset.signature = signature;
  list.replaceChildren(
    ...rows.map(([label, value, name]) => {
      const row = make('div');
      row.dataset.fact = name;
      row.append(make('dt', null, t(label)), make('dd', null, value));
      return row;
    }),
  );
}

/** The state badge of a reader. */
function stateBadge(badge, view) {
  badge.className = `badge badge--platform-${view.tone}`;
  badge.dataset.state = view.state;
  setText(badge, t(view.key));
}

// ---------------------------------------------------------------------------------------------
// The presenter page's panel

/**
 * Mounts the panel in `section` (#platforms, holding #platforms-list). `akimId` is the akim
 * whose accounts the meeting reads with; `getMeeting()` gives the page's meeting (its time
 * zone). Returns {applyMeeting, applyStatus, render}.
 */
export function mountPlatforms({ meetingId, akimId, section, getMeeting = () => null }) {
  const list = section.querySelector('#platforms-list');
  const accounts = new Map(); // platform → {hint, connected_at}
  const feeds = new Map(); // platform → {follow, connected}
  const statuses = new Map(); // platform → PlatformStatus
  let accountsKnown = false;
  let feedsLoading = null;
  let feedsLoadedAt = 0;
  const cards = new Map();

  for (const entry of PLATFORMS) cards.set(entry.id, buildCard(entry));
  list.replaceChildren(...[...cards.values()].map((card) => card.item));
  section.hidden = false;

  function fieldId(platformId, form, field) {
    return `platform-${platformId}-${form}-${field}`;
  }

  function buildField(platformId, form, field) {
    const spec = FIELDS[field];
    const box = make('div', 'field');
    const id = fieldId(platformId, form, field);
    const label = make('label', null, '');
    label.htmlFor = id;
    label.dataset.i18nKey = spec.label;
    let input;
    if (spec.type === 'select') {
      input = make('select', 'select');
      for (const option of spec.options) {
        const element = make('option', null, '');
        element.value = option;
        element.dataset.i18nKey = `platforms.field.object.${option}`;
        input.append(element);
      }
    } else {
      input = make('input');
      input.type = spec.type;
      input.autocomplete = 'off';
      input.spellcheck = false;
      input.maxLength = form === 'credential' ? 4096 : 512;
      if (spec.inputmode) input.inputMode = spec.inputmode;
    }
    input.id = id;
    input.name = field;
    input.dataset.field = field;
    const described = [];
    box.append(label, input);
    if (spec.hint) {
      const hint = make('p', 'hint', '');
      hint.id = `${id}-hint`;
      hint.dataset.i18nKey = spec.hint;
      box.append(hint);
      described.push(hint.id);
    }
    const problem = make('p', 'error platform-field__problem', '');
    problem.id = `${id}-problem`;
    box.append(problem);
    described.push(problem.id);
    input.setAttribute('aria-describedby', described.join(' '));
    return box;
  }

  function button(text, action, className = 'button') {
    const element = make('button', className, '');
    element.type = 'button';
    element.dataset.action = action;
    element.dataset.i18nKey = text;
    return element;
  }

  function buildCard(entry) {
    const id = entry.id;
    const item = make('li', 'platform-card');
    item.dataset.platform = id;
    const details = make('details', 'platform-card__fold');
    const summary = make('summary', 'platform-card__summary');
    const name = make('span', 'platform-card__name', '');
    name.id = `platform-${id}-name`;
    const badge = make('span', 'badge');
    summary.append(name, ' ', badge);
    details.append(summary);

    // The account
    const account = make('section', 'platform-card__part');
    const accountHeading = make('h3', null, '');
    accountHeading.id = `platform-${id}-account-heading`;
    accountHeading.dataset.i18nKey = 'platforms.account.title';
    account.setAttribute('aria-labelledby', `${name.id} ${accountHeading.id}`);
    const accountState = make('p', 'platform-card__account');
    accountState.dataset.account = '';
    const accountHint = make('p', 'hint', '');
    accountHint.dataset.i18nKey = `platforms.account.hint.${id}`;
    const credentialForm = make('form', 'form platform-form');
    credentialForm.noValidate = true;
    credentialForm.dataset.form = 'credential';
    credentialForm.setAttribute('aria-labelledby', `${name.id} ${accountHeading.id}`);
    for (const field of entry.credential) credentialForm.append(buildField(id, 'credential', field));
    const credentialButtons = make('div', 'button-row');
    const connect = make('button', 'button', '');
    connect.type = 'submit';
    connect.dataset.action = 'connect';
    const cancel = button('platforms.account.cancel', 'cancel-reconnect', 'button button--quiet');
    credentialButtons.append(connect, cancel);
    credentialForm.append(credentialButtons);
    const accountButtons = make('div', 'button-row');
    const reconnect = button('platforms.account.reconnect', 'reconnect', 'button button--quiet');
    const disconnect = button('platforms.account.disconnect', 'disconnect', 'button button--danger');
    accountButtons.append(reconnect, disconnect);
    account.append(accountHeading, accountState, accountHint, credentialForm, accountButtons);

    // What the meeting follows
    const follow = make('section', 'platform-card__part');
    const followHeading = make('h3', null, '');
    followHeading.id = `platform-${id}-follow-heading`;
    followHeading.dataset.i18nKey = 'platforms.follow.title';
    follow.setAttribute('aria-labelledby', `${name.id} ${followHeading.id}`);
    const followState = make('p', 'platform-card__follow');
    const followHint = make('p', 'hint', '');
    followHint.dataset.i18nKey = `platforms.follow.hint.${id}`;
    const followForm = make('form', 'form platform-form');
    followForm.noValidate = true;
    followForm.dataset.form = 'follow';
    followForm.setAttribute('aria-labelledby', `${name.id} ${followHeading.id}`);
    for (const field of entry.follow) followForm.append(buildField(id, 'follow', field));
    const followButtons = make('div', 'button-row');
    const save = make('button', 'button', '');
    save.type = 'submit';
    save.dataset.action = 'follow';
    const unfollow = button('platforms.follow.stop', 'unfollow', 'button button--danger');
    followButtons.append(save, unfollow);
    followForm.append(followButtons);
    follow.append(followHeading, followState, followHint, followForm);

    // The reader
    const reader = make('section', 'platform-card__part');
    const readerHeading = make('h3', null, '');
    readerHeading.id = `platform-${id}-reader-heading`;
    readerHeading.dataset.i18nKey = 'platforms.reader.title';
    reader.setAttribute('aria-labelledby', `${name.id} ${readerHeading.id}`);
    const readerState = make('p', 'platform-card__state');
    readerState.setAttribute('aria-live', 'polite');
    readerState.setAttribute('aria-atomic', 'true');
    const advice = make('p', 'platform-card__advice');
    advice.setAttribute('aria-live', 'polite');
    const facts = make('dl', 'facts platform-facts');
    reader.append(readerHeading, readerState, advice, facts);

    const status = make('p', 'hint platform-card__done');
    status.setAttribute('role', 'status');
    const error = make('p', 'error platform-card__error');
    error.setAttribute('role', 'alert');
    details.append(account, follow, reader, status, error);
    item.append(details);

    const card = {
      id,
      entry,
      item,
      details,
      name,
      badge,
      accountState,
      credentialForm,
      connect,
      cancel,
      accountButtons,
      reconnect,
      disconnect,
      followState,
      followForm,
      save,
      unfollow,
      readerState,
      advice,
      facts,
      status,
      error,
      reconnecting: false,
      busy: false,
      errorText: '',
      doneKey: null,
      doneTimer: null,
      followFilled: null, // the follow the form was last filled from
      opened: false, // opened or closed by the reader: the page no longer decides
    };
    credentialForm.addEventListener('submit', (event) => {
      event.preventDefault();
      connectAccount(card);
    });
    followForm.addEventListener('submit', (event) => {
      event.preventDefault();
      saveFollow(card);
    });
    cancel.addEventListener('click', () => {
      card.reconnecting = false;
      clearFields(card.credentialForm);
      renderCard(card);
      reconnect.focus();
    });
    reconnect.addEventListener('click', () => {
      card.reconnecting = true;
      renderCard(card);
      credentialForm.querySelector('input')?.focus();
    });
    disconnect.addEventListener('click', () => disconnectAccount(card));
    unfollow.addEventListener('click', () => stopFollowing(card));
    summary.addEventListener('click', () => {
      card.opened = true;
    });
    return card;
  }

  function values(form) {
    return Object.fromEntries([...form.querySelectorAll('[data-field]')].map((input) => [input.dataset.field, input.value]));
  }

  function clearFields(form) {
    for (const input of form.querySelectorAll('input[data-field]')) input.value = '';
    showProblem(form, null);
  }

  /** Marks the wrong field (or none) and says what is wrong beside it. */
  function showProblem(form, problem) {
    for (const input of form.querySelectorAll('[data-field]')) {
      const wrong = problem?.field === input.dataset.field;
      if (wrong) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      setText(form.querySelector(`#${input.id}-problem`), wrong ? t(problem.key) : '');
    }
  }

  function translateStatic(card) {
    for (const element of card.item.querySelectorAll('[data-i18n-key]')) setText(element, t(element.dataset.i18nKey));
  }

  function renderCard(card) {
    const { id } = card;
    const account = accounts.get(id) ?? null;
    const feed = feeds.get(id) ?? null;
    const connected = accountsKnown ? account !== null : (feed?.connected ?? null);
    const status = feed ? (statuses.get(id) ?? feed.status ?? null) : null;
    const view = statusView(status, { connected });
    const timeZone = getMeeting()?.time_zone;
    translateStatic(card);
    setText(card.name, platformName(id));
    stateBadge(card.badge, view);
    card.item.dataset.state = view.state;
    card.item.dataset.connected = String(connected === true);
    card.item.dataset.followed = String(feed !== null);
    // Open what is in use, until the reader opens or closes it.
    if (!card.opened) card.details.open = connected === true || feed !== null || view.state === 'unauthorized';

    // The account: only its hint, never a token.
    if (account) {
      setText(
        card.accountState,
        t('platforms.account.connected', {
          hint: account.hint,
          time: account.connected_at ? formatMeetingDateTime(account.connected_at, timeZone) : '—',
        }),
      );
    } else {
      setText(card.accountState, t(connected === true ? 'platforms.account.connectedNoHint' : 'platforms.account.notConnected'));
    }
    card.accountState.dataset.account = connected === true ? 'connected' : 'none';
    const showForm = connected !== true || card.reconnecting;
    card.credentialForm.hidden = !showForm;
    card.cancel.hidden = !(connected === true && card.reconnecting);
    card.accountButtons.hidden = showForm || connected !== true;
    setText(card.connect, t(connected === true ? 'platforms.account.reconnectSubmit' : 'platforms.account.connect'));

    // What is followed.
    if (feed) {
      const described = describeFollow(feed.follow);
      setText(card.followState, t(described.key, described.params));
    } else {
      setText(card.followState, t('platforms.follow.none'));
    }
    const followKey = feed ? JSON.stringify(feed.follow) : null;
    if (feed && card.followFilled !== followKey) {
      // Fill the form with what is followed, unless the akim is typing in it.
      if (!card.followForm.contains(document.activeElement)) {
        for (const [field, value] of Object.entries(followValues(feed.follow))) {
          const input = card.followForm.querySelector(`[data-field="${field}"]`);
          if (input) input.value = value;
        }
        card.followFilled = followKey;
      }
    }
    setText(card.save, t(feed ? 'platforms.follow.change' : 'platforms.follow.start'));
    card.unfollow.hidden = !feed;

    // The reader.
    setText(card.readerState, t('platforms.reader.state', { state: t(view.key) }));
    setText(card.advice, view.advice ? t(view.advice) : '');
    card.advice.className = view.state === 'unauthorized' ? 'error platform-card__advice' : 'hint platform-card__advice';
    card.advice.hidden = !view.advice;
    card.facts.hidden = !feed;
    fillFacts(card.facts, feed ? statusRows(view, timeZone) : []);

    for (const control of card.item.querySelectorAll('button')) control.disabled = card.busy;
    setText(card.status, card.doneKey ? t(card.doneKey) : '');
    setText(card.error, card.errorText);
  }

  function render() {
    for (const card of cards.values()) renderCard(card);
  }

  async function run(card, work, doneKey) {
    card.busy = true;
    card.errorText = '';
    card.doneKey = null;
    renderCard(card);
    try {
      await work();
      card.doneKey = doneKey;
      clearTimeout(card.doneTimer);
      card.doneTimer = setTimeout(() => {
        card.doneKey = null;
        renderCard(card);
      }, DONE_NOTICE_MS);
    } catch (error) {
      if (error?.status === 401) {
        location.replace(`/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      card.errorText = platformErrorText(error);
    } finally {
      card.busy = false;
      renderCard(card);
    }
  }

  async function connectAccount(card) {
    const typed = values(card.credentialForm);
    const problem = credentialProblem(card.id, typed);
    showProblem(card.credentialForm, problem);
    if (problem) {
      card.errorText = t(problem.key);
      renderCard(card);
      card.credentialForm.querySelector(`[data-field="${problem.field}"]`)?.focus();
      return;
    }
    await run(
      card,
      async () => {
        const answer = await api.put(
          `/api/accounts/${akimId}/platforms/${card.id}`,
          credentialBody(card.id, typed),
        );
        // The tokens leave the page as soon as the server has them.
        clearFields(card.credentialForm);
        card.reconnecting = false;
        accounts.set(card.id, { hint: answer?.hint ?? '', connected_at: answer?.connected_at ?? null });
        accountsKnown = true;
        await loadFeeds();
      },
      'platforms.account.connectedNow',
    );
    if (!card.credentialForm.hidden) return;
    card.reconnect.focus();
  }

  async function disconnectAccount(card) {
    if (!window.confirm(t('platforms.account.disconnectConfirm', { platform: platformName(card.id) }))) return;
    await run(
      card,
      async () => {
        await api.delete(`/api/accounts/${akimId}/platforms/${card.id}`);
        accounts.delete(card.id);
        accountsKnown = true;
        await loadFeeds();
      },
      'platforms.account.disconnectedNow',
    );
  }

  async function saveFollow(card) {
    const typed = values(card.followForm);
    const problem = followProblem(card.id, typed);
    showProblem(card.followForm, problem);
    if (problem) {
      card.errorText = t(problem.key);
      renderCard(card);
      card.followForm.querySelector(`[data-field="${problem.field}"]`)?.focus();
      return;
    }
    await run(
      card,
      async () => {
        const feed = await api.put(`/api/meetings/${meetingId}/platforms/${card.id}`, followBody(card.id, typed));
        card.followFilled = null;
        applyFeed(feed);
      },
      'platforms.follow.saved',
    );
  }

  async function stopFollowing(card) {
    if (!window.confirm(t('platforms.follow.stopConfirm', { platform: platformName(card.id) }))) return;
    await run(
      card,
      async () => {
        await api.delete(`/api/meetings/${meetingId}/platforms/${card.id}`);
        feeds.delete(card.id);
        statuses.delete(card.id);
        card.followFilled = null;
      },
      'platforms.follow.stopped',
    );
  }

  function applyFeed(feed) {
    if (!feed || typeof feed !== 'object' || !cards.has(feed.platform)) return;
    feeds.set(feed.platform, { follow: feed.follow, connected: feed.connected === true, status: feed.status ?? null });
    if (feed.status) putStatus(statuses, feed.status);
  }

  async function loadFeeds() {
    const answer = await api.get(`/api/meetings/${meetingId}/platforms`);
    feedsLoadedAt = Date.now();
    const listed = Array.isArray(answer?.platforms) ? answer.platforms : [];
    feeds.clear();
    for (const feed of listed) applyFeed(feed);
    // A platform no longer followed has no reader to show.
    for (const id of [...statuses.keys()]) if (!feeds.has(id)) statuses.delete(id);
  }

  /**
   * Reads the feeds again when a status names a platform not known to be followed (followed
   * from another screen), at most every few seconds: a reader that was just stopped still
   * reports for a moment.
   */
  function refreshFeeds() {
    if (feedsLoading || Date.now() - feedsLoadedAt < FEEDS_REFRESH_MS) return;
    feedsLoading = loadFeeds()
      .then(render, () => {})
      .finally(() => {
        feedsLoading = null;
      });
  }

  async function loadAccounts() {
    const answer = await api.get(`/api/accounts/${akimId}/platforms`);
    accounts.clear();
    for (const account of Array.isArray(answer?.platforms) ? answer.platforms : []) {
      if (cards.has(account.platform)) accounts.set(account.platform, account);
    }
    accountsKnown = true;
  }

  async function load() {
    const outcomes = await Promise.allSettled([loadAccounts(), loadFeeds()]);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      const text = platformErrorText(failed.reason);
      for (const card of cards.values()) card.errorText = text;
    }
    render();
  }

  render();
  load();

  return {
    /** The meeting as the page has it: its `platforms` statuses. */
    applyMeeting(meeting) {
      if (putMeetingStatuses(statuses, meeting)) render();
      // A platform followed from elsewhere (another screen): read the feeds again.
      if ([...statuses.keys()].some((id) => !feeds.has(id))) refreshFeeds();
    },
    /** A `platform` event's status. */
    applyStatus(status) {
      if (!putStatus(statuses, status)) return;
      if (!feeds.has(status.platform)) {
        refreshFeeds();
        return;
      }
      const card = cards.get(status.platform);
      if (card) renderCard(card);
    },
    /** Strings again, after the language changed. */
    render,
  };
}

// ---------------------------------------------------------------------------------------------
// The moderator console's panel

/**
 * Mounts the read-only panel in `section` (#platforms, holding #platforms-list and
 * #platforms-empty). `onChange()` hears every change of the statuses (the comments show the
 * outcomes of what was sent back). Returns {applyMeeting, applyStatus, render, outcomes()}.
 */
export function mountPlatformStatus({ meetingId, section, getMeeting = () => null, onChange = () => {} }) {
  const list = section.querySelector('#platforms-list');
  const empty = section.querySelector('#platforms-empty');
  const statuses = new Map();
  const follows = new Map(); // platform → follow, when the feed list could be read
  const items = new Map();
  let outcomes = actionOutcomes(statuses);

  function itemOf(platformId) {
    let item = items.get(platformId);
    if (item) return item;
    const element = make('li', 'restream-item platform-item');
    element.dataset.platform = platformId;
    const heading = make('div', 'restream-item__heading');
    const name = make('strong');
    const badge = make('span', 'badge');
    heading.append(name, badge);
    const follow = make('p', 'hint platform-item__follow');
    const state = make('p', 'platform-item__state');
    state.setAttribute('aria-live', 'polite');
    state.setAttribute('aria-atomic', 'true');
    const facts = make('dl', 'facts platform-facts');
    element.append(heading, follow, state, facts);
    item = { element, name, badge, follow, state, facts };
    items.set(platformId, item);
    return item;
  }

  function render() {
    const shown = orderedStatuses(statuses);
    const timeZone = getMeeting()?.time_zone;
    const elements = shown.map((status) => {
      const item = itemOf(status.platform);
      const view = statusView(status);
      item.element.dataset.state = view.state;
      setText(item.name, platformName(status.platform));
      stateBadge(item.badge, view);
      const follow = follows.get(status.platform);
      const described = follow ? describeFollow(follow) : null;
      setText(item.follow, described ? t(described.key, described.params) : '');
      item.follow.hidden = !described;
      const advice = view.state === 'unauthorized' ? ` ${t('platforms.advice.unauthorizedConsole')}` : '';
      setText(item.state, `${t('platforms.reader.state', { state: t(view.key) })}${advice}`);
      fillFacts(item.facts, statusRows(view, timeZone));
      return item.element;
    });
    const current = [...list.children];
    if (current.length !== elements.length || current.some((element, index) => element !== elements[index])) {
      list.replaceChildren(...elements);
    }
    empty.hidden = elements.length > 0;
    section.hidden = elements.length === 0;
  }

  function changed() {
    outcomes = actionOutcomes(statuses);
    render();
    onChange();
  }

  async function loadFeeds() {
    try {
      const answer = await api.get(`/api/meetings/${meetingId}/platforms`);
      let any = false;
      for (const feed of Array.isArray(answer?.platforms) ? answer.platforms : []) {
        if (!feed || typeof feed !== 'object') continue;
        follows.set(feed.platform, feed.follow);
        if (putStatus(statuses, feed.status)) any = true;
      }
      if (any) changed();
      else render();
    } catch {
      // The statuses still come with the meeting and its events.
    }
  }

  loadFeeds();

  return {
    applyMeeting(meeting) {
      const before = statuses.size;
      if (putMeetingStatuses(statuses, meeting)) {
        if (statuses.size !== before) loadFeeds();
        changed();
      }
    },
    applyStatus(status) {
      const known = statuses.has(status?.platform);
      if (!putStatus(statuses, status)) return;
      if (!known) loadFeeds();
      changed();
    },
    render,
    /** The outcomes of what was sent back: {comments: Map, viewers: Map}. */
    outcomes: () => outcomes,
  };
}
