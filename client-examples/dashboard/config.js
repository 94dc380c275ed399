// The page's settings: where the hadir API is (?api=), the storage keys and the timings.
// Evaluated first, it also takes a ?token= out of the address bar (and history) once, into
// sessionStorage for this tab.
//   ?api=http://host:port   the hadir server (default: the folder above the page's, i.e.
//                           the page's origin when hadir serves it at /dashboard/)
//   ?token=…                a token (else asked for); kept in sessionStorage for this tab

const params = new URLSearchParams(location.search);
// Served by hadir at /dashboard/, the API is one level up (also behind a proxy's prefix).
const pageApi = location.protocol.startsWith('http') ? new URL('..', location.href).href : 'http://127.0.0.1:8080';
export const API = (params.get('api') || pageApi).replace(/\/+$/, '');
export const GRAPHQL_URL = `${API}/graphql`;
export const WS_URL = GRAPHQL_URL.replace(/^http/, 'ws');
export const TOKEN_KEY = 'hadir.token';
export const CAMERA_KEY = 'hadir.selectedCamera';
export const RESYNC_MS = 30_000; // a full re-read, to heal anything a subscription could not say
export const CAMERA_REFRESH_MS = 10_000; // last frame times are not pushed
export const PING_MS = 20_000; // our keep-alive ping; no pong within PONG_WAIT_MS → reconnect
export const PONG_WAIT_MS = 10_000;

// A token in the URL is taken once, then removed from the address bar (and history).
if (params.has('token')) {
  const t = params.get('token').trim();
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  params.delete('token');
  const query = params.toString();
  history.replaceState(null, '', location.pathname + (query ? `?${query}` : '') + location.hash);
}
