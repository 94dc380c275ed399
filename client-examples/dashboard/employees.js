// The Employee tracking panel (#employee-list): one item per employee with its status dot,
// "last seen … ago" (refreshed every second), the camera's name and a Track button that
// shows that camera; the search and status filters.
import { renderCameraStream, selectCamera } from './cameras.js';
import { $, $$, h, icon, PIN_ICON } from './dom.js';
import { markReportStale } from './report.js';
import { state } from './state.js';
import { humanizeAgo } from './time.js';
import { showView } from './views.js';
import { demoBadge, renderDemoBanner } from './demo.js';

const STATUS_LABEL = { AVAILABLE: 'Available', OFFLINE: 'Offline', UNAVAILABLE: 'Not seen' };
const items = new Map(); // employeeId → <li>

function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

function cameraName(presence) {
  const id = presence.camera?.cameraId;
  if (!id) return null;
  return state.cameras.get(id)?.name || presence.camera.name;
}

function buildItem(e) {
  const li = h('li', { class: 'employee-item' },
    h('div', { class: 'employee-avatar', 'aria-hidden': 'true' }),
    h('div', { class: 'employee-main' },
      h('div', { class: 'employee-name' }),
      h('div', { class: 'employee-meta' }),
    ),
    h('div', { class: 'employee-where' },
      h('div', { class: 'status-indicator-wrapper' },
        h('span', { class: 'status-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'status-label' }),
      ),
      h('div', { class: 'status-time' }),
      h('div', { class: 'employee-camera' }),
    ),
    h('button', { type: 'button', class: 'track-btn', onclick: () => track(e.employeeId) },
      icon(PIN_ICON, { width: '16', height: '16' }), h('span', {}, 'Track')),
  );
  return li;
}

function updateItem(li, e) {
  const p = e.presence;
  li.dataset.employeeId = e.employeeId;
  li.dataset.status = p.status;
  li.dataset.cameraId = p.camera?.cameraId || '';
  $('.employee-avatar', li).textContent = initials(e.name);
  $('.employee-name', li).replaceChildren(e.name, ...(e.demo ? [demoBadge()] : []));
  $('.employee-meta', li).textContent = [e.department, e.role].filter(Boolean).join(' · ') || e.employeeId;
  $('.status-label', li).textContent = STATUS_LABEL[p.status] || p.status;
  $('.status-dot', li).title = STATUS_LABEL[p.status] || p.status;
  const time = $('.status-time', li);
  time.dataset.lastSeen = p.lastSeen || '';
  // The server's own words first; refreshEmployeeTimes() recomputes them every second.
  time.textContent = p.lastSeen ? `last seen ${p.lastSeenAgo || humanizeAgo(Date.parse(p.lastSeen))}` : 'never seen';
  const cam = cameraName(p);
  const camEl = $('.employee-camera', li);
  camEl.textContent = cam || '';
  camEl.title = cam ? `Last seen at ${cam}` : '';
  const btn = $('.track-btn', li);
  btn.disabled = !p.camera;
  btn.title = p.camera ? `Show ${cam}, where ${e.name} was last seen` : `${e.name} has not been seen yet`;
  applyFilter(li, e);
}

function applyFilter(li, e) {
  const q = state.search;
  const matches =
    (state.filter === 'ALL' || e.presence.status === state.filter) &&
    (!q || [e.name, e.employeeId, e.department, e.role].some((v) => v && v.toLowerCase().includes(q)));
  li.hidden = !matches;
}

function sortedEmployees() {
  return [...state.employees.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.employeeId.localeCompare(b.employeeId),
  );
}

export function renderEmployees() {
  const list = $('#employee-list');
  const sorted = sortedEmployees();
  const ids = new Set(sorted.map((e) => e.employeeId));
  for (const [id, li] of items) {
    if (!ids.has(id)) {
      li.remove();
      items.delete(id);
    }
  }
  let previous = null;
  for (const e of sorted) {
    let li = items.get(e.employeeId);
    if (!li) {
      li = buildItem(e);
      items.set(e.employeeId, li);
    }
    updateItem(li, e);
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (li !== expected) list.insertBefore(li, expected);
    previous = li;
  }
  renderEmployeeEmpty();
  renderDemoBanner();
}

function renderEmployeeEmpty() {
  const empty = $('#employee-empty');
  if (!state.employees.size) {
    empty.textContent = 'No employees yet. Create them with the createEmployee mutation (see client-examples/curl).';
    empty.hidden = false;
  } else if (![...items.values()].some((li) => !li.hidden)) {
    empty.textContent = 'No employee matches the filter.';
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
}

// One employee changed: update its item (and the camera view's "here now").
export function upsertEmployee(e) {
  const known = state.employees.get(e.employeeId);
  const renamed = known && known.name !== e.name;
  state.employees.set(e.employeeId, e);
  if (!known || renamed) renderEmployees();
  else updateItem(items.get(e.employeeId), e);
  renderEmployeeEmpty();
  renderCameraStream();
  markReportStale();
}

export function removeEmployee(id) {
  state.employees.delete(id);
  renderEmployees();
  renderCameraStream();
}

function track(employeeId) {
  const e = state.employees.get(employeeId);
  const cameraId = e?.presence.camera?.cameraId;
  if (!cameraId) return;
  showView('live');
  selectCamera(cameraId, { scroll: true });
}

// Every second: the "last seen … ago" texts.
export function refreshEmployeeTimes(now) {
  for (const li of items.values()) {
    const el = $('.status-time', li);
    const at = el.dataset.lastSeen;
    if (at) el.textContent = `last seen ${humanizeAgo(Date.parse(at), now)}`;
  }
}

function refilter() {
  for (const e of state.employees.values()) applyFilter(items.get(e.employeeId), e);
  renderEmployeeEmpty();
}

// The search box and the status filters.
export function initEmployees() {
  for (const chip of $$('.chip')) {
    chip.addEventListener('click', () => {
      state.filter = chip.dataset.filter;
      $$('.chip').forEach((c) => c.classList.toggle('active', c === chip));
      refilter();
    });
  }
  $('#employee-search').addEventListener('input', (event) => {
    state.search = event.target.value.trim().toLowerCase();
    refilter();
  });
}
