#!/usr/bin/env node
// The reference server of `cargo bench -p api --bench subscribers -- --setups reference`:
// the usual Node.js GraphQL stack (graphql-js executing, graphql-ws's `useServer` on a `ws`
// WebSocketServer, an in-process pub/sub) serving the slice of hadir's schema the bench uses:
// `createEmployee` and `reportSighting` over HTTP POST /graphql, and the
// `employeeStatusChanged` subscription over WebSocket on the same path, with the same
// selection and the same JSON shapes. It keeps employees in memory (hadir writes each sighting
// to SQLite), checks no token, and, as graphql-ws does, executes the subscription's selection
// once per subscriber for every event (hadir resolves it once per selection and role).
//
//   node fanout-server.mjs [--port 0]
//
// Prints `listening on http://127.0.0.1:PORT` once it accepts connections.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { buildSchema, graphql } from 'graphql';

/** The largest request body read, as hadir caps its own (bytes). */
const MAX_BODY_BYTES = 1 << 20;
/** How long after a sighting an employee stays AVAILABLE (hadir: presence.lost_after). */
const LOST_AFTER_MS = 120_000;

let port = 0;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === '--port') port = Number(argv[i + 1]);
  else throw new Error(`unknown argument ${argv[i]}`);
}

const schema = buildSchema(`
  enum PresenceStatus { AVAILABLE OFFLINE UNAVAILABLE }
  type Camera { cameraId: ID! name: String! }
  type Presence { status: PresenceStatus! lastSeen: String camera: Camera score: Float since: String lastSeenAgo: String }
  type Employee { employeeId: ID! name: String! department: String role: String presence: Presence! }
  type SightingReceipt { employeeId: ID! cameraId: ID! seenAt: String! status: PresenceStatus! }
  input EmployeeInput { employeeId: ID! name: String! department: String role: String }
  input SightingInput { employeeId: ID! cameraId: ID! seenAt: String score: Float }
  type Query { employee(employeeId: ID!): Employee }
  type Mutation {
    createEmployee(input: EmployeeInput!): Employee!
    reportSighting(input: SightingInput!): SightingReceipt!
  }
  type Subscription { employeeStatusChanged(employeeId: ID): Employee! }
`);

/** employeeId → { employeeId, name, department, role, seen: { at, cameraId, score, since } | null } */
const employees = new Map();
const cameras = new Map([['CAM1', { cameraId: 'CAM1', name: 'Lobby' }]]);

function ago(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 45) return 'a few seconds ago';
  const minutes = Math.round(seconds / 60);
  return minutes < 45 ? `${minutes} minutes ago` : `${Math.round(minutes / 60)} hours ago`;
}

/** The Employee object graphql-js resolves fields on (presence computed when asked). */
function view(employee) {
  return {
    ...employee,
    presence: () => {
      const seen = employee.seen;
      if (!seen) return { status: 'UNAVAILABLE', lastSeen: null, camera: null, lastSeenAgo: null };
      const age = Date.now() - seen.at;
      return {
        status: age <= LOST_AFTER_MS ? 'AVAILABLE' : 'OFFLINE',
        lastSeen: new Date(seen.at).toISOString(),
        camera: () => cameras.get(seen.cameraId) ?? null,
        score: seen.score,
        since: new Date(seen.since).toISOString(),
        lastSeenAgo: ago(age),
      };
    },
  };
}

// One listener per subscriber, each fed every change (graphql-ws then executes per subscriber).
const listeners = new Set();
function publish(employee) {
  for (const listener of listeners) listener(employee);
}

async function* changes(filter) {
  const queue = [];
  let wake = null;
  const listener = (employee) => {
    if (filter && employee.employeeId !== filter) return;
    queue.push(employee);
    if (wake) wake();
  };
  listeners.add(listener);
  try {
    for (;;) {
      while (queue.length > 0) yield { employeeStatusChanged: view(queue.shift()) };
      await new Promise((resolve) => { wake = resolve; });
      wake = null;
    }
  } finally {
    listeners.delete(listener);
  }
}

schema.getSubscriptionType().getFields().employeeStatusChanged.subscribe = (_, args) =>
  changes(args.employeeId ?? null);

const root = {
  employee: ({ employeeId }) => {
    const employee = employees.get(employeeId);
    return employee ? view(employee) : null;
  },
  createEmployee: ({ input }) => {
    if (employees.has(input.employeeId)) throw new Error(`employee ${input.employeeId} exists`);
    const employee = { role: null, department: null, ...input, seen: null };
    employees.set(input.employeeId, employee);
    return view(employee);
  },
  reportSighting: ({ input }) => {
    const employee = employees.get(input.employeeId);
    if (!employee) throw new Error(`no employee ${input.employeeId}`);
    if (!cameras.has(input.cameraId)) throw new Error(`no camera ${input.cameraId}`);
    const at = input.seenAt ? Date.parse(input.seenAt) : Date.now();
    const was = employee.seen && Date.now() - employee.seen.at <= LOST_AFTER_MS;
    employee.seen = {
      at,
      cameraId: input.cameraId,
      score: input.score ?? null,
      since: was ? employee.seen.since : at,
    };
    if (!was) publish(employee);
    return {
      employeeId: employee.employeeId,
      cameraId: input.cameraId,
      seenAt: new Date(at).toISOString(),
      status: 'AVAILABLE',
    };
  },
};

const http = createServer((request, response) => {
  const reply = (status, body) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  if (request.method !== 'POST' || request.url !== '/graphql') {
    reply(404, { errors: [{ message: 'POST /graphql only' }] });
    return;
  }
  const chunks = [];
  let size = 0;
  request.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      reply(413, { errors: [{ message: 'request body too large' }] });
      request.destroy();
      return;
    }
    chunks.push(chunk);
  });
  request.on('end', async () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      reply(400, { errors: [{ message: 'the body is not JSON' }] });
      return;
    }
    const result = await graphql({
      schema,
      source: body.query,
      rootValue: root,
      variableValues: body.variables,
    });
    reply(200, result);
  });
});

const wss = new WebSocketServer({ server: http, path: '/graphql' });
useServer({ schema, roots: { query: root, mutation: root } }, wss);
http.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
