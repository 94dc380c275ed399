// What the page knows: one shared object, read and written by the other modules (and
// exposed to scripts and tests as window.hadirDashboard.state, read-only in spirit).
import { CAMERA_KEY, TOKEN_KEY } from './config.js';

export const state = {
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
