// The Settings tab (admin tokens only): employees (add, edit, delete, enrol a photo with the
// GraphQL multipart request, remove faces), a staff directory imported (a CSV and its
// photos, importEmployees) and cameras (add, edit, delete); the server's errors are shown in
// the form, naming the field at fault.
import { AuthError, gql, gqlMultipart } from './api.js';
import { $, h } from './dom.js';
import { handleError, toast } from './feedback.js';
import { state } from './state.js';

const SETTINGS_EMPLOYEE_FIELDS = 'employeeId name department role faceCount';
const SETTINGS_CAMERA_FIELDS = 'cameraId name streamUrl sampleFps enabled source ignoreRegions';
let settingsTimer = null;

export function refreshSettingsSoon() {
  if (state.view !== 'settings' || !state.started) return;
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(loadSettings, 300);
}

export async function loadSettings() {
  try {
    const data = await gql(`{ employees { ${SETTINGS_EMPLOYEE_FIELDS} } cameras { ${SETTINGS_CAMERA_FIELDS} } }`);
    renderSettingsEmployees(data.employees);
    renderSettingsCameras(data.cameras);
  } catch (error) {
    handleError(error, 'Cannot load the settings');
  }
}

// A form's input by name (not `form.name`: that is the form's own name attribute).
const field = (form, name) => form.elements.namedItem(name);

function formError(form, message) {
  const p = $('.form-error', form);
  p.textContent = message || '';
  p.hidden = !message;
}

function blankToNull(value) {
  const v = (value || '').trim();
  return v ? v : null;
}

function renderSettingsEmployees(employees) {
  const body = $('#settings-employees');
  body.replaceChildren(...employees.map((e) => {
    const photo = h('input', { type: 'file', accept: 'image/jpeg,image/png', class: 'photo-input', hidden: true,
      onchange: (event) => { const f = event.target.files[0]; if (f) enrolPhoto(e.employeeId, f); event.target.value = ''; } });
    return h('tr', { dataset: { employeeId: e.employeeId } },
      h('td', {}, e.employeeId),
      h('td', { class: 'name' }, e.name),
      h('td', {}, e.department || '—'),
      h('td', { class: 'role' }, e.role || '—'),
      h('td', { class: 'faces' }, String(e.faceCount)),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'btn small secondary edit-btn', onclick: () => editEmployee(e) }, 'Edit'),
        h('button', { type: 'button', class: 'btn small secondary photo-btn', onclick: () => photo.click() }, 'Add photo'),
        photo,
        h('button', { type: 'button', class: 'btn small secondary', disabled: e.faceCount === 0 || undefined,
          onclick: () => removeFaces(e) }, 'Remove faces'),
        h('button', { type: 'button', class: 'btn small danger delete-btn', onclick: () => deleteEmployee(e) }, 'Delete')));
  }));
}

function editEmployee(e) {
  const form = $('#employee-form');
  form.dataset.editing = e.employeeId;
  field(form, 'employeeId').value = e.employeeId;
  field(form, 'employeeId').readOnly = true;
  field(form, 'name').value = e.name;
  field(form, 'department').value = e.department || '';
  field(form, 'role').value = e.role || '';
  $('button[type="submit"]', form).textContent = 'Save changes';
  formError(form, null);
  field(form, 'name').focus();
}

function resetEmployeeForm() {
  const form = $('#employee-form');
  delete form.dataset.editing;
  field(form, 'employeeId').readOnly = false;
  $('button[type="submit"]', form).textContent = 'Add employee';
  formError(form, null);
}

// Saves a settings form: `update` when it edits a record (its id in data-editing), else
// `create` with the id from `idField`; the server's error goes into the form.
async function saveRecord(form, fields, { update, create, idField, reset }) {
  try {
    if (form.dataset.editing) {
      await gql(update, { id: form.dataset.editing, input: fields });
      toast(`${fields.name} saved`);
    } else {
      await gql(create, { input: { [idField]: field(form, idField).value.trim(), ...fields } });
      toast(`${fields.name} added`);
    }
    form.reset();
    reset();
    loadSettings();
  } catch (error) {
    if (error instanceof AuthError) handleError(error);
    else formError(form, error.message);
  }
}

