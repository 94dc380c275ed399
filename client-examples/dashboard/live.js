// Loading and live updates: the full read over HTTP (at start, after every reconnection and
// every 30 s), the cameras' refresh (last frame times are not pushed), every subscription
// and what it updates, and start()/stop() of the whole.
import { AI_FIELDS, AuthError, cameraFields, EMPLOYEE_FIELDS, gql, NOTIFICATION_FIELDS, SUMMARY_FIELDS } from './api.js';
import { addActivity, onDetection, onStatusChange } from './activity.js';
import { renderCameraButtons, renderCameraStream } from './cameras.js';
import { CAMERA_REFRESH_MS, RESYNC_MS, WS_URL } from './config.js';
import { $ } from './dom.js';
import { removeEmployee, renderEmployees, upsertEmployee } from './employees.js';
import { handleError, showBanner } from './feedback.js';
import { onServerTime, renderAiStatus, renderSummary, setConnection } from './header.js';
import { onNotification, onNotificationsRead, renderNotifications } from './notifications.js';
import { markReportStale } from './report.js';
import { refreshSettingsSoon } from './settings.js';
import { state } from './state.js';
import { serverNow, useTimeZone } from './time.js';
import { showView } from './views.js';
import { LiveSocket } from './ws.js';

// Newer presence wins: a snapshot read just before an event must not undo it.
function presenceStamp(p) {
  return Math.max(Date.parse(p.since || 0) || 0, Date.parse(p.lastSeen || 0) || 0);
}

export async function loadAll() {
  const data = await gql(`{
    serverTime
    site { timeZone }
    aiStatus { ${AI_FIELDS} }
    presenceSummary { ${SUMMARY_FIELDS} }
    cameras { ${cameraFields()} }
    employees { ${EMPLOYEE_FIELDS} }
    unreadNotificationCount
    notifications(unreadOnly: true, first: 50) { totalCount nodes { ${NOTIFICATION_FIELDS} } }
  }`);
  if (data.site.timeZone !== state.siteTimeZone) {
    state.siteTimeZone = data.site.timeZone;
    useTimeZone(data.site.timeZone);
  }
  onServerTime(data.serverTime);
  state.aiStatus = data.aiStatus;
  state.summary = data.presenceSummary;
  state.cameras = new Map(data.cameras.map((c) => [c.cameraId, c]));
  const fresh = new Map();
  for (const e of data.employees) {
    const known = state.employees.get(e.employeeId);
    fresh.set(e.employeeId, known && presenceStamp(known.presence) > presenceStamp(e.presence) ? { ...e, presence: known.presence } : e);
  }
  state.employees = fresh;
  state.notifications = data.notifications.nodes;
  state.unreadCount = data.notifications.totalCount;
  renderAiStatus();
  renderSummary();
  renderCameraButtons();
  renderCameraStream();
  renderEmployees();
  renderNotifications();
  markReportStale();
}

async function refreshCameras() {
  try {
    const data = await gql(`{ cameras { ${cameraFields()} } }`);
    state.cameras = new Map(data.cameras.map((c) => [c.cameraId, c]));
    renderCameraButtons();
    renderCameraStream();
  } catch (error) {
    if (error instanceof AuthError) handleError(error);
  }
}

let socket = null;

function subscribeAll() {
  const on = (query, next) =>
    socket.subscribe(query, {}, {
      next,
      error: (errors) => console.warn('subscription error', query, errors),
    });
  on('subscription { serverTime }', (d) => onServerTime(d.serverTime));
  on(`subscription { aiStatusChanged { ${AI_FIELDS} } }`, (d) => {
    state.aiStatus = d.aiStatusChanged;
    renderAiStatus();
  });
  on(`subscription { presenceSummaryChanged { ${SUMMARY_FIELDS} } }`, (d) => {
    state.summary = d.presenceSummaryChanged;
    renderSummary();
  });
  on(`subscription { employeeStatusChanged { ${EMPLOYEE_FIELDS} } }`, (d) => onStatusChange(d.employeeStatusChanged));
  on(`subscription { employeeDetected { seenAt camera { cameraId name } employee { ${EMPLOYEE_FIELDS} } } }`, (d) => onDetection(d.employeeDetected));
  on(`subscription { employeeChanged { kind employeeId employee { ${EMPLOYEE_FIELDS} } } }`, (d) => {
    const c = d.employeeChanged;
    if (c.kind === 'DELETED' || !c.employee) removeEmployee(c.employeeId);
    else upsertEmployee(c.employee);
    refreshSettingsSoon();
  });
  on(`subscription { notificationCreated { ${NOTIFICATION_FIELDS} } }`, (d) => onNotification(d.notificationCreated));
  on('subscription { notificationsRead { notificationIds all unreadCount } }', (d) => onNotificationsRead(d.notificationsRead));
  on(`subscription { cameraStatusChanged { ${cameraFields()} } }`, (d) => {
    const c = d.cameraStatusChanged;
    if (state.cameras.get(c.cameraId)?.status !== c.status) {
      addActivity('camera', `${c.name} is ${c.status === 'ONLINE' ? 'online' : 'offline'}`, Date.parse(c.statusChangedAt) || serverNow());
    }
    state.cameras.set(c.cameraId, c);
    renderCameraButtons();
    renderCameraStream();
    renderEmployees();
  });
  on(`subscription { cameraChanged { kind cameraId camera { ${cameraFields()} } } }`, (d) => {
    const c = d.cameraChanged;
    if (c.kind === 'DELETED' || !c.camera) state.cameras.delete(c.cameraId);
    else state.cameras.set(c.cameraId, c.camera);
    renderCameraButtons();
    renderCameraStream();
    renderEmployees();
    refreshSettingsSoon();
  });
}

let timers = [];
export async function start() {
  showBanner(null);
  // Who am I (checks the token), and does this server offer Camera.liveUrl?
  const data = await gql('{ me { role } __type(name: "Camera") { fields { name } } }');
  state.role = data.me.role;
  state.hasLiveUrl = (data.__type?.fields || []).some((f) => f.name === 'liveUrl');
  document.body.dataset.role = state.role;
  $('#tab-settings').hidden = state.role !== 'ADMIN';
  if (state.view === 'settings' && state.role !== 'ADMIN') state.view = 'live';
  document.body.dataset.liveUrl = String(state.hasLiveUrl);
  await loadAll(); // over HTTP at once, so the page shows even where WebSockets are blocked

  socket = new LiveSocket(WS_URL, state.token, {
    onStatus: setConnection,
    // After every (re)connection: read everything again, since events sent before the
    // subscriptions were in place, or while the socket was down, are not replayed.
    onConnected: () => loadAll().catch((error) => handleError(error, 'Cannot load the dashboard')),
    onAuthError: (reason) => handleError(new AuthError(reason)),
  });
  subscribeAll();
  socket.connect();
  state.started = true;
  showView(state.view);
  timers.push(setInterval(() => loadAll().catch((error) => handleError(error)), RESYNC_MS));
  timers.push(setInterval(refreshCameras, CAMERA_REFRESH_MS));
}

export function stop() {
  socket?.close();
  socket = null;
  timers.forEach(clearInterval);
  timers = [];
  state.started = false;
}
