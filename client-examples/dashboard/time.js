// Time: the server's clock (offset from the browser's), the site's time zone formats, the
// "5 seconds ago" texts and the site's date as YYYY-MM-DD.
import { state } from './state.js';

export const serverNow = () => Date.now() + state.clockOffsetMs;
export const narrowScreen = matchMedia('(max-width: 600px)');
// Times and dates are shown in the site's time zone (`site { timeZone }`: the office's
// clock, the attendance days), the browser's until it is known. The formats are live
// bindings: importers see the ones of the latest useTimeZone().
export let timeFormat, shortTimeFormat, dateFormat, shortDateFormat, dateTimeFormat;
let isoDateParts;
export function useTimeZone(timeZone) {
  const tz = timeZone ? { timeZone } : {};
  timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, ...tz });
  shortTimeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false, ...tz });
  dateFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', ...tz });
  shortDateFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', ...tz });
  dateTimeFormat = new Intl.DateTimeFormat(undefined, {
    day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, ...tz,
  });
  isoDateParts = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: '2-digit', day: '2-digit', ...tz });
}
useTimeZone(undefined);

// The server's words for a past time (presence.lastSeenAgo: "just now", "5 seconds ago",
// "1 minute ago", "11 hours ago"…), recomputed here every second between updates with the
// same rules so the list stays current without asking the server.
export function humanizeAgo(then, now = serverNow()) {
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < 5) return 'just now';
  const [amount, unit] =
    seconds < 60 ? [seconds, 'second']
    : seconds < 3600 ? [Math.floor(seconds / 60), 'minute']
    : seconds < 86_400 ? [Math.floor(seconds / 3600), 'hour']
    : seconds < 30 * 86_400 ? [Math.floor(seconds / 86_400), 'day']
    : seconds < 365 * 86_400 ? [Math.floor(seconds / (30 * 86_400)), 'month']
    : [Math.floor(seconds / (365 * 86_400)), 'year'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'} ago`;
}

// The site's date at `ms`, as YYYY-MM-DD.
export function localDate(ms) {
  const part = Object.fromEntries(isoDateParts.formatToParts(ms).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day}`;
}
