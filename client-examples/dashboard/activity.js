// The Recent activity panel (#activity-feed): sightings, people going offline and cameras
// going on or offline since the page opened; repeated sightings update one line.
import { $, h } from './dom.js';
import { upsertEmployee } from './employees.js';
import { state } from './state.js';
import { serverNow, timeFormat } from './time.js';

const ACTIVITY_MAX = 10;
const activity = []; // { key, kind, text, at, count }

// Repeated sightings of one person at one camera (recognition runs every second) update
// one line instead of flooding the feed.
export function addActivity(kind, text, at, key = null) {
  const existing = key ? activity.find((a) => a.key === key) : null;
  if (existing && at - existing.last < 120_000) {
    existing.last = Math.max(existing.last, at);
    existing.count += 1;
    activity.splice(activity.indexOf(existing), 1);
    activity.unshift(existing);
  } else {
    if (existing) activity.splice(activity.indexOf(existing), 1);
    activity.unshift({ key, kind, text, last: at, count: 1 });
  }
  activity.length = Math.min(activity.length, ACTIVITY_MAX);
  renderActivity();
}

function renderActivity() {
  const list = $('#activity-feed');
  list.replaceChildren(
    ...activity.map((a, i) =>
      h('li', { class: `activity-item${i === 0 ? ' fresh' : ''}`, dataset: { kind: a.kind } },
        h('span', { class: 'activity-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'activity-text' }, a.text, a.count > 1 ? h('span', { class: 'activity-count' }, `×${a.count}`) : null),
        h('time', { class: 'activity-time', datetime: new Date(a.last).toISOString() }, timeFormat.format(a.last)),
      ),
    ),
  );
  $('#activity-empty').hidden = activity.length > 0;
}

export function onDetection(d) {
  const e = d.employee;
  const camera = state.cameras.get(d.camera.cameraId)?.name || d.camera.name;
  addActivity('detected', `${e.name} seen at ${camera}`, Date.parse(d.seenAt) || serverNow(), `seen:${e.employeeId}:${camera}`);
  upsertEmployee(e);
}

export function onStatusChange(e) {
  if (e.presence.status === 'OFFLINE') {
    addActivity('offline', `${e.name} went offline`, Date.parse(e.presence.since) || serverNow());
  }
  upsertEmployee(e);
}
