// Plays a channel over WebRTC (WHEP) in Debian's Chromium, headless, with
// tests/browser/whep.html, and reports what the decoder did.
//
//   node tests/browser/whep.mjs PAGE_URL SECONDS [SCREENSHOT.png]
//
// PAGE_URL is whep.html?src=WHEP_ENDPOINT. Samples getStats() every 500 ms
// for SECONDS once connected and prints one JSON object on stdout: the
// connection state, the samples (framesDecoded, frameWidth, ...), errors.
// Exit status 0 when the report was printed, 2 when the browser could not be
// driven. Never downloads a browser ($CHROMIUM, default /usr/bin/chromium).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [pageURL, secondsArg, screenshot] = process.argv.slice(2);
const seconds = Number(secondsArg || 10);
if (!pageURL || !(seconds > 0)) {
  console.error('usage: node whep.mjs PAGE_URL SECONDS [SCREENSHOT.png]');
  process.exit(2);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const profile = await mkdtemp(join(tmpdir(), 'onair-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 640, height: 360 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  await page.goto(pageURL, { waitUntil: 'load' });

  const t0 = Date.now();
  let connectMs = null;
  while (Date.now() - t0 < 20000) {
    const st = await page.evaluate(() => ({ state: window.onair.state, errors: window.onair.errors.length }));
    if (st.state === 'connected') { connectMs = Date.now() - t0; break; }
    if (st.errors > 0 || st.state === 'failed') break;
    await sleep(100);
  }
  const samples = [];
  if (connectMs !== null) {
    const start = Date.now();
    for (;;) {
      const s = await page.evaluate(() => window.onairStats());
      samples.push({ wall: (Date.now() - start) / 1000, ...s });
      if (Date.now() - start >= seconds * 1000) break;
      await sleep(500);
    }
  }
  const state = await page.evaluate(() => ({ state: window.onair.state, errors: window.onair.errors, status: window.onair.status, location: window.onair.location }));
  if (screenshot) await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ connectMs, samples, consoleErrors, ...state }));
} catch (e) {
  console.error(String(e && e.stack || e));
  process.exitCode = 2;
} finally {
  if (context) await context.close();
  await rm(profile, { recursive: true, force: true });
}
