// The time zone the pages count civil days in: "today", deadlines, overdue, the calendar year
// and the month a meeting falls in. It is the server's default `[meetings] time_zone`
// (config/default.toml; tests/web/time-zone.test.mjs keeps the two equal), never the browser's:
// a phone set to another zone, or a citizen abroad, must see the same day as the server's
// deadlines. Where the API names a meeting's zone (its `time_zone`) the pages use that instead.
export const MEETINGS_TIME_ZONE = 'Asia/Almaty';

// Its UTC offset, fixed since Kazakhstan moved to one zone on 1 March 2024 (no daylight saving),
// for reading a `datetime-local` input as Almaty time whatever the device's zone.
export const MEETINGS_UTC_OFFSET = '+05:00';
