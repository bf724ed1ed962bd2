// The administration page's pure rules, free of the DOM and of the UI language so that Node tests
// (tests/web/admin-model.test.mjs) can check them: the territory tree (children under parents,
// by name) and its search by name or KATO code, what a new account needs before it is sent,
// which fields of an edited account changed (the PATCH body), the content type an import file
// is sent with, and the rule set's month-days and fractions read for display.

export const ROLES = ['admin', 'akim', 'moderator', 'commission'];
export const TERRITORY_KINDS = [
  'oblast',
  'city_of_republican_significance',
  'capital',
  'district',
  'city_of_oblast_significance',
  'city_of_district_significance',
  'city_district',
  'rural_okrug',
  'village',
  'settlement',
  'microdistrict',
];
export const RULE_PERIODS = ['quarter', 'half_year', 'year'];
/** The server's bounds (server/src/http/accounts.rs and auth.rs). */
export const LOGIN_PATTERN = /^[a-z0-9._-]{3,64}$/;
export const MIN_PASSWORD_CHARS = 10;
export const MAX_PASSWORD_CHARS = 256;
export const MAX_DISPLAY_NAME_CHARS = 100;
export const KATO_PATTERN = /^\d{9}$/;

// ---------------------------------------------------------------------------------------------
// Territories

/**
 * The territories as a forest: [{territory, children: [...]}], each level ordered by name
 * (`nameOf(territory)`), then KATO code. A territory whose parent is unknown is a root; a loop
 * in bad data cannot hang the page (each territory is placed once).
 */
export function territoryTree(territories, nameOf) {
  const list = Array.isArray(territories) ? territories : [];
  const known = new Set(list.map((territory) => territory.id));
  const children = new Map();
  for (const territory of list) {
    const parent = known.has(territory.parent_id) && territory.parent_id !== territory.id ? territory.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(territory);
  }
  const order = (a, b) => nameOf(a).localeCompare(nameOf(b)) || String(a.kato).localeCompare(String(b.kato));
  const placed = new Set();
  const build = (parent) =>
    [...(children.get(parent) ?? [])]
      .sort(order)
      .filter((territory) => {
        if (placed.has(territory.id)) return false;
        placed.add(territory.id);
        return true;
      })
      .map((territory) => ({ territory, children: build(territory.id) }));
  const roots = build(null);
  // Territories caught in a parent loop never hang from a root: show them at the top.
  const orphans = list.filter((territory) => !placed.has(territory.id)).sort(order);
  for (const territory of orphans) {
    if (placed.has(territory.id)) continue;
    placed.add(territory.id);
    roots.push({ territory, children: build(territory.id) });
  }
  return roots;
}

