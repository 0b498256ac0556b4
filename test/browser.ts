import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Real Chromium (Debian's) driven by playwright-core against a real server: the console's tests.
 * Screenshots go to test-artifacts/console/, one per page a test visits.
 */
export const CHROMIUM = process.env['MODELFLEET_CHROMIUM'] ?? '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** A suite that needs Chromium; skipped, saying why, where it is not installed (CI installs it). */
export function describeInBrowser(name: string, body: () => void): void {
  if (!existsSync(CHROMIUM)) {
    describe(name, { skip: `no Chromium at ${CHROMIUM}: install Debian's chromium (or set MODELFLEET_CHROMIUM) to run the console tests` }, () => {});
    return;
  }
  describe(name, body);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** A fresh page, signed in with `token` before any script runs (the console keeps it in localStorage). */
export async function signedInPage(browser: Browser, token: string | null, viewport = { width: 1400, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  if (token) await context.addInitScript({ content: `localStorage.setItem('modelfleet.token', ${JSON.stringify(token)});` });
  const page = await context.newPage();
  // A console error is a bug: collect them, and let the test assert there were none.
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  (page as Page & { consoleErrors: string[] }).consoleErrors = errors;
  return page;
}

/** Errors the page logged or threw, for asserting a clean run. */
export function consoleErrors(page: Page): string[] {
  return (page as Page & { consoleErrors?: string[] }).consoleErrors ?? [];
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const axeSource = (): string => {
  const require = createRequire(import.meta.url);
  return require('node:fs').readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
};
let axe: string | null = null;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

/**
 * Runs axe-core (WCAG 2 A and AA rules: labels, names, contrast, landmarks, keyboard) on the page as it
 * is, and fails with each violation and where it is.
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  axe ??= axeSource();
  // Evaluated through the debugging protocol, which the console's script-src 'self' does not block.
  await page.evaluate(axe);
  // Evaluated in the page (a string, as this file is typed for Node, not the DOM).
  const violations = (await page.evaluate(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })))`)) as AxeViolation[];
  const shown = violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    at ${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join('\n')}`).join('\n');
  assert.equal(violations.length, 0, `${what} has accessibility violations:\n${shown}`);
}
