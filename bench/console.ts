import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { machine, machineLine, table } from './lib/benchmarksDoc.js';
import { CLI, freePort } from './lib/childServer.js';
import type { BenchOutcome } from './registry.js';

/**
 * The console in Chromium over a fleet of 10,000 models (the demo's synthetic fleet, with labeled
 * predictions flowing, in its own process):
 *
 * (a) time to a usable overview, cold (new browser context, nothing cached), next to the same API
 *     calls made straight from Node: what the console adds on top of its data;
 * (b) time to a filtered registry list: a cold load of /registry with a filter in the URL, and an
 *     interactive filter (search text, then a tier), next to a plain table of the same rows with
 *     every row in the DOM, filtered by hiding rows: the naive peer.
 */

export interface ConsoleBenchOptions {
  quick: boolean;
}

const CHROMIUM = process.env['MODELFLEET_CHROMIUM'] ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const TOKEN = 'bench-console-admin-token-0123456789';
const log = (message: string) => process.stderr.write(`[bench console] ${message}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

interface Demo {
  url: string;
  stop(): Promise<void>;
}

async function startDemo(models: number, dir: string): Promise<Demo> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [CLI, 'demo', '--db', `sqlite:${join(dir, 'demo.db')}`, '--port', String(port), '--models', String(models), '--traffic-models', '60', '--no-launches'], {
    cwd: dir,
    env: { ...process.env, MODELFLEET_ADMIN_TOKEN: TOKEN, MODELFLEET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => process.stderr.write(`[demo] ${c.toString()}`));
  const deadline = Date.now() + 300_000;
  while (!/Ctrl-C stops it/.test(output)) {
    if (child.exitCode !== null) throw new Error(`the demo exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the demo did not start within 300 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript({ content: `localStorage.setItem('modelfleet.token', ${JSON.stringify(TOKEN)});` });
  return context.newPage();
}

/**
 * Milliseconds from navigation start until `selector` is visible (usable), and until no panel is
 * still loading (complete), read from the page's own clock.
 */
async function loadUntil(browser: Browser, url: string, selector: string): Promise<{ usableMs: number; completeMs: number; fcpMs: number }> {
  const page = await freshPage(browser);
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector(selector, { state: 'visible', timeout: 60_000 });
  const usableMs = (await page.evaluate('performance.now()')) as number;
  // Polled through evaluate (the debugging protocol): the console's CSP forbids the eval waitForFunction needs.
  let completeMs = NaN;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 5))) {
    const [loading, now] = (await page.evaluate(`[document.querySelectorAll('main .loading').length, performance.now()]`)) as [number, number];
    if (loading === 0) {
      completeMs = now;
      break;
    }
  }
  const fcpMs = (await page.evaluate(`performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN`)) as number;
  await page.context().close();
  return { usableMs, completeMs, fcpMs };
}

/** The overview's headline reads these; its other panels the rest. */
const HEADLINE_CALLS = ['/whoami', '/stability', '/alerts?state=firing'];
const PANEL_CALLS = ['/slos', '/launches?active=true', '/monitoring/coverage'];

/** The overview's API calls straight from Node, in parallel as the page makes them: ms until the headline's last answer, and until the last of all. */
async function overviewApiMs(url: string): Promise<{ headlineMs: number; allMs: number }> {
  const started = performance.now();
  const timed = async (p: string) => {
    await (await fetch(`${url}/api/v1${p}`, { headers: { authorization: `Bearer ${TOKEN}` } })).arrayBuffer();
    return performance.now() - started;
  };
  const [headline, panels] = await Promise.all([Promise.all(HEADLINE_CALLS.map(timed)), Promise.all(PANEL_CALLS.map(timed))]);
  return { headlineMs: Math.max(...headline), allMs: Math.max(...headline, ...panels) };
}

/**
 * Sets the value of the field matched by `field` (and fires input/change), and resolves with the ms
 * until the element `count` changes text and the next frame has painted.
 */
