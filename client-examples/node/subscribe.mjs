#!/usr/bin/env node
// An integrator's subscriber for hadir: prints presence events and notifications as they come.
//
//   HADIR_URL=http://127.0.0.1:8080 HADIR_TOKEN=hdr_… node subscribe.mjs [--max-events N] [--timeout SECONDS]
//
// The pattern: read the current state once over HTTP (it also checks the token), then
// subscribe over WebSocket (`graphql-transport-ws`, the token in `connection_init`). After a
// reconnection, events sent while the socket was down are not replayed: read the state
// again (here: the summary).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const USAGE = `usage: HADIR_URL=http://127.0.0.1:8080 HADIR_TOKEN=<token> node subscribe.mjs [options]

Prints hadir's presence events (employeeStatusChanged, employeeDetected,
presenceSummaryChanged) and notifications (notificationCreated) as they come.

options:
  --max-events N      exit 0 after N events
  --timeout SECONDS   exit 1 if the N events have not come by then
                      (default 60 with --max-events, else none)
  -h, --help          this text`;

function parseArgs(argv) {
  const options = { maxEvents: null, timeout: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === '--max-events') {
      options.maxEvents = positive(arg, value(), true);
    } else if (arg.startsWith('--max-events=')) {
      options.maxEvents = positive('--max-events', arg.slice(13), true);
    } else if (arg === '--timeout') {
      options.timeout = positive(arg, value(), false);
    } else if (arg.startsWith('--timeout=')) {
      options.timeout = positive('--timeout', arg.slice(10), false);
    } else {
      fail(`unknown argument ${arg}\n\n${USAGE}`);
    }
  }
  if (options.timeout === null && options.maxEvents !== null) options.timeout = 60;
  return options;
}

function positive(name, text, integer) {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    fail(`${name} must be a positive ${integer ? 'integer' : 'number'}, not ${JSON.stringify(text)}`);
  }
  return n;
}

function fail(message, code = 2) {
  console.error(`error: ${message}`);
  process.exit(code);
}

const options = parseArgs(process.argv.slice(2));
const baseUrl = (process.env.HADIR_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const token = process.env.HADIR_TOKEN;
if (!token) fail('set HADIR_TOKEN (a viewer token: `hadir token create --role viewer`)');
const httpUrl = `${baseUrl}/graphql`;
const wsUrl = httpUrl.replace(/^http/, 'ws');

// One query over HTTP, with the token in the Authorization header.
async function query(text, variables = {}) {
  let response;
  try {
    response = await fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: text, variables }),
    });
  } catch (error) {
    throw new Error(`cannot reach ${httpUrl}: ${error.cause?.message ?? error.message}`);
  }
  const body = await response.json().catch(() => null);
  if (!body) throw new Error(`${httpUrl} answered HTTP ${response.status} without JSON`);
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new Error(`${e.message} (${e.extensions?.code ?? `HTTP ${response.status}`})`);
  }
  return body.data;
}

const SUMMARY = 'present alert unavailable total';
const EMPLOYEE = 'employeeId name presence { status lastSeen camera { cameraId name } }';

// What to subscribe to, and how to print each event in one line.
const SUBSCRIPTIONS = {
  employeeStatusChanged: {
    query: `subscription { employeeStatusChanged { ${EMPLOYEE} } }`,
    format: (e) =>
      `${who(e)} is now ${e.presence.status}` +
      (e.presence.camera ? ` (last seen at ${where(e.presence.camera)})` : ''),
  },
  employeeDetected: {
    query: `subscription { employeeDetected { seenAt score employee { employeeId name } camera { cameraId name } } }`,
    format: (d) =>
      `${who(d.employee)} seen at ${where(d.camera)}` +
      (d.score == null ? '' : `, similarity ${d.score.toFixed(2)}`),
  },
  presenceSummaryChanged: {
    query: `subscription { presenceSummaryChanged { ${SUMMARY} } }`,
    format: summaryText,
  },
  notificationCreated: {
    query: `subscription { notificationCreated { id type message createdAt } }`,
    format: (n) => `#${n.id} ${n.type}: ${n.message}`,
  },
};

function who(employee) {
  return `${employee.name} (${employee.employeeId})`;
}
function where(camera) {
  return `${camera.name} (${camera.cameraId})`;
}
function summaryText(s) {
  return `${s.present} present, ${s.alert} alert, ${s.unavailable} never seen, ${s.total} total`;
}

let events = 0;
let client = null;

function finish(code, message) {
  if (message) (code === 0 ? console.log : console.error)(message);
  // dispose() closes the socket politely; exit even if that hangs.
  Promise.resolve(client?.dispose())
    .catch(() => {})
    .finally(() => process.exit(code));
  setTimeout(() => process.exit(code), 1000).unref();
}

async function main() {
  // The state now, and a check of the token before subscribing.
  const start = await query(`{ me { role } presenceSummary { ${SUMMARY} } }`);
  console.log(`hadir at ${baseUrl}, as ${start.me.role}; now: ${summaryText(start.presenceSummary)}`);

  if (options.timeout !== null) {
    setTimeout(() => {
      const wanted = options.maxEvents === null ? '' : ` of ${options.maxEvents}`;
      finish(1, `timed out after ${options.timeout} s with ${events}${wanted} events`);
    }, options.timeout * 1000).unref();
  }

  let connections = 0;
  client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    // An integrator keeps listening: reconnect for ever, with graphql-ws's backoff.
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: {
      connected: () => {
        connections += 1;
        if (connections === 1) {
          console.log(`subscribed over ${wsUrl}: ${Object.keys(SUBSCRIPTIONS).join(', ')}`);
        } else {
          console.log('reconnected; events while disconnected are not replayed: reading the summary again');
          query(`{ presenceSummary { ${SUMMARY} } }`)
            .then((d) => console.log(`now: ${summaryText(d.presenceSummary)}`))
            .catch((error) => console.error(`warning: ${error.message}`));
        }
      },
      closed: (event) => {
        if (connections > 0 && event?.code !== 1000) {
          console.error(`connection closed (${event?.code ?? '?'} ${event?.reason ?? ''}); reconnecting…`);
        }
      },
    },
  });

  for (const [name, { query: text, format }] of Object.entries(SUBSCRIPTIONS)) {
    client.subscribe(
      { query: text },
      {
        next: (result) => {
          if (result.errors?.length) {
            finish(1, `${name}: ${result.errors.map((e) => e.message).join('; ')}`);
            return;
          }
          const payload = result.data[name];
          const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
          console.log(`${at}  ${name.padEnd(22)}  ${format(payload)}`);
          events += 1;
          if (options.maxEvents !== null && events >= options.maxEvents) {
            finish(0, `received ${events} events; done`);
          }
        },
        error: (error) => {
          const text = Array.isArray(error)
            ? error.map((e) => e.message).join('; ')
            : error?.message ?? error?.reason ?? String(error);
          finish(1, `${name}: ${text}`);
        },
        complete: () => {},
      },
    );
  }
}

process.on('SIGINT', () => finish(0));
process.on('SIGTERM', () => finish(0));

main().catch((error) => finish(1, `error: ${error.message}`));
