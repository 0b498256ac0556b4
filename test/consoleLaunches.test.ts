import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { startKnownCapacityServer, type KnownCapacityServer } from '../src/capacity/knownCapacityServer.js';
import { assertAccessible, consoleErrors, describeInBrowser, launchBrowser, screenshot, signedInPage } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './consoleFixture.js';

/**
 * The launches pages against a real server whose simulated executor runs on a clock the test moves:
 * the engine advances only when the test ticks it, so every step the page shows is one the test made.
 * The clock is the real one plus what the test added, so the times the page shows stay close to now.
 */
class SteppedClock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

// ig_feed_mtml (TIER3) and ig_feed_transformer (TIER1) belong to feed-ranking, the fixture member's team.
const TYPE = 'ig_feed_mtml';
const CANDIDATE = 'ig_feed_mtml:v21';
const BASELINE = 'ig_feed_mtml:v17';
const TIER1_TYPE = 'ig_feed_transformer';
const TIER1_CANDIDATE = 'ig_feed_transformer:v18';

// stories-ranking keeps the default policy: its launches go ahead on their own.
const ABORT_TYPE = 'ig_stories_tray_lite_mtl';
const ABORT_CANDIDATE = 'ig_stories_tray_lite_mtl:v11';
const ABORT_BASELINE = 'ig_stories_tray_lite_mtl:v8';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const stepText = (l: any) => (l.phase === 'completed' ? `${l.plan.length} of ${l.plan.length} steps` : l.step < 0 ? `before step 1 of ${l.plan.length}` : `step ${l.step + 1} of ${l.plan.length}`);
const exactly = (text: string) => new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);

/** Waits until the element's whole text is `text` (the page polls, so it catches up within a refresh or two). */
async function waitForText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: exactly(text) }).waitFor({ timeout: 15_000 });
}

