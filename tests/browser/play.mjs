// Plays a page (tests/browser/player.html, which plays a live HLS stream with
// hls.js) in Debian's Chromium, headless, and reports what the <video> did.
//
//   node tests/browser/play.mjs PAGE_URL SECONDS [SCREENSHOT.png]
//
// Waits up to 30 s for playback to start, then samples video.currentTime
// every 500 ms for SECONDS and prints one JSON object on stdout: samples,
// hls.js errors (fatal or not), stalls (waiting events), fragments shown,
// the final readyState, console errors. Exit status 0 when the report was
// printed, 2 when the browser could not be driven.
//
// Never downloads a browser: Chromium comes from the system
// ($CHROMIUM, default /usr/bin/chromium), with a fresh profile directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [pageURL, secondsArg, screenshot] = process.argv.slice(2);
const seconds = Number(secondsArg || 30);
if (!pageURL || !(seconds > 0)) {
  console.error('usage: node play.mjs PAGE_URL SECONDS [SCREENSHOT.png]');
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const profile = await mkdtemp(join(tmpdir(), 'onair-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 960, height: 540 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));

  await page.goto(pageURL, { waitUntil: 'load' });
  const probe = () => page.evaluate(() => {
    const v = document.getElementById('video');
    return { ct: v.currentTime, rs: v.readyState, paused: v.paused, w: v.videoWidth, h: v.videoHeight };
  });

  const t0 = Date.now();
  let startupMs = null;
  while (Date.now() - t0 < 30000) {
    const p = await probe();
    if (p.ct > 0 && !p.paused) {
      startupMs = Date.now() - t0;
      break;
    }
    const fatal = await page.evaluate(() => window.onair.errors.some((e) => e.fatal));
    if (fatal) break;
    await sleep(100);
  }

  const samples = [];
  if (startupMs !== null) {
    const start = Date.now();
    for (;;) {
      const p = await probe();
      samples.push({ wall: (Date.now() - start) / 1000, ...p });
      if (Date.now() - start >= seconds * 1000) break;
      await sleep(500);
    }
  }

  const final = await probe();
  const state = await page.evaluate(() => window.onair);
  if (screenshot) await page.screenshot({ path: screenshot });
  const report = {
    hlsVersion: state.version,
    startupMs,
    samples,
    errors: state.errors,
    stalls: state.stalls,
    frags: state.frags,
    levelsLoaded: state.levels,
    final,
    consoleErrors,
  };
  process.stdout.write(JSON.stringify(report) + '\n');
} catch (err) {
  console.error(err && err.stack ? err.stack : String(err));
  process.exitCode = 2;
} finally {
  if (context) await context.close().catch(() => {});
  await rm(profile, { recursive: true, force: true }).catch(() => {});
}
