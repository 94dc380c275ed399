// hadir's dashboard: the seed's UI over the public GraphQL API only.
//
// Plain JavaScript, no build step and no dependency: queries and mutations go over HTTP
// (POST /graphql), live updates over one WebSocket speaking `graphql-transport-ws`
// (implemented below in a few lines). The page is usable from any origin:
//   ?api=http://host:port   the hadir server (default: the folder above the page's, i.e.
//                           the page's origin when hadir serves it at /dashboard/)
//   ?token=…                a token (else asked for); kept in sessionStorage for this tab
// Element ids and classes follow the seed's dashboard so the page stays scriptable.
'use strict';

(() => {
  // ---------------------------------------------------------------------------------------
  // Settings
  // ---------------------------------------------------------------------------------------
  const params = new URLSearchParams(location.search);
  // Served by hadir at /dashboard/, the API is one level up (also behind a proxy's prefix).
  const pageApi = location.protocol.startsWith('http') ? new URL('..', location.href).href : 'http://127.0.0.1:8080';
  const API = (params.get('api') || pageApi).replace(/\/+$/, '');
  const GRAPHQL_URL = `${API}/graphql`;
  const WS_URL = GRAPHQL_URL.replace(/^http/, 'ws');
  const TOKEN_KEY = 'hadir.token';
  const CAMERA_KEY = 'hadir.selectedCamera';
  const RESYNC_MS = 30_000; // a full re-read, to heal anything a subscription could not say
  const CAMERA_REFRESH_MS = 10_000; // last frame times are not pushed
  const PING_MS = 20_000; // our keep-alive ping; no pong within PONG_WAIT_MS → reconnect
  const PONG_WAIT_MS = 10_000;

  // A token in the URL is taken once, then removed from the address bar (and history).
  if (params.has('token')) {
    const t = params.get('token').trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    params.delete('token');
    const query = params.toString();
    history.replaceState(null, '', location.pathname + (query ? `?${query}` : '') + location.hash);
  }

  // ---------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    role: null,
    hasLiveUrl: false,
    employees: new Map(), // employeeId → Employee
    cameras: new Map(), // cameraId → Camera
    selectedCamera: sessionStorage.getItem(CAMERA_KEY) || null,
    notifications: [], // unread, newest first
    unreadCount: 0,
    summary: null,
    aiStatus: null,
    clockOffsetMs: 0, // server time − local time
    siteTimeZone: null, // IANA name, from site { timeZone }
    lastServerTick: 0,
    filter: 'ALL',
    search: '',
    view: 'live',
    report: { date: null, department: '', stale: true, historyAfter: null, historyLoaded: false },
    started: false,
  };

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  // A DOM element: h('div', { class: 'x', dataset: { a: 1 }, onclick }, child, 'text', …).
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (key === 'text') el.textContent = value;
      else el.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // An inline SVG icon of one path.
  function icon(d, attrs = {}) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    for (const [k, v] of Object.entries(attrs)) svg.setAttribute(k, v);
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', d);
    svg.append(path);
    return svg;
  }
  const CAMERA_ICON = 'M4 6h11a2 2 0 0 1 2 2v1.5l4-2.5v10l-4-2.5V16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2Z';
  const PIN_ICON = 'M12 2a7 7 0 0 0-7 7c0 5.25 7 13 7 13s7-7.75 7-13a7 7 0 0 0-7-7Zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5Z';

  // ---------------------------------------------------------------------------------------
  // GraphQL over HTTP
  // ---------------------------------------------------------------------------------------
  class AuthError extends Error {}

  async function gql(query, variables = {}) {
    let response;
    try {
      response = await fetch(GRAPHQL_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${state.token}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new Error(`cannot reach the hadir API at ${API} (${error.message}); open the page with ?api=http://host:port`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      throw new Error(`${GRAPHQL_URL} answered HTTP ${response.status}, not GraphQL: point the page at hadir with ?api=http://host:port`);
    }
    const errors = body.errors || [];
    if (errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') || response.status === 401) {
      throw new AuthError(errors[0]?.message || 'the token was refused');
    }
    if (errors.length) {
      const e = errors[0];
      const error = new Error(e.message);
      error.code = e.extensions?.code;
      throw error;
    }
    return body.data;
  }

  // ---------------------------------------------------------------------------------------
  // GraphQL over WebSocket: the graphql-transport-ws protocol
  // (connection_init → connection_ack; subscribe/next/error/complete; ping/pong)
  // ---------------------------------------------------------------------------------------
  class LiveSocket {
    constructor(url, token, { onStatus, onConnected, onAuthError }) {
      Object.assign(this, { url, token, onStatus, onConnected, onAuthError });
      this.subscriptions = new Map(); // id → { payload, sink }
      this.nextId = 1;
      this.ws = null;
      this.acked = false;
      this.attempt = 0;
      this.closedByUs = false;
      this.timers = {};
    }

    subscribe(query, variables, sink) {
      const id = String(this.nextId++);
      this.subscriptions.set(id, { payload: { query, variables }, sink });
      if (this.acked) this.send({ id, type: 'subscribe', payload: { query, variables } });
      return id;
    }

    send(message) {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
    }

    connect() {
      clearTimeout(this.timers.retry);
      this.closedByUs = false;
      this.acked = false;
      this.onStatus(this.attempt ? 'reconnecting' : 'connecting');
      let ws;
      try {
        ws = new WebSocket(this.url, 'graphql-transport-ws');
      } catch (error) {
        this.scheduleReconnect();
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${this.token}` } }));
      };
      ws.onmessage = (event) => this.receive(ws, event.data);
      ws.onclose = (event) => this.closed(ws, event);
      ws.onerror = () => {}; // onclose follows with the code
    }

    receive(ws, data) {
      let message;
      try {
        message = JSON.parse(data);
      } catch {
        ws.close(4400, 'invalid message');
        return;
      }
      const sub = message.id ? this.subscriptions.get(message.id) : null;
      switch (message.type) {
        case 'connection_ack':
          this.acked = true;
          this.attempt = 0;
          this.onStatus('live');
          for (const [id, { payload }] of this.subscriptions) this.send({ id, type: 'subscribe', payload });
          this.keepAlive();
          this.onConnected();
          break;
        case 'next':
          if (sub) {
            const { data, errors } = message.payload || {};
            if (errors?.length) sub.sink.error?.(errors);
            if (data) sub.sink.next(data);
          }
          break;
        case 'error': // the operation failed; the socket stays
          if (sub) sub.sink.error?.(message.payload);
          this.subscriptions.delete(message.id);
          break;
        case 'complete':
          // The server ended it (e.g. while shutting down): the dashboard's subscriptions are
          // for good, so it is sent again after the next connection.
          if (sub) sub.sink.complete?.();
          break;
        case 'ping':
          this.send({ type: 'pong' });
          break;
        case 'pong':
          clearTimeout(this.timers.pongWait);
          break;
        default:
          break;
      }
    }

    keepAlive() {
      clearInterval(this.timers.ping);
      this.timers.ping = setInterval(() => {
        this.send({ type: 'ping' });
        clearTimeout(this.timers.pongWait);
        this.timers.pongWait = setTimeout(() => {
          // A dead connection may take minutes to report its close: drop it and start anew.
          const dead = this.ws;
          this.ws = null;
          this.acked = false;
          clearInterval(this.timers.ping);
          dead?.close(4499, 'no pong');
          this.scheduleReconnect();
        }, PONG_WAIT_MS);
      }, PING_MS);
    }

    closed(ws, event) {
      if (ws !== this.ws) return;
      clearInterval(this.timers.ping);
      clearTimeout(this.timers.pongWait);
      this.acked = false;
      if (this.closedByUs) return;
      // 4401/4403: the token was refused; asking again beats retrying for ever.
      if (event.code === 4401 || event.code === 4403) {
        this.onStatus('offline');
        this.onAuthError(event.reason || 'the token was refused');
        return;
      }
      this.scheduleReconnect();
    }

    scheduleReconnect() {
      this.attempt += 1;
      const delay = Math.min(15_000, 500 * 2 ** Math.min(this.attempt, 5)) * (0.75 + Math.random() * 0.5);
      this.onStatus('reconnecting');
      this.timers.retry = setTimeout(() => this.connect(), delay);
    }

    close() {
      this.closedByUs = true;
      for (const t of Object.values(this.timers)) {
        clearTimeout(t);
        clearInterval(t);
      }
      this.ws?.close(1000, 'bye');
    }
  }

  // ---------------------------------------------------------------------------------------
  // Selections
  // ---------------------------------------------------------------------------------------
  const cameraFields = () =>
    `cameraId name status isActive enabled lastFrameAt statusMessage statusChangedAt${state.hasLiveUrl ? ' liveUrl' : ''}`;
  const EMPLOYEE_FIELDS = `employeeId name department role
    presence { status lastSeen lastSeenAgo since score camera { cameraId name } }`;
  const SUMMARY_FIELDS = 'present alert unavailable total';
  const AI_FIELDS = 'running state message changedAt';
  const NOTIFICATION_FIELDS = `id type message createdAt isRead
    employee { employeeId name } camera { cameraId name }`;

  // ---------------------------------------------------------------------------------------
  // Time
  // ---------------------------------------------------------------------------------------
  const serverNow = () => Date.now() + state.clockOffsetMs;
  const narrowScreen = matchMedia('(max-width: 600px)');
  // Times and dates are shown in the site's time zone (`site { timeZone }`: the office's
  // clock, the attendance days), the browser's until it is known.
  let timeFormat, shortTimeFormat, dateFormat, shortDateFormat, dateTimeFormat, isoDateParts;
  function useTimeZone(timeZone) {
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
  function humanizeAgo(then, now = serverNow()) {
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
  function localDate(ms) {
    const part = Object.fromEntries(isoDateParts.formatToParts(ms).map((p) => [p.type, p.value]));
    return `${part.year}-${part.month}-${part.day}`;
  }

  function onServerTime(iso) {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return;
    state.clockOffsetMs = ms - Date.now();
    state.lastServerTick = Date.now();
    renderClock(ms);
  }

  function renderClock(ms = serverNow()) {
    $('#current-time').textContent = timeFormat.format(ms);
    $('#current-date').textContent = (narrowScreen.matches ? shortDateFormat : dateFormat).format(ms);
  }

  // Every second: the clock when the subscription is quiet, and the "ago" texts.
  setInterval(() => {
    if (Date.now() - state.lastServerTick > 1500) renderClock();
    refreshAgoTexts();
  }, 1000);

  // ---------------------------------------------------------------------------------------
  // Rendering: header
  // ---------------------------------------------------------------------------------------
  const STATUS_LABEL = { AVAILABLE: 'Available', OFFLINE: 'Offline', UNAVAILABLE: 'Not seen' };
  const AI_LABEL = { RUNNING: 'AI running', DEGRADED: 'AI degraded', STARTING: 'AI starting', STOPPED: 'AI stopped' };

  function setConnection(status) {
    const el = $('#connection-status');
    el.dataset.state = status;
    $('.conn-label', el).textContent =
      { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline' }[status] || status;
  }

  function renderAiStatus() {
    const ai = state.aiStatus;
    const el = $('#ai-status-indicator');
    if (!ai) return;
    el.dataset.state = ai.state;
    el.dataset.running = String(ai.running);
    $('.ai-label', el).textContent = AI_LABEL[ai.state] || `AI ${ai.state.toLowerCase()}`;
    el.title = ai.message;
  }

  function renderSummary() {
    const s = state.summary;
    if (!s) return;
    $('#present-count').textContent = s.present;
    $('#alert-count').textContent = s.alert;
    $('#total-count').textContent = s.total;
    $('#active-count').textContent = s.present;
  }

  function notificationIcon(type) {
    return { EMPLOYEE_LOST: '!', CAMERA_DOWN: '×', CAMERA_UP: '✓' }[type] || '•';
  }

  function renderNotifications() {
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

  // ---------------------------------------------------------------------------------------
  // Rendering: cameras
  // ---------------------------------------------------------------------------------------
  function sortedCameras() {
    return [...state.cameras.values()].sort((a, b) => a.cameraId.localeCompare(b.cameraId, undefined, { numeric: true }));
  }

  function renderCameraButtons() {
    const box = $('#camera-buttons');
    const cameras = sortedCameras();
    if (!state.selectedCamera || !state.cameras.has(state.selectedCamera)) {
      state.selectedCamera = (cameras.find((c) => c.status === 'ONLINE') || cameras[0])?.cameraId || null;
    }
    box.replaceChildren(
      ...cameras.map((c) =>
        h('button', {
          type: 'button',
          class: `camera-btn${c.cameraId === state.selectedCamera ? ' active' : ''}`,
          dataset: { cameraId: c.cameraId, status: c.status },
          'aria-pressed': String(c.cameraId === state.selectedCamera),
          title: `${c.name} (${c.cameraId}): ${c.status.toLowerCase()}`,
          onclick: () => selectCamera(c.cameraId),
        }, h('span', { class: 'cam-dot', 'aria-hidden': 'true' }), c.name),
      ),
    );
    if (!cameras.length) box.append(h('p', { class: 'empty-note' }, 'No cameras yet.'));
  }

  // The live view. Where the API has Camera.liveUrl, an <img> shows the camera's MJPEG stream
  // once its first frame has come and while the camera is online; otherwise, and until then,
  // the camera's name, status, last frame time and who is there now.
  let streamKey = null;
  function renderCameraStream() {
    const box = $('#camera-stream');
    const camera = state.cameras.get(state.selectedCamera);
    box.dataset.cameraId = camera?.cameraId || '';
    box.dataset.status = camera?.status || '';
    if (!camera) {
      streamKey = null;
      box.dataset.live = 'none';
      box.classList.remove('playing');
      box.classList.add('info');
      box.replaceChildren(h('div', { class: 'stream-placeholder' }, h('p', {}, 'No camera selected.')));
      return;
    }
    const liveUrl = state.hasLiveUrl && camera.liveUrl ? liveSource(camera.liveUrl) : null;
    const key = `${camera.cameraId}|${liveUrl ? streamIdentity(liveUrl) : ''}`;
    if (key !== streamKey) {
      // A new camera or URL: a new <img>; otherwise the open stream is kept.
      streamKey = key;
      const parts = [h('div', { class: 'stream-info' })];
      box.dataset.live = liveUrl ? 'waiting' : 'none';
      if (liveUrl) {
        const img = h('img', { class: 'stream-video', alt: `Live view of ${camera.name}`, src: liveUrl });
        const started = () => {
          if (img.isConnected && box.dataset.live === 'waiting') {
            box.dataset.live = 'playing';
            renderCameraStream();
          }
        };
        img.addEventListener('load', started);
        // Not every browser says `load` for the first part of an MJPEG stream.
        const poll = setInterval(() => {
          if (!img.isConnected || box.dataset.live !== 'waiting') clearInterval(poll);
          else if (img.naturalWidth > 0) started();
        }, 500);
        img.addEventListener('error', () => {
          if (!img.isConnected) return;
          img.remove();
          box.dataset.live = 'failed';
          renderCameraStream();
        });
        parts.push(img, h('div', { class: 'stream-overlay' }));
      }
      box.replaceChildren(...parts);
    }
    const playing = box.dataset.live === 'playing' && camera.status === 'ONLINE';
    box.classList.toggle('playing', playing);
    box.classList.toggle('info', !playing);

    const here = [...state.employees.values()]
      .filter((e) => e.presence.status === 'AVAILABLE' && e.presence.camera?.cameraId === camera.cameraId)
      .map((e) => e.name)
      .sort();
    const hereText = here.length ? here.join(', ') : 'nobody seen here now';
    const pill = () =>
      h('span', { class: `pill status-${camera.status.toLowerCase()}` }, camera.status === 'ONLINE' ? 'Online' : 'Offline');
    $('.stream-overlay', box)?.replaceChildren(
      h('span', { class: 'stream-name' }, camera.name),
      pill(),
      h('span', { class: 'stream-here' }, hereText),
    );
    const note = {
      none: 'Live video is not offered by this server yet.',
      waiting: camera.status === 'ONLINE' ? 'Waiting for the first frame…' : 'The live view starts when the camera delivers frames.',
      failed: 'The live view is not available now.',
      playing: 'The camera is offline; the live view resumes when it delivers frames again.',
    }[box.dataset.live];
    $('.stream-info', box).replaceChildren(
      icon(CAMERA_ICON, { class: 'stream-glyph' }),
      h('div', { class: 'stream-title' },
        h('span', { class: 'stream-name' }, camera.name),
        h('span', { class: 'stream-id' }, camera.cameraId),
        pill(),
      ),
      h('dl', { class: 'stream-facts' },
        h('dt', {}, 'Last frame'),
        h('dd', { class: 'stream-last-frame', dataset: { at: camera.lastFrameAt || '' } }, lastFrameText(camera)),
        camera.statusMessage ? [h('dt', {}, 'Status'), h('dd', {}, camera.statusMessage)] : null,
        h('dt', {}, 'Here now'),
        h('dd', { class: 'stream-here' }, hereText),
      ),
      h('p', { class: 'stream-note' }, note),
    );
  }

  function lastFrameText(camera) {
    if (!camera.lastFrameAt) return 'no frame received yet';
    const at = Date.parse(camera.lastFrameAt);
    return `${humanizeAgo(at)} (${dateTimeFormat.format(at)})`;
  }

  // A URL from the API: a path is under the API's base (which may carry a proxy's prefix).
  function apiUrl(url) {
    return url.startsWith('/') && !url.startsWith('//') ? new URL(API + url) : new URL(url, `${API}/`);
  }

  // The live view's <img> source: on the API's origin it gets the token as a query parameter
  // (an <img> cannot send an Authorization header) and asks for the faces to be boxed.
  // liveUrl carries a short-lived grant for the camera (an <img> cannot send a header);
  // servers older than grants get the token in the URL.
  function liveSource(url) {
    try {
      const u = apiUrl(url);
      if (u.origin === new URL(API).origin) {
        if (!u.searchParams.has('grant') && !u.searchParams.has('token')) u.searchParams.set('token', state.token);
        if (!u.searchParams.has('annotate')) u.searchParams.set('annotate', 'true');
      }
      return u.toString();
    } catch {
      return url;
    }
  }

  // The same stream whatever its grant: a renewed grant does not restart an open stream.
  function streamIdentity(url) {
    try {
      const u = new URL(url);
      u.searchParams.delete('grant');
      return u.toString();
    } catch {
      return url;
    }
  }

  function selectCamera(cameraId, { scroll = false } = {}) {
    if (!state.cameras.has(cameraId)) {
      toast(`Camera ${cameraId} is not known.`, 'warn');
      return;
    }
    state.selectedCamera = cameraId;
    sessionStorage.setItem(CAMERA_KEY, cameraId);
    renderCameraButtons();
    renderCameraStream();
    if (scroll) {
      const section = $('.cctv-feed-section');
      const rect = section.getBoundingClientRect();
      if (rect.top < 0 || rect.bottom > innerHeight) section.scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
  }

  // ---------------------------------------------------------------------------------------
  // Rendering: employees
  // ---------------------------------------------------------------------------------------
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

  function statusTimeText(e) {
    const p = e.presence;
    if (!p.lastSeen) return 'never seen';
    return `last seen ${humanizeAgo(Date.parse(p.lastSeen))}`;
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
    $('.employee-name', li).textContent = e.name;
    $('.employee-meta', li).textContent = [e.department, e.role].filter(Boolean).join(' · ') || e.employeeId;
    $('.status-label', li).textContent = STATUS_LABEL[p.status] || p.status;
    $('.status-dot', li).title = STATUS_LABEL[p.status] || p.status;
    const time = $('.status-time', li);
    time.dataset.lastSeen = p.lastSeen || '';
    // The server's own words first; refreshAgoTexts() recomputes them every second.
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

  function renderEmployees() {
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
  function upsertEmployee(e) {
    const known = state.employees.get(e.employeeId);
    const renamed = known && known.name !== e.name;
    state.employees.set(e.employeeId, e);
    if (!known || renamed) renderEmployees();
    else updateItem(items.get(e.employeeId), e);
    renderEmployeeEmpty();
    renderCameraStream();
    markReportStale();
  }

  function removeEmployee(id) {
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

  function refreshAgoTexts() {
    const now = serverNow();
    for (const li of items.values()) {
      const el = $('.status-time', li);
      const at = el.dataset.lastSeen;
      if (at) el.textContent = `last seen ${humanizeAgo(Date.parse(at), now)}`;
    }
    for (const el of $$('#notification-list .n-time')) {
      const at = Date.parse(el.dataset.at);
      el.textContent = `${humanizeAgo(at, now)} · ${dateTimeFormat.format(at)}`;
    }
    const frame = $('#camera-stream .stream-last-frame');
    const camera = state.cameras.get(state.selectedCamera);
    if (frame && camera) frame.textContent = lastFrameText(camera);
  }

  // ---------------------------------------------------------------------------------------
  // Recent activity (live events since the page opened)
  // ---------------------------------------------------------------------------------------
  const ACTIVITY_MAX = 10;
  const activity = []; // { key, kind, text, at, count }

  // Repeated sightings of one person at one camera (recognition runs every second) update
  // one line instead of flooding the feed.
  function addActivity(kind, text, at, key = null) {
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

  function onDetection(d) {
    const e = d.employee;
    const camera = state.cameras.get(d.camera.cameraId)?.name || d.camera.name;
    addActivity('detected', `${e.name} seen at ${camera}`, Date.parse(d.seenAt) || serverNow(), `seen:${e.employeeId}:${camera}`);
    upsertEmployee(e);
  }

  function onStatusChange(e) {
    if (e.presence.status === 'OFFLINE') {
      addActivity('offline', `${e.name} went offline`, Date.parse(e.presence.since) || serverNow());
    }
    upsertEmployee(e);
  }

  // ---------------------------------------------------------------------------------------
  // Notifications
  // ---------------------------------------------------------------------------------------
  function onNotification(n) {
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
  function onNotificationsRead(read) {
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
  // Report: daily attendance, CSV, alert history
  // ---------------------------------------------------------------------------------------
  const ATTENDANCE_LABEL = { PRESENT: 'Present', LATE: 'Late', LEFT_EARLY: 'Left early', ABSENT: 'Absent' };

  function markReportStale() {
    const r = state.report;
    if (r.date && r.date !== localDate(serverNow())) return; // a past day does not change live
    r.stale = true;
    if (state.view === 'report') scheduleReportLoad();
  }

  let reportTimer = null;
  function scheduleReportLoad() {
    clearTimeout(reportTimer);
    reportTimer = setTimeout(loadAttendance, 800);
  }

  function minutesText(total) {
    if (!total) return '0 min';
    const hours = Math.floor(total / 60);
    const minutes = total % 60;
    return hours ? `${hours} h ${String(minutes).padStart(2, '0')} min` : `${minutes} min`;
  }

  async function loadAttendance() {
    const r = state.report;
    if (!r.date) return;
    r.stale = false;
    try {
      const data = await gql(
        `query($date: Date!, $department: String) { attendance(date: $date, department: $department) {
           date firstSeen lastSeen totalMinutes status employee { employeeId name department } } }`,
        { date: r.date, department: r.department || null },
      );
      renderAttendance(data.attendance);
    } catch (error) {
      handleError(error, 'Cannot load the attendance');
    }
  }

  function renderAttendance(rows) {
    const time = (iso) => (iso ? shortTimeFormat.format(Date.parse(iso)) : '—');
    $('#attendance-body').replaceChildren(
      ...rows.map((row) =>
        h('tr', { dataset: { employeeId: row.employee.employeeId, status: row.status } },
          h('td', {}, h('span', { class: 'cell-name' }, row.employee.name), h('span', { class: 'cell-id' }, row.employee.employeeId)),
          h('td', {}, row.employee.department || '—'),
          h('td', {}, time(row.firstSeen)),
          h('td', {}, time(row.lastSeen)),
          h('td', {}, minutesText(row.totalMinutes)),
          h('td', {}, h('span', { class: `att-badge att-${row.status.toLowerCase()}` }, ATTENDANCE_LABEL[row.status] || row.status)),
        ),
      ),
    );
    $('#attendance-table').hidden = rows.length === 0;
    $('#attendance-empty').hidden = rows.length > 0;
    const counts = { PRESENT: 0, LATE: 0, LEFT_EARLY: 0, ABSENT: 0 };
    for (const row of rows) counts[row.status] = (counts[row.status] || 0) + 1;
    $('#attendance-summary').replaceChildren(
      ...Object.entries(counts).map(([status, n]) =>
        h('div', { class: `att-count att-${status.toLowerCase()}` },
          h('span', { class: 'att-count-value' }, n), h('span', { class: 'att-count-label' }, ATTENDANCE_LABEL[status]))),
    );
  }

  function updateCsvLink() {
    const from = $('#csv-from').value;
    const to = $('#csv-to').value;
    const link = $('#csv-download');
    const ok = from && to && from <= to;
    const url = new URL(`${API}/reports/attendance.csv`);
    url.searchParams.set('from', from);
    url.searchParams.set('to', to);
    const department = state.report.department;
    if (department) url.searchParams.set('department', department);
    // No token in the URL: the click downloads it with the Authorization header.
    link.href = ok ? url.toString() : '#';
    link.classList.toggle('disabled', !ok);
    link.setAttribute('aria-disabled', String(!ok));
    link.setAttribute('download', `attendance_${from}_${to}.csv`);
  }

  function renderDepartments() {
    const select = $('#report-department');
    const departments = [...new Set([...state.employees.values()].map((e) => e.department).filter(Boolean))].sort();
    const current = select.value;
    select.replaceChildren(h('option', { value: '' }, 'All'), ...departments.map((d) => h('option', { value: d }, d)));
    select.value = departments.includes(current) ? current : '';
  }

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

  async function loadHistory(reset = false) {
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

  function showView(view) {
    state.view = view;
    for (const tab of $$('.tab')) {
      const active = tab.dataset.view === view;
      tab.classList.toggle('active', active);
      if (active) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    $('#view-live').hidden = view !== 'live';
    $('#view-report').hidden = view !== 'report';
    $('#view-settings').hidden = view !== 'settings';
    if (view === 'settings' && state.started) loadSettings();
    if (view === 'report' && state.started) {
      const r = state.report;
      if (!r.date) {
        r.date = localDate(serverNow());
        $('#report-date').value = r.date;
        $('#csv-from').value = r.date;
        $('#csv-to').value = r.date;
      }
      renderDepartments();
      updateCsvLink();
      if (r.stale) loadAttendance();
      if (!r.historyLoaded) loadHistory(true);
    }
    if (location.hash !== `#${view}`) history.replaceState(null, '', `${location.pathname}${location.search}#${view}`);
  }

  // ---------------------------------------------------------------------------------------
  // Loading and live updates
  // ---------------------------------------------------------------------------------------
  // Newer presence wins: a snapshot read just before an event must not undo it.
  function presenceStamp(p) {
    return Math.max(Date.parse(p.since || 0) || 0, Date.parse(p.lastSeen || 0) || 0);
  }

  async function loadAll() {
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
  async function start() {
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

  function stop() {
    socket?.close();
    socket = null;
    timers.forEach(clearInterval);
    timers = [];
    state.started = false;
  }

  // ---------------------------------------------------------------------------------------
  // Settings (admins): employees and their photos, cameras
  // ---------------------------------------------------------------------------------------
  const SETTINGS_EMPLOYEE_FIELDS = 'employeeId name department role faceCount';
  const SETTINGS_CAMERA_FIELDS = 'cameraId name streamUrl sampleFps enabled source ignoreRegions';
  let settingsTimer = null;

  function refreshSettingsSoon() {
    if (state.view !== 'settings' || !state.started) return;
    clearTimeout(settingsTimer);
    settingsTimer = setTimeout(loadSettings, 300);
  }

  async function loadSettings() {
    try {
      const data = await gql(`{ employees { ${SETTINGS_EMPLOYEE_FIELDS} } cameras { ${SETTINGS_CAMERA_FIELDS} } }`);
      renderSettingsEmployees(data.employees);
      renderSettingsCameras(data.cameras);
    } catch (error) {
      handleError(error, 'Cannot load the settings');
    }
  }

  // A form's input by name (not `form.name`: that is the form's own name attribute).
  const field = (form, name) => form.elements.namedItem(name);

  function formError(form, message) {
    const p = $('.form-error', form);
    p.textContent = message || '';
    p.hidden = !message;
  }

  function blankToNull(value) {
    const v = (value || '').trim();
    return v ? v : null;
  }

  function renderSettingsEmployees(employees) {
    const body = $('#settings-employees');
    body.replaceChildren(...employees.map((e) => {
      const photo = h('input', { type: 'file', accept: 'image/jpeg,image/png', class: 'photo-input', hidden: true,
        onchange: (event) => { const f = event.target.files[0]; if (f) enrolPhoto(e.employeeId, f); event.target.value = ''; } });
      return h('tr', { dataset: { employeeId: e.employeeId } },
        h('td', {}, e.employeeId),
        h('td', { class: 'name' }, e.name),
        h('td', {}, e.department || '—'),
        h('td', { class: 'role' }, e.role || '—'),
        h('td', { class: 'faces' }, String(e.faceCount)),
        h('td', { class: 'actions' },
          h('button', { type: 'button', class: 'btn small secondary edit-btn', onclick: () => editEmployee(e) }, 'Edit'),
          h('button', { type: 'button', class: 'btn small secondary photo-btn', onclick: () => photo.click() }, 'Add photo'),
          photo,
          h('button', { type: 'button', class: 'btn small secondary', disabled: e.faceCount === 0 || undefined,
            onclick: () => removeFaces(e) }, 'Remove faces'),
          h('button', { type: 'button', class: 'btn small danger delete-btn', onclick: () => deleteEmployee(e) }, 'Delete')));
    }));
  }

  function editEmployee(e) {
    const form = $('#employee-form');
    form.dataset.editing = e.employeeId;
    field(form, 'employeeId').value = e.employeeId;
    field(form, 'employeeId').readOnly = true;
    field(form, 'name').value = e.name;
    field(form, 'department').value = e.department || '';
    field(form, 'role').value = e.role || '';
    $('button[type="submit"]', form).textContent = 'Save changes';
    formError(form, null);
    field(form, 'name').focus();
  }

  function resetEmployeeForm() {
    const form = $('#employee-form');
    delete form.dataset.editing;
    field(form, 'employeeId').readOnly = false;
    $('button[type="submit"]', form).textContent = 'Add employee';
    formError(form, null);
  }

  // Saves a settings form: `update` when it edits a record (its id in data-editing), else
  // `create` with the id from `idField`; the server's error goes into the form.
  async function saveRecord(form, fields, { update, create, idField, reset }) {
    try {
      if (form.dataset.editing) {
        await gql(update, { id: form.dataset.editing, input: fields });
        toast(`${fields.name} saved`);
      } else {
        await gql(create, { input: { [idField]: field(form, idField).value.trim(), ...fields } });
        toast(`${fields.name} added`);
      }
      form.reset();
      reset();
      loadSettings();
    } catch (error) {
      if (error instanceof AuthError) handleError(error);
      else formError(form, error.message);
    }
  }

  async function saveEmployee(event) {
    event.preventDefault();
    const form = event.target;
    const fields = { name: field(form, 'name').value.trim(), department: blankToNull(field(form, 'department').value), role: blankToNull(field(form, 'role').value) };
    await saveRecord(form, fields, {
      update: 'mutation($id: ID!, $input: EmployeeUpdateInput!) { updateEmployee(employeeId: $id, input: $input) { employeeId } }',
      create: 'mutation($input: EmployeeInput!) { createEmployee(input: $input) { employeeId } }',
      idField: 'employeeId',
      reset: resetEmployeeForm,
    });
  }

  async function deleteEmployee(e) {
    if (!confirm(`Delete ${e.name} (${e.employeeId}) with their faces and history?`)) return;
    try {
      await gql('mutation($id: ID!) { deleteEmployee(employeeId: $id) }', { id: e.employeeId });
      toast(`${e.name} deleted`);
      loadSettings();
    } catch (error) {
      handleError(error, `Cannot delete ${e.name}`);
    }
  }

  async function removeFaces(e) {
    if (!confirm(`Remove every enrolled face of ${e.name}?`)) return;
    try {
      await gql('mutation($id: ID!) { removeFaces(employeeId: $id) { employeeId } }', { id: e.employeeId });
      loadSettings();
    } catch (error) {
      handleError(error, `Cannot remove the faces of ${e.name}`);
    }
  }

  // enrollFace with the GraphQL multipart request: `operations`, `map`, then the file.
  async function enrolPhoto(employeeId, file) {
    const body = new FormData();
    body.append('operations', JSON.stringify({
      query: 'mutation($id: ID!, $photo: Upload!) { enrollFace(employeeId: $id, photo: $photo) { employeeId name faceCount } }',
      variables: { id: employeeId, photo: null },
    }));
    body.append('map', JSON.stringify({ 0: ['variables.photo'] }));
    body.append('0', file, file.name);
    try {
      const response = await fetch(GRAPHQL_URL, { method: 'POST', headers: { authorization: `Bearer ${state.token}` }, body });
      const result = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
      if (result.errors?.length) throw new Error(result.errors[0].message);
      const e = result.data.enrollFace;
      toast(`Face enrolled for ${e.name} (${e.faceCount} in all)`);
      loadSettings();
    } catch (error) {
      toast(`${file.name}: ${error.message}`, 'alert');
    }
  }

  function renderSettingsCameras(cameras) {
    const body = $('#settings-cameras');
    body.replaceChildren(...cameras.map((c) => h('tr', { dataset: { cameraId: c.cameraId } },
      h('td', {}, c.cameraId),
      h('td', { class: 'name' }, c.name),
      h('td', { class: 'stream' }, c.streamUrl),
      h('td', {}, String(c.sampleFps)),
      h('td', {}, c.enabled ? 'yes' : 'no'),
      h('td', {}, c.source === 'CONFIG_FILE' ? 'file' : 'API'),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'btn small secondary edit-btn', onclick: () => editCamera(c) }, 'Edit'),
        h('button', { type: 'button', class: 'btn small danger delete-btn', onclick: () => deleteCamera(c) }, 'Delete')))));
  }

  function editCamera(c) {
    const form = $('#camera-form');
    form.dataset.editing = c.cameraId;
    field(form, 'cameraId').value = c.cameraId;
    field(form, 'cameraId').readOnly = true;
    field(form, 'name').value = c.name;
    field(form, 'streamUrl').value = c.streamUrl;
    field(form, 'sampleFps').value = c.sampleFps;
    field(form, 'enabled').checked = c.enabled;
    field(form, 'ignoreRegions').value = c.ignoreRegions.length ? JSON.stringify(c.ignoreRegions) : '';
    $('button[type="submit"]', form).textContent = 'Save changes';
    formError(form, c.source === 'CONFIG_FILE' ? 'This camera is defined by a file: its file wins at the next start.' : null);
    field(form, 'name').focus();
  }

  function resetCameraForm() {
    const form = $('#camera-form');
    delete form.dataset.editing;
    field(form, 'cameraId').readOnly = false;
    $('button[type="submit"]', form).textContent = 'Add camera';
    formError(form, null);
  }

  async function saveCamera(event) {
    event.preventDefault();
    const form = event.target;
    let ignoreRegions = [];
    const regionsText = field(form, 'ignoreRegions').value.trim();
    if (regionsText) {
      try {
        ignoreRegions = JSON.parse(regionsText);
      } catch {
        formError(form, 'Ignore regions: write them as [[x1, y1, x2, y2], …], e.g. [[0.75, 0, 1, 0.4]]');
        return;
      }
    }
    const fields = {
      name: field(form, 'name').value.trim(),
      streamUrl: field(form, 'streamUrl').value.trim(),
      sampleFps: Number(field(form, 'sampleFps').value) || null,
      enabled: field(form, 'enabled').checked,
      ignoreRegions,
    };
    await saveRecord(form, fields, {
      update: 'mutation($id: ID!, $input: CameraUpdateInput!) { updateCamera(cameraId: $id, input: $input) { cameraId } }',
      create: 'mutation($input: CameraInput!) { createCamera(input: $input) { cameraId } }',
      idField: 'cameraId',
      reset: resetCameraForm,
    });
  }

  async function deleteCamera(c) {
    if (!confirm(`Delete camera ${c.name} (${c.cameraId})?`)) return;
    try {
      await gql('mutation($id: ID!) { deleteCamera(cameraId: $id) }', { id: c.cameraId });
      toast(`${c.name} deleted`);
      loadSettings();
    } catch (error) {
      handleError(error, `Cannot delete ${c.name}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Sign-in, errors, toasts
  // ---------------------------------------------------------------------------------------
  function askForToken(message) {
    const dialog = $('#token-dialog');
    const error = $('#token-error');
    error.textContent = message || '';
    error.hidden = !message;
    $('#token-input').value = '';
    if (!dialog.open) dialog.showModal();
    $('#token-input').focus();
  }

  async function signIn(token) {
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      await start();
      $('#token-dialog').close();
    } catch (error) {
      stop();
      if (error instanceof AuthError) {
        sessionStorage.removeItem(TOKEN_KEY);
        askForToken(`The server refused this token: ${error.message}`);
      } else {
        $('#token-dialog').close();
        setConnection('offline');
        showBanner(error.message, () => signIn(token));
      }
    }
  }

  function signOut() {
    stop();
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = '';
    askForToken();
  }

  function handleError(error, what) {
    if (error instanceof AuthError) {
      stop();
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken(`Please sign in again: ${error.message}`);
      return;
    }
    const text = what ? `${what}: ${error.message}` : error.message;
    if (error.code === 'FORBIDDEN') toast(`${text} (this needs an admin token)`, 'warn');
    else toast(text, 'warn');
    console.warn(text);
  }

  function showBanner(message, retry) {
    const banner = $('#banner');
    if (!message) {
      banner.hidden = true;
      return;
    }
    banner.replaceChildren(
      h('span', {}, message),
      retry ? h('button', { type: 'button', class: 'btn secondary', onclick: retry }, 'Retry') : null,
    );
    banner.hidden = false;
  }

  function toast(message, kind = 'info') {
    const box = $('#toasts');
    const el = h('div', { class: `toast toast-${kind}`, role: 'status', title: 'Click to dismiss', onclick: () => el.remove() }, message);
    box.append(el);
    while (box.children.length > 3) box.firstChild.remove();
    setTimeout(() => el.classList.add('leaving'), 5000);
    setTimeout(() => el.remove(), 5400);
  }

  // ---------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------
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
  $('#signout-btn').addEventListener('click', signOut);
  for (const tab of $$('.tab')) tab.addEventListener('click', () => showView(tab.dataset.view));
  for (const chip of $$('.chip')) {
    chip.addEventListener('click', () => {
      state.filter = chip.dataset.filter;
      $$('.chip').forEach((c) => c.classList.toggle('active', c === chip));
      for (const e of state.employees.values()) applyFilter(items.get(e.employeeId), e);
      renderEmployeeEmpty();
    });
  }
  $('#employee-search').addEventListener('input', (event) => {
    state.search = event.target.value.trim().toLowerCase();
    for (const e of state.employees.values()) applyFilter(items.get(e.employeeId), e);
    renderEmployeeEmpty();
  });
  $('#report-date').addEventListener('change', (event) => {
    state.report.date = event.target.value || localDate(serverNow());
    $('#csv-from').value = state.report.date;
    $('#csv-to').value = state.report.date;
    updateCsvLink();
    loadAttendance();
  });
  $('#report-department').addEventListener('change', (event) => {
    state.report.department = event.target.value;
    updateCsvLink();
    loadAttendance();
  });
  $('#csv-from').addEventListener('change', updateCsvLink);
  $('#csv-to').addEventListener('change', updateCsvLink);
  $('#csv-download').addEventListener('click', async (event) => {
    const link = event.currentTarget;
    event.preventDefault();
    if (link.classList.contains('disabled')) return;
    try {
      const response = await fetch(link.href, { headers: { authorization: `Bearer ${state.token}` } });
      if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).trim()}`);
      const blob = URL.createObjectURL(await response.blob());
      const save = h('a', { href: blob, download: link.getAttribute('download') || 'attendance.csv' });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(blob), 60_000);
    } catch (error) {
      toast(`The CSV could not be downloaded: ${error.message}`, 'warn');
    }
  });
  $('#alert-history-more').addEventListener('click', () => loadHistory(false));
  $('#employee-form').addEventListener('submit', saveEmployee);
  $('#employee-form').addEventListener('reset', resetEmployeeForm);
  $('#camera-form').addEventListener('submit', saveCamera);
  $('#camera-form').addEventListener('reset', resetCameraForm);
  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('#token-input').value.trim();
    if (token) signIn(token);
  });
  $('#token-dialog').addEventListener('cancel', (event) => event.preventDefault()); // no token, no page

  renderClock(Date.now());
  if (location.hash === '#report' || location.hash === '#settings') state.view = location.hash.slice(1);
  if (location.hash === '#report') showView('report');
  if (state.token) signIn(state.token);
  else askForToken();

  // For scripts and tests: the state, read-only in spirit.
  window.hadirDashboard = { state, reload: () => loadAll() };
})();
