// Standard GraphQL clients and tools against a real hadir, with their defaults:
//
// - the GraphQL-over-HTTP specification's server audits (`serverAudits` of graphql-http):
//   every MUST passes and at least MIN_SHOULD_PASSING SHOULDs do (each result is printed);
// - graphql-js's standard introspection query round-trips to schema.graphql;
// - urql (@urql/core, its default fetch exchange: GET for short queries, and graphql-ws for
//   subscriptions) and Apollo Client (HttpLink defaults, GraphQLWsLink) each run a query, a
//   mutation and a subscription.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql, split } from '@apollo/client/core';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { buildClientSchema, buildSchema, getIntrospectionQuery, getOperationAST, lexicographicSortSchema, printSchema } from 'graphql';
import { serverAudits } from 'graphql-http';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

import { REPO_DIR, startHadir, waitFor } from './lib.mjs';

/** SHOULD audits that must pass (there are about 25; every MUST must pass too). */
const MIN_SHOULD_PASSING = 20;

let hadir;

before(async () => {
  hadir = await startHadir();
});

after(async () => {
  await hadir?.stop();
});

/** `fetch` with the admin token added to every request, as a configured client sends it. */
function authorisedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${hadir.token}`);
  return fetch(input, { ...init, headers });
}

function wsUrl() {
  return `${hadir.url.replace(/^http/, 'ws')}/graphql`;
}

/** A graphql-ws client with the admin token in connection_init. */
function wsClient() {
  return createWsClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${hadir.token}` },
    retryAttempts: 0,
  });
}

/** Reports sightings of `employeeId` every 300 ms until `until()` is true (bounded). */
async function sightingsUntil(employeeId, until) {
  await waitFor(
    async () => {
      if (until()) return true;
      await hadir.gql('mutation($input: SightingInput!) { reportSighting(input: $input) { employeeId } }', {
        input: { employeeId, cameraId: 'CAM1', score: 0.7 },
      });
      return false;
    },
    { ms: 20_000, every: 300, what: `a subscription event after sightings of ${employeeId}` },
  );
}

