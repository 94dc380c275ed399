// The Node and Python subscribers and the curl script, run for real against a hadir.
//
// The Python example runs with $HADIR_CLIENT_PYTHON, default ~/.cache/hadir/client-venv/bin/python
// (run.sh makes that venv from python/requirements.txt); the Node one needs `npm ci` in node/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { EXAMPLES_DIR, startHadir, waitFor } from './lib.mjs';

const LOST_AFTER_SECS = 3;
const PYTHON = process.env.HADIR_CLIENT_PYTHON || join(homedir(), '.cache/hadir/client-venv/bin/python');

const EXAMPLES = {
  node: {
    command: process.execPath,
    args: [join(EXAMPLES_DIR, 'node/subscribe.mjs')],
    ready: () => existsSync(join(EXAMPLES_DIR, 'node/node_modules/graphql-ws')) || 'run `npm ci` in client-examples/node',
  },
  python: {
    command: PYTHON,
    args: [join(EXAMPLES_DIR, 'python/subscribe.py')],
    ready: () => existsSync(PYTHON) || `no ${PYTHON}: run client-examples/tests/run.sh (or set HADIR_CLIENT_PYTHON)`,
  },
};

let hadir;

/** Starts an example; collects its output; `exited` resolves to its exit code. */
function start(name, flags, env = {}) {
  const example = EXAMPLES[name];
  const ready = example.ready();
  assert.equal(ready, true, ready);
  const child = spawn(example.command, [...example.args, ...flags], {
    env: { ...process.env, HADIR_URL: hadir.url, HADIR_TOKEN: hadir.token, PYTHONUNBUFFERED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d) => (run.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (run.stderr += d));
  run.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  run.output = () => `--- stdout ---\n${run.stdout}--- stderr ---\n${run.stderr}`;
  return run;
}

async function createEmployee(employeeId, name) {
  await hadir.gql('mutation($input: EmployeeInput!) { createEmployee(input: $input) { employeeId } }', {
    input: { employeeId, name },
  });
}

async function sighting(employeeId, cameraId = 'CAM1') {
  await hadir.gql('mutation($input: SightingInput!) { reportSighting(input: $input) { employeeId } }', {
    input: { employeeId, cameraId, score: 0.7 },
  });
}

/** Reports sightings every 300 ms until `until()` is true (bounded). */
async function pumpSightings(employeeId, until, ms = 20_000) {
  await waitFor(
    async () => {
      if (await until()) return true;
      await sighting(employeeId);
      return false;
    },
    { ms, every: 300, what: `an event after sightings of ${employeeId}` },
  );
}

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no exit in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

before(async () => {
  hadir = await startHadir({ lostAfterSecs: LOST_AFTER_SECS });
});

after(async () => {
  await hadir?.stop();
});

for (const name of Object.keys(EXAMPLES)) {
  describe(`the ${name} example`, { timeout: 90_000 }, () => {
    it('prints presence events and notifications as they come', async () => {
      const employee = `${name}-watch`;
      await createEmployee(employee, `${name === 'node' ? 'Nadia' : 'Putu'} Watcher`);
      const run = start(name, ['--max-events', '1000', '--timeout', '60']);
      try {
        await waitFor(() => run.stdout.includes('subscribed over ws://'), { ms: 20_000, what: `${name}: subscribed\n${run.output()}` });
        // Sightings until the first detection is printed (the subscriptions are in place then).
        const detected = new RegExp(`employeeDetected\\s+.*\\(${employee}\\) seen at Lobby \\(CAM1\\)`);
        await pumpSightings(employee, () => detected.test(run.stdout));
        await waitFor(() => new RegExp(`employeeStatusChanged\\s+.*\\(${employee}\\) is now AVAILABLE`).test(run.stdout), {
          what: `${name}: AVAILABLE\n${run.output()}`,
        });
        assert.match(run.stdout, /presenceSummaryChanged\s+\d+ present, \d+ alert, \d+ never seen, \d+ total/);
        // Then nothing: after lost_after, OFFLINE and an EMPLOYEE_LOST notification.
        await waitFor(() => new RegExp(`notificationCreated\\s+#\\d+ EMPLOYEE_LOST: .*\\(${employee}\\)`).test(run.stdout), {
          ms: (LOST_AFTER_SECS + 10) * 1000,
          what: `${name}: the EMPLOYEE_LOST notification\n${run.output()}`,
        });
        assert.match(run.stdout, new RegExp(`employeeStatusChanged\\s+.*\\(${employee}\\) is now OFFLINE`));
        run.child.kill('SIGINT');
        assert.equal(await withTimeout(run.exited, 10_000, name), 0, run.output());
      } finally {
        run.child.kill('SIGKILL');
      }
    });

    it('stops after --max-events N with exit 0', async () => {
      const employee = `${name}-count`;
      await createEmployee(employee, `${name} counter`);
      const run = start(name, ['--max-events', '2', '--timeout', '30']);
      try {
        await waitFor(() => run.stdout.includes('subscribed over ws://'), { ms: 20_000, what: `${name}: subscribed\n${run.output()}` });
        await pumpSightings(employee, () => run.child.exitCode !== null);
        assert.equal(await withTimeout(run.exited, 10_000, name), 0, run.output());
        assert.match(run.stdout, /received 2 events; done/);
        assert.ok(run.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT\S+Z\s+\w+\s/.test(l)).length >= 2, run.output());
      } finally {
        run.child.kill('SIGKILL');
      }
    });

    it('exits 1 when the events do not come in time', async () => {
      const run = start(name, ['--max-events', '1000', '--timeout', '1']);
      assert.equal(await withTimeout(run.exited, 20_000, name), 1, run.output());
      assert.match(run.stderr, /timed out after 1 s/);
    });

    it('exits non-zero on a refused token', async () => {
      const run = start(name, ['--max-events', '1', '--timeout', '10'], { HADIR_TOKEN: 'not-a-token' });
      assert.equal(await withTimeout(run.exited, 20_000, name), 1, run.output());
      assert.match(run.stderr, /unknown or revoked/);
    });
  });
}

describe('the curl examples', { timeout: 90_000 }, () => {
  it('runs examples.sh against the server, twice', async () => {
    for (const round of [1, 2]) {
      const child = spawn('bash', [join(EXAMPLES_DIR, 'curl/examples.sh')], {
        env: { ...process.env, HADIR_URL: hadir.url, HADIR_TOKEN: hadir.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      const code = await withTimeout(new Promise((r) => child.on('exit', (c) => r(c))), 60_000, 'examples.sh');
      assert.equal(code, 0, `round ${round}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
      assert.match(stdout, new RegExp(`==> ${round === 1 ? 'Creating' : 'Updating'} employee demo-ana`));
      assert.match(stdout, /"reportSighting"/);
      assert.match(stdout, /"status": "AVAILABLE"/, 'the sighting made her AVAILABLE');
      assert.match(stdout, /"enrollFace"|SKIPPED: /);
      assert.match(stdout, /^date,employee_id,name,department,first_seen,last_seen,total_minutes,status$/m);
      assert.match(stdout, /All examples ran against/);
    }
    // The sighting the script reported reached hadir. (Whether she is still AVAILABLE depends
    // on how long the script took after it: this server loses people after 3 s.)
    const { employee } = await hadir.gql('{ employee(employeeId: "demo-ana") { presence { status lastSeen camera { cameraId } } } }');
    assert.notEqual(employee.presence.status, 'UNAVAILABLE', JSON.stringify(employee));
    assert.ok(employee.presence.lastSeen, JSON.stringify(employee));
    assert.ok(employee.presence.camera, JSON.stringify(employee));
  });

  it('fails on a GraphQL error', async () => {
    const child = spawn('bash', [join(EXAMPLES_DIR, 'curl/examples.sh')], {
      env: { ...process.env, HADIR_URL: hadir.url, HADIR_TOKEN: 'not-a-token' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdout.resume();
    const code = await withTimeout(new Promise((r) => child.on('exit', (c) => r(c))), 30_000, 'examples.sh');
    assert.notEqual(code, 0);
    assert.match(stderr, /UNAUTHENTICATED/);
  });
});
