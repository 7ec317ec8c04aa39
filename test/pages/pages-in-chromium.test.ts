// Issue 17, item 2: every page authward renders, shown in a real Chromium with the headers it was served
// with (its CSP included): a screenshot each in test-artifacts/pages/<name>.png (git-ignored), no request
// besides the page itself, readable without JavaScript, and no axe-core violation (WCAG 2.1 A/AA).
//
// Skipped with a message where Chromium is not installed (apt-get install chromium), a failure under CI.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { repoPath } from '../helpers/repo-root.js';
import { type Captured, collectPages } from './scenarios.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const ARTIFACTS = repoPath('test-artifacts', 'pages');

if (!existsSync(CHROMIUM) && process.env.CI !== 'true') {
  t.comment(`${CHROMIUM} not found: the pages are not checked in Chromium`);
  t.pass('skipped');
} else {
  t.setTimeout(600_000); // ten pages, two tabs, axe on a busy 2-core box
  t.test('every page in Chromium: screenshot, nothing external, no axe violation', async (t) => {
    const { pages } = await collectPages(t, { pages: { appName: 'Contoso Expenses' } });
    const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    mkdirSync(ARTIFACTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
    t.teardown(() => browser.close());

    // One tab without JavaScript (screenshots: the pages need none) and one with it (axe); the captured
    // answer is served again at its own URL, headers and all (CSP, status); anything else is refused.
    const tabs: Record<'plain' | 'scripted', Page> = {} as never;
    let current: Captured | undefined;
    const requested: string[] = [];
    for (const mode of ['plain', 'scripted'] as const) {
      const context = await browser.newContext({
        javaScriptEnabled: mode === 'scripted',
        viewport: { width: 800, height: 600 },
      });
      t.teardown(() => context.close());
      await context.route('**/*', (route) => {
        const url = route.request().url();
        requested.push(url);
        if (!current || url !== current.url) return route.abort();
        return route.fulfill({ status: current.status, headers: plain(current.headers), body: current.body });
      });
      tabs[mode] = await context.newPage();
    }

    for (const [name, page] of Object.entries(pages)) {
      await t.test(name, async (t) => {
        current = page;
        for (const [mode, tab] of Object.entries(tabs)) {
          requested.length = 0;
          await tab.goto(page.url);
          t.same(requested, [page.url], `${mode}: nothing but the page was requested`);
          t.ok(await tab.isVisible('h1'), `${mode}: the heading shows: ${await tab.textContent('h1')}`);
          t.ok(await tab.isVisible('footer'), `${mode}: the request id shows`);
          if (mode === 'plain') {
            await tab.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
            continue;
          }
          // axe runs through the DevTools protocol (the page's CSP allows no script; CDP is not subject to it).
          await tab.evaluate(axe);
          const violations = await tab.evaluate(async (tags) => {
            const w = (globalThis as unknown as { window: unknown }).window as {
              axe: {
                run: (o: object) => Promise<{ violations: { id: string; help: string; nodes: unknown[] }[] }>;
              };
            };
            const r = await w.axe.run({ runOnly: { type: 'tag', values: tags } });
            return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
          }, AXE_TAGS);
          t.same(violations, [], 'axe-core: no violations');
        }
      });
    }
    t.comment(`screenshots: ${ARTIFACTS}`);
  });
}

/** Node's header object as playwright wants it (no Set-Cookie: nothing here needs one). */
function plain(headers: Captured['headers']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([k, v]) =>
      v === undefined || k === 'set-cookie' ? [] : [[k, Array.isArray(v) ? v.join(', ') : String(v)]],
    ),
  );
}
