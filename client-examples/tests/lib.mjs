// Helpers for the client-example tests: a real hadir on a free port with a fresh SQLite, a
// GraphQL call, a tiny static file server, and Debian's headless Chromium.
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TESTS_DIR = dirname(fileURLToPath(import.meta.url));
export const EXAMPLES_DIR = resolve(TESTS_DIR, '..');
export const REPO_DIR = resolve(EXAMPLES_DIR, '..');
export const HADIR_BIN = process.env.HADIR_BIN || join(REPO_DIR, 'target/debug/hadir');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const ADMIN_TOKEN = 'test-admin-token';

/** Starts `hadir serve` on a free port with a fresh SQLite; resolves once it listens. */
// `demo: true` runs the demo site as a fresh `./scripts/serve` does (with its own short
// lost_after); otherwise it is off.
export async function startHadir({ lostAfterSecs = 3, env = {}, demo = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hadir-client-test-'));
  const logPath = join(dir, 'hadir.log');
  const log = openSync(logPath, 'w');
  const child = spawn(HADIR_BIN, ['serve'], {
    env: {
      ...process.env,
      HADIR_DATABASE_URL: `sqlite://${join(dir, 'hadir.sqlite')}?mode=rwc`,
      HADIR_LISTEN: '127.0.0.1:0',
      HADIR_ADMIN_TOKEN: ADMIN_TOKEN,
      HADIR_CAMERA_CONFIGS: join(REPO_DIR, 'camera_configs'),
      ...(demo ? {} : { HADIR_LOST_AFTER_SECS: String(lostAfterSecs) }),
      HADIR_DEMO_ENABLED: String(demo),
      HADIR_DEMO_FOLDER: join(dir, 'demo'),
      HADIR_MONITOR_INTERVAL_MS: '200',
      HADIR_LOG: process.env.HADIR_LOG || 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', log],
  });
  const url = await new Promise((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error('hadir did not print its address within 60 s')), 60_000);
    function fail(error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      let tail = '';
      try {
        tail = readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
      } catch {}
      reject(new Error(`${error.message}\n--- ${HADIR_BIN} output ---\n${out}${tail}`));
    }
    child.on('error', (error) => fail(new Error(`cannot start ${HADIR_BIN}: ${error.message} (set HADIR_BIN)`)));
    child.on('exit', (code) => fail(new Error(`hadir exited with ${code} before listening`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/hadir listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolvePromise(match[1].replace(/\/+$/, ''));
      }
    });
  });
  return {
    url,
    token: ADMIN_TOKEN,
    dir,
    logPath,
    gql: (query, variables) => gql(url, ADMIN_TOKEN, query, variables),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One GraphQL request; throws on transport or GraphQL errors. */
export async function gql(url, token, query, variables = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
};

/** Serves a folder on 127.0.0.1 (a free port); `/` is index.html. */
export async function serveStatic(root) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = resolve(base, `.${path}`);
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      statSync(file);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Debian's Chromium, headless, with a fresh profile; returns { context, close }. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'hadir-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Polls `check` (returning a truthy value) until it does or `ms` pass. */
export async function waitFor(check, { ms = 10_000, every = 100, what = 'a condition' } = {}) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
