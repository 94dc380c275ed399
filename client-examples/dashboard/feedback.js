// What the page tells the user: toasts, the banner (with a Retry button) and handleError(),
// which turns an error into a toast, or, for a refused token, hands it to the sign-in
// (registered by session.js with onAuthFailure, so that no module imports the sign-in).
import { AuthError } from './api.js';
import { $, h } from './dom.js';

let authFailure = () => {};

// Who handles a refused token (session.js: stop, forget the token, ask for another).
export function onAuthFailure(handler) {
  authFailure = handler;
}

export function handleError(error, what) {
  if (error instanceof AuthError) {
    authFailure(error);
    return;
  }
  const text = what ? `${what}: ${error.message}` : error.message;
  if (error.code === 'FORBIDDEN') toast(`${text} (this needs an admin token)`, 'warn');
  else toast(text, 'warn');
  console.warn(text);
}

export function showBanner(message, retry) {
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

export function toast(message, kind = 'info') {
  const box = $('#toasts');
  const el = h('div', { class: `toast toast-${kind}`, role: 'status', title: 'Click to dismiss', onclick: () => el.remove() }, message);
  box.append(el);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => el.classList.add('leaving'), 5000);
  setTimeout(() => el.remove(), 5400);
}
