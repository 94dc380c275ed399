// The demo site in the dashboard, in Debian's headless Chromium: hadir started as a fresh
// `./scripts/serve` runs it (the demo on, its own lost_after) shows within 90 s the demo
// camera's live video, demo employees recognised (green), one gone OFFLINE with a
// notification in the bell, today's attendance in the Report tab, and the "demo" label on
// its employees and camera with the header's note on switching it off.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ADMIN_TOKEN, launchChromium, startHadir, waitFor } from './lib.mjs';

const DEMO_WITHIN_MS = 90_000;

let hadir;
let browser;
let page;
const pageErrors = [];

describe('the demo site in the dashboard', () => {
  before(async () => {
    hadir = await startHadir({ demo: true });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await hadir?.stop();
  });

  it('shows the demo camera live, its employees recognised, a notification and attendance, labelled demo', async () => {
    const url = new URL(`${hadir.url}/dashboard?token=${ADMIN_TOKEN}`);
    await page.goto(url.href);
    await page.waitForSelector('#employee-list [data-employee-id="DEMO1"]', { timeout: 20_000 });

    // The label: a badge on each demo employee and on the demo camera, and the header's note.
    assert.ok(await page.isVisible('#demo-banner'), 'the header says a demo runs');
    assert.match(await page.textContent('#demo-banner'), /demo\.enabled = false/);
    const badges = await page.$$eval('#employee-list .employee-item', (items) =>
      items.map((li) => [li.dataset.employeeId, !!li.querySelector('.demo-badge')]),
    );
    assert.deepEqual(badges.sort(), [['DEMO1', true], ['DEMO2', true], ['DEMO3', true]]);
    assert.ok(
      await page.isVisible('#camera-buttons [data-camera-id="DEMO"] .demo-badge'),
      'the demo camera is labelled',
    );

    // Live: the camera's MJPEG stream shows; people recognised; one gone OFFLINE.
    await page.click('#camera-buttons [data-camera-id="DEMO"]');
    await waitFor(
      async () => {
        const available = await page.$$eval('#employee-list [data-status="AVAILABLE"]', (l) => l.length);
        const offline = await page.$$eval('#employee-list [data-status="OFFLINE"]', (l) => l.length);
        const video = await page.$eval('#camera-stream', (box) => {
          const img = box.querySelector('img.stream-video');
          return !!img && img.complete && img.naturalWidth > 0;
        });
        const unread = Number((await page.textContent('#notification-badge').catch(() => '0')) || 0);
        return available >= 1 && available + offline >= 2 && offline >= 1 && video && unread >= 1;
      },
      { ms: DEMO_WITHIN_MS, every: 500, what: 'the demo camera live, employees recognised, one OFFLINE, a notification' },
    );
    await page.click('#notification-btn');
    await waitFor(async () => /has not been seen/.test(await page.textContent('#notification-list')), {
      what: 'the EMPLOYEE_LOST notification in the bell',
    });
    await page.click('#notification-btn');

    // The Report tab: today's attendance rows for the demo employees.
    await page.click('#tab-report');
    await waitFor(
      async () => {
        const text = await page.textContent('#view-report');
        return /Barack Obama/.test(text) && /Grace Hopper/.test(text);
      },
      { ms: 15_000, what: "today's attendance of the demo employees" },
    );
    assert.deepEqual(pageErrors, []);
  });
});
