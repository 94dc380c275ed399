// The header and the summary: the server's clock (from the serverTime subscription), the
// live-connection state, the AI status indicator and the present/alert/total counts.
import { $ } from './dom.js';
import { state } from './state.js';
import { dateFormat, narrowScreen, serverNow, shortDateFormat, timeFormat } from './time.js';

const AI_LABEL = { RUNNING: 'AI running', DEGRADED: 'AI degraded', STARTING: 'AI starting', STOPPED: 'AI stopped' };

export function onServerTime(iso) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return;
  state.clockOffsetMs = ms - Date.now();
  state.lastServerTick = Date.now();
  renderClock(ms);
}

export function renderClock(ms = serverNow()) {
  $('#current-time').textContent = timeFormat.format(ms);
  $('#current-date').textContent = (narrowScreen.matches ? shortDateFormat : dateFormat).format(ms);
}

export function setConnection(status) {
  const el = $('#connection-status');
  el.dataset.state = status;
  $('.conn-label', el).textContent =
    { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline' }[status] || status;
}

export function renderAiStatus() {
  const ai = state.aiStatus;
  const el = $('#ai-status-indicator');
  if (!ai) return;
  el.dataset.state = ai.state;
  el.dataset.running = String(ai.running);
  $('.ai-label', el).textContent = AI_LABEL[ai.state] || `AI ${ai.state.toLowerCase()}`;
  el.title = ai.message;
}

export function renderSummary() {
  const s = state.summary;
  if (!s) return;
  $('#present-count').textContent = s.present;
  $('#alert-count').textContent = s.alert;
  $('#total-count').textContent = s.total;
  $('#active-count').textContent = s.present;
}
