// Owns the sign-in page: the login form, sign-out for a signed-in account, and the safe
// return to the page named in ?next=.

import { api, describeError, fetchSession } from './api.js';
import { registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import signinStrings from './strings/signin.js';

registerStrings(signinStrings);

const form = document.getElementById('signin-form');
const signedInSection = document.getElementById('signed-in');
const signOutButton = document.getElementById('sign-out');
const notice = document.getElementById('signin-notice');
const errorMessage = document.getElementById('signin-error');

let account = null;
let noticeKey = null;

/** Where to go after signing in: only a path on this site, never another origin. */
function returnPath() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  if (!next.startsWith('/')) return '/';
  // Let the browser resolve it (it strips tabs and reads a backslash as a slash, so "/\t/host"
  // is "//host"), then keep it only if it stays on this origin.
  try {
    const target = new URL(next, location.origin);
    return target.origin === location.origin ? `${target.pathname}${target.search}${target.hash}` : '/';
  } catch {
    return '/';
  }
}

function render() {
  const signedIn = account !== null;
  signedInSection.hidden = !signedIn;
  form.hidden = signedIn;
  if (signedIn) {
    document.getElementById('signed-in-as').textContent = t('signin.signedInAs', {
      name: account.display_name || account.login,
    });
  }
  notice.hidden = noticeKey === null;
  notice.textContent = noticeKey ? t(noticeKey) : '';
}

function setBusy(busy) {
  for (const button of document.querySelectorAll('button')) button.disabled = busy;
}

async function signIn(event) {
  event.preventDefault();
  if (!form.reportValidity()) return;
  errorMessage.textContent = '';
  setBusy(true);
  try {
    await api.post('/api/session', { login: form.elements.login.value, password: form.elements.password.value });
    location.assign(returnPath());
  } catch (error) {
    errorMessage.textContent = describeError(error);
    form.elements.password.value = '';
    form.elements.password.focus();
    setBusy(false);
  }
}

async function signOut() {
  errorMessage.textContent = '';
  setBusy(true);
  try {
    await api.delete('/api/session');
    account = null;
    noticeKey = 'signin.signedOut';
    render();
    form.elements.login.focus();
  } catch (error) {
    errorMessage.textContent = describeError(error);
  } finally {
    setBusy(false);
  }
}

async function start() {
  setUpLanguageSwitch(render);
  form.addEventListener('submit', signIn);
  signOutButton.addEventListener('click', signOut);
  try {
    account = (await fetchSession())?.account ?? null;
  } catch {
    account = null; // if the check fails, offering the form is the useful fallback
  }
  render();
}

start();