async function saveEmployee(event) {
  event.preventDefault();
  const form = event.target;
  const fields = { name: field(form, 'name').value.trim(), department: blankToNull(field(form, 'department').value), role: blankToNull(field(form, 'role').value) };
  await saveRecord(form, fields, {
    update: 'mutation($id: ID!, $input: EmployeeUpdateInput!) { updateEmployee(employeeId: $id, input: $input) { employeeId } }',
    create: 'mutation($input: EmployeeInput!) { createEmployee(input: $input) { employeeId } }',
    idField: 'employeeId',
    reset: resetEmployeeForm,
  });
}

async function deleteEmployee(e) {
  if (!confirm(`Delete ${e.name} (${e.employeeId}) with their faces and history?`)) return;
  try {
    await gql('mutation($id: ID!) { deleteEmployee(employeeId: $id) }', { id: e.employeeId });
    toast(`${e.name} deleted`);
    loadSettings();
  } catch (error) {
    handleError(error, `Cannot delete ${e.name}`);
  }
}

async function removeFaces(e) {
  if (!confirm(`Remove every enrolled face of ${e.name}?`)) return;
  try {
    await gql('mutation($id: ID!) { removeFaces(employeeId: $id) { employeeId } }', { id: e.employeeId });
    loadSettings();
  } catch (error) {
    handleError(error, `Cannot remove the faces of ${e.name}`);
  }
}

// enrollFace with the GraphQL multipart request: `operations`, `map`, then the file.
async function enrolPhoto(employeeId, file) {
  const body = new FormData();
  body.append('operations', JSON.stringify({
    query: 'mutation($id: ID!, $photo: Upload!) { enrollFace(employeeId: $id, photo: $photo) { employeeId name faceCount } }',
    variables: { id: employeeId, photo: null },
  }));
  body.append('map', JSON.stringify({ 0: ['variables.photo'] }));
  body.append('0', file, file.name);
  try {
    const e = (await gqlMultipart(body)).enrollFace;
    toast(`Face enrolled for ${e.name} (${e.faceCount} in all)`);
    loadSettings();
  } catch (error) {
    toast(`${file.name}: ${error.message}`, 'alert');
  }
}

const IMPORT = `mutation($csv: Upload!, $photos: [Upload!]) { importEmployees(csv: $csv, photos: $photos) {
  rows created updated unchanged refusedRows facesEnrolled facesUnchanged refusedPhotos
  refused { row employeeId photo reason message } } }`;

// importEmployees with the GraphQL multipart request: the CSV, then each photo under its
// file name (the names the CSV's photos column gives).
async function importStaff(event) {
  event.preventDefault();
  const form = event.target;
  const csv = field(form, 'csv').files[0];
  const photos = [...field(form, 'photos').files];
  if (!csv) return;
  const body = new FormData();
  body.append('operations', JSON.stringify({ query: IMPORT, variables: { csv: null, photos: photos.map(() => null) } }));
  const map = { csv: ['variables.csv'] };
  photos.forEach((_, n) => { map[n] = [`variables.photos.${n}`]; });
  body.append('map', JSON.stringify(map));
  body.append('csv', csv, csv.name);
  photos.forEach((photo, n) => body.append(String(n), photo, photo.name));
  const button = $('button[type="submit"]', form);
  button.disabled = true;
  formError(form, null);
  try {
    renderImportReport((await gqlMultipart(body)).importEmployees);
    loadSettings();
  } catch (error) {
    formError(form, error.message);
  } finally {
    button.disabled = false;
  }
}

function renderImportReport(r) {
  const report = $('#import-report');
  $('.import-summary', report).textContent = `${r.rows} rows: ${r.created} created, ${r.updated} updated, `
    + `${r.unchanged} unchanged, ${r.refusedRows} refused; ${r.facesEnrolled} faces enrolled, `
    + `${r.facesUnchanged} already enrolled (unchanged), ${r.refusedPhotos} photos refused`;
  $('#import-refused').replaceChildren(...r.refused.map((x) => h('tr', { dataset: { reason: x.reason } },
    h('td', {}, String(x.row)),
    h('td', {}, x.employeeId || '—'),
    h('td', {}, x.photo || '—'),
    h('td', { class: 'reason' }, x.reason),
    h('td', {}, x.message))));
  report.hidden = false;
  toast(r.refused.length ? `Imported, ${r.refused.length} refused: see the report` : 'Imported');
}

