#!/usr/bin/env node
// The reference server of `cargo bench -p api --bench reconnect`: graphql-ws's own server
// (`graphql-ws/use/ws` `useServer` on a `ws` WebSocketServer) with a trivial schema whose
// `serverTime` subscription ticks every second from one shared clock, as hadir's does. It
// checks no token, reads no database and runs on one thread: what a fleet of graphql-ws
// clients costs against the package's own server, to set hadir's figures against.
//
//   node reference-server.mjs [--port 0]
//
// Prints `listening on ws://127.0.0.1:PORT/graphql` once it accepts connections.
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';

/** How often `serverTime` ticks (hadir: SERVER_TIME_INTERVAL). */
const SERVER_TIME_INTERVAL_MS = 1000;

let port = 0;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === '--port') port = Number(argv[i + 1]);
  else throw new Error(`unknown argument ${argv[i]}`);
}

// One clock for every subscriber: a new subscriber gets the next tick.
const listeners = new Set();
setInterval(() => {
  const time = new Date().toISOString();
  for (const listener of listeners) listener(time);
}, SERVER_TIME_INTERVAL_MS);

async function* ticks() {
  const queue = [];
  let wake = null;
  const listener = (time) => {
    queue.push(time);
    if (wake) wake();
  };
  listeners.add(listener);
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift();
      await new Promise((resolve) => { wake = resolve; });
      wake = null;
    }
  } finally {
    listeners.delete(listener);
  }
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { hello: { type: GraphQLString, resolve: () => 'hello' } },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      serverTime: { type: GraphQLString, subscribe: ticks, resolve: (time) => time },
    },
  }),
});

const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/graphql' });
useServer({ schema }, wss);
wss.on('listening', () => {
  console.log(`listening on ws://127.0.0.1:${wss.address().port}/graphql`);
});
