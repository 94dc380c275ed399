// The GraphQL-over-HTTP client (POST /graphql, and the multipart request for uploads), the
// token it sends (kept in sessionStorage for this tab), URLs under the API, and the field
// selections the page asks for.
import { API, GRAPHQL_URL, TOKEN_KEY } from './config.js';
import { state } from './state.js';

// The server refused the token: the page asks for another.
export class AuthError extends Error {}

export function setToken(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
}

// Forgets the stored token (state.token stays until the caller clears it).
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

const authorization = () => `Bearer ${state.token}`;

export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch(GRAPHQL_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: authorization() },
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

// A GraphQL multipart request (a FormData of `operations`, `map`, then the files): the
// data, or an Error with the first error's message.
export async function gqlMultipart(body) {
  const response = await fetch(GRAPHQL_URL, { method: 'POST', headers: { authorization: authorization() }, body });
  const result = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  if (result.errors?.length) throw new Error(result.errors[0].message);
  return result.data;
}

// A GET with the Authorization header (the attendance CSV: no token in URLs).
export function authorizedFetch(url) {
  return fetch(url, { headers: { authorization: authorization() } });
}

// A URL from the API: a path is under the API's base (which may carry a proxy's prefix).
export function apiUrl(url) {
  return url.startsWith('/') && !url.startsWith('//') ? new URL(API + url) : new URL(url, `${API}/`);
}

// Selections.
export const cameraFields = () =>
  `cameraId name status isActive enabled demo lastFrameAt statusMessage statusChangedAt${state.hasLiveUrl ? ' liveUrl' : ''}`;
export const EMPLOYEE_FIELDS = `employeeId name department role demo
    presence { status lastSeen lastSeenAgo since score camera { cameraId name } }`;
export const SUMMARY_FIELDS = 'present alert unavailable total';
export const AI_FIELDS = 'running state message changedAt';
export const NOTIFICATION_FIELDS = `id type message createdAt isRead
    employee { employeeId name } camera { cameraId name }`;
