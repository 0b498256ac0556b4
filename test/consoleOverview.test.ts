import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible, consoleErrors, describeInBrowser, launchBrowser, screenshot, signedInPage } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './consoleFixture.js';
import { ADMIN_TOKEN, testDatabases, TestServer } from './harness.js';

interface Rollup {
  key: string;
  models: number;
  stable: number;
  unstable: number;
  insufficientData: number;
}

/** A headline count as the page shows it. */
const statValue = async (page: Page, id: string) => Number(((await page.getByTestId(id).textContent()) ?? '').replace(/,/g, ''));

describeInBrowser('console: fleet overview', () => {
  let f: ConsoleFixture;
  let browser: Browser;
  let launch: { id: string; modelType: string; candidate: string };

  before(async () => {
    f = await startConsoleFixture();
    // A launch in flight: a candidate with a capacity profile is estimated at once and then waits
    // (for approval, or on its first step's bake), so it is unfinished while the page is read.
    const candidates = (await f.server.call('GET', '/models?role=candidate&limit=1000')).body.items as Array<{ id: string; modelType: string; capacity: unknown }>;
    const candidate = candidates.find((m) => m.capacity);
    assert.ok(candidate, 'the synthetic fleet has a candidate with a capacity profile');
    const started = await f.server.call('POST', '/launches', {
      body: { modelType: candidate.modelType, candidate: candidate.id, executor: 'simulated', peakQps: 500, bakeSeconds: 600, reason: 'overview test' },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    launch = started.body;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await f?.close();
  });

  it('shows the counts the stability API reports, a row per surface, the firing alerts and the launch in flight', async () => {
    const page = await signedInPage(browser, f.tokens.viewer);
    await page.goto(f.server.url);
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    await page.getByTestId('by-surface').waitFor();
    await page.getByTestId('launches').waitFor();
    await page.getByTestId('coverage').waitFor();

    const fleet = (await f.server.call('GET', '/stability')).body as { models: Record<string, number>; bySurface: Rollup[]; byFunnelStage: Rollup[]; unstable: Array<{ model: string }> };
    assert.ok(fleet.models['unstable']! > 0, 'the fixture injected incidents');
    assert.equal(await statValue(page, 'stat-monitored'), fleet.models['monitored']);
    assert.equal(await statValue(page, 'stat-stable'), fleet.models['stable']);
    assert.equal(await statValue(page, 'stat-unstable'), fleet.models['unstable']);
    assert.equal(await statValue(page, 'stat-insufficient'), fleet.models['insufficientData']);
    assert.equal(await statValue(page, 'stat-unmonitored'), fleet.models['unmonitored']);

    const firing = (await f.server.call('GET', '/alerts?state=firing')).body.items as Array<{ modelId: string }>;
    assert.ok(firing.length > 0, 'an injected incident fires an alert');
    assert.equal(await statValue(page, 'stat-alerts'), firing.length);
    const coverage = (await f.server.call('GET', '/monitoring/coverage')).body as { gaps: unknown[] };
    assert.equal(await statValue(page, 'stat-gaps'), coverage.gaps.length);
    assert.equal(await statValue(page, 'stat-launches'), 1);

    // One row per surface, with the API's numbers, linking to the registry filtered to that surface.
    const surfaceRows = page.getByTestId('by-surface').locator('tbody tr');
    assert.equal(await surfaceRows.count(), fleet.bySurface.length);
    for (const rollup of fleet.bySurface) {
      const cells = (await page.getByTestId('by-surface').locator(`tr[data-key="${rollup.key}"] td`).allTextContents()).map((t) => t.trim());
      assert.deepEqual(cells.slice(0, 4), [rollup.models, rollup.unstable, rollup.stable, rollup.insufficientData].map(String), rollup.key);
    }
    const worst = fleet.bySurface[0]!;
    const [app, ...surface] = worst.key.split('_');
    const rowLink = await page.getByTestId('by-surface').locator(`tr[data-key="${worst.key}"] th a`).getAttribute('href');
    assert.equal(rowLink, `/registry?surface=${surface.join('_')}&q=${app}_${surface.join('_')}_`);
    const stageRows = page.getByTestId('by-stage').locator('tbody tr');
    assert.equal(await stageRows.count(), fleet.byFunnelStage.length);

    // Every firing alert is listed, with its model linked; the unstable models are listed with their violations.
    const alertLinks = page.getByTestId('alerts').locator('a.alert-model');
    assert.deepEqual((await alertLinks.allTextContents()).sort(), firing.map((a) => a.modelId).sort());
    for (const m of fleet.unstable) await page.getByTestId('unstable').getByRole('link', { name: m.model }).waitFor();
    assert.match((await page.getByTestId('unstable').textContent()) ?? '', /(calibration|NE) [\d.]+, healthy/);

    const launchLink = page.getByTestId('launches').locator(`a[href="/launches/${encodeURIComponent(launch.id)}"]`);
    assert.equal(await launchLink.textContent(), launch.modelType);
    assert.match((await page.getByTestId('launches').locator('tbody tr').first().textContent()) ?? '', /not started|step \d+ of \d+/);

    await screenshot(page, 'overview');
    await assertAccessible(page, 'the fleet overview');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it('is keyboard usable: Tab reaches the navigation, then the first alert, which opens the model', async () => {
    const page = await signedInPage(browser, f.tokens.viewer);
    await page.goto(f.server.url);
    const firstAlert = page.getByTestId('alerts').locator('a.alert-model').first();
    await firstAlert.waitFor();
    const expectedModel = await firstAlert.textContent();
    const reached: string[] = [];
    for (let i = 0; i < 60; i += 1) {
      await page.keyboard.press('Tab');
      const where = await page.evaluate(`(() => { const el = document.activeElement; return (el.closest('nav') ? 'nav:' : '') + (el.classList.contains('alert-model') ? 'alert:' : '') + (el.textContent || '').trim(); })()`);
      reached.push(String(where));
      if (String(where).startsWith('alert:')) break;
    }
    assert.ok(reached.includes('nav:Overview'), `Tab reaches the navigation: ${reached.join(' | ')}`);
    assert.equal(reached.at(-1), `alert:${expectedModel}`, `Tab reaches the first alert link: ${reached.join(' | ')}`);
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === `/models/${encodeURIComponent(expectedModel!)}`);
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});

describeInBrowser('console: fleet overview of an empty registry', () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    server = await TestServer.start(testDatabases[0]!);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('says what to do where there is nothing yet', async () => {
    const page = await signedInPage(browser, ADMIN_TOKEN);
    await page.goto(server.url);
    await page.getByText('No stability evaluation yet').waitFor();
    await page.getByText('No alerts firing.').waitFor();
    await page.getByText('No launches in flight.').waitFor();
    await page.getByText('modelfleet launch start --model-type TYPE --candidate TYPE:VERSION').waitFor();
    await page.getByText('No live models to watch yet.').waitFor();
    assert.equal(await statValue(page, 'stat-monitored'), 0);
    assert.equal(await statValue(page, 'stat-alerts'), 0);
    await screenshot(page, 'overview-empty');
    await assertAccessible(page, 'the overview of an empty registry');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
