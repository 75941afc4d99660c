// Drives the try-on page in headless Chromium and prints one JSON line of measurements;
// web/browser_test.go starts the server, runs this and checks the numbers. Any failed
// step throws (exit 1) with what went wrong.
//
// env: NAILTRT_URL (server), CHROMIUM (executable), PHOTO (a hand photo), Y4M (the same
// photo as a fake camera), NOHAND (a photo with no hand), SHOTS (folder for screenshots;
// optional), LIVE_SECONDS.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`${k} is not set`); })();
const base = env('NAILTRT_URL');
const shots = process.env.SHOTS;
const liveSeconds = Number(env('LIVE_SECONDS', '6'));
if (shots) mkdirSync(shots, { recursive: true });

const sizes = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } };
const out = { sizes: {} };

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  // No background networking: this must never try to reach another host.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-quic', '--no-first-run', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${env('Y4M')}`],
});

// page opens the try-on page in a fresh context and collects console errors.
async function page(size, permissions) {
  const ctx = await browser.newContext({ viewport: sizes[size], permissions, deviceScaleFactor: 1 });
  const p = await ctx.newPage();
  const errors = [];
  p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(base + '/');
  await p.waitForSelector('.swatch');
  return { p, ctx, errors };
}

async function shot(p, name) {
  if (shots) await p.screenshot({ path: `${shots}/${name}.jpg`, type: 'jpeg', quality: 80, fullPage: true });
}

// painted compares the painted photo with the original inside and outside the nails
// (the label mask from /api/nails/segment?mask=png): mean absolute difference per channel.
async function painted(p) {
  return p.evaluate(async () => {
    // Through <img>, not fetch: the page's CSP (connect-src 'self') refuses blob: and data:.
    const pixels = async (src, w, h) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const c = new OffscreenCanvas(w, h);
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0, w, h);
      return g.getImageData(0, 0, w, h).data;
    };
    const before = document.getElementById('before');
    const photo = window.nailtrt.photo.photo;
    const seg = await (await fetch('/api/nails/segment?mask=png', { method: 'POST', body: photo })).json();
    const { width: w, height: h } = seg;
    const [a, b, m] = await Promise.all([pixels(before.src, w, h), pixels(document.getElementById('after').src, w, h),
      pixels('data:image/png;base64,' + seg.mask_png, w, h)]);
    let inside = 0, nIn = 0, outside = 0, nOut = 0;
    for (let i = 0; i < a.length; i += 4) {
      const d = (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2])) / 3;
      if (m[i] > 0) { inside += d; nIn++; } else { outside += d; nOut++; }
    }
    return { nails: seg.nails.length, inside: inside / Math.max(nIn, 1), outside: outside / Math.max(nOut, 1), nail_pixels: nIn };
  });
}

async function photoMode(size) {
  const { p, ctx, errors } = await page(size);
  const fcp = await p.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
  await p.setInputFiles('#file', env('PHOTO'));
  await p.waitForFunction(() => document.getElementById('photo-status').dataset.count === '1', null, { timeout: 30000 });
  const first = await p.evaluate(() => ({ ...document.getElementById('photo-status').dataset }));
  const diff = await painted(p);
  // A new colour repaints from the cached segmentation.
  await p.evaluate(() => {
    const c = document.getElementById('color');
    c.value = '#1f6fd1';
    c.dispatchEvent(new Event('change'));
  });
  await p.waitForFunction(() => document.getElementById('photo-status').dataset.count === '2', null, { timeout: 30000 });
  const second = await p.evaluate(() => ({ ...document.getElementById('photo-status').dataset }));
  const blue = await painted(p);
  await p.check('#show-outlines');
  await p.waitForFunction(() => !document.getElementById('outlines').hidden && document.getElementById('outlines').width > 0);
  await shot(p, `ui-${size}-photo`);
  await ctx.close();
  return { first_contentful_paint_ms: fcp, first, second, red: diff, blue, console_errors: errors };
}

