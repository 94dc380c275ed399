// Notifications: the header's bell (the unread badge and panel, mark one or all read) and
// the Report tab's alert history (every notification, paged), both kept current by the
// notificationCreated and notificationsRead subscriptions.
import { gql, NOTIFICATION_FIELDS } from './api.js';
import { $, $$, h } from './dom.js';
import { handleError, toast } from './feedback.js';
import { state } from './state.js';
import { dateTimeFormat, humanizeAgo } from './time.js';

function notificationIcon(type) {
  return { EMPLOYEE_LOST: '!', CAMERA_DOWN: '×', CAMERA_UP: '✓' }[type] || '•';
}

export function renderNotifications() {
  const list = $('#notification-list');
  const count = state.unreadCount;
  const badge = $('#notification-badge');
  badge.textContent = count > 99 ? '99+' : String(count);
  badge.hidden = count === 0;
  $('#notification-btn').dataset.count = String(count);
  $('#notification-btn').title = count ? `${count} unread notification${count === 1 ? '' : 's'}` : 'No unread notifications';
  document.title = `${count ? `(${count}) ` : ''}hadir — presence dashboard`;
  const canMark = state.role === 'ADMIN';
  list.replaceChildren(
    ...state.notifications.map((n) =>
      h('li', { class: 'notification-item', dataset: { notificationId: n.id, type: n.type } },
        h('span', { class: `n-icon n-${n.type.toLowerCase()}`, 'aria-hidden': 'true' }, notificationIcon(n.type)),
        h('div', { class: 'n-body' },
          h('div', { class: 'n-message' }, n.message),
          h('div', { class: 'n-time', dataset: { at: n.createdAt } },
            `${humanizeAgo(Date.parse(n.createdAt))} · ${dateTimeFormat.format(Date.parse(n.createdAt))}`),
        ),
        h('button', {
          type: 'button', class: 'mark-read-btn', title: canMark ? 'Mark as read' : 'Marking read needs an admin token',
          disabled: !canMark, 'aria-label': 'Mark as read', onclick: () => markRead(n.id),
        }, '✓'),
      ),
    ),
  );
  $('#notification-empty').hidden = state.notifications.length > 0;
  $('#mark-all-read').hidden = count === 0 || !canMark;
}

// Every second: the panel's "ago" texts.
export function refreshNotificationTimes(now) {
  for (const el of $$('#notification-list .n-time')) {
    const at = Date.parse(el.dataset.at);
    el.textContent = `${humanizeAgo(at, now)} · ${dateTimeFormat.format(at)}`;
  }
}

export function onNotification(n) {
  if (!n.isRead && !state.notifications.some((x) => x.id === n.id)) {
    state.notifications.unshift(n);
    state.unreadCount += 1;
    renderNotifications();
    const btn = $('#notification-btn');
    btn.classList.remove('ring');
    void btn.offsetWidth; // restart the animation
    btn.classList.add('ring');
    toast(n.message, n.type === 'CAMERA_UP' ? 'info' : 'alert');
  }
  prependHistory(n);
}

// Read on any client (this one included): the bell and the history follow.
export function onNotificationsRead(read) {
  if (read.all) {
    markHistoryRead(state.notifications.map((n) => n.id), true);
    state.notifications = [];
  } else {
    const ids = new Set(read.notificationIds);
    state.notifications = state.notifications.filter((n) => !ids.has(n.id));
    markHistoryRead(read.notificationIds);
  }
  state.unreadCount = read.unreadCount;
  renderNotifications();
}

async function markRead(id) {
  try {
    await gql('mutation($id: ID!) { markNotificationRead(id: $id) { id isRead } }', { id });
    const before = state.notifications.length;
    state.notifications = state.notifications.filter((n) => n.id !== id);
    if (state.notifications.length < before) state.unreadCount = Math.max(0, state.unreadCount - 1);
    renderNotifications();
    markHistoryRead([id]);
  } catch (error) {
    handleError(error, 'Cannot mark the notification read');
  }
}

async function markAllRead() {
  try {
    await gql('mutation { markAllNotificationsRead }');
    markHistoryRead(state.notifications.map((n) => n.id), true);
    state.notifications = [];
    state.unreadCount = 0;
    renderNotifications();
  } catch (error) {
    handleError(error, 'Cannot mark the notifications read');
  }
}

function togglePanel(open) {
  const panel = $('#notification-panel');
  const show = open ?? panel.hidden;
  panel.hidden = !show;
  $('#notification-btn').setAttribute('aria-expanded', String(show));
}

// ---------------------------------------------------------------------------------------
// The alert history (Report tab)
// ---------------------------------------------------------------------------------------
function historyItem(n) {
  return h('li', { class: `history-item${n.isRead ? '' : ' unread'}`, dataset: { notificationId: n.id, type: n.type } },
    h('span', { class: `n-icon n-${n.type.toLowerCase()}`, 'aria-hidden': 'true' }, notificationIcon(n.type)),
    h('div', { class: 'n-body' },
      h('div', { class: 'n-message' }, n.message),
      h('div', { class: 'n-time' }, `${dateTimeFormat.format(Date.parse(n.createdAt))} · ${n.type.replace('_', ' ').toLowerCase()}`),
    ),
    h('span', { class: 'history-state' }, n.isRead ? 'read' : 'unread'),
  );
}

export async function loadHistory(reset = false) {
  const r = state.report;
  if (reset) {
    r.historyAfter = null;
    $('#alert-history').replaceChildren();
  }
  try {
    const data = await gql(
      `query($after: String) { notifications(first: 20, after: $after) {
         totalCount pageInfo { hasNextPage endCursor } nodes { ${NOTIFICATION_FIELDS} } } }`,
      { after: r.historyAfter },
    );
    const c = data.notifications;
    $('#alert-history').append(...c.nodes.map(historyItem));
    r.historyAfter = c.pageInfo.endCursor;
    r.historyLoaded = true;
    $('#alert-history-more').hidden = !c.pageInfo.hasNextPage;
    $('#alert-history-count').textContent = `${c.totalCount} in all`;
    if (!c.totalCount) $('#alert-history').replaceChildren(h('li', { class: 'empty-note' }, 'No alerts yet.'));
  } catch (error) {
    handleError(error, 'Cannot load the alert history');
  }
}

function prependHistory(n) {
  if (!state.report.historyLoaded) return;
  const list = $('#alert-history');
  $('.empty-note', list)?.remove();
  if ($(`[data-notification-id="${CSS.escape(n.id)}"]`, list)) return;
  list.prepend(historyItem(n));
  const count = $('#alert-history-count');
  const total = parseInt(count.textContent, 10);
  if (!Number.isNaN(total)) count.textContent = `${total + 1} in all`;
}

function markHistoryRead(ids, all = false) {
  const list = $('#alert-history');
  for (const li of $$('.history-item', list)) {
    if (all || ids.includes(li.dataset.notificationId)) {
      li.classList.remove('unread');
      $('.history-state', li).textContent = 'read';
    }
  }
}

// The bell's and the history's controls.
export function initNotifications() {
  $('#notification-btn').addEventListener('click', (event) => {
    event.stopPropagation();
    togglePanel();
  });
  $('#notification-panel').addEventListener('click', (event) => event.stopPropagation());
  document.addEventListener('click', () => togglePanel(false));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') togglePanel(false);
  });
  $('#mark-all-read').addEventListener('click', markAllRead);
  $('#alert-history-more').addEventListener('click', () => loadHistory(false));
}
