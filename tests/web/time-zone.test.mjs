// The pages count civil days in the zone the server is configured with by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEETINGS_TIME_ZONE, MEETINGS_UTC_OFFSET } from '../../web/js/time-zone.js';
import {
  SERVER_TIME_ZONE,
  serverDay,
  serverLocalInput,
  serverMonth,
  serverUtcOffset,
  serverYear,
} from '../browser/civil.mjs';

test("the pages' zone is the server's default [meetings] time_zone", () => {
  assert.equal(MEETINGS_TIME_ZONE, SERVER_TIME_ZONE);
});

test("the pages' fixed offset is the zone's offset today, in half a year and in a year", () => {
  for (const days of [0, 182, 365]) {
    assert.equal(serverUtcOffset(new Date(Date.now() + days * 86400000)), MEETINGS_UTC_OFFSET);
  }
});

test("the tests' helper counts days in the server's zone, across a year's end", () => {
  // 20:30 UTC on 31 December is already 1 January in Almaty (UTC+5).
  const instant = new Date('2026-12-31T20:30:00Z');
  assert.equal(serverDay(0, instant), '2027-01-01');
  assert.equal(serverDay(-1, instant), '2026-12-31');
  assert.equal(serverDay(31, instant), '2027-02-01');
  assert.equal(serverYear(instant), 2027);
  assert.equal(serverMonth(instant), '2027-01');
  assert.equal(serverLocalInput(instant), '2027-01-01T01:30');
});