describeInBrowser('console: launches', () => {
  let f: ConsoleFixture;
  let clock: SteppedClock;
  let browser: Browser;
  let target: KnownCapacityServer;
  let launchId = '';
  let waitingId = '';
  const pages: Page[] = [];

  const api = async (method: string, path: string, body?: unknown, token?: string) => {
    const response = await f.server.call(method, path, { ...(body !== undefined ? { body } : {}), ...(token ? { token } : {}) });
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const launchNow = (id = launchId) => api('GET', `/launches/${id}`);

  /** Lets the engine act, then moves the clock a second, until `done` holds for the launch. */
  async function driveUntil(done: (launch: any) => boolean, what: string, id = launchId): Promise<any> {
    for (let i = 0; i < 400; i++) {
      await f.server.fleet.launchEngine.tick();
      const launch = await launchNow(id);
      if (done(launch)) return launch;
      if (['completed', 'rolled_back', 'aborted', 'failed'].includes(launch.phase) && !done(launch)) throw new Error(`launch ended ${launch.phase} (${launch.outcome}) before ${what}`);
      clock.advance(1000);
    }
    throw new Error(`the launch never reached ${what}`);
  }

  async function open(token: string, path: string): Promise<Page> {
    const page = await signedInPage(browser, token);
    pages.push(page);
    await page.goto(`${f.server.url}${path}`);
    return page;
  }

  /** Every page the test opened logged no error (but `expected` ones), and is closed. */
  async function closePages(expected?: RegExp): Promise<void> {
    for (const page of pages.splice(0)) {
      assert.deepEqual(consoleErrors(page).filter((e) => !expected?.test(e)), [], `console errors on ${page.url()}`);
      await page.context().close();
    }
  }

  async function act(page: Page, button: string, confirm: string, reason: string): Promise<void> {
    await page.getByRole('button', { name: button, exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason (recorded in history)').fill(reason);
    await dialog.getByRole('button', { name: confirm, exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  }

  before(async () => {
    clock = new SteppedClock();
    f = await startConsoleFixture({ server: { clock, launch: { autoStart: false, simulated: { startupMs: 1000 } } } });
    browser = await launchBrowser();
    target = await startKnownCapacityServer({ slots: 4, serviceTimeMs: 20 });
    // Launches of the team's types wait for a person from now on.
    const team = await f.server.call('GET', `/teams/${f.tokens.memberTeam}`);
    const patched = await f.server.call('PATCH', `/teams/${f.tokens.memberTeam}`, { body: { launchPolicy: 'manual' }, headers: { 'if-match': team.headers.get('etag') ?? '' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
  });
  after(async () => {
    await browser?.close();
    await target?.close();
    await f?.close();
  });

  it('with no launch yet, the list says how to start one', async () => {
    const page = await open(f.tokens.member, '/launches');
    await page.getByText('No launches yet.').waitFor();
    await page.getByText('npx modelfleet launch start --model-type').waitFor();
    await assertAccessible(page, 'the empty launches list');
    await screenshot(page, 'launches-empty');
    await closePages();
  });

  it('an engineer approves a launch, watches it shift, pauses and resumes it, and sees the summary', async () => {
    const started = await api('POST', '/launches', { modelType: TYPE, candidate: CANDIDATE, executor: 'simulated', stepShare: 0.2, bakeSeconds: 2, expectedGain: '+0.4% saves', reason: 'v21 wins offline on saves' }, f.tokens.member);
    launchId = started.id;
    assert.equal(started.phase, 'awaiting_approval', started.outcome);
    assert.match(started.approval.reason, /manual/);

    const page = await open(f.tokens.member, `/launches/${launchId}`);
    await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
    await waitForText(page.getByTestId('launch-step'), 'before step 1 of 5');
    assert.match((await page.getByRole('heading', { level: 1 }).textContent()) ?? '', new RegExp(`${CANDIDATE}\\s+replacing\\s+${BASELINE}\\s+on\\s+${TYPE}`));
    await page.getByText("the team's launch policy is manual").first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Pause', exact: true }).count(), 0, 'a launch waiting for approval cannot be paused');

    // The dialog says what approving does, and the reason goes with it.
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await page.getByRole('dialog').getByText(`${CANDIDATE} starts`).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await act(page, 'Approve', 'Approve and start', 'offline saves +0.4%, reviewed with the team');
    await page.getByText('Approve recorded: the launch is preparing.').waitFor();
    const approved = await launchNow();
    assert.equal(approved.approval.approvedBy, 'console-member');
    const events = await api('GET', `/launches/${launchId}/events`);
    assert.ok(events.items.some((e: any) => e.actor === 'console-member' && e.reason.includes('offline saves +0.4%, reviewed with the team')));

    // Step by step, the page follows what the API says.
    const shares: string[] = [];
    for (const step of [0, 1, 2]) {
      const now = await driveUntil((l) => l.phase === 'shifting' && l.step === step && l.stage === 'bake', `step ${step + 1} baking`);
      await waitForText(page.getByTestId('launch-step'), stepText(now));
      await waitForText(page.getByTestId('candidate-share'), pct(now.traffic.candidate));
      shares.push(pct(now.traffic.candidate));
    }
    assert.deepEqual(shares, ['19.0%', '38.0%', '57.0%'], "the candidate's share grows with each step");
    // Gates of the steps behind it are shown with their values.
    await page.getByRole('table', { name: 'Gate results by step' }).getByText('Error rate').first().waitFor();
    await page.getByRole('table', { name: 'Steps of the traffic shift' }).getByText('current').waitFor();
    await assertAccessible(page, 'a launch while it shifts');
    await screenshot(page, 'launch-shifting');

    // Pause: the launch holds, whatever the engine does, until resumed.
    await act(page, 'Pause', 'Pause launch', 'checking the saves dashboard');
    await page.getByRole('heading', { name: 'Paused' }).waitFor();
    const paused = await launchNow();
    assert.equal(paused.phase, 'paused');
    for (let i = 0; i < 5; i++) {
      await f.server.fleet.launchEngine.tick();
      clock.advance(1000);
    }
    assert.deepEqual((await launchNow()).traffic, paused.traffic, 'nothing moves while paused');
    assert.equal(await page.getByRole('button', { name: 'Pause', exact: true }).count(), 0);
    await act(page, 'Resume', 'Resume launch', 'dashboard looks fine');
    await page.getByText('Resume recorded: the launch is shifting.').waitFor();

    const done = await driveUntil((l) => l.phase === 'completed', 'completion');
    assert.equal(done.summary.steps, 5);
    const summary = page.getByRole('region', { name: `Completed: ${CANDIDATE} is the baseline of ${TYPE}` });
    await summary.waitFor();
    await waitForText(summary.getByRole('definition').nth(1), '5');
    const costChange = done.summary.costChange as number;
    await summary.getByText(`${costChange > 0 ? '+' : '−'}${Number(Math.abs(costChange).toPrecision(4)).toLocaleString('en-US')} units`).waitFor();
    await summary.getByText(`${BASELINE} retired`).waitFor();
    await waitForText(page.getByTestId('launch-step'), '5 of 5 steps');
    assert.equal(await page.getByRole('group', { name: 'Act on this launch' }).count(), 0, 'a finished launch has nothing to act on');
    // The event log, newest first, has the people's moves with their reasons.
    const log = page.getByRole('table', { name: 'Launch events, newest first' });
    await log.getByText(`${CANDIDATE} is the baseline of ${TYPE}`).waitFor();
    await log.getByText('paused by console-member: checking the saves dashboard').waitFor();
    await screenshot(page, 'launch-completed');
    await closePages();
  });

  it("shows a TIER1 launch waiting for approval, with the candidate's measured capacity, and every launch in the list", async () => {
    // The candidate's capacity is measured first, against a server of known capacity (200 requests a second).
    const recording = Array.from({ length: 20 }, (_, i) => JSON.stringify({ method: 'POST', path: '/predict', body: { user: { id: `u${i}` }, candidates: [{ id: 'c1' }] } })).join('\n');
    const imported = await f.server.call('POST', `/model-types/${TIER1_TYPE}/recordings?name=transformer`, { raw: recording, contentType: 'application/x-ndjson' });
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    let converged = false;
    // A machine busy with other tests can hold the load generator back (generator_bound): one more try then.
    for (let attempt = 0; attempt < 2 && !converged; attempt++) {
      const job = await api('POST', `/models/${encodeURIComponent(TIER1_CANDIDATE)}/capacity/estimate`, { target: target.url, recordingId: imported.body.id, p99Ms: 200, maxErrorRate: 0.01, stepDurationMs: 600, warmupMs: 300, tolerance: 0.25, unitCost: 3 });
      let result = job;
      while (result.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 300));
        result = await api('GET', `/capacity/estimates/${job.id}`);
      }
      converged = result.status === 'succeeded' && result.result.converged;
    }
    const waiting = await api('POST', '/launches', { modelType: TIER1_TYPE, candidate: TIER1_CANDIDATE, executor: 'simulated', bakeSeconds: 2 }, f.tokens.member);
    waitingId = waiting.id;
    assert.equal(waiting.phase, 'awaiting_approval');
    assert.match(waiting.approval.reason, /TIER1/);

    const page = await open(f.tokens.member, `/launches/${waitingId}`);
    await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
    await page.getByText(/TIER1 and above always need an explicit approval/).first().waitFor();
    await page.getByRole('button', { name: 'Approve', exact: true }).waitFor();
    if (converged) {
      await page.getByRole('heading', { name: `Measured capacity of ${TIER1_CANDIDATE}` }).waitFor();
      await page.getByRole('img', { name: /Latency against offered load/ }).waitFor();
      await page.getByText(/measured .* \(transformer/).first().waitFor();
    } else {
      assert.equal(await page.getByRole('heading', { name: `Measured capacity of ${TIER1_CANDIDATE}` }).count(), 0);
    }
    await assertAccessible(page, 'a launch waiting for approval');
    await screenshot(page, 'launch-awaiting-approval');

    const list = await open(f.tokens.member, '/launches');
    const inFlight = list.getByRole('region', { name: /In flight/ });
    const finished = list.getByRole('region', { name: /Finished/ });
    await inFlight.getByRole('link', { name: TIER1_CANDIDATE }).waitFor();
    await inFlight.getByText('awaiting approval').waitFor();
    await finished.getByRole('link', { name: CANDIDATE }).waitFor();
    await finished.getByText('completed').waitFor();
    assert.match((await finished.getByRole('row').filter({ hasText: CANDIDATE }).textContent()) ?? '', /5 of 5 steps.*95\.0%/);
    await assertAccessible(list, 'the launches list');
    await screenshot(list, 'launches');

    // Filters live in the URL: finished launches of the team only.
    await list.getByLabel('Show').selectOption('finished');
    await list.waitForURL(/\?phase=finished$/);
    await inFlight.waitFor({ state: 'detached' });
    await list.getByLabel('Team').selectOption(f.tokens.memberTeam);
    await list.waitForURL(new RegExp(`\\?phase=finished&team=${f.tokens.memberTeam}$`));
    await finished.getByRole('link', { name: CANDIDATE }).waitFor();
    await list.getByLabel('Team').selectOption('stories-ranking');
    await list.waitForURL(/team=stories-ranking$/);
    await list.getByText('No launch matches these filters.').waitFor();
    await list.getByLabel('Team').selectOption('');
    await list.waitForURL(/\?phase=finished$/);
    await list.getByRole('link', { name: CANDIDATE }).click();
    await list.waitForURL(new RegExp(`/launches/${launchId}$`));
    await list.getByRole('heading', { name: /Completed/ }).waitFor();
    await closePages();
  });

  it('an admin aborts a launch mid-shift: the dialog says the old model takes its traffic back first, and the page shows how it ended', async () => {
    const started = await api('POST', '/launches', { modelType: ABORT_TYPE, candidate: ABORT_CANDIDATE, executor: 'simulated', bakeSeconds: 2 });
    assert.equal(started.phase, 'preparing', 'the team launches automatically within its quota');
    const id = started.id;
    const page = await open(f.tokens.admin, `/launches/${id}`);
    const shifting = await driveUntil((l) => l.phase === 'shifting' && l.step === 1 && l.stage === 'bake', 'step 2 baking', id);
    await waitForText(page.getByTestId('candidate-share'), pct(shifting.traffic.candidate));

    await page.getByRole('button', { name: 'Abort', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Traffic returns to ${ABORT_BASELINE} before the candidate scales down`).waitFor();
    await dialog.getByText(`${ABORT_BASELINE} scales back to ${shifting.baselineReplicasAtStart} replica(s)`).waitFor();
    await dialog.getByLabel('Reason (recorded in history)').fill('saves dropped on the dashboard');
    await dialog.getByRole('button', { name: 'Abort launch', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('heading', { name: 'Rolling back' }).waitFor();

    const aborted = await driveUntil((l) => l.phase === 'aborted', 'the end of the roll-back', id);
    assert.equal(aborted.traffic.candidate, 0);
    assert.equal(aborted.replicas.candidate, 0);
    const ended = page.getByRole('region', { name: 'Aborted' });
    await ended.getByText('aborted by admin: saves dropped on the dashboard').waitFor();
    await ended.getByText(`${ABORT_BASELINE} holds ${pct(aborted.traffic.baseline)} of the traffic`).waitFor();
    await page.getByRole('table', { name: 'Steps of the traffic shift' }).getByText('stopped here').waitFor();
    await screenshot(page, 'launch-aborted');
    await closePages();
  });

  it('a viewer follows a launch but gets no action buttons', async () => {
    const page = await open(f.tokens.viewer, `/launches/${waitingId}`);
    await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
    await page.getByText(`You can follow this launch; members of ${f.tokens.memberTeam} and admins act on it.`).waitFor();
    assert.equal(await page.getByRole('button', { name: /Approve|Reject|Abort|Pause/ }).count(), 0);
    // The server agrees: a viewer's approval is refused.
    const refused = await f.server.call('POST', `/launches/${waitingId}/approve`, { body: { reason: 'trying' }, token: f.tokens.viewer });
    assert.equal(refused.status, 403);
    await closePages();
  });

  it('an action the launch has moved past is refused, and the dialog shows the API message', async () => {
    const page = await open(f.tokens.member, `/launches/${waitingId}`);
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason (recorded in history)').fill('capacity reviewed');
    // Someone else decides first.
    await api('POST', `/launches/${waitingId}/reject`, { reason: 'not this week' });
    await dialog.getByRole('button', { name: 'Approve and start', exact: true }).click();
    await dialog.getByRole('alert').getByText(`launch ${waitingId} is aborted: there is nothing left to approve`).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('region', { name: 'Aborted' }).getByText('rejected by admin: not this week').waitFor();
    // The refused action answered 409, which the browser logs.
    await closePages(/409/);
  });
});