/** Lower case, `ё` as `е`, spaces squeezed: what a search compares. */
export function normalizeSearch(text) {
  return String(text ?? '')
    .toLocaleLowerCase('ru')
    .replace(/ё/g, 'е')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Whether `territory` answers `query`: a KATO code starting with its digits, or any name containing it. */
export function territoryMatches(territory, query) {
  const wanted = normalizeSearch(query);
  if (wanted === '') return true;
  if (/^\d+$/.test(wanted)) return String(territory.kato ?? '').startsWith(wanted);
  const names = territory.name ?? {};
  return ['kk', 'ru', 'en'].some((language) => normalizeSearch(names[language]).includes(wanted));
}

/**
 * The search of the tree: `matches` (ids answering the query) and `shown` (those and every
 * territory above them, so each match is seen in its place). An empty query shows everything.
 */
export function searchTerritories(territories, query) {
  const list = Array.isArray(territories) ? territories : [];
  if (normalizeSearch(query) === '') {
    const all = new Set(list.map((territory) => territory.id));
    return { matches: all, shown: new Set(all), all: true };
  }
  const byId = new Map(list.map((territory) => [territory.id, territory]));
  const matches = new Set(list.filter((territory) => territoryMatches(territory, query)).map((territory) => territory.id));
  const shown = new Set();
  for (const id of matches) {
    let current = byId.get(id);
    while (current && !shown.has(current.id)) {
      shown.add(current.id);
      current = byId.get(current.parent_id);
    }
  }
  return { matches, shown, all: false };
}

/** The problems of a new territory's form: [{field, code}], empty when it may be sent. */
export function territoryProblems({ kato, kind, name }) {
  const problems = [];
  if (!KATO_PATTERN.test(String(kato ?? '').trim())) problems.push({ field: 'kato', code: 'kato' });
  if (!TERRITORY_KINDS.includes(kind)) problems.push({ field: 'kind', code: 'kind' });
  const names = name ?? {};
  if (!['kk', 'ru', 'en'].some((language) => String(names[language] ?? '').trim() !== '')) {
    problems.push({ field: 'name', code: 'name' });
  }
  return problems;
}

/** The POST /api/territories body of the form's values. */
export function territoryBody({ kato, kind, name, parentId }) {
  return {
    kato: String(kato ?? '').trim(),
    kind,
    name: {
      kk: String(name?.kk ?? '').trim(),
      ru: String(name?.ru ?? '').trim(),
      en: String(name?.en ?? '').trim(),
    },
    parent_id: parentId === '' || parentId === null || parentId === undefined ? null : Number(parentId),
  };
}

/**
 * The content type an import file goes with: `application/json` for a .json file (or one the
 * browser calls JSON), `text/csv` for a .csv or plain text file; null for anything else.
 */
export function importContentType(fileName, mimeType = '') {
  const name = String(fileName ?? '').toLowerCase();
  const type = String(mimeType ?? '').toLowerCase().split(';')[0].trim();
  if (name.endsWith('.json') || type === 'application/json') return 'application/json';
  if (name.endsWith('.csv') || name.endsWith('.txt') || ['text/csv', 'text/plain', 'application/vnd.ms-excel'].includes(type)) {
    return 'text/csv';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Accounts

/** The problems of a new account's form: [{field, code}], empty when it may be sent. */
export function newAccountProblems({ login, displayName, role, password, territoryId }) {
  const problems = [];
  if (!LOGIN_PATTERN.test(String(login ?? '').trim())) problems.push({ field: 'login', code: 'login' });
  const name = String(displayName ?? '').trim();
  if (name === '' || [...name].length > MAX_DISPLAY_NAME_CHARS) problems.push({ field: 'display_name', code: 'display_name' });
  if (!ROLES.includes(role)) problems.push({ field: 'role', code: 'role' });
  const length = [...String(password ?? '')].length;
  if (length < MIN_PASSWORD_CHARS || length > MAX_PASSWORD_CHARS) problems.push({ field: 'password', code: 'password' });
  // An akim governs a territory: it sets their level under the rule set.
  if (role === 'akim' && !territoryId) problems.push({ field: 'territory_id', code: 'territory' });
  return problems;
}

/** The POST /api/accounts body of the form's values. */
export function newAccountBody({ login, displayName, role, password, territoryId }) {
  const body = {
    login: String(login ?? '').trim(),
    display_name: String(displayName ?? '').trim(),
    role,
    password: String(password ?? ''),
  };
  if (role === 'akim' && territoryId) body.territory_id = Number(territoryId);
  return body;
}

/**
 * The PATCH /api/accounts/{id} body: only what differs from `account`, so that a save changes
 * nothing else (and ends the account's sign-ins only when the role, password or disabling
 * asks for it). An empty password means "keep it". The server cannot clear a territory, so a
 * territory is sent only when one is chosen and it differs. Returns {body, problems}.
 */
export function accountChanges(account, { displayName, role, disabled, territoryId, password }) {
  const body = {};
  const problems = [];
  const name = String(displayName ?? '').trim();
  if (name === '' || [...name].length > MAX_DISPLAY_NAME_CHARS) problems.push({ field: 'display_name', code: 'display_name' });
  else if (name !== account.display_name) body.display_name = name;
  if (!ROLES.includes(role)) problems.push({ field: 'role', code: 'role' });
  else if (role !== account.role) body.role = role;
  if (Boolean(disabled) !== Boolean(account.disabled)) body.disabled = Boolean(disabled);
  const territory = territoryId === '' || territoryId === null || territoryId === undefined ? null : Number(territoryId);
  if (role === 'akim' && territory === null && account.territory_id === null) {
    problems.push({ field: 'territory_id', code: 'territory' });
  }
  if (territory !== null && territory !== account.territory_id) body.territory_id = territory;
  const secret = String(password ?? '');
  if (secret !== '') {
    const length = [...secret].length;
    if (length < MIN_PASSWORD_CHARS || length > MAX_PASSWORD_CHARS) problems.push({ field: 'password', code: 'password' });
    else body.password = secret;
  }
  return { body, problems };
}

// ---------------------------------------------------------------------------------------------
// The rule set

/** A rule set's month-day `MM-DD` as {month: 1–12, day}, or null. */
export function readMonthDay(text) {
  const match = /^(\d{2})-(\d{2})$/.exec(String(text ?? ''));
  if (!match) return null;
  const month = Number(match[1]);
  const day = Number(match[2]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  return { month, day };
}

/** A share such as `1/4` as {numerator, denominator, percent}, or null. */
export function readShare(text) {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(text ?? ''));
  if (!match || Number(match[2]) === 0) return null;
  const numerator = Number(match[1]);
  const denominator = Number(match[2]);
  return { numerator, denominator, percent: Math.round((numerator / denominator) * 1000) / 10 };
}
