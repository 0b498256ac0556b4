import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertAccessible, consoleErrors, describeInBrowser, launchBrowser, screenshot, signedInPage } from './browser.js';
import { ADMIN_TOKEN, testDatabases, TestServer } from './harness.js';

describeInBrowser('console: signing in', () => {
  let server: TestServer;
  let browser: Browser;
  let viewer = '';

  before(async () => {
    server = await TestServer.start(testDatabases[0]!);
    viewer = await server.token('night-watch', 'viewer');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the console at / and at every page path, with a content security policy, and keeps the API its own 404s', async () => {
    for (const path of ['/', '/registry', '/models/ig_feed_main_mtml%3Av1', '/launches/abc']) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(await response.text(), /<div id="app">/, path);
      assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    }
    const api = await fetch(`${server.url}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'not_found');
    assert.equal((await fetch(`${server.url}/healthz`)).headers.get('content-type'), 'application/json');
  });

  it('refuses a wrong token with a clear message, then signs in with a right one and shows who is signed in', async () => {
    const page = await signedInPage(browser, null);
    await page.goto(server.url);
    await page.getByLabel('API token').fill('not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText(/not known to this server/).waitFor();
    await assertAccessible(page, 'the sign-in page with an error');
    await screenshot(page, 'sign-in');
    await page.getByLabel('API token').fill(viewer);
    await page.keyboard.press('Enter');
    await page.getByTestId('whoami').getByText('night-watch').waitFor();
    assert.match((await page.getByTestId('whoami').textContent()) ?? '', /viewer/);
    // The token is kept: a reload stays signed in; signing out forgets it.
    await page.reload();
    await page.getByTestId('whoami').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.deepEqual(consoleErrors(page).filter((e) => !/401/.test(e)), []);
    await page.context().close();
  });
});
