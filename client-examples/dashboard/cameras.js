// The Live CCTV panel: one button per camera (#camera-buttons) and the selected camera's
// live view (#camera-stream): its MJPEG stream (Camera.liveUrl) or, until a frame comes,
// its name, status, last frame time and who is there now.
import { demoBadge, renderDemoBanner } from './demo.js';
import { apiUrl } from './api.js';
import { API, CAMERA_KEY } from './config.js';
import { $, CAMERA_ICON, h, icon } from './dom.js';
import { toast } from './feedback.js';
import { state } from './state.js';
import { dateTimeFormat, humanizeAgo } from './time.js';

function sortedCameras() {
  return [...state.cameras.values()].sort((a, b) => a.cameraId.localeCompare(b.cameraId, undefined, { numeric: true }));
}

export function renderCameraButtons() {
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
      }, h('span', { class: 'cam-dot', 'aria-hidden': 'true' }), c.name, ...(c.demo ? [demoBadge()] : [])),
    ),
  );
  if (!cameras.length) box.append(h('p', { class: 'empty-note' }, 'No cameras yet.'));
  renderDemoBanner();
}

// The live view. Where the API has Camera.liveUrl, an <img> shows the camera's MJPEG stream
// once its first frame has come and while the camera is online; otherwise, and until then,
// the camera's name, status, last frame time and who is there now.
let streamKey = null;
export function renderCameraStream() {
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

// Every second: the live view's last frame time.
export function refreshLastFrame() {
  const frame = $('#camera-stream .stream-last-frame');
  const camera = state.cameras.get(state.selectedCamera);
  if (frame && camera) frame.textContent = lastFrameText(camera);
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

export function selectCamera(cameraId, { scroll = false } = {}) {
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
