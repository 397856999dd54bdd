import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrandingService } from '../../src/admin/branding.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import type { Catalogue } from '../../src/i18n/en.ts';
import { WAIT_MS } from '../helpers/chromium.ts';

/** WCAG 2.2 AA, as axe-core tags it. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The four looks every page is checked in. */
export const MODES = [
  { name: 'phone-light', width: 390, height: 844, colorScheme: 'light' },
  { name: 'phone-dark', width: 390, height: 844, colorScheme: 'dark' },
  { name: 'desktop-light', width: 1280, height: 800, colorScheme: 'light' },
  { name: 'desktop-dark', width: 1280, height: 800, colorScheme: 'dark' },
] as const;

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core on the page as it is now. The source is evaluated through the DevTools protocol,
 * which the page's Content-Security-Policy does not govern, so the page is checked under its real policy.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate("typeof axe !== 'undefined'"))) await page.evaluate(AXE_SOURCE);
  return page.evaluate<AxeViolation[]>(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_TAGS)} }, resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`);
}

/** One line per violation, for a failure message and the report. */
export const describeViolations = (violations: AxeViolation[]): string[] =>
  violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);

/**
 * Checks the page in every mode (phone and desktop, light and dark) with axe-core and saves a
 * screenshot of each under `dir` as `<name>-<mode>.png`. Returns the number of axe runs.
 */
export async function checkEveryMode(page: Page, name: string, dir: string, results: string[]): Promise<void> {
  for (const mode of MODES) {
    await page.setViewportSize({ width: mode.width, height: mode.height });
    await page.emulateMedia({ colorScheme: mode.colorScheme });
    const violations = await axeViolations(page);
    results.push(`${name} ${mode.name}: ${violations.length} violations`);
    await page.screenshot({ path: join(dir, `${name}-${mode.name}.png`), fullPage: true });
    assert.deepEqual(describeViolations(violations), [], `${name} at ${mode.name}`);
  }
}

/**
 * Presses Tab until focus comes back around, and returns what it visited (each control's id, or
 * its name and value), as a cycle starting from `first`. Proves every control is reachable by
 * keyboard, in order, wherever focus was on arrival.
 */
export async function tabOrder(page: Page, first?: string, max = 20): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const here = await page.evaluate<string>(`(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return '';
      return el.id || el.tagName.toLowerCase() + ':' + (el.getAttribute('name') ?? '') + '=' + (el.getAttribute('value') ?? el.textContent ?? '');
    })()`);
    if (here !== '' && seen.includes(here)) break;
    if (here !== '') seen.push(here);
  }
  const start = first === undefined ? 0 : Math.max(0, seen.indexOf(first));
  return [...seen.slice(start), ...seen.slice(0, start)];
}

/** Tabs until the focused element matches, then presses Enter: the keyboard-only way to press a button. */
export async function pressByKeyboard(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    if (await page.evaluate<boolean>(`document.activeElement?.matches(${JSON.stringify(selector)}) === true`)) return page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${selector}`);
}

/** An environment, the browser's language and the catalogue its pages must speak. */
export interface Look {
  env: string;
  locale: string;
  prefix: string;
  texts: Catalogue;
  /** Whether the brand has a support link, the last stop of the Tab order. */
  support: boolean;
}

const ACME_LOGO = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64"><rect width="64" height="64" rx="14" fill="#0b6e4f"/><path d="M14 46 32 16l18 30z" fill="#ffffff"/></svg>',
);

/**
 * Brands an environment as "Acme Cloud": its name, colours for light and dark, a logo, a support
 * link and German as its default language, with extra texts (e.g. an Arabic login page).
 */
export async function brandAcme(store: Store, env: string, texts: Record<string, Record<string, string>> = {}): Promise<void> {
  const branding = new BrandingService(store, systemClock);
  await branding.replace(env, {
    productName: 'Acme Cloud',
    colours: { accent: '#0b6e4f', accentText: '#ffffff', darkAccent: '#5fd3a8', darkAccentText: '#0b1f17' },
    supportUrl: 'https://help.acme.example/sign-in',
    defaultLanguage: 'de',
    texts,
  });
  await branding.putLogo(env, new Uint8Array(ACME_LOGO), 'image/svg+xml');
}

/**
 * A fresh browser context at phone size in `locale`, its page, and the console errors and script
 * errors seen on it: a CSP refusal (a style whose hash is missing, an image from elsewhere) shows
 * on the console.
 */
export async function openPage(browser: Browser | undefined, locale: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  assert.ok(browser);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return { context, page, problems };
}
