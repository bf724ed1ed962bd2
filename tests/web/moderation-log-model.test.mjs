// The moderation log's issue-18 rules (web/js/moderation-log-model.js): entries done by an
// automatic rule, the `hold` action, and the counts by actor and by rule. The older rules of the
// same module are checked in tests/web/admin-model.test.mjs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MODERATION_ACTIONS,
  actorOf,
  actorRows,
  reasonText,
  ruleRows,
} from '../../web/js/moderation-log-model.js';

test('an entry done by a rule names the rule, not a moderator', () => {
  // As protocol-18 E describes an entry of GET /api/meetings/{id}/moderation-log.
  const byRule = { at: '2026-12-07T05:00:00Z', action: 'hold', target_kind: 'comment', target_id: 4, reason: 'link', moderator: null, rule: 'links' };
  const byModerator = { at: '2026-12-07T05:01:00Z', action: 'release', target_kind: 'comment', target_id: 4, reason: null, moderator: 'Асель' };
  assert.deepEqual(actorOf(byRule), { kind: 'rule', rule: 'links' });
  assert.deepEqual(actorOf(byModerator), { kind: 'moderator', name: 'Асель' });
  assert.deepEqual(actorOf({ moderator: null, rule: '  ' }), { kind: 'moderator', name: '' }, 'a blank rule is no rule');
  assert.ok(MODERATION_ACTIONS.includes('hold'));
});

test("a rule's reason codes are read into words; others stay as the server gives them", () => {
  assert.deepEqual(reasonText('hold', 'link'), { key: 'automod.reason.link', params: {} });
  assert.deepEqual(reasonText('hide', 'blocked_term'), { key: 'automod.reason.blocked_term', params: {} });
  assert.deepEqual(reasonText('hide', 'spam'), { key: 'live.reason.spam', params: {} });
  assert.deepEqual(reasonText('hold', 'caps_lock'), { text: 'caps_lock' });
  assert.deepEqual(reasonText('dismiss', 'link'), { text: 'link' }, "a moderator's own words are shown as they are");
});

test('the counts by actor and by rule', () => {
  assert.deepEqual(actorRows({ moderators: 5, rules: 3 }), [
    { actor: 'moderators', count: 5 },
    { actor: 'rules', count: 3 },
  ]);
  assert.deepEqual(actorRows({ moderators: 2 }), [
    { actor: 'moderators', count: 2 },
    { actor: 'rules', count: 0 },
  ]);
  assert.deepEqual(actorRows(undefined), [], 'a server without rules sends none');
  assert.deepEqual(
    ruleRows([
      { rule: 'links', count: 3 },
      { rule: 'blocked_terms', count: 3 },
      { rule: 'caps', count: 7 },
      { rule: '', count: 1 },
      { count: 2 },
      { rule: 'repeat', count: -1 },
    ]),
    [
      { rule: 'caps', count: 7 },
      { rule: 'blocked_terms', count: 3 },
      { rule: 'links', count: 3 },
      { rule: 'repeat', count: 0 },
    ],
  );
  assert.deepEqual(ruleRows(null), []);
});
