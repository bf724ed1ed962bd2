// Owns the administration page (/admin.html), for admins only: everyone else gets a notice (with
// a way to sign in). Three parts:
// - accounts: the staff list (role, the territory an akim governs, disabled or not, a link to
//   each akim's yearly calendar), a form that creates an account, and one that edits the chosen
//   account, sending only what changed (a new password, a role change and disabling end the
//   account's sign-ins on the server);
// - territories: the tree (each under its parent, collapsible, searched by name or KATO code), a
//   form that adds one, and a CSV or JSON import, whose refusal lists every bad row;
// - the rule set in force (GET /api/rules), read only, with a note that the server's
//   administrator switches it with `rules.file` in the configuration.
// Every text from the API goes in with textContent; the server's problems are translated by
// their `code`, falling back to their `detail`.

import { ApiProblem, api, describeError, fetchSession } from './api.js';
import { formatNumber, formatPercent, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import adminStrings from './strings/admin.js';
import navStrings from './strings/admin-nav.js';
import {
  ROLES,
  TERRITORY_KINDS,
  accountChanges,
  importContentType,
  newAccountBody,
  newAccountProblems,
  readMonthDay,
  readShare,
  searchTerritories,
  territoryBody,
  territoryProblems,
  territoryTree,
} from './admin-model.js';
import { ALMATY, calendarPageUrl, yearIn } from './calendar-model.js';
import { stackedTable } from './calendar-view.js';
import { formatMonthDay } from './locale-format.js';
import { fillCodeSelect, fillTerritorySelect, make } from './register-view.js';

registerStrings(adminStrings);
registerStrings(navStrings);

const byId = (id) => document.getElementById(id);
const currentYear = yearIn(ALMATY);
const SEARCH_DELAY_MS = 150;

let gate = 'loading'; // loading | signedOut | denied | admin | failed
let me = null; // the signed-in account
let accounts = null; // null until loaded
let territories = [];
let territoriesLoaded = false;
let rules = null;
let editingId = null; // the account in the edit form
const openTerritories = new Set(); // ids of expanded territories (outside a search)
let searchQuery = '';
let searchTimer = null;
const errors = { accounts: '', territories: '', rules: '' };

// ---------------------------------------------------------------------------------------------
// Small helpers

function capitalize(text) {
  const value = String(text ?? '');
  return value.charAt(0).toLocaleUpperCase() + value.slice(1);
}

function roleName(role) {
  return t(`admin.role.${role}`);
}

function kindName(kind) {
  const key = `admin.kind.${kind}`;
  const text = t(key);
  return text === key ? String(kind) : text;
}

function territoryById(id) {
  return territories.find((territory) => territory.id === id) ?? null;
}

function territoryLabel(territory) {
  return pickLocalized(territory.name) || territory.kato;
}

/** The reader's text for a failed call: by its problem code in `context`, then generally. */
function problemText(error, context) {
  if (error instanceof ApiProblem) {
    const code = error.problem.code;
    for (const key of [`admin.error.${context}.${code}`, `admin.error.${code}`]) {
      const text = t(key);
      if (text !== key) return text;
    }
  }
  return describeError(error);
}

/** Marks the form's fields named in `problems` invalid (and the others valid); returns their messages. */
function markProblems(form, problems, fieldIds) {
  for (const [field, id] of Object.entries(fieldIds)) {
    const invalid = problems.some((problem) => problem.field === field);
    byId(id)?.setAttribute('aria-invalid', invalid ? 'true' : 'false');
  }
  const first = problems.map((problem) => fieldIds[problem.field]).find(Boolean);
  if (first) byId(first)?.focus();
  return problems.map((problem) => t(`admin.problem.${problem.code}`));
}

function problemsMessage(messages) {
  return `${t('admin.problems', { n: messages.length })} ${messages.join(' ')}`;
}

const focusBeforeBusy = new WeakMap();

/**
 * Disables a form's buttons while its call runs. A disabled button loses the focus, so the
 * focus goes back to it afterwards unless the page moved it elsewhere meanwhile.
 */
function setBusy(form, busy) {
  if (busy) focusBeforeBusy.set(form, document.activeElement);
  for (const button of form.querySelectorAll('button')) button.disabled = busy;
  form.setAttribute('aria-busy', busy ? 'true' : 'false');
  if (!busy) {
    const before = focusBeforeBusy.get(form);
    focusBeforeBusy.delete(form);
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (lost && before && form.contains(before) && !form.hidden) before.focus();
  }
}

/** An import's answer: JSON in, a problem thrown as ApiProblem (as api.js does for JSON calls). */
async function postFile(path, file, contentType) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': contentType, Accept: 'application/json, application/problem+json' },
      body: file,
    });
  } catch {
    throw new ApiProblem({ type: 'about:blank', title: 'Network error', status: 0, detail: '', code: 'network' });
  }
  const text = await response.text().catch(() => '');
  let payload = null;
  try {
    payload = text === '' ? null : JSON.parse(text);
  } catch {
    payload = null;
  }
  if (response.ok) return payload;
  throw new ApiProblem({
    type: 'about:blank',
    title: response.statusText,
    detail: '',
    ...(payload && typeof payload === 'object' ? payload : {}),
    status: response.status,
  });
}

