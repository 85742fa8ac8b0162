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
// expects a dropped row), Discard; on the desktop pass also Publish from the
// Review list (then / and /feed.json) and Retract (then 410). Then the readers' pass: axe-core
// (serious/critical fail), control border contrast and the skip link on
// every page at 1366/390 px in light and dark; per-item lang, compression,
// paging on /, the feed stylesheet rendering and the 404 page.
// It never presses Apply; Publish and Retract change the instance's state,
// so run it against a test instance only.
// Screenshots of every step go to OUT_DIR (default ./out). Exits 1 with
// the failing step on the first failure.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
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

// axe-core's source, evaluated into each page over the DevTools protocol
// (not as a <script>, which the pages' CSP forbids and the checks refuse).
const axeSource = createRequire(import.meta.url)('axe-core').source;

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

  if (vp === viewports[0]) {
    // The dashboard acts (once: these change the daemon's state).
    step = `${vp.name}: dashboard Reload, Check now, Disable and Enable`;
    await Promise.all([page.waitForLoadState('load'), page.click('[data-testid="reload"]')]);
    expect(/reloaded/i.test(await page.textContent('body')), 'Reload did not answer that the configuration was reloaded');
    await page.goto(`${base}/admin`);
    const src = await page.locator('[data-testid="feed-health"]').first().getAttribute('data-source');
    const row = () => page.locator(`[data-testid="feed-health"][data-source="${src}"]`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), row().locator('[data-testid="check-now"]').click()]);
    expect(await row().count() === 1, `after Check now the source ${src} is not listed once`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), row().locator('[data-testid="disable"]').click()]);
    expect(await row().getAttribute('data-enabled') === 'false', `Disable left ${src} enabled`);
    await shot('4b-admin-disabled');
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), row().locator('[data-testid="enable"]').click()]);
    expect(await row().getAttribute('data-enabled') === 'true', `Enable left ${src} disabled`);

    // The Review list: Publish its newest item by clicking, see it on /
    // and in /feed.json, then Retract it from the recent stories: 410.
    step = `${vp.name}: Review list Publish`;
    await page.goto(`${base}/admin#review`);
    const reviewRow = page.locator('[data-testid="review-item"]').first();
    expect(await reviewRow.count() === 1, 'the Review list is empty (the test serves a near-threshold item)');
    const itemId = await reviewRow.getAttribute('data-item-id');
    await shot('4c-admin-review');
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), reviewRow.locator('[data-testid="review-publish"]').click()]);
    expect(await page.locator(`[data-testid="review-item"][data-item-id="${itemId}"]`).count() === 0, 'the published item is still in the Review list');
    await page.goto(`${base}/`);
    expect(await page.locator(`[data-testid="story"][data-story-id="${itemId}"]`).count() === 1, `the published item ${itemId} is not on /`);
    let feed = await (await page.request.get(`${base}/feed.json`)).json();
    expect(feed.items.some((i) => JSON.stringify(i).includes(`/stories/${itemId}`)), `the published item ${itemId} is not in /feed.json`);

    step = `${vp.name}: Retract`;
    await page.goto(`${base}/admin#recent-stories`);
    const storyRow = page.locator(`[data-testid="recent-story"][data-story-id="${itemId}"]`);
    expect(await storyRow.count() === 1, `the story ${itemId} is not among the recent stories`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), storyRow.locator('[data-testid="story-retract"]').click()]);
    const gone = await page.request.get(`${base}/stories/${itemId}`);
    expect(gone.status() === 410, `after Retract /stories/${itemId} answered ${gone.status()}, not 410`);
    feed = await (await page.request.get(`${base}/feed.json`)).json();
    expect(!feed.items.some((i) => JSON.stringify(i).includes(`/stories/${itemId}`)), `the retracted story ${itemId} is still in /feed.json`);
    await shot('4d-admin-retracted');
  }

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

