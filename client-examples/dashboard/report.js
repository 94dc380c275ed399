// The Report tab: the day's attendance (a date picker and a department filter), the CSV
// download (fetched with the Authorization header, no token in the URL), and opening the
// tab (which also loads the alert history, rendered by notifications.js).
import { authorizedFetch, gql } from './api.js';
import { API } from './config.js';
import { $, h } from './dom.js';
import { handleError, toast } from './feedback.js';
import { loadHistory } from './notifications.js';
import { state } from './state.js';
import { localDate, serverNow, shortTimeFormat } from './time.js';

const ATTENDANCE_LABEL = { PRESENT: 'Present', LATE: 'Late', LEFT_EARLY: 'Left early', ABSENT: 'Absent' };

// Something today's attendance depends on changed: reload it (soon, if it is on screen).
export function markReportStale() {
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

// The Report tab is shown (once the page has started): today by default, the departments,
// the CSV link, and whatever is not loaded yet.
export function openReport() {
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

async function downloadCsv(event) {
  const link = event.currentTarget;
  event.preventDefault();
  if (link.classList.contains('disabled')) return;
  try {
    const response = await authorizedFetch(link.href);
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
}

// The report's controls.
export function initReport() {
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
  $('#csv-download').addEventListener('click', downloadCsv);
}
