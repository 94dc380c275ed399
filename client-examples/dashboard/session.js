// Sign-in: the token dialog, signing in (start the page; a refused token asks again, an
// unreachable server shows the banner with Retry), signing out, and what a token refused
// later does (registered with feedback.js: stop, forget it, ask again).
import { AuthError, forgetToken, setToken } from './api.js';
import { $ } from './dom.js';
import { onAuthFailure, showBanner } from './feedback.js';
import { setConnection } from './header.js';
import { start, stop } from './live.js';
import { state } from './state.js';

export function askForToken(message) {
  const dialog = $('#token-dialog');
  const error = $('#token-error');
  error.textContent = message || '';
  error.hidden = !message;
  $('#token-input').value = '';
  if (!dialog.open) dialog.showModal();
  $('#token-input').focus();
}

export async function signIn(token) {
  setToken(token);
  try {
    await start();
    $('#token-dialog').close();
  } catch (error) {
    stop();
    if (error instanceof AuthError) {
      forgetToken();
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
  forgetToken();
  state.token = '';
  askForToken();
}

// The sign-out button, the token dialog, and a token refused while the page runs.
export function initSession() {
  onAuthFailure((error) => {
    stop();
    forgetToken();
    askForToken(`Please sign in again: ${error.message}`);
  });
  $('#signout-btn').addEventListener('click', signOut);
  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('#token-input').value.trim();
    if (token) signIn(token);
  });
  $('#token-dialog').addEventListener('cancel', (event) => event.preventDefault()); // no token, no page
}
