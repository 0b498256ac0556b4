import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertAccessible, consoleErrors, describeInBrowser, launchBrowser, screenshot, signedInPage } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './consoleFixture.js';

interface Pool {
  team: string;
  launchPolicy: string;
  quota: number | null;
  used: number;
  reserved: number;
  free: number | null;
}

/** Capacity units as the console prints them. */
const units = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

describeInBrowser('console: teams', () => {
  let f: ConsoleFixture;
  let browser: Browser;
  let quotaTeam = '';

  before(async () => {
    f = await startConsoleFixture();
    // One team with a quota, so the list shows a full pool (used | reserved | free) next to teams without one.
    quotaTeam = f.tokens.memberTeam;
    const current = await f.server.call('GET', `/teams/${quotaTeam}`);
    const patched = await f.server.call('PATCH', `/teams/${quotaTeam}`, { body: { quota: 1500 }, headers: { 'if-match': current.headers.get('etag')! } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await f?.close();
  });

  it("lists every team with the pool numbers the quotas API reports", async () => {
    const page = await signedInPage(browser, f.tokens.viewer);
    await page.goto(`${f.server.url}/teams`);
    await page.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
    await page.getByTestId('teams').waitFor();
    const pools = (await f.server.call('GET', '/quotas')).body.items as Pool[];
    assert.equal(await page.getByTestId('teams').locator('tbody tr').count(), pools.length);
    for (const pool of pools) {
      const row = page.locator(`tr[data-team="${pool.team}"]`);
      assert.equal(await row.getByTestId('pool-used').textContent(), units(pool.used), `${pool.team} used`);
      assert.equal(await row.getByTestId('pool-reserved').textContent(), units(pool.reserved), `${pool.team} reserved`);
      if (pool.quota === null) {
        assert.match((await row.getByTestId('pool-quota').textContent()) ?? '', /no quota/, pool.team);
        assert.equal(await row.getByTestId('pool-free').count(), 0);
      } else {
        assert.equal(await row.getByTestId('pool-quota').textContent(), units(pool.quota), `${pool.team} quota`);
        assert.equal(await row.getByTestId('pool-free').textContent(), units(pool.free!), `${pool.team} free`);
      }
    }
    assert.equal(pools.find((p) => p.team === quotaTeam)?.quota, 1500);
    await screenshot(page, 'teams');
    await assertAccessible(page, 'the teams list');
    // A team's name opens its page.
    await page.getByRole('link', { name: quotaTeam, exact: true }).click();
    await page.getByRole('heading', { name: quotaTeam, level: 1 }).waitFor();
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it("shows a team's members, model types and pool; a viewer sees them read-only", async () => {
    const page = await signedInPage(browser, f.tokens.viewer);
    await page.goto(`${f.server.url}/teams/${quotaTeam}`);
    await page.getByTestId('team-members').getByRole('cell', { name: 'console-member', exact: true }).waitFor();
    const types = (await f.server.call('GET', `/model-types?ownerTeam=${quotaTeam}&limit=1000`)).body.items as Array<{ name: string }>;
    assert.ok(types.length > 0);
    await page.getByTestId('team-types').waitFor();
    assert.equal(await page.getByTestId('team-types').locator('tbody tr').count(), types.length);
    const pool = (await f.server.call('GET', `/teams/${quotaTeam}/quota`)).body as Pool;
    assert.equal(await page.getByTestId('pool-quota').textContent(), units(pool.quota!));
    // No edit control for a viewer, only the note saying who may change it.
    await page.getByTestId('settings-read-only').waitFor();
    assert.equal(await page.getByLabel('Quota (capacity units)').count(), 0);
    assert.equal(await page.getByRole('button', { name: /Review change/ }).count(), 0);
    await assertAccessible(page, "a team's page, read-only");
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it('lets an admin change the quota and launch policy after a confirmation, and the API then reports them', async () => {
    const page = await signedInPage(browser, f.tokens.admin);
    await page.goto(`${f.server.url}/teams/${quotaTeam}`);
    const quota = page.getByLabel('Quota (capacity units)');
    await quota.waitFor();
    assert.equal(await quota.inputValue(), '1500');
    await page.getByTestId('team-members').waitFor();
    await screenshot(page, 'team-detail');
    await assertAccessible(page, "a team's page with the admin form");

    await quota.fill('2400');
    await page.getByLabel('Launch policy', { exact: true }).selectOption('manual');
    await page.getByRole('button', { name: /Review change/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /1,500 units → 2,400 units/);
    assert.match((await dialog.textContent()) ?? '', /Automatic within quota → Manual/);
    await assertAccessible(page, 'the change confirmation');
    await dialog.getByLabel(/Reason/).fill('more capacity for the holiday launch');
    await dialog.getByRole('button', { name: 'Change team' }).click();
    await page.getByRole('status').getByText(/Saved: 2,400 units, manual/).waitFor();
    await page.getByTestId('team-quota').getByText('2,400 capacity units').waitFor();

    const team = (await f.server.call('GET', `/teams/${quotaTeam}`)).body;
    assert.equal(team.quota, 2400);
    assert.equal(team.launchPolicy, 'manual');
    const pool = ((await f.server.call('GET', '/quotas')).body.items as Pool[]).find((p) => p.team === quotaTeam)!;
    assert.equal(pool.quota, 2400);
    assert.equal(pool.launchPolicy, 'manual');
    const history = (await f.server.call('GET', `/teams/${quotaTeam}/history`)).body.items;
    assert.equal(history.at(-1).reason, 'more capacity for the holiday launch');
    assert.equal(history.at(-1).actor, 'admin');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  it("does not overwrite a change made since the page read the team, and shows it", async () => {
    const page = await signedInPage(browser, f.tokens.admin);
    await page.goto(`${f.server.url}/teams/${quotaTeam}`);
    const quota = page.getByLabel('Quota (capacity units)');
    await quota.waitFor();
    const before = await f.server.call('GET', `/teams/${quotaTeam}`);
    const elsewhere = await f.server.call('PATCH', `/teams/${quotaTeam}`, { body: { quota: 3000 }, headers: { 'if-match': before.headers.get('etag')! } });
    assert.equal(elsewhere.status, 200);

    await quota.fill('2600');
    await page.getByRole('button', { name: /Review change/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/Reason/).fill('stale page');
    await dialog.getByRole('button', { name: 'Change team' }).click();
    await dialog.getByRole('alert').getByText(/changed by someone else/).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('team-quota').getByText('3,000 capacity units').waitFor();
    assert.equal(await quota.inputValue(), '3000');
    assert.equal((await f.server.call('GET', `/teams/${quotaTeam}`)).body.quota, 3000);
    assert.deepEqual(consoleErrors(page).filter((e) => !/412/.test(e)), []);
    await page.context().close();
  });

  it('says what the API said when the team is unknown', async () => {
    const page = await signedInPage(browser, f.tokens.viewer);
    await page.goto(`${f.server.url}/teams/no-such-team`);
    await page.getByRole('alert').getByText("team 'no-such-team' does not exist").waitFor();
    await page.context().close();
  });
});
