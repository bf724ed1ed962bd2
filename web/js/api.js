// Owns talking to the JSON API: JSON in and out, the same-origin session cookie, and turning
// RFC 9457 problem responses (and network failures) into thrown ApiProblem errors.

import { t } from './i18n.js';

/** An API call that did not succeed; `problem` is {type, title, status, detail, code}. */
export class ApiProblem extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = 'ApiProblem';
    this.problem = problem;
    this.status = problem.status;
  }
}

async function request(method, path, body, { token = null } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json, application/problem+json' },
  };
  // A viewer's bearer token, for the few calls made as a viewer rather than with the cookie.
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    // status 0 marks "never reached the server", so the page can say so in the reader's language.
    throw new ApiProblem({ type: 'about:blank', title: 'Network error', status: 0, detail: '', code: 'network' });
  }
  const payload = await readJson(response);
  if (response.ok) return payload;
  throw new ApiProblem({
    type: 'about:blank',
    title: response.statusText,
    detail: '',
    ...(payload && typeof payload === 'object' ? payload : {}),
    status: response.status,
  });
}

// Bodies may be empty (204) or not JSON at all (a proxy's error page); neither should throw here.
async function readJson(response) {
  const text = await response.text().catch(() => '');
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export const api = {
  get: (path, options) => request('GET', path, undefined, options),
  post: (path, body, options) => request('POST', path, body, options),
  put: (path, body, options) => request('PUT', path, body, options),
  patch: (path, body, options) => request('PATCH', path, body, options),
  delete: (path, options) => request('DELETE', path, undefined, options),
};

/** The signed-in session {account, expires_at}, or null when not signed in. */
export async function fetchSession() {
  try {
    return await api.get('/api/session');
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}

/** Text to show the reader for a failed call: the server's detail when it gave one. */
export function describeError(error) {
  if (error instanceof ApiProblem) {
    if (error.problem.detail) return error.problem.detail;
    if (error.status === 0) return t('error.network');
  }
  return t('error.generic');
}
