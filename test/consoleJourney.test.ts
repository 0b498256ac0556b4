import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertAccessible, consoleErrors, describeInBrowser, launchBrowser, screenshot, signedInPage } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './consoleFixture.js';

/**
 * The on-call engineer's path through the console in one browser tab, moving only by links and the
 * keyboard: from the overview's alert to the model, then to the registry to find its baseline, and
 * every page reached this way works without a reload.
 */
describeInBrowser('console: an on-call journey across pages', () => {
  let fx: ConsoleFixture;
  let browser: Browser;

  before(async () => {
    fx = await startConsoleFixture();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('goes from the alert on the overview to the model, ends it, and finds its baseline with the share it took', async () => {
    const experiment = fx.traffic.injected.find((i) => i.role === 'experiment')!;
    const page = await signedInPage(browser, fx.tokens.admin);
    await page.goto(fx.server.url);
    await page.getByTestId('verdict').waitFor();

    // The alert names the model; its link opens the model page in the same tab, without a reload.
    await page.evaluate('window.__sameDocument = true');
    await page.getByTestId('alerts').getByRole('link', { name: experiment.model }).click();
    await page.getByRole('heading', { level: 1, name: experiment.model }).waitFor();
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'the console routed without reloading the page');
    assert.equal(new URL(page.url()).pathname, `/models/${encodeURIComponent(experiment.model)}`);

    // Keyboard only: the button, the reason, the confirmation.
    const end = page.getByRole('button', { name: 'End this experiment' });
    await end.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await page.keyboard.type('over-predicting by 30% on every task; ended from the console');
    const confirm = dialog.getByRole('button', { name: 'End experiment' });
    await confirm.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Experiment ended' }).waitFor();

    // The registry, reached from the navigation, finds the type's baseline with the share it took back.
    const modelResponse = await fetch(`${fx.server.url}/api/v1/models/${encodeURIComponent(experiment.model)}`, { headers: { authorization: `Bearer ${fx.tokens.admin}` } });
    const type = ((await modelResponse.json()) as { modelType: string }).modelType;
    const typeResponse = await fetch(`${fx.server.url}/api/v1/model-types/${type}`, { headers: { authorization: `Bearer ${fx.tokens.admin}` } });
    const baseline = ((await typeResponse.json()) as { baselineModelId: string }).baselineModelId;
    const baselineResponse = await fetch(`${fx.server.url}/api/v1/models/${encodeURIComponent(baseline)}`, { headers: { authorization: `Bearer ${fx.tokens.admin}` } });
    const share = ((await baselineResponse.json()) as { trafficShare: number }).trafficShare;

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Registry' }).click();
    await page.getByTestId('registry-count').waitFor();
    await page.keyboard.press('/');
    await page.keyboard.type(baseline);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: baseline, exact: true }) });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', new RegExp(`${Math.round(share * 100)}%`), `the baseline's row shows its new share ${share}`);
    await screenshot(page, 'journey-registry-baseline');
    await assertAccessible(page, 'the registry found by the journey');
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'the whole journey ran in one page load');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