const TIME_FILTER = `async ({ field, value, count }) => {
  const el = document.querySelector(field);
  const counter = document.querySelector(count);
  if (!el || !counter) throw new Error('missing ' + (el ? count : field));
  const before = counter.textContent;
  return await new Promise((resolve) => {
    const t0 = performance.now();
    const done = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
    const observer = new MutationObserver(() => {
      if (counter.textContent !== before) { observer.disconnect(); done(); }
    });
    observer.observe(counter, { subtree: true, childList: true, characterData: true });
    el.value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
}`;

interface Row {
  id: string;
  modelType: string;
  team: string;
  tier: string;
  role: string;
  share: number;
}

async function allModels(url: string): Promise<Row[]> {
  const rows: Row[] = [];
  const teams = new Map<string, string>();
  let cursor: string | null = null;
  do {
    const page = (await (await fetch(`${url}/api/v1/model-types?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { items: Array<{ name: string; ownerTeam: string }>; nextCursor: string | null };
    for (const t of page.items) teams.set(t.name, t.ownerTeam);
    cursor = page.nextCursor;
  } while (cursor);
  do {
    const page = (await (await fetch(`${url}/api/v1/models?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { items: Array<{ id: string; modelType: string; role: string; trafficShare: number; effectiveCriticality: string }>; nextCursor: string | null };
    for (const m of page.items) rows.push({ id: m.id, modelType: m.modelType, team: teams.get(m.modelType) ?? '', tier: m.effectiveCriticality, role: m.role, share: m.trafficShare });
    cursor = page.nextCursor;
  } while (cursor);
  return rows;
}

/** The naive peer: every row in the DOM, a filter that hides what does not match. */
function naiveTable(rows: Row[]): string {
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = rows.map((r) => `<tr><td><a href="#">${escape(r.id)}</a></td><td>${escape(r.modelType)}</td><td>${escape(r.team)}</td><td>${r.tier}</td><td>${r.role}</td><td>${(r.share * 100).toFixed(1)}%</td></tr>`).join('');
  return `<!doctype html><html><body><label for="q">Search</label><input id="q"><p id="count">${rows.length} models</p><table><tbody id="rows">${body}</tbody></table>
<script>
const q = document.getElementById('q');
const trs = [...document.getElementById('rows').rows];
const keys = trs.map((tr) => tr.textContent.toLowerCase());
q.addEventListener('input', () => {
  const needle = q.value.toLowerCase();
  let shown = 0;
  trs.forEach((tr, i) => { const hit = keys[i].includes(needle); tr.style.display = hit ? '' : 'none'; if (hit) shown++; });
  document.getElementById('count').textContent = shown + ' models';
});
</script></body></html>`;
}

export async function runConsoleBench(options: ConsoleBenchOptions): Promise<BenchOutcome> {
  const problems: string[] = [];
  if (!existsSync(CHROMIUM)) return { id: 'console', markdown: `## Console\n\nNot run: no Chromium at ${CHROMIUM}.`, problems: [`no Chromium at ${CHROMIUM}`] };
  const models = options.quick ? 2_000 : 10_000;
  const runs = options.quick ? 3 : 7;
  const dir = mkdtempSync(join(tmpdir(), 'modelfleet-bench-console-'));
  log(`starting the demo with ${models} models...`);
  const demo = await startDemo(models, dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    // One warm-up load each, so the server's first-request costs are not in the numbers.
    await loadUntil(browser, demo.url, '[data-testid=verdict]');
    await loadUntil(browser, `${demo.url}/registry`, '[data-testid=registry-count]');

    log(`overview: ${runs} cold loads`);
    const overview: Array<{ usableMs: number; completeMs: number; fcpMs: number }> = [];
    const api: Array<{ headlineMs: number; allMs: number }> = [];
    for (let i = 0; i < runs; i++) {
      overview.push(await loadUntil(browser, demo.url, '[data-testid=verdict]'));
      api.push(await overviewApiMs(demo.url));
    }

    log(`registry: ${runs} cold loads with a filter in the URL, then interactive filters`);
    const registryCold: number[] = [];
    for (let i = 0; i < runs; i++) registryCold.push((await loadUntil(browser, `${demo.url}/registry?q=reels&tier=TIER2`, '[data-testid=registry-count]')).usableMs);

    const page = await freshPage(browser);
    await page.goto(`${demo.url}/registry`);
    await page.waitForSelector('[data-testid=registry-count]');
    const searchField = `#${await page.getByLabel('Search models').getAttribute('id')}`;
    const search: number[] = [];
    for (let i = 0; i < runs; i++) {
      search.push((await page.evaluate(`(${TIME_FILTER})(${JSON.stringify({ field: searchField, value: i % 2 ? 'reels' : 'feed', count: '[data-testid=registry-count]' })})`)) as number);
    }
    const domRows = (await page.evaluate(`document.querySelectorAll('[role=row]').length`)) as number;
    const countText = (await page.textContent('[data-testid=registry-count]')) ?? '';
    await page.context().close();

    log('naive peer: every row in the DOM');
    const rows = await allModels(demo.url);
    const naive = await (await browser.newContext()).newPage();
    const started = performance.now();
    await naive.setContent(naiveTable(rows), { waitUntil: 'load' });
    const naiveRenderMs = performance.now() - started;
    const naiveSearch: number[] = [];
    for (let i = 0; i < runs; i++) {
      naiveSearch.push((await naive.evaluate(`(${TIME_FILTER})(${JSON.stringify({ field: '#q', value: i % 2 ? 'reels' : 'feed', count: '#count' })})`)) as number);
    }
    await naive.context().close();

    const m = machine();
    const o = median(overview.map((x) => x.usableMs));
    const markdown = [
      '## Console',
      '',
      `${machineLine(m)}; Chromium (Debian) headless via playwright-core; the demo's synthetic fleet of ${rows.length.toLocaleString('en-US')} models on SQLite in its own process, 60 of them sending labeled predictions. Medians of ${runs} runs. Command: \`npm run bench -- --only=console\`.`,
      '',
      table(
        ['what', 'console', 'peer in the same run', 'ratio'],
        [
          [`overview usable, cold: the headline and alerts (first paint ${ms(median(overview.map((x) => x.fcpMs)))})`, ms(o), `their API calls from Node, in parallel: ${ms(median(api.map((a) => a.headlineMs)))}`, `${(o / median(api.map((a) => a.headlineMs))).toFixed(2)}x`],
          ['overview complete, cold: every panel drawn', ms(median(overview.map((x) => x.completeMs))), `all ${HEADLINE_CALLS.length + PANEL_CALLS.length} of its API calls from Node, in parallel: ${ms(median(api.map((a) => a.allMs)))}`, `${(median(overview.map((x) => x.completeMs)) / median(api.map((a) => a.allMs))).toFixed(2)}x`],
          ['registry usable, cold, filtered by the URL (`?q=reels&tier=TIER2`)', ms(median(registryCold)), `a plain table of every row: ${ms(naiveRenderMs)} to render`, `${(median(registryCold) / naiveRenderMs).toFixed(2)}x`],
          ['registry: a search typed into the filter, until the list has painted', ms(median(search)), `the plain table, hiding rows: ${ms(median(naiveSearch))}`, `${(median(search) / median(naiveSearch)).toFixed(2)}x`],
        ],
      ),
      '',
      'The console loads its script (about 17 KB gzipped for the shell and the overview; the registry page, 16 KB, and uPlot, 23 KB, in chunks of their own), asks who the token is, then makes the API calls in parallel; the ratio against the same calls from Node is what the browser, the script and drawing add. The plain table is the naive way to show and filter the same rows: every row in the DOM.',
      '',
      `The registry keeps ${domRows} rows in the DOM for ${countText.trim() || 'the list'} (virtualized); the plain table holds all ${rows.length.toLocaleString('en-US')}.`,
    ].join('\n');
    if (o > 2000) problems.push(`the overview took ${ms(o)} to be usable (target: under 2 s)`);
    return { id: 'console', markdown, problems };
  } finally {
    await browser.close();
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