describe('conformance', { timeout: 120_000 }, () => {
  it('passes the GraphQL-over-HTTP server audits (graphql-http)', async () => {
    const audits = serverAudits({ url: `${hadir.url}/graphql`, fetchFn: authorisedFetch });
    const results = [];
    for (const audit of audits) {
      results.push(await audit.fn());
    }
    const level = (r) => r.name.split(' ')[0];
    for (const r of results) {
      const mark = r.status === 'ok' ? 'pass' : r.status;
      console.log(`audit ${r.id} ${mark.padEnd(6)} ${r.name}${r.status === 'ok' ? '' : ` — ${r.reason}`}`);
    }
    const mustFailing = results.filter((r) => level(r) === 'MUST' && r.status !== 'ok');
    const should = results.filter((r) => level(r) === 'SHOULD');
    const shouldPassing = should.filter((r) => r.status === 'ok');
    console.log(
      `audits: MUST ${results.filter((r) => level(r) === 'MUST').length - mustFailing.length}/${results.filter((r) => level(r) === 'MUST').length} passed, ` +
        `SHOULD ${shouldPassing.length}/${should.length} passed, ` +
        `MAY ${results.filter((r) => level(r) === 'MAY' && r.status === 'ok').length}/${results.filter((r) => level(r) === 'MAY').length} passed`,
    );
    assert.deepEqual(
      mustFailing.map((r) => `${r.id} ${r.name}: ${r.reason}`),
      [],
      'every MUST audit passes',
    );
    assert.ok(shouldPassing.length >= MIN_SHOULD_PASSING, `${shouldPassing.length} SHOULD audits passed; at least ${MIN_SHOULD_PASSING} expected`);
  });

  it("round-trips graphql-js's standard introspection query to schema.graphql", async () => {
    const options = { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true };
    for (const query of [getIntrospectionQuery(), getIntrospectionQuery(options)]) {
      const response = await authorisedFetch(`${hadir.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query }),
      });
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const introspected = printSchema(lexicographicSortSchema(buildClientSchema(body.data)));
      let sdl = readFileSync(join(REPO_DIR, 'schema.graphql'), 'utf8');
      // Without its options, the query asks for no @specifiedBy URLs.
      if (query === getIntrospectionQuery()) sdl = sdl.replace(/ @specifiedBy\(url: "[^"]*"\)/g, '');
      const file = printSchema(lexicographicSortSchema(buildSchema(sdl)));
      assert.equal(introspected, file);
      if (query !== getIntrospectionQuery()) {
        assert.equal(body.data.__schema.description, null);
        const dateTime = body.data.__schema.types.find((t) => t.name === 'DateTime');
        assert.match(dateTime.specifiedByURL, /^https:\/\//);
      }
    }
  });

  it('works with urql (@urql/core defaults: GET for short queries, graphql-ws for subscriptions)', async () => {
    const ws = wsClient();
    const seenMethods = [];
    const client = new UrqlClient({
      url: `${hadir.url}/graphql`,
      fetch: (input, init) => {
        seenMethods.push(init?.method ?? 'GET');
        return authorisedFetch(input, init);
      },
      preferGetMethod: 'within-url-limit',
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    try {
      const query = await client.query('query UrqlQuery { presenceSummary { total } serverTime }', {}).toPromise();
      assert.equal(query.error, undefined, String(query.error));
      assert.equal(typeof query.data.presenceSummary.total, 'number');
      assert.match(query.data.serverTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(seenMethods[0], 'GET', 'urql sent its short query as GET');

      const created = await client
        .mutation('mutation UrqlCreate($input: EmployeeInput!) { createEmployee(input: $input) { employeeId name } }', {
          input: { employeeId: 'urql-1', name: 'Umar Urql' },
        })
        .toPromise();
      assert.equal(created.error, undefined, String(created.error));
      assert.equal(created.data.createEmployee.employeeId, 'urql-1');
      assert.equal(seenMethods.at(-1), 'POST', 'mutations go as POST');

      const events = [];
      const subscription = client
        .subscription('subscription UrqlDetected { employeeDetected(employeeId: "urql-1") { employee { employeeId } seenAt } }', {})
        .subscribe((result) => events.push(result));
      try {
        await sightingsUntil('urql-1', () => events.length > 0);
        assert.equal(events[0].error, undefined, String(events[0].error));
        assert.equal(events[0].data.employeeDetected.employee.employeeId, 'urql-1');
        assert.match(events[0].data.employeeDetected.seenAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      } finally {
        subscription.unsubscribe();
      }
    } finally {
      await ws.dispose();
    }
  });

  it('works with Apollo Client (HttpLink defaults, GraphQLWsLink)', async () => {
    const ws = wsClient();
    const http = new HttpLink({ uri: `${hadir.url}/graphql`, fetch: authorisedFetch });
    const link = split(
      ({ query }) => getOperationAST(query)?.operation === 'subscription',
      new GraphQLWsLink(ws),
      http,
    );
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    try {
      const query = await client.query({ query: apolloGql`query ApolloQuery { presenceSummary { total } serverTime }` });
      assert.equal(query.error, undefined, String(query.error));
      assert.equal(typeof query.data.presenceSummary.total, 'number');

      const created = await client.mutate({
        mutation: apolloGql`mutation ApolloCreate($input: EmployeeInput!) { createEmployee(input: $input) { employeeId name } }`,
        variables: { input: { employeeId: 'apollo-1', name: 'Ana Apollo' } },
      });
      assert.equal(created.data.createEmployee.employeeId, 'apollo-1');

      const events = [];
      const errors = [];
      const subscription = client
        // employeeDetected comes with every sighting; employeeStatusChanged would come only
        // with the first, which may be reported before the subscription is running.
        .subscribe({ query: apolloGql`subscription ApolloDetected { employeeDetected(employeeId: "apollo-1") { employee { employeeId presence { status } } } }` })
        .subscribe({ next: (result) => events.push(result), error: (error) => errors.push(error) });
      try {
        await sightingsUntil('apollo-1', () => events.length > 0 || errors.length > 0);
        assert.deepEqual(errors, []);
        assert.equal(events[0].data.employeeDetected.employee.employeeId, 'apollo-1');
        assert.equal(events[0].data.employeeDetected.employee.presence.status, 'AVAILABLE');
      } finally {
        subscription.unsubscribe();
      }

      // A failing query comes back as Apollo's error, not as a transport failure.
      const failing = await client.query({ query: apolloGql`query ApolloMissing { employee(employeeId: "nobody") { name } }`, errorPolicy: 'all' });
      assert.ok(failing.data === undefined || failing.data.employee === null || failing.error, JSON.stringify(failing));
    } finally {
      client.stop();
      await ws.dispose();
    }
  });
});
