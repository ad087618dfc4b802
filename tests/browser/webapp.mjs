// Drives onair's web app in Debian's Chromium, headless, and reports what it
// saw as one JSON object on stdout.
//
//   node tests/browser/webapp.mjs BASE_URL SCREENSHOT_DIR SECONDS
//
// Opens / (the channel list), picks the first channel (its card opens the
// player page), samples the video's currentTime for SECONDS, presses channel
// up, then opens the guide, the operator page and the library; screenshots of
// every page at TV size (1280x720) and of the channel list and the guide at
// phone size (390x844) go to SCREENSHOT_DIR. Exit status 0 when the report
// was printed, 2 when the browser could not be driven. Never downloads a
// browser ($CHROMIUM, default /usr/bin/chromium).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, shots, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 20);
if (!base || !shots) {
  console.error('usage: node webapp.mjs BASE_URL SCREENSHOT_DIR SECONDS');
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const profile = await mkdtemp(join(tmpdir(), 'onair-webapp-'));
const report = { pages: {}, consoleErrors: [], requests: [] };
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => report.consoleErrors.push(`page error: ${e.message}`));
  // Every request must stay on the server: nothing is fetched elsewhere.
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) report.requests.push(r.url()); });

  // Channel list.
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await page.waitForSelector('.channels a', { timeout: 15000 });
  await sleep(500);
  report.pages.channels = await page.evaluate(() => [...document.querySelectorAll('.channels a')].map((a) => ({
    id: a.dataset.channel, name: a.querySelector('.chan-name').textContent, now: a.querySelector('.now-title').textContent,
    progress: a.querySelector('.fill').style.width,
  })));
  await page.screenshot({ path: join(shots, 'channels.png') });

  // Pick the first channel: the player page.
  await page.click('.channels a');
  await page.waitForURL(/\/watch\//);
  const t0 = Date.now();
  let started = null;
  while (Date.now() - t0 < 30000) {
    const ct = await page.evaluate(() => document.getElementById('video').currentTime);
    if (ct > 0) { started = Date.now() - t0; break; }
    await sleep(200);
  }
  const samples = [];
  if (started !== null) {
    const s0 = Date.now();
    while (Date.now() - s0 < seconds * 1000) {
      samples.push(await page.evaluate(() => ({ ct: document.getElementById('video').currentTime, rs: document.getElementById('video').readyState })));
      await sleep(1000);
    }
  }
  await page.mouse.move(400, 300);
  await sleep(300);
  report.pages.watch = {
    url: page.url(), startupMs: started, samples,
    player: await page.evaluate(() => window.onairPlayer),
    osd: await page.evaluate(() => ({ chan: document.getElementById('chan').textContent, now: document.getElementById('now-title').textContent, next: document.getElementById('next-title').textContent })),
  };
  await page.screenshot({ path: join(shots, 'watch.png') });
  // Channel up: the next channel plays in the same page.
  await page.click('#up');
  await sleep(1500);
  report.pages.watch.afterUp = { url: page.url(), channel: await page.evaluate(() => window.onairPlayer.channel) };

  // Guide.
  await page.goto(`${base}/guide`, { waitUntil: 'load' });
  await page.waitForSelector('.g-row', { timeout: 15000 });
  await sleep(300);
  report.pages.guide = await page.evaluate(() => [...document.querySelectorAll('.g-row')].map((r) => ({
    channel: r.dataset.channel,
    programmes: [...r.querySelectorAll('.g-prog')].map((p) => p.firstChild.textContent),
  })));
  await page.screenshot({ path: join(shots, 'guide.png') });

  // Operator.
  await page.goto(`${base}/operator`, { waitUntil: 'load' });
  await page.waitForSelector('article.op', { timeout: 15000 });
  report.pages.operator = await page.evaluate(() => [...document.querySelectorAll('article.op')].map((a) => ({ id: a.dataset.channel, text: a.querySelector('h2').textContent })));
  await page.screenshot({ path: join(shots, 'operator.png'), fullPage: true });

  // Library.
  await page.goto(`${base}/library`, { waitUntil: 'load' });
  await page.waitForSelector('#assets tr', { timeout: 15000 });
  report.pages.library = await page.evaluate(() => ({
    assets: document.querySelectorAll('#assets tr').length,
    unplayable: [...document.querySelectorAll('#unplayable li')].map((l) => l.textContent),
  }));
  await page.screenshot({ path: join(shots, 'library.png'), fullPage: true });

  // Phone size.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await page.waitForSelector('.channels a', { timeout: 15000 });
  await sleep(300);
  await page.screenshot({ path: join(shots, 'channels_phone.png') });
  await page.goto(`${base}/guide`, { waitUntil: 'load' });
  await page.waitForSelector('.g-row', { timeout: 15000 });
  await sleep(300);
  await page.screenshot({ path: join(shots, 'guide_phone.png') });
  report.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);

  console.log(JSON.stringify(report));
} catch (e) {
  console.error(`webapp.mjs: ${e.stack || e}`);
  console.log(JSON.stringify(report));
  process.exitCode = 2;
} finally {
  if (context) await context.close();
  await rm(profile, { recursive: true, force: true });
}
