// The restream panel: where the meeting is broadcast besides Kezdesu's own page.
//
// On the presenter page (`editable`) the akim or an admin adds destinations (platform, URL,
// stream key), switches them on and off and removes them, and sees each one's state. On the
// moderator console it only shows the states, which come with the meeting (`restream`) and its
// event stream (`restream` events). Stream keys are never shown: the server answers with them
// masked. User text is set with textContent only.

import { api, describeError } from './api.js';
import { t } from './i18n.js';
import { make } from './register-view.js';
import {
  PLATFORMS,
  keyProblem,
  newDestinationBody,
  platform,
  prefersH264,
  stateView,
  statusesOf,
  urlProblem,
  withStatus,
} from './restream-model.js';

/**
 * Mounts the panel in `section` (which holds #restream-list, #restream-empty and, when
 * editable, #restream-form). `onDestinations(destinations)` hears every change of the list.
 */
export function mountRestream({ meetingId, section, editable, onDestinations = () => {} }) {
  const byId = (id) => section.querySelector(`#${id}`);
  const path = `/api/meetings/${meetingId}/destinations`;
  let destinations = [];
  let statuses = new Map();
  let readable = editable;
  let error = '';

  function entries() {
    if (readable) return destinations;
    // Those who may not read the destinations see the states the meeting shows.
    return [...statuses.values()].map((status) => ({
      id: status.destination_id,
      platform: status.platform,
      name: status.name,
      enabled: true,
      status,
    }));
  }

  function render() {
    const list = byId('restream-list');
    const shown = entries();
    list.replaceChildren(...shown.map(item));
    byId('restream-empty').hidden = shown.length > 0;
    section.hidden = !editable && shown.length === 0;
    const hint = byId('restream-h264');
    if (hint) hint.hidden = !prefersH264(destinations);
    if (editable) {
      setText(byId('restream-error'), error);
      const url = byId('restream-url');
      const problem = url.value.trim() === '' ? null : urlProblem(byId('restream-platform').value, url.value);
      setText(byId('restream-url-hint'), problem ? t(problem) : '');
    }
  }

  function item(destination) {
    const view = stateView(destination);
    const row = make('li', 'restream-item');
    row.dataset.destination = String(destination.id);
    row.dataset.state = view.state;
    const heading = make('div', 'restream-item__heading');
    heading.append(make('strong', null, t(`restream.platform.${platform(destination.platform).id}`)));
    if (destination.name) heading.append(make('span', 'restream-item__name', destination.name));
    const badge = make('span', `badge badge--restream-${view.tone}`, t(view.key));
    badge.dataset.state = view.state;
    heading.append(badge);
    row.append(heading);
    if (destination.ingest_url) {
      row.append(make('p', 'restream-item__url', `${destination.ingest_url} · ${destination.stream_key}`));
    }
    if (view.retries > 0) row.append(make('p', 'hint', t('restream.retries', { n: view.retries })));
    if (view.error) row.append(make('p', 'error restream-item__error', view.error));
    if (editable && readable) {
      const buttons = make('div', 'button-row');
      const toggle = make('button', 'button button--quiet', t(destination.enabled ? 'restream.disable' : 'restream.enable'));
      toggle.type = 'button';
      toggle.dataset.action = 'toggle';
      toggle.addEventListener('click', () => change(destination, { enabled: !destination.enabled }));
      const remove = make('button', 'button button--danger', t('restream.remove'));
      remove.type = 'button';
      remove.dataset.action = 'remove';
      remove.addEventListener('click', () => removeDestination(destination));
      buttons.append(toggle, remove);
      row.append(buttons);
    }
    return row;
  }

  function setDestinations(next) {
    destinations = next.map((destination) => ({
      ...destination,
      status: destination.status ?? statuses.get(destination.id),
    }));
    onDestinations(destinations);
    render();
  }

  async function load() {
    if (!editable) return;
    try {
      const answer = await api.get(path);
      readable = true;
      setDestinations(answer.destinations ?? []);
    } catch (failure) {
      readable = false;
      error = failure.status === 403 ? '' : describeError(failure);
      render();
    }
  }

  async function change(destination, body) {
    error = '';
    try {
      const updated = await api.patch(`${path}/${destination.id}`, { ...body, version: destination.version });
      setDestinations(destinations.map((candidate) => (candidate.id === updated.id ? updated : candidate)));
    } catch (failure) {
      error = describeError(failure);
      await load();
    }
  }

  async function removeDestination(destination) {
    const name = destination.name || t(`restream.platform.${platform(destination.platform).id}`);
    if (!window.confirm(t('restream.removeConfirm', { name }))) return;
    error = '';
    try {
      await api.delete(`${path}/${destination.id}`);
      setDestinations(destinations.filter((candidate) => candidate.id !== destination.id));
    } catch (failure) {
      error = describeError(failure);
      render();
    }
  }

  async function add(event) {
    event.preventDefault();
    const body = newDestinationBody({
      platform: byId('restream-platform').value,
      name: byId('restream-name').value,
      ingestUrl: byId('restream-url').value,
      streamKey: byId('restream-key').value,
    });
    const problem = urlProblem(body.platform, body.ingest_url) ?? keyProblem(body.stream_key);
    if (problem) {
      error = t(problem);
      render();
      return;
    }
    error = '';
    try {
      const created = await api.post(path, body);
      // The key leaves the page as soon as the server has it.
      byId('restream-key').value = '';
      byId('restream-name').value = '';
      setDestinations([...destinations, created]);
    } catch (failure) {
      error = describeError(failure);
      render();
    }
  }

  if (editable) {
    const select = byId('restream-platform');
    select.replaceChildren(
      ...PLATFORMS.map((entry) => {
        const option = make('option', null, t(`restream.platform.${entry.id}`));
        option.value = entry.id;
        return option;
      }),
    );
    select.addEventListener('change', () => {
      // Offer the platform's usual URL when the field is empty or holds another's.
      const url = byId('restream-url');
      if (url.value.trim() === '' || PLATFORMS.some((entry) => entry.ingest && entry.ingest === url.value.trim())) {
        url.value = platform(select.value).ingest;
      }
      render();
    });
    byId('restream-url').value = platform(select.value).ingest;
    byId('restream-url').addEventListener('input', render);
    byId('restream-form').addEventListener('submit', add);
  }
  load();

  return {
    /** The meeting as the page has it: its `restream` states. */
    applyMeeting(meeting) {
      statuses = statusesOf(meeting, statuses);
      if (readable) {
        destinations = destinations.map((destination) => ({ ...destination, status: statuses.get(destination.id) ?? destination.status }));
      }
      render();
    },
    /** A `restream` event's status. */
    applyStatus(status) {
      if (!status || !Number.isInteger(status.destination_id)) return;
      statuses.set(status.destination_id, status);
      destinations = withStatus(destinations, status);
      render();
    },
    /** Strings again, after the language changed. */
    render,
    destinations: () => destinations,
  };
}

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}
