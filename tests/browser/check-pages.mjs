// Browser checks for feedwatch's HTML pages.
//
// Usage:
//   node check-pages.mjs BASE_URL ADMIN_TOKEN [OUT_DIR]
//   (or env BASE_URL, ADMIN_TOKEN, OUT_DIR; CHROMIUM overrides /usr/bin/chromium)
//
// Walks the site as a visitor and as the operator, at a desktop (1280 px)
// and a phone (375 px) width: front page, first story, /admin refused
// without a token, sign-in, dashboard, decision filter, playground preview
// with an added exclude rule and with the threshold raised to 0.99 (each
// expects a dropped row), Discard.
// It never presses Apply, so it is safe against a live instance.
// Screenshots of every step go to OUT_DIR (default ./out). Exits 1 with
// the failing step on the first failure.

import { chromium } from 'playwright-core';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const [argBase, argToken, argOut] = process.argv.slice(2);
const base = (argBase ?? process.env.BASE_URL ?? '').replace(/\/+$/, '');
const token = argToken ?? process.env.ADMIN_TOKEN ?? '';
const outDir = path.resolve(argOut ?? process.env.OUT_DIR ?? 'out');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

if (!/^https?:\/\/[^/]+$/.test(base) || !token) {
  console.error('usage: node check-pages.mjs BASE_URL ADMIN_TOKEN [OUT_DIR]\n  e.g. node check-pages.mjs http://127.0.0.1:8099 fixture-token out');
  process.exit(2);
}
const origin = new URL(base).origin;

class CheckError extends Error {}
const expect = (cond, msg) => { if (!cond) throw new CheckError(msg); };

const viewports = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 375, height: 812 },
];

let step = 'start';
let shotPage = null;
let shotPrefix = '';
const external = [];
const consoleErrors = [];

async function shot(name) {
  const file = path.join(outDir, `${shotPrefix}-${name}.png`);
  await shotPage.screenshot({ path: file, fullPage: true });
  const rel = path.relative(process.cwd(), file);
  console.log(`  screenshot ${rel.startsWith('..') ? file : rel}`);
}

/** Fails when the page is wider than the viewport (horizontal scrolling). */
async function noHorizontalScroll(page) {
  const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  expect(sw <= cw + 1, `page scrolls horizontally: content ${sw}px wide in a ${cw}px viewport`);
}

/** The basics every page must have. */
async function commonChecks(page) {
  expect(await page.locator('meta[name="viewport"]').count() === 1, 'no <meta name="viewport">');
  const lang = await page.getAttribute('html', 'lang');
  expect(lang, '<html> has no lang attribute');
  const scripts = await page.locator('script').count();
  expect(scripts === 0, `page has ${scripts} <script> element(s); pages must work without JavaScript`);
  await noHorizontalScroll(page);
}

