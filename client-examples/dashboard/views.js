// The tabs: Live, Report and Settings (#view-live, #view-report, #view-settings), the one
// shown named in the address's #hash; opening a tab loads what it shows.
import { $, $$ } from './dom.js';
import { openReport } from './report.js';
import { loadSettings } from './settings.js';
import { state } from './state.js';

export function showView(view) {
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
  if (view === 'report' && state.started) openReport();
  if (location.hash !== `#${view}`) history.replaceState(null, '', `${location.pathname}${location.search}#${view}`);
}

export function initViews() {
  for (const tab of $$('.tab')) tab.addEventListener('click', () => showView(tab.dataset.view));
}
