// The demo site's label: a "demo" badge beside its employees and camera, and a note in the
// header saying how to switch it off, shown while anything of the demo is listed.
import { $, h } from './dom.js';
import { state } from './state.js';

export function demoBadge() {
  return h('span', { class: 'demo-badge', title: 'Made by the demo site (demo.enabled = false removes it)' }, 'demo');
}

export function renderDemoBanner() {
  const on = [...state.employees.values(), ...state.cameras.values()].some((x) => x.demo);
  $('#demo-banner').hidden = !on;
}