async function run(context, vp) {
  const page = context.pages()[0] ?? await context.newPage();
  shotPage = page;
  shotPrefix = vp.name;
  await page.setViewportSize({ width: vp.width, height: vp.height });
  await context.clearCookies();
  console.log(`${vp.name} (${vp.width}px)`);

  step = `${vp.name}: front page`;
  let resp = await page.goto(`${base}/`);
  expect(resp && resp.status() === 200, `GET / returned ${resp?.status()}`);
  await commonChecks(page);
  for (const type of ['application/rss+xml', 'application/atom+xml', 'application/feed+json']) {
    expect(await page.locator(`head link[rel="alternate"][type="${type}"]`).count() === 1, `no <link rel="alternate" type="${type}"> in <head>`);
  }
  expect(await page.locator('[data-testid="follow-handle"]').isVisible(), 'the follow handle is not visible');
  const stories = await page.locator('[data-testid="story"]').count();
  expect(stories > 0, 'no [data-testid="story"] on the front page (is the store empty?)');
  await shot('1-index');

  step = `${vp.name}: first story`;
  const link = page.locator('[data-testid="story-link"]').first();
  const title = (await link.innerText()).trim();
  await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/stories/')), link.click()]);
  await commonChecks(page);
  const h1 = (await page.locator('h1').first().innerText()).trim();
  expect(h1 === title, `story page heading "${h1}" is not the linked title "${title}"`);
  expect(await page.locator('head link[rel="alternate"]').count() >= 1, 'story page has no feed <link rel="alternate">');
  await shot('2-story');

  step = `${vp.name}: /admin without a token`;
  resp = await page.goto(`${base}/admin`);
  const status = resp?.status();
  const loginForm = await page.locator('form[action="/admin/login"], input[name="token"]').count();
  expect(status === 401 || status === 403 || loginForm > 0, `GET /admin without a token returned ${status} and no login form`);
  expect(await page.locator('[data-testid="feed-health"], [data-testid="item-row"]').count() === 0, '/admin without a token shows admin data');
  await shot('3-admin-refused');

  step = `${vp.name}: sign in`;
  await page.goto(`${base}/admin/login`);
  await commonChecks(page);
  await shot('3b-login');
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForLoadState('load'), page.locator('form[action="/admin/login"] [type="submit"]').click()]);
  resp = await page.goto(`${base}/admin`);
  expect(resp && resp.status() === 200, `GET /admin after sign-in returned ${resp?.status()} (wrong token?)`);
  await commonChecks(page);
  expect(await page.locator('[data-testid="feed-health"]').count() > 0, 'no [data-testid="feed-health"] rows on /admin');
  for (const k of ['pending', 'failed', 'dead', 'delivered']) {
    expect(await page.locator(`[data-testid="queue-${k}"]`).count() === 1, `no queue-${k} on /admin`);
  }
  await shot('4-admin');

  step = `${vp.name}: filter items by decision`;
  if (await page.locator('[data-testid="item-row"]').count() > 0) {
    await page.selectOption('[data-testid="filter-decision"]', 'skip');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('decision') === 'skip'), page.click('[data-testid="filter-submit"]')]);
    const decisions = await page.locator('[data-testid="item-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.decision));
    expect(decisions.every((d) => d === 'skip'), `decision=skip shows rows with decisions ${[...new Set(decisions)].join(', ')}`);
    expect(await page.locator('[data-testid="filter-decision"]').inputValue() === 'skip', 'the decision filter does not stay selected');
    await shot('5-admin-skip');
  } else {
    console.log('  (no items: filter check skipped)');
  }

  step = `${vp.name}: playground`;
  await Promise.all([page.waitForURL((u) => u.pathname === '/admin/playground'), page.locator('[data-testid="playground-link"]').first().click()]);
  await commonChecks(page);
  const topic = await page.inputValue('textarea[name="topic"]');
  expect(topic.includes('[topic]'), 'the playground textarea does not hold the [topic] section');
  await shot('6-playground');

  // Change a rule: an exclude rule that vetoes every item naming INTERPOL
  // must drop published stories in the preview.
  step = `${vp.name}: preview with an added exclude rule`;
  await page.fill('textarea[name="topic"]', `${topic.trimEnd()}\n\n[[topic.exclude]]\nname = "browser-check"\nquery = "interpol"\n`);
  await Promise.all([page.waitForURL((u) => u.pathname === '/admin/playground/preview'), page.click('[data-testid="preview-button"]')]);
  await commonChecks(page);
  const ruleError = page.locator('[data-testid="playground-error"]');
  expect(await ruleError.count() === 0, `the rule preview failed: ${await ruleError.first().innerText().catch(() => '')}`);
  expect(await page.locator('[data-testid="preview-dropped"]').count() > 0, 'an exclude rule for "interpol" dropped nothing');
  await shot('7a-preview-rule');
  await Promise.all([page.waitForURL((u) => u.pathname === '/admin/playground'), page.click('[data-testid="discard-link"]')]);

  step = `${vp.name}: preview threshold 0.99`;
  await page.fill('input[name="threshold"]', '0.99');
  await Promise.all([page.waitForURL((u) => u.pathname === '/admin/playground/preview'), page.click('[data-testid="preview-button"]')]);
  await commonChecks(page);
  const error = page.locator('[data-testid="playground-error"]');
  expect(await error.count() === 0, `the preview failed: ${await error.first().innerText().catch(() => '')}`);
  expect(await page.locator('[data-testid="preview-summary"]').isVisible(), 'no [data-testid="preview-summary"] after Preview');
  const dropped = await page.locator('[data-testid="preview-dropped"]').count();
  expect(dropped > 0, 'raising the threshold to 0.99 dropped nothing (no [data-testid="preview-dropped"] rows)');
  expect(await page.inputValue('textarea[name="topic"]') === topic, 'the topic text changed across the preview');
  expect(await page.locator('[data-testid="apply-button"]').isVisible(), 'no Apply button after a successful preview');
  await shot('7-preview');

  step = `${vp.name}: discard`;
  await Promise.all([page.waitForURL((u) => u.pathname === '/admin/playground'), page.click('[data-testid="discard-link"]')]);
  expect(await page.locator('[data-testid="preview-summary"]').count() === 0, 'Discard still shows the preview');
}

let userDataDir;
let context;
let code = 0;
try {
  await mkdir(outDir, { recursive: true });
  userDataDir = await mkdtemp(path.join(os.tmpdir(), 'feedwatch-chromium-'));
  step = 'launch chromium';
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // Pages must load nothing from elsewhere: record and block any request
  // that leaves the site.
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.origin !== origin && !['data:', 'about:'].includes(u.protocol)) {
      external.push(`${route.request().resourceType()} ${u.href}`);
      return route.abort();
    }
    return route.continue();
  });
  context.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  for (const vp of viewports) await run(context, vp);
  step = 'dark mode';
  shotPrefix = 'dark';
  await shotPage.emulateMedia({ colorScheme: 'dark' });
  await shotPage.setViewportSize({ width: 375, height: 812 });
  await shotPage.goto(`${base}/`);
  await shot('1-index');
  await shotPage.goto(`${base}/admin/playground`);
  await shot('6-playground');
  step = 'external requests';
  expect(external.length === 0, `pages requested external resources:\n    ${external.join('\n    ')}`);
  step = 'console errors';
  // 401/403 responses are expected and logged by Chromium as errors.
  const real = consoleErrors.filter((t) => !/status of 40[13]/.test(t));
  expect(real.length === 0, `console errors (CSP violations?):\n    ${real.join('\n    ')}`);
  console.log(`OK: all checks passed; screenshots in ${outDir}`);
} catch (e) {
  code = 1;
  console.error(`FAILED at "${step}": ${e instanceof CheckError ? e.message : (e?.stack ?? e)}`);
  if (shotPage) {
    await shotPage.screenshot({ path: path.join(outDir, 'FAILED.png'), fullPage: true }).catch(() => {});
    console.error(`  page: ${shotPage.url()}; screenshot ${path.join(outDir, 'FAILED.png')}`);
  }
} finally {
  await context?.close().catch(() => {});
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
}
process.exit(code);