function renderSettingsCameras(cameras) {
  const body = $('#settings-cameras');
  body.replaceChildren(...cameras.map((c) => h('tr', { dataset: { cameraId: c.cameraId } },
    h('td', {}, c.cameraId),
    h('td', { class: 'name' }, c.name),
    h('td', { class: 'stream' }, c.streamUrl),
    h('td', {}, String(c.sampleFps)),
    h('td', {}, c.enabled ? 'yes' : 'no'),
    h('td', {}, c.source === 'CONFIG_FILE' ? 'file' : 'API'),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'btn small secondary edit-btn', onclick: () => editCamera(c) }, 'Edit'),
      h('button', { type: 'button', class: 'btn small danger delete-btn', onclick: () => deleteCamera(c) }, 'Delete')))));
}

function editCamera(c) {
  const form = $('#camera-form');
  form.dataset.editing = c.cameraId;
  field(form, 'cameraId').value = c.cameraId;
  field(form, 'cameraId').readOnly = true;
  field(form, 'name').value = c.name;
  field(form, 'streamUrl').value = c.streamUrl;
  field(form, 'sampleFps').value = c.sampleFps;
  field(form, 'enabled').checked = c.enabled;
  field(form, 'ignoreRegions').value = c.ignoreRegions.length ? JSON.stringify(c.ignoreRegions) : '';
  $('button[type="submit"]', form).textContent = 'Save changes';
  formError(form, c.source === 'CONFIG_FILE' ? 'This camera is defined by a file: its file wins at the next start.' : null);
  field(form, 'name').focus();
}

function resetCameraForm() {
  const form = $('#camera-form');
  delete form.dataset.editing;
  field(form, 'cameraId').readOnly = false;
  $('button[type="submit"]', form).textContent = 'Add camera';
  formError(form, null);
}

async function saveCamera(event) {
  event.preventDefault();
  const form = event.target;
  let ignoreRegions = [];
  const regionsText = field(form, 'ignoreRegions').value.trim();
  if (regionsText) {
    try {
      ignoreRegions = JSON.parse(regionsText);
    } catch {
      formError(form, 'Ignore regions: write them as [[x1, y1, x2, y2], …], e.g. [[0.75, 0, 1, 0.4]]');
      return;
    }
  }
  const fields = {
    name: field(form, 'name').value.trim(),
    streamUrl: field(form, 'streamUrl').value.trim(),
    sampleFps: Number(field(form, 'sampleFps').value) || null,
    enabled: field(form, 'enabled').checked,
    ignoreRegions,
  };
  await saveRecord(form, fields, {
    update: 'mutation($id: ID!, $input: CameraUpdateInput!) { updateCamera(cameraId: $id, input: $input) { cameraId } }',
    create: 'mutation($input: CameraInput!) { createCamera(input: $input) { cameraId } }',
    idField: 'cameraId',
    reset: resetCameraForm,
  });
}

async function deleteCamera(c) {
  if (!confirm(`Delete camera ${c.name} (${c.cameraId})?`)) return;
  try {
    await gql('mutation($id: ID!) { deleteCamera(cameraId: $id) }', { id: c.cameraId });
    toast(`${c.name} deleted`);
    loadSettings();
  } catch (error) {
    handleError(error, `Cannot delete ${c.name}`);
  }
}

// The forms' buttons.
export function initSettings() {
  $('#employee-form').addEventListener('submit', saveEmployee);
  $('#employee-form').addEventListener('reset', resetEmployeeForm);
  $('#import-form').addEventListener('submit', importStaff);
  $('#camera-form').addEventListener('submit', saveCamera);
  $('#camera-form').addEventListener('reset', resetCameraForm);
}