/** A 401 on any call: the sign-in ended (or the account was disabled); show the notice. */
function checkSignedOut(error) {
  if (error instanceof ApiProblem && error.status === 401) {
    gate = 'signedOut';
    me = null;
    renderGate();
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The gate: admins only

function renderGate() {
  const message = byId('page-message');
  message.hidden = gate !== 'loading' && gate !== 'failed';
  message.textContent = gate === 'failed' ? t('common.loadFailed') : t('common.loading');
  const notice = byId('admin-gate');
  notice.hidden = gate !== 'signedOut' && gate !== 'denied';
  if (gate === 'signedOut') byId('admin-gate-text').textContent = t('admin.signedOut');
  if (gate === 'denied') {
    byId('admin-gate-text').textContent = t('admin.denied', {
      name: me?.display_name || me?.login || '',
      role: roleName(me?.role),
    });
  }
  byId('admin-signin').parentElement.hidden = gate !== 'signedOut';
  byId('admin').hidden = gate !== 'admin';
}

// ---------------------------------------------------------------------------------------------
// Accounts

function renderAccounts() {
  byId('accounts-error').textContent = errors.accounts;
  const summary = byId('accounts-summary');
  summary.textContent = accounts === null ? t('common.loading') : t('admin.accounts.count', { n: formatNumber(accounts.length) });
  const box = byId('accounts-table');
  if (accounts === null) {
    box.replaceChildren();
    return;
  }
  const columns = [
    t('admin.accounts.col.login'),
    t('admin.accounts.col.name'),
    t('admin.accounts.col.role'),
    t('admin.accounts.col.territory'),
    t('admin.accounts.col.state'),
    t('admin.accounts.col.actions'),
  ];
  const rows = accounts.map((account) => ({
    data: { account: account.id, role: account.role, disabled: account.disabled },
    className: account.disabled ? 'account-row account-row--disabled' : 'account-row',
    cells: [
      make('span', 'account-login', account.login),
      nameCell(account),
      capitalize(roleName(account.role)),
      territoryCell(account),
      stateBadge(account),
      actionsCell(account),
    ],
  }));
  // A new table replaces the old one: the focus stays on the same account's button.
  const focused = box.contains(document.activeElement) ? document.activeElement.dataset.edit : undefined;
  box.replaceChildren(stackedTable({ caption: t('admin.accounts.caption'), columns, rows, className: 'accounts-table' }));
  if (focused !== undefined) box.querySelector(`[data-edit="${focused}"]`)?.focus();
}

function nameCell(account) {
  const box = make('span', 'account-name', account.display_name);
  if (me && account.id === me.id) box.append(' ', make('span', 'account-you', t('admin.accounts.you')));
  return box;
}

function territoryCell(account) {
  if (account.territory_id === null || account.territory_id === undefined) {
    return make('span', 'muted', account.role === 'akim' ? t('admin.accounts.noTerritory') : '—');
  }
  const territory = territoryById(account.territory_id);
  if (!territory) return make('span', null, t('admin.territories.number', { id: account.territory_id }));
  const box = make('span', 'account-territory');
  box.append(
    make('span', null, territoryLabel(territory)),
    ' ',
    make('span', 'territory__kato', t('admin.territories.kato', { kato: territory.kato })),
  );
  return box;
}

function stateBadge(account) {
  const badge = make(
    'span',
    `badge ${account.disabled ? 'badge--cancelled' : 'badge--live'}`,
    t(account.disabled ? 'admin.accounts.disabled' : 'admin.accounts.active'),
  );
  badge.dataset.state = account.disabled ? 'disabled' : 'active';
  return badge;
}

function actionsCell(account) {
  const box = make('span', 'account-actions');
  const edit = make('button', 'button button--quiet button--small', t('admin.accounts.edit'));
  edit.type = 'button';
  edit.dataset.edit = String(account.id);
  edit.setAttribute('aria-label', t('admin.accounts.editLabel', { login: account.login }));
  edit.setAttribute('aria-controls', 'account-edit');
  edit.setAttribute('aria-expanded', editingId === account.id ? 'true' : 'false');
  edit.addEventListener('click', () => openEdit(account.id));
  box.append(edit);
  if (account.role === 'akim') {
    const calendar = make('a', 'account-calendar', t('admin.accounts.calendar', { year: currentYear }));
    calendar.href = calendarPageUrl(account.id, currentYear);
    calendar.setAttribute('aria-label', t('admin.accounts.calendarLabel', { name: account.display_name, year: currentYear }));
    box.append(calendar);
  }
  return box;
}

function fillRoleSelect(select, selected) {
  fillCodeSelect(select, ROLES, (role) => capitalize(roleName(role)), null, selected);
}

function fillAccountSelects() {
  fillRoleSelect(byId('create-role'), byId('create-role').value || 'akim');
  fillTerritorySelect(byId('create-territory'), territories, 'admin.field.chooseTerritory');
  const editing = accounts?.find((account) => account.id === editingId);
  if (editing) {
    fillRoleSelect(byId('edit-role'), byId('edit-role').value || editing.role);
    fillTerritorySelect(byId('edit-territory'), territories, 'admin.field.chooseTerritory');
  }
  showTerritoryFields();
}

/** The territory is asked for only when the role is akim. */
function showTerritoryFields() {
  byId('create-territory-field').hidden = byId('create-role').value !== 'akim';
  byId('edit-territory-field').hidden = byId('edit-role').value !== 'akim';
}

function openEdit(id) {
  const account = accounts?.find((entry) => entry.id === id);
  if (!account) return;
  editingId = id;
  const form = byId('account-edit');
  form.hidden = false;
  byId('account-edit-error').textContent = '';
  byId('accounts-status').textContent = '';
  byId('account-edit-heading').textContent = t('admin.edit.title', { login: account.login });
  byId('edit-display-name').value = account.display_name;
  fillRoleSelect(byId('edit-role'), account.role);
  byId('edit-role').value = account.role;
  fillTerritorySelect(
    byId('edit-territory'),
    territories,
    'admin.field.chooseTerritory',
    account.territory_id === null ? '' : String(account.territory_id),
  );
  byId('edit-disabled').checked = account.disabled;
  byId('edit-password').value = '';
  for (const field of form.querySelectorAll('[aria-invalid]')) field.setAttribute('aria-invalid', 'false');
  renderEditHint(account);
  showTerritoryFields();
  renderAccounts(); // the edit buttons' aria-expanded
  form.scrollIntoView({ block: 'start' });
  byId('account-edit-heading').focus();
}

function renderEditHint(account) {
  const hint = [t('admin.field.territoryHint')];
  if (account?.territory_id !== null && account?.territory_id !== undefined) hint.push(t('admin.field.territoryKept'));
  byId('edit-territory-hint').textContent = hint.join(' ');
}

function closeEdit({ focusRow = true } = {}) {
  const id = editingId;
  editingId = null;
  byId('account-edit').hidden = true;
  renderAccounts();
  if (focusRow && id !== null) byId('accounts-table').querySelector(`[data-edit="${id}"]`)?.focus();
}

async function saveEdit(event) {
  event.preventDefault();
  const form = byId('account-edit');
  const account = accounts?.find((entry) => entry.id === editingId);
  if (!account) return;
  const errorBox = byId('account-edit-error');
  errorBox.textContent = '';
  const { body, problems } = accountChanges(account, {
    displayName: byId('edit-display-name').value,
    role: byId('edit-role').value,
    disabled: byId('edit-disabled').checked,
    territoryId: byId('edit-role').value === 'akim' ? byId('edit-territory').value : '',
    password: byId('edit-password').value,
  });
  const messages = markProblems(form, problems, {
    display_name: 'edit-display-name',
    role: 'edit-role',
    territory_id: 'edit-territory',
    password: 'edit-password',
  });
  if (messages.length) {
    errorBox.textContent = problemsMessage(messages);
    return;
  }
  if (Object.keys(body).length === 0) {
    byId('accounts-status').textContent = t('admin.edit.nothing');
    closeEdit();
    return;
  }
  setBusy(form, true);
  try {
    const saved = await api.patch(`/api/accounts/${encodeURIComponent(account.id)}`, body);
    accounts = accounts.map((entry) => (entry.id === saved.id ? saved : entry));
    byId('edit-password').value = '';
    byId('accounts-status').textContent = t('admin.edit.done', { login: saved.login });
    closeEdit();
    loadAccounts(); // others may have changed too
  } catch (error) {
    if (!checkSignedOut(error)) errorBox.textContent = problemText(error, 'account');
  } finally {
    setBusy(form, false);
  }
}

async function createAccount(event) {
  event.preventDefault();
  const form = byId('account-create');
  const errorBox = byId('account-create-error');
  errorBox.textContent = '';
  byId('accounts-status').textContent = '';
  const values = {
    login: byId('create-login').value,
    displayName: byId('create-display-name').value,
    role: byId('create-role').value,
    password: byId('create-password').value,
    territoryId: byId('create-territory').value,
  };
  const messages = markProblems(form, newAccountProblems(values), {
    login: 'create-login',
    display_name: 'create-display-name',
    role: 'create-role',
    password: 'create-password',
    territory_id: 'create-territory',
  });
  if (messages.length) {
    errorBox.textContent = problemsMessage(messages);
    return;
  }
  setBusy(form, true);
  try {
    const created = await api.post('/api/accounts', newAccountBody(values));
    accounts = [...(accounts ?? []).filter((entry) => entry.id !== created.id), created];
    form.reset();
    fillAccountSelects();
    byId('create-role').value = values.role;
    showTerritoryFields();
    byId('accounts-status').textContent = t('admin.create.done', { login: created.login });
    renderAccounts();
    loadAccounts();
  } catch (error) {
    if (!checkSignedOut(error)) {
      errorBox.textContent = problemText(error, 'account');
      const field = { invalid_login: 'create-login', already_taken: 'create-login', weak_password: 'create-password', missing_reference: 'create-territory', invalid_display_name: 'create-display-name' }[error?.problem?.code];
      if (field) {
        byId(field).setAttribute('aria-invalid', 'true');
        byId(field).focus();
      }
    }
  } finally {
    setBusy(form, false);
  }
}

async function loadAccounts() {
  try {
    const answer = await api.get('/api/accounts');
    accounts = Array.isArray(answer?.accounts) ? answer.accounts : [];
    errors.accounts = '';
  } catch (error) {
    if (checkSignedOut(error)) return;
    errors.accounts = problemText(error, 'account');
  }
  renderAccounts();
}

// ---------------------------------------------------------------------------------------------
// Territories

function renderTerritories() {
  byId('territories-error').textContent = errors.territories;
  const tree = byId('territory-tree');
  const summary = byId('territories-summary');
  if (!territoriesLoaded) {
    summary.textContent = t('common.loading');
    tree.replaceChildren();
    return;
  }
  const search = searchTerritories(territories, searchQuery);
  if (territories.length === 0) summary.textContent = t('admin.territories.empty');
  else if (search.all) summary.textContent = t('admin.territories.count', { n: formatNumber(territories.length) });
  else if (search.matches.size === 0) summary.textContent = t('admin.territories.none');
  else {
    summary.textContent = t('admin.territories.found', {
      n: formatNumber(search.matches.size),
      total: formatNumber(territories.length),
    });
  }
  byId('territories-expand').disabled = !search.all;
  byId('territories-collapse').disabled = !search.all;
  const forest = territoryTree(territories, territoryLabel);
  const list = treeList(forest, search, 0);
  list.setAttribute('aria-label', t('admin.territories.tree'));
  tree.replaceChildren(list);
}

function treeList(nodes, search, depth) {
  const list = make('ul', depth === 0 ? 'territory-tree' : 'territory-tree__children');
  for (const node of nodes) {
    const { territory } = node;
    if (!search.shown.has(territory.id)) continue;
    const item = make('li', 'territory-tree__item');
    item.dataset.territory = String(territory.id);
    item.dataset.kato = territory.kato;
    const label = territoryLine(territory, !search.all && search.matches.has(territory.id));
    const children = node.children.filter((child) => search.shown.has(child.territory.id));
    if (children.length > 0) {
      const details = make('details', 'territory-tree__branch');
      details.open = search.all ? openTerritories.has(territory.id) : true;
      const summary = make('summary', 'territory-tree__summary');
      summary.append(label);
      details.append(summary, treeList(children, search, depth + 1));
      details.addEventListener('toggle', () => {
        if (!search.all) return;
        if (details.open) openTerritories.add(territory.id);
        else openTerritories.delete(territory.id);
      });
      item.append(details);
    } else {
      const leaf = make('div', 'territory-tree__leaf');
      leaf.append(label);
      item.append(leaf);
    }
    list.append(item);
  }
  return list;
}

function territoryLine(territory, match) {
  const line = make('span', match ? 'territory territory--match' : 'territory');
  line.append(
    make('span', 'territory__name', territoryLabel(territory)),
    ' ',
    make('span', 'territory__meta', `${kindName(territory.kind)} · ${t('admin.territories.kato', { kato: territory.kato })}`),
  );
  return line;
}

function fillTerritoryForm() {
  const kind = byId('territory-kind');
  fillCodeSelect(kind, TERRITORY_KINDS, (code) => capitalize(kindName(code)), 'admin.territory.chooseKind');
  fillTerritorySelect(byId('territory-parent'), territories, 'admin.territory.noParent');
}

/** Opens every territory above `id`, so that it is seen in the tree. */
function revealTerritory(id) {
  let current = territoryById(territoryById(id)?.parent_id);
  const seen = new Set();
  while (current && !seen.has(current.id)) {
    seen.add(current.id);
    openTerritories.add(current.id);
    current = territoryById(current.parent_id);
  }
}

async function loadTerritoryList() {
  try {
    const answer = await api.get('/api/territories');
    territories = Array.isArray(answer?.territories) ? answer.territories : [];
    if (!territoriesLoaded) {
      // At first the top level is open: its children show, deeper levels are a click away.
      for (const territory of territories) {
        if (territory.parent_id === null || !territories.some((other) => other.id === territory.parent_id)) {
          openTerritories.add(territory.id);
        }
      }
    }
    territoriesLoaded = true;
    errors.territories = '';
  } catch (error) {
    errors.territories = problemText(error, 'territory');
  }
  renderTerritories();
  fillTerritoryForm();
  fillAccountSelects();
  renderAccounts(); // territory names in the accounts list
}

async function createTerritory(event) {
  event.preventDefault();
  const form = byId('territory-create');
  const errorBox = byId('territory-create-error');
  const status = byId('territory-create-status');
  errorBox.textContent = '';
  status.textContent = '';
  const values = {
    kato: byId('territory-kato').value,
    kind: byId('territory-kind').value,
    name: { kk: byId('territory-name-kk').value, ru: byId('territory-name-ru').value, en: byId('territory-name-en').value },
    parentId: byId('territory-parent').value,
  };
  const messages = markProblems(form, territoryProblems(values), {
    kato: 'territory-kato',
    kind: 'territory-kind',
    name: 'territory-name-ru',
  });
  if (messages.length) {
    errorBox.textContent = problemsMessage(messages);
    return;
  }
  setBusy(form, true);
  try {
    const created = await api.post('/api/territories', territoryBody(values));
    form.reset();
    status.textContent = t('admin.territory.done', { name: territoryLabel(created) });
    territories = [...territories, created];
    revealTerritory(created.id);
    await loadTerritoryList();
    revealTerritory(created.id);
    renderTerritories();
  } catch (error) {
    if (!checkSignedOut(error)) {
      errorBox.textContent = problemText(error, 'territory');
      const field = { invalid_kato: 'territory-kato', already_taken: 'territory-kato', invalid_name: 'territory-name-ru', missing_reference: 'territory-parent' }[error?.problem?.code];
      if (field) {
        byId(field).setAttribute('aria-invalid', 'true');
        byId(field).focus();
      }
    }
  } finally {
    setBusy(form, false);
  }
}

async function importTerritories(event) {
  event.preventDefault();
  const form = byId('territory-import');
  const input = byId('territory-import-file');
  const errorBox = byId('territory-import-error');
  const status = byId('territory-import-status');
  const problems = byId('territory-import-problems');
  const problemList = byId('territory-import-problem-list');
  errorBox.textContent = '';
  status.textContent = '';
  problems.hidden = true;
  problemList.replaceChildren();
  const file = input.files?.[0];
  if (!file) {
    input.setAttribute('aria-invalid', 'true');
    errorBox.textContent = t('admin.import.noFile');
    input.focus();
    return;
  }
  const contentType = importContentType(file.name, file.type);
  if (!contentType) {
    input.setAttribute('aria-invalid', 'true');
    errorBox.textContent = t('admin.import.badType');
    input.focus();
    return;
  }
  input.setAttribute('aria-invalid', 'false');
  setBusy(form, true);
  try {
    const result = await postFile('/api/territories/import', file, contentType);
    status.textContent = t('admin.import.done', {
      created: formatNumber(result?.created ?? 0),
      present: formatNumber(result?.already_present ?? 0),
    });
    status.dataset.created = String(result?.created ?? 0);
    status.dataset.present = String(result?.already_present ?? 0);
    input.value = '';
    await loadTerritoryList();
  } catch (error) {
    if (checkSignedOut(error)) return;
    const rows = Array.isArray(error?.problem?.errors) ? error.problem.errors : [];
    if (error?.problem?.code === 'import_rejected' && rows.length > 0) {
      errorBox.textContent = t('admin.import.rejected', { n: formatNumber(rows.length) });
      problemList.replaceChildren(
        ...rows.map((row) => {
          const item = make('li', null, t('admin.import.rowError', { row: row.row, field: row.field, message: row.message }));
          item.dataset.row = String(row.row);
          item.dataset.field = String(row.field);
          return item;
        }),
      );
      problems.hidden = false;
    } else {
      errorBox.textContent = problemText(error, 'import');
    }
    input.setAttribute('aria-invalid', 'true');
  } finally {
    setBusy(form, false);
  }
}

// ---------------------------------------------------------------------------------------------
// The rule set

function renderRules() {
  byId('rules-error').textContent = errors.rules;
  const body = byId('rules-body');
  if (rules === null) {
    body.replaceChildren(...(errors.rules ? [] : [make('p', 'notice', t('common.loading'))]));
    return;
  }
  const meeting = rules.meeting ?? {};
  const issues = rules.issues ?? {};
  const calendar = rules.calendar ?? {};
  const share = readShare(meeting.presentation_share);

  const facts = (id, entries) => {
    const list = make('dl', 'facts rules-facts');
    list.id = id;
    for (const [key, value, factId] of entries) {
      const row = make('div');
      const dd = make('dd', null, value);
      if (factId) dd.id = factId;
      row.append(make('dt', null, t(key)), dd);
      list.append(row);
    }
    return list;
  };
  const heading = (key) => make('h3', 'rules-heading', t(key));

  const shareText = share
    ? t('admin.rules.shareValue', { share: meeting.presentation_share, percent: formatPercent(share.percent) })
    : String(meeting.presentation_share ?? '—');

  body.replaceChildren(
    facts('rules-set', [
      ['admin.rules.id', t('admin.rules.idValue', { id: rules.id ?? '—', version: rules.version ?? '—' }), 'rules-id'],
      ['admin.rules.source', rules.source ?? '—', 'rules-source'],
    ]),
    heading('admin.rules.meetingTitle'),
    facts('rules-meeting', [
      ['admin.rules.share', shareText, 'rules-share'],
      [
        'admin.rules.minutes',
        t('admin.rules.minutesValue', { min: meeting.min_planned_minutes ?? '—', max: meeting.max_planned_minutes ?? '—' }),
        'rules-minutes',
      ],
    ]),
    heading('admin.rules.issuesTitle'),
    facts('rules-issues', [
      ['admin.rules.results', t('admin.rules.resultsValue', { n: issues.results_within_days ?? '—' }), 'rules-results'],
      ['admin.rules.progress', t('admin.rules.progressValue', { n: issues.progress_day_of_following_month ?? '—' }), 'rules-progress'],
      ['admin.rules.central', monthDays(issues.central_collection_days), 'rules-central'],
    ]),
    heading('admin.rules.calendarTitle'),
    facts('rules-calendar', [
      ['admin.rules.approving', kindList(calendar.approving_akims_of), 'rules-approving'],
      ['admin.rules.approval', everyYear(calendar.approval_day), 'rules-approval'],
      ['admin.rules.submission', everyYear(calendar.submission_day), 'rules-submission'],
      ['admin.rules.forwarding', everyYear(calendar.forwarding_day), 'rules-forwarding'],
    ]),
    heading('admin.rules.coverageTitle'),
    coverageTable(calendar.coverage),
    heading('admin.rules.announceTitle'),
    announcementTable(calendar.announcement),
  );
}

function monthDay(text) {
  const day = readMonthDay(text);
  return day ? formatMonthDay(day) : String(text ?? '—');
}

function monthDays(list) {
  const days = Array.isArray(list) ? list : [];
  return days.length ? days.map((day) => t('admin.rules.everyYear', { date: monthDay(day) })).join('; ') : '—';
}

function everyYear(text) {
  return text ? t('admin.rules.everyYear', { date: monthDay(text) }) : '—';
}

function kindList(kinds) {
  const list = Array.isArray(kinds) ? kinds : [];
  return list.length ? list.map(kindName).join(', ') : '—';
}

function coverageTable(coverage) {
  const rows = (Array.isArray(coverage) ? coverage : []).map((rule, index) => ({
    data: { rule: index, period: rule.period },
    cells: [
      capitalize(kindList(rule.akim_of)),
      rule.covers?.length ? kindList(rule.covers) : t('admin.rules.ownTerritory'),
      t(`admin.rules.period.${rule.period}`) === `admin.rules.period.${rule.period}` ? String(rule.period) : t(`admin.rules.period.${rule.period}`),
      formatNumber(rule.min_meetings ?? 0),
    ],
  }));
  const box = make('div', 'table-box');
  const table = stackedTable({
    caption: t('admin.rules.coverageCaption'),
    columns: [t('admin.rules.col.akimOf'), t('admin.rules.col.covers'), t('admin.rules.col.period'), t('admin.rules.col.min')],
    rows,
    className: 'rules-table',
  });
  table.id = 'rules-coverage';
  box.append(table);
  return box;
}

function announcementTable(announcement) {
  const rows = (Array.isArray(announcement) ? announcement : []).map((rule, index) => ({
    data: { rule: index, lead: rule.lead_days },
    cells: [capitalize(kindList(rule.akim_of)), t('admin.rules.leadDays', { n: rule.lead_days ?? '—' })],
  }));
  const box = make('div', 'table-box');
  const table = stackedTable({
    caption: t('admin.rules.announceCaption'),
    columns: [t('admin.rules.col.akimOf'), t('admin.rules.col.lead')],
    rows,
    className: 'rules-table',
  });
  table.id = 'rules-announcement';
  box.append(table);
  return box;
}

async function loadRules() {
  try {
    rules = await api.get('/api/rules');
    errors.rules = '';
  } catch (error) {
    errors.rules = describeError(error);
  }
  renderRules();
}

// ---------------------------------------------------------------------------------------------
// Start

function renderAll() {
  renderGate();
  byId('section-nav').setAttribute('aria-label', t('admin.sections'));
  if (gate !== 'admin') return;
  fillAccountSelects();
  fillTerritoryForm();
  const editing = accounts?.find((account) => account.id === editingId);
  if (editing) {
    byId('account-edit-heading').textContent = t('admin.edit.title', { login: editing.login });
    renderEditHint(editing);
  }
  renderAccounts();
  renderTerritories();
  renderRules();
}

function wire() {
  byId('account-create').addEventListener('submit', createAccount);
  byId('account-edit').addEventListener('submit', saveEdit);
  byId('account-edit-cancel').addEventListener('click', () => closeEdit());
  byId('account-edit').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeEdit();
  });
  byId('create-role').addEventListener('change', showTerritoryFields);
  byId('edit-role').addEventListener('change', showTerritoryFields);
  byId('territory-create').addEventListener('submit', createTerritory);
  byId('territory-import').addEventListener('submit', importTerritories);
  byId('territory-import-file').addEventListener('change', () => {
    byId('territory-import-file').setAttribute('aria-invalid', 'false');
    byId('territory-import-error').textContent = '';
  });
  byId('territory-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      searchQuery = byId('territory-search').value;
      renderTerritories();
    }, SEARCH_DELAY_MS);
  });
  byId('territories-expand').addEventListener('click', () => {
    for (const territory of territories) {
      if (territories.some((other) => other.parent_id === territory.id)) openTerritories.add(territory.id);
    }
    renderTerritories();
  });
  byId('territories-collapse').addEventListener('click', () => {
    openTerritories.clear();
    renderTerritories();
  });
}

async function start() {
  setUpLanguageSwitch(renderAll);
  wire();
  renderAll();
  try {
    me = (await fetchSession())?.account ?? null;
    gate = me === null ? 'signedOut' : me.role === 'admin' ? 'admin' : 'denied';
  } catch {
    gate = 'failed';
  }
  renderAll();
  if (gate !== 'admin') return;
  await Promise.all([loadAccounts(), loadTerritoryList(), loadRules()]);
  renderAll();
}

start();
