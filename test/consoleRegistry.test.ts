import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Catalog, CatalogRow } from '../src/registry/catalog.js';
import { assertAccessible, consoleErrors, describeInBrowser, launchBrowser, screenshot, signedInPage } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './consoleFixture.js';

/**
 * The registry browser on a 600-model fleet: what it counts and lists is checked against GET /catalog
 * filtered here, the filters against the URL, and the table against what a user sees and can reach.
 */

const ID = 0;
const SURFACE = 2;
const TIER = 4;
const SHARE = 8;
const STATUS = 9;
const RETIRED = 10;

describeInBrowser('console: the registry browser', () => {
  let fixture: ConsoleFixture;
  let browser: Browser;
  let catalog: Catalog;
  let live: CatalogRow[];

  before(async () => {
    fixture = await startConsoleFixture({ models: 600 });
    browser = await launchBrowser();
    catalog = (await fixture.server.call<Catalog>('GET', '/catalog')).body;
    live = catalog.rows.filter((r) => !r[RETIRED]);
  });
  after(async () => {
    await browser?.close();
    await fixture?.close();
  });

  const count = (n: number, of: number) => `${n.toLocaleString('en-US')} of ${of.toLocaleString('en-US')} models`;
  const countIs = (page: Page, n: number, of = live.length) => page.getByTestId('registry-count').filter({ hasText: count(n, of) }).waitFor();
  const rows = (page: Page) => page.locator('.vtable-body [role="row"]');
  const renderedIds = async (page: Page) => rows(page).locator('[role="cell"]:first-child').allTextContents();
  const searchText = (r: CatalogRow) => `${r[0]} ${r[1]} ${r[5]} ${r[6]}`.toLowerCase();

  async function open(path: string): Promise<Page> {
    const page = await signedInPage(browser, fixture.tokens.viewer);
    await page.goto(`${fixture.server.url}${path}`);
    await page.getByTestId('registry-count').waitFor();
    return page;
  }

  it('counts every live model, and holds only the visible rows in the DOM', async () => {
    const page = await open('/registry');
    await countIs(page, live.length);
    const table = page.getByRole('table', { name: 'Models' });
    assert.equal(await table.getAttribute('aria-rowcount'), String(live.length + 1));
    const inDom = await rows(page).count();
    assert.ok(inDom > 0 && inDom < live.length / 5, `${inDom} rows in the DOM for ${live.length} models`);
    // The first rows are the first models by id; each says where it sits in the whole table.
    const first = rows(page).first();
    assert.equal(await first.getAttribute('aria-rowindex'), '2');
    assert.equal((await renderedIds(page))[0], live[0]![ID]);
    await screenshot(page, 'registry');
    await assertAccessible(page, 'the registry');
    // Scrolling far down renders rows from there, still a few of them.
    await page.evaluate("(() => { const el = document.querySelector('.vtable-scroll'); el.scrollTo(0, el.scrollHeight); })()");
    await page.getByRole('link', { name: live.at(-1)![ID], exact: true }).waitFor();
    assert.ok((await rows(page).count()) < live.length / 5);
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it('narrows as one types to the models containing the text, as the catalog says', async () => {
    const page = await open('/registry');
    // Part of a model id: its surface, subsurface and the architecture's first letters.
    const fragment = live[Math.floor(live.length / 3)]![ID].split(':')[0]!.split('_').slice(1, 3).join('_');
    const expected = live.filter((r) => searchText(r).includes(fragment));
    assert.ok(expected.length > 1 && expected.length < live.length, `'${fragment}' matches ${expected.length}`);
    await page.getByLabel('Search models').pressSequentially(fragment);
    await countIs(page, expected.length);
    const ids = await renderedIds(page);
    assert.ok(ids.length > 0 && ids.every((id) => id.includes(fragment)), ids.join(', '));
    assert.equal(new URL(page.url()).searchParams.get('q'), fragment);
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it('filters by tier and surface, keeps the filters in the URL across a reload, and goes back a filter at a time', async () => {
    const page = await open('/registry');
    await countIs(page, live.length);
    const tier0 = live.filter((r) => r[TIER] === 'TIER0');
    const surface = tier0[0]![SURFACE];
    const expected = tier0.filter((r) => r[SURFACE] === surface);
    await page.getByLabel('Tier').selectOption('TIER0');
    await countIs(page, tier0.length);
    await page.getByLabel('Surface').selectOption(surface);
    await countIs(page, expected.length);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('tier'), 'TIER0');
    assert.equal(url.searchParams.get('surface'), surface);
    const ids = new Set(expected.map((r) => r[ID]));
    for (const id of await renderedIds(page)) assert.ok(ids.has(id), `${id} is not a TIER0 ${surface} model`);

    await page.reload();
    await countIs(page, expected.length);
    assert.equal(await page.getByLabel('Tier').inputValue(), 'TIER0');
    assert.equal(await page.getByLabel('Surface').inputValue(), surface);
    await screenshot(page, 'registry-filtered');
    await assertAccessible(page, 'the registry, filtered');

    await page.goBack();
    await countIs(page, tier0.length);
    assert.equal(await page.getByLabel('Surface').inputValue(), '');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it("opens the overview's link to the unstable models and shows the ones that went bad", async () => {
    const unstable = live.filter((r) => r[STATUS] === 'unstable');
    const injected = fixture.traffic.injected.map((f) => f.model);
    assert.ok(injected.length > 0);
    assert.deepEqual(
      unstable.map((r) => r[ID]).filter((id) => injected.includes(id)),
      injected.filter((id) => unstable.some((r) => r[ID] === id)),
    );
    const page = await open('/registry?status=unstable');
    await countIs(page, unstable.length);
    assert.equal(await page.getByLabel('Stability', { exact: true }).inputValue(), 'unstable');
    for (const id of injected.filter((m) => unstable.some((r) => r[ID] === m))) await page.getByRole('link', { name: id, exact: true }).waitFor();
    assert.ok(injected.some((m) => unstable.some((r) => r[ID] === m)), 'at least one injected fault is judged unstable');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it('sorts by traffic share, largest first, from the header button by click or keyboard', async () => {
    const page = await open('/registry');
    await countIs(page, live.length);
    const header = page.getByRole('columnheader', { name: /Traffic share/ });
    assert.equal(await header.getAttribute('aria-sort'), 'none');
    await header.getByRole('button').click();
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    const largest = Math.max(...live.map((r) => r[SHARE]));
    // Ties keep model id order.
    const first = live.filter((r) => r[SHARE] === largest).sort((a, b) => (a[ID] < b[ID] ? -1 : 1))[0]!;
    assert.equal((await renderedIds(page))[0], first[ID]);
    assert.equal(new URL(page.url()).searchParams.get('sort'), '-share');
    await header.getByRole('button').focus();
    await page.keyboard.press('Enter');
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    const smallest = Math.min(...live.map((r) => r[SHARE]));
    const firstAscending = (await renderedIds(page))[0]!;
    assert.equal(live.find((r) => r[ID] === firstAscending)![SHARE], smallest);
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it('lists retired models only when asked, and says when nothing matches', async () => {
    const page = await open('/registry?q=no-such-model');
    await countIs(page, 0);
    await page.getByText('No models match these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await countIs(page, live.length);
    await page.getByLabel('Show retired').check();
    await countIs(page, catalog.rows.length, catalog.rows.length);
    assert.equal(new URL(page.url()).searchParams.get('retired'), '1');
    // Asking for the retired role shows them without the checkbox.
    await page.getByLabel('Show retired').uncheck();
    await page.getByLabel('Role').selectOption('retired');
    const retired = catalog.rows.filter((r) => r[RETIRED]);
    assert.ok(retired.length > 0);
    await countIs(page, retired.length, catalog.rows.length);
    assert.ok((await renderedIds(page)).every((id) => retired.some((r) => r[ID] === id)));
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it('moves by Tab from the search through the filters and the column headers to the rows’ links', async () => {
    const page = await open('/registry');
    await countIs(page, live.length);
    await page.getByLabel('Search models').focus();
    const stops: string[] = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      const stop = (await page.evaluate(
        `(() => { const e = document.activeElement; return e.tagName === 'A' ? 'link ' + e.textContent : e.tagName === 'BUTTON' ? 'button ' + e.textContent.replace(/[▲▼↕]/g, '') : e.id; })()`,
      )) as string;
      stops.push(stop);
      if (stop.startsWith('link ')) break;
    }
    assert.deepEqual(stops, [
      'registry-surface',
      'registry-stage',
      'registry-tier',
      'registry-role',
      'registry-team',
      'registry-status',
      'registry-retired',
      // Clear filters is disabled with no filter set, so Tab passes it.
      ...['Model', 'Type', 'Surface', 'Funnel stage', 'Tier', 'Owner team', 'Role', 'Traffic share', 'Stability'].map((h) => `button ${h}`),
      `link ${live[0]![ID]}`,
    ]);
    await page.context().close();
  });

  it("focuses the search on '/', and a row's model link opens the model's page", async () => {
    const page = await open('/registry');
    await countIs(page, live.length);
    await page.locator('body').press('/');
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'registry-q');
    await page.keyboard.press('Escape');
    const target = live[5]!;
    await page.getByRole('link', { name: target[ID], exact: true }).click();
    await page.waitForURL((url) => url.pathname === `/models/${encodeURIComponent(target[ID])}`);
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
