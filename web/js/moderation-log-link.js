// The meeting page's link to the meeting's public moderation log: registers the log's strings
// (so the link's data-i18n text is translated with the rest of the page) and points the link
// at /moderation-log.html?meeting=ID.

import { registerStrings } from './i18n.js';
import strings from './strings/moderation-log.js';
import { moderationLogUrl } from './moderation-log-model.js';

registerStrings(strings);

/** Points #moderation-log-link at the meeting's log and shows its row. */
export function mountModerationLogLink(meetingId) {
  const link = document.getElementById('moderation-log-link');
  if (!link || meetingId === null || meetingId === undefined) return;
  link.href = moderationLogUrl(meetingId);
  document.getElementById('moderation-log-row').hidden = false;
}