/** axe-core (WCAG 2.1 A/AA): fails on any serious or critical violation. */
async function axeCheck(page, where) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.length === 0, `axe on ${where}:\n    ${bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`).join('\n    ')}`);
  return result.violations.length;
}

/**
 * WCAG 1.4.11 computed in the page: every control's border, or else its
 * background, has 3:1 against what is behind it.
 */
async function controlContrast(page, where) {
  const failures = await page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (x, y) => { const [a, b] = [lum(x), lum(y)].sort((p, q) => q - p); return (a + 0.05) / (b + 0.05); };
    const behind = (el) => {
      for (let e = el.parentElement; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0) return c;
      }
      return parse(getComputedStyle(document.body).backgroundColor) ?? { r: 255, g: 255, b: 255, a: 1 };
    };
    const out = [];
    const controls = document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a.button, .feeds a');
    for (const el of controls) {
      if (!el.getClientRects().length) continue;
      const cs = getComputedStyle(el);
      const bg = behind(el);
      const border = parse(cs.borderTopColor);
      const own = parse(cs.backgroundColor);
      const borderOk = border && parseFloat(cs.borderTopWidth) > 0 && border.a > 0 && ratio(border, bg) >= 3;
      const fillOk = own && own.a > 0 && ratio(own, bg) >= 3;
      if (!borderOk && !fillOk) {
        out.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''}: border ${cs.borderTopColor} / background ${cs.backgroundColor} on ${JSON.stringify(bg)} (${border ? ratio(border, bg).toFixed(2) : '-'}:1)`);
      }
    }
    return { out, n: controls.length };
  });
  expect(failures.out.length === 0, `controls under 3:1 on ${where}:\n    ${failures.out.join('\n    ')}`);
  return failures.n;
}

/** The skip link is the first Tab stop and moves focus to <main>. */
async function skipLink(page, where) {
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement?.dataset?.testid ?? document.activeElement?.tagName);
  expect(first === 'skip-link', `on ${where} the first Tab stop is ${first}, not the skip link`);
  expect(await page.locator('[data-testid="skip-link"]').isVisible(), `on ${where} the focused skip link is not visible`);
  await page.keyboard.press('Enter');
  const focused = await page.evaluate(() => document.activeElement?.id);
  expect(focused === 'main', `on ${where} the skip link moved focus to #${focused}, not #main`);
}

/**
 * The readers' pass: every page at 1366 and 390 px, light and dark, through
 * axe-core, the control-contrast check and the skip link; then the per-item
 * language, compression, paging, the feed stylesheet and the 404 page.
 */
