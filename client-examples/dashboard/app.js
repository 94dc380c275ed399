// hadir's dashboard: the seed's UI over the public GraphQL API only. This is the entry
// module (index.html loads it with <script type="module">): it wires the others together.
//
// Plain JavaScript modules, no build step and no dependency: queries and mutations go over
// HTTP (POST /graphql, api.js), live updates over one WebSocket speaking
// `graphql-transport-ws` (ws.js). The page is usable from any origin (served over HTTP:
// module scripts do not load from file://):
//   ?api=http://host:port   the hadir server (default: the folder above the page's, i.e.
//                           the page's origin when hadir serves it at /dashboard/)
//   ?token=…                a token (else asked for); kept in sessionStorage for this tab
// Element ids and classes follow the seed's dashboard so the page stays scriptable.
import './config.js'; // first: takes a ?token= out of the address bar
import { refreshLastFrame } from './cameras.js';
import { initEmployees, refreshEmployeeTimes } from './employees.js';
import { renderClock } from './header.js';
import { loadAll } from './live.js';
import { initNotifications, refreshNotificationTimes } from './notifications.js';
import { initReport } from './report.js';
import { askForToken, initSession, signIn } from './session.js';
import { initSettings } from './settings.js';
import { state } from './state.js';
import { serverNow } from './time.js';
import { initViews, showView } from './views.js';

// Every second: the clock when the subscription is quiet, and the "ago" texts.
setInterval(() => {
  if (Date.now() - state.lastServerTick > 1500) renderClock();
  const now = serverNow();
  refreshEmployeeTimes(now);
  refreshNotificationTimes(now);
  refreshLastFrame();
}, 1000);

initNotifications();
initSession();
initViews();
initEmployees();
initReport();
initSettings();

renderClock(Date.now());
if (location.hash === '#report' || location.hash === '#settings') state.view = location.hash.slice(1);
if (location.hash === '#report') showView('report');
if (state.token) signIn(state.token);
else askForToken();

// For scripts and tests: the state, read-only in spirit.
window.hadirDashboard = { state, reload: () => loadAll() };
