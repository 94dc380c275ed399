// GraphiQL at hadir's `/` in Debian's headless Chromium, with every request to a host other
// than the loopback refused: it must render, load the schema and run a query and a
// subscription from hadir's own files alone (no CDN).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ADMIN_TOKEN, launchChromium, startHadir, waitFor } from './lib.mjs';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

let hadir;
let browser;
let page;
const refused = [];
const pageErrors = [];

describe('GraphiQL served by hadir itself', () => {
  before(async () => {
    hadir = await startHadir();
    browser = await launchChromium();
    // Everything not on the loopback is refused (and noted), as on a network without internet.
    await browser.context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === 'data:' || LOOPBACK.has(url.hostname)) return route.continue();
      refused.push(url.href);
      return route.abort('internetdisconnected');
    });
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await hadir?.stop();
  });

  it('renders, takes the token out of the address bar and runs a query with it', async () => {
    const url = new URL(`${hadir.url}/`);
    url.searchParams.set('token', ADMIN_TOKEN);
    url.searchParams.set('query', '{ cameras { cameraId } }');
    const response = await page.goto(url.href);
    assert.equal(response.status(), 200);
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    assert.ok(!page.url().includes('token='), `the token left the address bar: ${page.url()}`);
    await page.click('.graphiql-execute-button');
    const result = await waitFor(
      async () => {
        const text = await page.locator('.result-window').textContent();
        return text.includes('"cameras"') && text;
      },
      { ms: 15_000, what: 'the query result' },
    );
    assert.ok(!result.includes('errors'), `the query failed: ${result}`);
    assert.deepEqual(refused, [], 'GraphiQL asked for nothing beyond hadir');
    assert.deepEqual(pageErrors, []);
  });

  it('runs a subscription over the WebSocket with the same token', async () => {
    await page.evaluate(() => {
      // GraphiQL's query editor is CodeMirror 5: set the text through it.
      document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('subscription { serverTime }');
    });
    // GraphiQL parses the editor's text on a short debounce before it can tell a subscription.
    await new Promise((r) => setTimeout(r, 1_000));
    await page.click('.graphiql-execute-button');
    await waitFor(
      async () => /"serverTime":\s*"\d{4}-/.test(await page.locator('.result-window').textContent()),
      { ms: 15_000, what: 'a serverTime tick' },
    ).catch(async (error) => {
      const shown = await page.locator('.result-window').textContent();
      throw new Error(`${error.message}; GraphiQL shows: ${shown}; page errors: ${pageErrors}`);
    });
    await page.click('.graphiql-execute-button'); // stops the subscription
    assert.deepEqual(refused, [], 'GraphiQL asked for nothing beyond hadir');
  });

  it('loads the schema for the documentation explorer', async () => {
    await page.click('[aria-label="Show Documentation Explorer"]');
    await waitFor(async () => (await page.locator('.graphiql-doc-explorer').textContent()).includes('Query'), {
      ms: 15_000,
      what: 'the documentation explorer',
    }).catch(async (error) => {
      const shown = await page.locator('.graphiql-doc-explorer').textContent();
      throw new Error(`${error.message}; it shows: ${shown}`);
    });
    assert.deepEqual(refused, []);
  });

  it('says how to install its files when they are missing, without reaching out', async () => {
    const bare = await startHadir({ env: { HADIR_CACHE_DIR: '/nonexistent-hadir-cache' } });
    try {
      const response = await fetch(`${bare.url}/`);
      assert.equal(response.status, 503);
      const body = await response.text();
      assert.match(body, /python3 models\/fetch\.py --only web/);
      assert.ok(!/https?:\/\/(?!127\.0\.0\.1)/.test(body), body);
    } finally {
      await bare.stop();
    }
  });
});