async function readersPass(context) {
  const page = await context.newPage();
  shotPage = page;
  step = 'readers: sign in';
  await page.goto(`${base}/admin/login`);
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForLoadState('load'), page.locator('form[action="/admin/login"] [type="submit"]').click()]);
  await page.goto(`${base}/`);
  const storyHref = await page.locator('[data-testid="story-link"]').first().getAttribute('href');
  const zhTitle = page.locator('.story-title[lang^="zh"]').first();
  const zhLang = await zhTitle.getAttribute('lang');
  const zhHref = await zhTitle.locator('a').getAttribute('href');
  expect(zhHref, 'no Chinese story on / (the test seeds zh-Hant stories)');
  const pages = [
    ['/', 'index'], ['/?page=2', 'index page 2'], [storyHref, 'story'], [zhHref, 'Chinese story'],
    ['/no/such/page', '404'], ['/admin', 'dashboard'], ['/admin/playground', 'playground'],
    ['preview', 'playground preview'],
  ];
  let violations = 0;
  let controls = 0;
  for (const width of [1366, 390]) {
    for (const scheme of ['light', 'dark']) {
      await page.setViewportSize({ width, height: 900 });
      await page.emulateMedia({ colorScheme: scheme });
      for (const [url, name] of pages) {
        const where = `${name} at ${width}px ${scheme}`;
        step = `readers: ${where}`;
        if (url === 'preview') {
          await page.goto(`${base}/admin/playground`);
          await page.fill('input[name="threshold"]', '0.99');
          await Promise.all([page.waitForURL((u) => u.pathname === '/admin/playground/preview'), page.click('[data-testid="preview-button"]')]);
          expect(await page.locator('[data-testid="preview-dropped"]').count() > 0, 'the preview shows no dropped rows');
          expect(await page.locator('th', { hasText: 'Change' }).count() === 1, 'the preview table has no "Change" header');
          const said = await page.locator('[data-testid="change-text"]').first().innerText();
          expect(['added', 'dropped'].includes(said.trim()), `the change cell says "${said}" to a screen reader`);
        } else {
          await page.goto(/^https?:/.test(url) ? url : `${base}${url}`);
        }
        violations += await axeCheck(page, where);
        controls += await controlContrast(page, where);
        await skipLink(page, where);
      }
    }
  }
  console.log(`  axe: ${pages.length * 4} page views, no serious/critical violations (${violations} minor); ${controls} controls at >= 3:1`);

  step = 'readers: per-item lang';
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${base}/`);
  const langs = await page.evaluate(() => [...document.querySelectorAll('[data-testid="story"]')].map((a) => ({
    card: a.getAttribute('lang'),
    title: a.querySelector('.story-title')?.getAttribute('lang'),
    summary: a.querySelector('[data-testid="story-summary"]')?.getAttribute('lang'),
    label: a.querySelector('.sources, .meta')?.closest('[lang]')?.getAttribute('lang'),
  })));
  expect(langs.length > 0, 'no stories on /');
  for (const l of langs) {
    expect(l.card === null, `a story card carries lang="${l.card}"; its labels are English`);
    expect(l.title && l.title === l.summary, `title lang ${l.title} vs summary lang ${l.summary}`);
    expect(l.label === 'en', `a card's labels resolve to lang ${l.label}, not en`);
  }
  expect(langs.some((l) => l.title === 'zh-Hant'), 'no story marked with the full tag zh-Hant');
  await page.goto(/^https?:/.test(zhHref) ? zhHref : `${base}${zhHref}`);
  const pageLang = await page.getAttribute('html', 'lang');
  expect(pageLang === zhLang, `a Chinese story page is <html lang="${pageLang}">, not its story's "${zhLang}"`);
  expect(await page.locator('footer').getAttribute('lang') === 'en', 'the Chinese story page footer is not marked en');

  step = 'readers: Content-Encoding';
  const resp = await page.goto(`${base}/`);
  const enc = (await resp.allHeaders())['content-encoding'];
  expect(enc === 'br' || enc === 'gzip', `GET / came back with Content-Encoding ${enc}`);
  const feedResp = await page.request.get(`${base}/feed.json`, { headers: { 'accept-encoding': 'gzip' } });
  expect(feedResp.headers()['content-encoding'] === 'gzip', `/feed.json Content-Encoding ${feedResp.headers()['content-encoding']}`);

  step = 'readers: paging on /';
  await page.setViewportSize({ width: 390, height: 900 });
  expect(await page.locator('[data-testid="story"]').count() === 20, 'the first page does not show 20 stories');
  const firstIds = await page.locator('[data-testid="story"]').evaluateAll((a) => a.map((e) => e.dataset.storyId));
  await Promise.all([page.waitForURL((u) => u.searchParams.get('page') === '2'), page.click('[data-testid="older"]')]);
  const secondIds = await page.locator('[data-testid="story"]').evaluateAll((a) => a.map((e) => e.dataset.storyId));
  expect(secondIds.length > 0 && secondIds.every((id) => !firstIds.includes(id)), 'page 2 repeats stories of page 1');
  await shot('readers-page-2');
  await Promise.all([page.waitForURL((u) => u.pathname === '/' && !u.search), page.click('[data-testid="newer"]')]);
  expect(await page.locator('[data-testid="story"]').count() === 20, '"Newer" does not lead back to the first page');

  step = 'readers: feed stylesheet';
  for (const feed of ['/feed.xml', '/feed.atom']) {
    await page.goto(`${base}${feed}`);
    await page.waitForSelector('[data-testid="subscribe-note"]', { timeout: 5000 });
    expect((await page.locator('h1').innerText()).trim().length > 0, `${feed}: no heading in the rendered feed`);
    expect(await page.locator('[data-testid="feed-item"]').count() > 0, `${feed}: no items in the rendered feed`);
    expect(await page.locator('[data-testid="feed-item"] [lang="zh-Hant"]').count() > 0, `${feed}: items lose their language`);
    await shot(`readers-${feed.slice(1).replace('.', '-')}`);
  }

  step = 'readers: 404 page';
  const nf = await page.goto(`${base}/no/such/page`);
  expect(nf.status() === 404, `unknown path returned ${nf.status()}`);
  expect(await page.locator('[data-testid="message-title"]').isVisible(), 'the 404 page has no heading');
  expect(await page.locator('style').count() === 1, 'the 404 page is not styled');
  await shot('readers-404');
  await page.close();
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
  shotPrefix = 'readers';
  await readersPass(context);
  step = 'external requests';
  expect(external.length === 0, `pages requested external resources:\n    ${external.join('\n    ')}`);
  step = 'console errors';
  // 401/403 (admin refused) and 404 (the 404 page check) responses are
  // expected and logged by Chromium as errors.
  const real = consoleErrors.filter((t) => !/status of 40[134]/.test(t));
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