async function liveMode(size) {
  const { p, ctx, errors } = await page(size, ['camera']);
  await p.click('#tab-live');
  // A custom blue: painted nail pixels turn blue, skin never is.
  await p.evaluate(() => {
    const c = document.getElementById('color');
    c.value = '#1040ff';
    c.dispatchEvent(new Event('change'));
  });
  await p.click('#camera');
  await p.waitForFunction(() => Number(document.getElementById('live-status').dataset.nails) > 0, null, { timeout: 30000 });
  await p.waitForTimeout(liveSeconds * 1000);
  const stats = await p.evaluate(() => ({ ...document.getElementById('live-status').dataset }));
  const colour = await p.evaluate(() => {
    const live = window.nailtrt.live;
    const d = document.getElementById('live').getContext('2d').getImageData(0, 0, 640, 480).data;
    const inNail = new Uint8Array(d.length / 4);
    for (const i of live.idx) inNail[i / 4] = 1;
    let bIn = 0, rIn = 0, nIn = 0, bOut = 0, rOut = 0, nOut = 0;
    for (let k = 0; k < inNail.length; k++) {
      if (inNail[k]) { bIn += d[4 * k + 2]; rIn += d[4 * k]; nIn++; } else { bOut += d[4 * k + 2]; rOut += d[4 * k]; nOut++; }
    }
    return { nail_pixels: nIn, blue_minus_red_inside: (bIn - rIn) / Math.max(nIn, 1), blue_minus_red_outside: (bOut - rOut) / Math.max(nOut, 1) };
  });
  await shot(p, `ui-${size}-live`);
  await ctx.close();
  return { ...stats, colour, console_errors: errors };
}

// A file that is not a photo, chosen after a photo was painted: the message alone, with
// no broken image, no slider and no Retry button (another try cannot help).
async function notAPhoto() {
  const { p, ctx, errors } = await page('desktop');
  await p.setInputFiles('#file', env('PHOTO'));
  await p.waitForFunction(() => document.getElementById('photo-status').dataset.count === '1', null, { timeout: 30000 });
  await p.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not a photo\n') });
  await p.waitForSelector('#error:not([hidden])', { timeout: 30000 });
  const seen = await p.evaluate(() => {
    const visible = (el) => el.offsetParent !== null;
    return {
      message: document.getElementById('error-text').textContent,
      retry_visible: visible(document.getElementById('retry')),
      compare_visible: visible(document.getElementById('compare')),
      slider_visible: visible(document.getElementById('split')),
      broken_images: [...document.images].filter((i) => visible(i) && (!i.complete || i.naturalWidth === 0)).length,
      status: document.getElementById('photo-status').textContent,
    };
  });
  await ctx.close();
  return { ...seen, console_errors: errors };
}

// A photo with no hand: the photo comes back unpainted and the status says no nails were
// found and what photo works, instead of "0 nails · 46 ms · nails found".
async function noNails() {
  const { p, ctx, errors } = await page('desktop');
  await p.setInputFiles('#file', env('NOHAND'));
  await p.waitForFunction(() => document.getElementById('photo-status').dataset.count === '1', null, { timeout: 30000 });
  const seen = await p.evaluate(() => {
    const visible = (el) => el.offsetParent !== null;
    const status = document.getElementById('photo-status');
    return {
      nails: status.dataset.nails,
      status: status.textContent,
      status_visible: visible(status),
      photo_visible: visible(document.getElementById('after')),
      slider_visible: visible(document.getElementById('split')),
      error_visible: visible(document.getElementById('error')),
    };
  });
  await ctx.close();
  return { ...seen, console_errors: errors };
}

async function refusedCamera() {
  const { p, ctx } = await page('desktop', []);
  await p.click('#tab-live');
  await p.click('#camera');
  await p.waitForSelector('#error:not([hidden])', { timeout: 10000 });
  const message = await p.textContent('#error-text');
  await ctx.close();
  return message;
}

try {
  for (const size of Object.keys(sizes)) out.sizes[size] = { photo: await photoMode(size), live: await liveMode(size) };
  out.refused_camera = await refusedCamera();
  out.not_a_photo = await notAPhoto();
  out.no_nails = await noNails();
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
