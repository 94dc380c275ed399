#!/usr/bin/env node
// One process of the client fleet of `cargo bench -p api --bench reconnect`: COUNT real
// graphql-ws clients (`createClient` with `webSocketImpl: ws`, the token in
// `connectionParams`, `lazy: false`), each subscribed to one subscription, retrying for ever
// with a short randomised wait. The benchmark runs several of these (one Node.js process is
// single-threaded) and drives them over stdin/stdout, one JSON object a line:
//
//   node fleet.mjs --url ws://127.0.0.1:8080/graphql --tokens FILE --first I --count N \
//                  [--query 'subscription { serverTime }'] [--retry-wait-ms 200]
//
// FILE holds one token a line; client k (k from 0) of this process uses line
// (I + k) mod lines, so a file with one line gives every client the same token.
//
// stdin, one command a line:
//   go PHASE       start measuring PHASE: the first `go` creates the clients (all at once);
//                  a later one waits for each client's socket to close (the server is about
//                  to be killed) and measures its reconnection
//   exit           dispose of every client and exit
// stdout:
//   {"ready":true}                                   modules loaded, waiting for `go`
//   {"started":P}                                    `go P` taken (before any client of P)
//   {"progress":{"phase":P,"acked":A,"received":R}}  every second while a phase runs
//   {"done":{"phase":P,"start":T,"created":C,"opened":[...],"acked":[...],"received":[...],"errors":E}}
//      when every client of this process got `connection_ack` and then a `next` in this
//      phase: C is when the clients had all been created (the first phase; else T), `opened`
//      when each client's WebSocket opened (the upgrade answered), `acked` its
//      `connection_ack`, `received` its first `next`. T, C and the per-client times are
//      wall-clock milliseconds since the Unix epoch
//      (performance.timeOrigin + performance.now(), sub-millisecond), so the benchmark
//      can set them against its own clock.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** How often progress is reported while a phase runs. */
const PROGRESS_INTERVAL_MS = 1000;
/** The subscription every client holds unless --query says otherwise. */
const DEFAULT_QUERY = 'subscription { serverTime }';
/** The shortest wait before a retry; each wait is this plus up to as much again, at random. */
const DEFAULT_RETRY_WAIT_MS = 200;

function args(argv) {
  const options = { query: DEFAULT_QUERY, retryWaitMs: DEFAULT_RETRY_WAIT_MS };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value`);
    switch (name) {
      case '--url': options.url = value; break;
      case '--tokens': options.tokens = value; break;
      case '--first': options.first = Number(value); break;
      case '--count': options.count = Number(value); break;
      case '--query': options.query = value; break;
      case '--retry-wait-ms': options.retryWaitMs = Number(value); break;
      default: throw new Error(`unknown argument ${name}`);
    }
  }
  for (const key of ['url', 'tokens', 'first', 'count']) {
    if (options[key] === undefined || Number.isNaN(options[key])) throw new Error(`--${key} is needed`);
  }
  return options;
}

const options = args(process.argv.slice(2));
const tokens = readFileSync(options.tokens, 'utf8').split('\n').map((t) => t.trim()).filter(Boolean);
if (tokens.length === 0) throw new Error(`${options.tokens} holds no token`);
const now = () => performance.timeOrigin + performance.now();
const send = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const count = options.count;
const clients = [];
// Per client, for the phase being measured: whether it must see its socket close first,
// and when it was acknowledged and when its first `next` came (NaN: not yet).
const mustClose = new Uint8Array(count);
const openedAt = new Float64Array(count).fill(NaN);
const ackedAt = new Float64Array(count).fill(NaN);
const receivedAt = new Float64Array(count).fill(NaN);
let phase = null;
let phaseStart = NaN;
let createdAt = NaN;
let acked = 0;
let received = 0;
let errors = 0;
let progress = null;

function finishIfDone() {
  if (phase === null || received < count) return;
  clearInterval(progress);
  send({
    done: {
      phase,
      start: phaseStart,
      created: createdAt,
      opened: Array.from(openedAt),
      acked: Array.from(ackedAt),
      received: Array.from(receivedAt),
      errors,
    },
  });
  phase = null;
}

function startPhase(name) {
  phase = name;
  phaseStart = now();
  acked = 0;
  received = 0;
  errors = 0;
  openedAt.fill(NaN);
  ackedAt.fill(NaN);
  receivedAt.fill(NaN);
  createdAt = phaseStart;
  mustClose.fill(clients.length > 0 ? 1 : 0);
  clearInterval(progress);
  progress = setInterval(() => send({ progress: { phase, acked, received } }), PROGRESS_INTERVAL_MS);
  send({ started: name });
  if (clients.length === 0) {
    for (let k = 0; k < count; k++) clients.push(connect(k));
    createdAt = now();
  }
}

function connect(k) {
  const token = tokens[(options.first + k) % tokens.length];
  const client = createClient({
    url: options.url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, options.retryWaitMs * (1 + Math.random()))),
    onNonLazyError: () => { errors++; },
    on: {
      closed: () => { mustClose[k] = 0; },
      opened: () => {
        if (phase === null || mustClose[k] || !Number.isNaN(openedAt[k])) return;
        openedAt[k] = now();
      },
      connected: () => {
        if (phase === null || mustClose[k] || !Number.isNaN(ackedAt[k])) return;
        ackedAt[k] = now();
        acked++;
      },
    },
  });
  client.subscribe(
    { query: options.query },
    {
      next: () => {
        if (phase === null || Number.isNaN(ackedAt[k]) || !Number.isNaN(receivedAt[k])) return;
        receivedAt[k] = now();
        received++;
        finishIfDone();
      },
      error: () => { errors++; },
      complete: () => {},
    },
  );
  return client;
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, name] = line.trim().split(/\s+/);
  if (command === 'go') startPhase(name ?? 'phase');
  else if (command === 'exit') {
    for (const client of clients) client.dispose();
    process.exit(0);
  }
});
process.stdin.on('end', () => process.exit(0));
send({ ready: true });
