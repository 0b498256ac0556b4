import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, showRun } from './cliRunner.js';
import { ADMIN_TOKEN, forEachDatabase, ManualClock, sample, seed, TestServer } from './harness.js';

/**
 * Launches on the simulated executor: a simulated fleet on a clock the test moves, so the whole
 * lifecycle (estimation, approval, steps with bakes and gates, roll-back, finalization) runs in
 * seconds. The local executor's end-to-end test runs real processes.
 */

const START = Date.parse('2026-11-26T10:00:00Z');

interface Fixture {
  server: TestServer;
  clock: ManualClock;
}

async function start(db: Parameters<typeof TestServer.start>[0]): Promise<Fixture> {
  const clock = new ManualClock(START);
  const server = await TestServer.start(db, { clock, launch: { autoStart: false, simulated: { startupMs: 20_000, demandQps: () => 300, faultErrorRate: (id: string) => (id.endsWith(':bad') ? 0.2 : 0) } } });
  return { server, clock };
}

const launchable = (type: string, team: string, tier = 'TIER2') => [
  sample.modelType(type, team, { criticality: tier, ...(tier <= 'TIER1' ? { oncall: { rotation: `${team}-oncall`, coverage: '24x7' }, criticalityJustification: { businessMetrics: ['time spent'], rationale: 'main surface' } } : {}) }),
];
const models = (type: string) => [
  sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.9, capacity: { maxQpsPerReplica: 100, replicas: 4, unitCost: 1 } }),
  sample.model(`${type}:v2`, { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 130, replicas: 0, unitCost: 1 } }),
];

/** PATCH with the entry's current version, as a careful client does. */
async function patch(f: Fixture, path: string, body: unknown) {
  const current = await f.server.call('GET', path);
  return f.server.call('PATCH', path, { body, headers: { 'if-match': current.headers.get('etag') ?? '' } });
}

/** Moves the clock in 5 s steps, letting the engine act after each, until the launch ends or `limitMs` passes. */
async function runUntilDone(f: Fixture, id: string, limitMs = 30 * 60_000): Promise<any> {
  const engine = f.server.fleet.launchEngine;
  for (let t = 0; t <= limitMs; t += 5000) {
    await engine.tick();
    const launch = (await f.server.call('GET', `/launches/${id}`)).body;
    if (['completed', 'rolled_back', 'aborted', 'failed', 'awaiting_approval', 'paused'].includes(launch.phase)) return launch;
    f.clock.advance(5000);
  }
  throw new Error(`launch ${id} did not finish within ${limitMs / 60_000} simulated minutes`);
}

forEachDatabase((db) => {
  describe(`launches on the simulated executor (${db.name})`, () => {
    let f: Fixture;
    let memberToken: string;
    before(async () => {
      f = await start(db);
      await seed(f.server, {
        teams: [sample.team('feed-ranking'), sample.team('stories-ranking'), sample.team('reels-ranking'), sample.team('tight-team')],
        modelTypes: [
          ...launchable('ig_feed_main_mtml', 'feed-ranking'),
          ...launchable('ig_feed_video_mtml', 'feed-ranking'),
          ...launchable('ig_stories_tray_mtml', 'stories-ranking'),
          ...launchable('ig_reels_main_mtml', 'reels-ranking'),
          ...launchable('ig_explore_grid_mtml', 'tight-team'),
        ],
        models: [...models('ig_feed_main_mtml'), ...models('ig_feed_video_mtml'), ...models('ig_stories_tray_mtml'), ...models('ig_reels_main_mtml'), ...models('ig_explore_grid_mtml')],
      });
      await f.server.call('POST', '/models', { body: sample.model('ig_feed_video_mtml:bad', { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 130, replicas: 0, unitCost: 1 } }) });
      memberToken = await f.server.token('feed-member', 'member', 'feed-ranking');
    });
    after(() => f.server.close());

    it('runs a launch end to end: estimate, steps behind gates, the candidate becomes the baseline and the old one retires', async () => {
      const started = await f.server.call('POST', '/launches', { token: memberToken, body: { modelType: 'ig_feed_main_mtml', candidate: 'ig_feed_main_mtml:v2', executor: 'simulated', stepShare: 0.25, bakeSeconds: 60, peakQps: 300, expectedGain: '+0.3% time spent' } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const launch = started.body;
      assert.equal(launch.phase, 'preparing', launch.outcome ?? launch.approval?.reason);
      // 300 QPS x 1.3 headroom / 130 QPS a replica = 3 replicas; the baseline held 4 at 1 unit each.
      assert.equal(launch.estimate.replicas, 3);
      assert.equal(launch.estimate.costChange, -1);
      assert.equal(launch.approval.decision, 'auto');
      assert.deepEqual(launch.plan.map((s: any) => s.share), [0.25, 0.5, 0.75, 1]);

      const done = await runUntilDone(f, launch.id);
      assert.equal(done.phase, 'completed', done.outcome);
      assert.equal(done.summary.retired, 'ig_feed_main_mtml:v1');
      assert.equal(done.summary.steps, 4);
      assert.equal(done.gates.filter((g: any) => !g.pass).length, 0);
      const type = (await f.server.call('GET', '/model-types/ig_feed_main_mtml')).body;
      assert.equal(type.baselineModelId, 'ig_feed_main_mtml:v2');
      const v2 = (await f.server.call('GET', `/models/${encodeURIComponent('ig_feed_main_mtml:v2')}`)).body;
      assert.equal(v2.role, 'baseline');
      assert.equal(v2.trafficShare, 0.9);
      assert.deepEqual(v2.capacity, { maxQpsPerReplica: 130, replicas: 3, unitCost: 1 });
      const v1 = (await f.server.call('GET', `/models/${encodeURIComponent('ig_feed_main_mtml:v1')}`)).body;
      assert.equal(v1.role, 'retired');
      assert.equal(v1.trafficShare, 0);
      // Every traffic move is in the registry's history, by the launch.
      const history = (await f.server.call('GET', `/models/${encodeURIComponent('ig_feed_main_mtml:v2')}/history`)).body.items;
      const shares = history.filter((c: any) => c.reason?.includes(launch.id)).map((c: any) => c.after?.trafficShare);
      assert.deepEqual(shares.slice(0, 4), [0.225, 0.45, 0.675, 0.9]);
      // The executor no longer runs the old model; the new baseline runs its 3 replicas.
      const executor = f.server.fleet.executors.simulated!;
      assert.equal(await executor.status('ig_feed_main_mtml:v1'), null);
      assert.equal((await executor.status('ig_feed_main_mtml:v2'))?.desired, 3);
      const events = (await f.server.call('GET', `/launches/${launch.id}/events`)).body.items;
      assert.deepEqual(
        events.filter((e: any) => e.from !== e.to).map((e: any) => e.to),
        ['estimating', 'preparing', 'shifting', 'finalizing', 'completed'],
      );
    });

    it('rolls back when the candidate fails its error gate: the old model scales up before traffic moves back', async () => {
      const started = await f.server.call('POST', '/launches', { body: { modelType: 'ig_feed_video_mtml', candidate: 'ig_feed_video_mtml:bad', executor: 'simulated', bakeSeconds: 60, peakQps: 300 } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const done = await runUntilDone(f, started.body.id);
      assert.equal(done.phase, 'rolled_back', done.outcome);
      assert.match(done.outcome, /error_rate/);
      assert.equal(done.step, 0, 'it stopped at the first step');
      const failed = done.gates.find((g: any) => g.name === 'error_rate' && !g.pass);
      assert.ok(failed.value > failed.limit);
      const bad = (await f.server.call('GET', `/models/${encodeURIComponent('ig_feed_video_mtml:bad')}`)).body;
      assert.equal(bad.trafficShare, 0);
      const v1 = (await f.server.call('GET', `/models/${encodeURIComponent('ig_feed_video_mtml:v1')}`)).body;
      assert.equal(v1.trafficShare, 0.9);
      assert.equal(v1.role, 'baseline');
      const events = (await f.server.call('GET', `/launches/${started.body.id}/events`)).body.items.map((e: any) => e.reason);
      const up = events.findIndex((r: string) => r.startsWith('scaling ig_feed_video_mtml:v1 back'));
      const back = events.findIndex((r: string) => r.startsWith('traffic back on'));
      assert.ok(up >= 0 && back > up, `the old model scales up (${up}) before traffic moves back (${back})`);
      assert.equal(await f.server.fleet.executors.simulated!.status('ig_feed_video_mtml:bad'), null);
    });

    it('refuses a launch that does not fit in the quota, with the numbers', async () => {
      const patched = await patch(f, '/teams/tight-team', { quota: 4.5 });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      // At 50 QPS a replica the candidate needs 8; even the smallest step puts 1 next to the baseline's 4: 5 units, and the team has 4.5 with 4 used.
      await patch(f, `/models/${encodeURIComponent('ig_explore_grid_mtml:v2')}`, { capacity: { maxQpsPerReplica: 50, replicas: 0, unitCost: 1 } });
      const started = await f.server.call('POST', '/launches', { body: { modelType: 'ig_explore_grid_mtml', candidate: 'ig_explore_grid_mtml:v2', executor: 'simulated', peakQps: 300 } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      assert.equal(started.body.phase, 'failed');
      assert.equal(started.body.approval.decision, 'refused');
      assert.match(started.body.outcome, /quota exhausted/);
      assert.match(started.body.outcome, /units/);
    });

    it('a second launch on the same type is refused while the first runs; launches on different types run in parallel', async () => {
      const a = await f.server.call('POST', '/launches', { body: { modelType: 'ig_stories_tray_mtml', candidate: 'ig_stories_tray_mtml:v2', executor: 'simulated', peakQps: 300, bakeSeconds: 30 } });
      assert.equal(a.status, 201, JSON.stringify(a.body));
      const again = await f.server.call('POST', '/launches', { body: { modelType: 'ig_stories_tray_mtml', candidate: 'ig_stories_tray_mtml:v2', executor: 'simulated', peakQps: 300 } });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, new RegExp(a.body.id));
      const b = await f.server.call('POST', '/launches', { body: { modelType: 'ig_reels_main_mtml', candidate: 'ig_reels_main_mtml:v2', executor: 'simulated', peakQps: 300, bakeSeconds: 30 } });
      assert.equal(b.status, 201, JSON.stringify(b.body));
      const [doneA, doneB] = [await runUntilDone(f, a.body.id), await runUntilDone(f, b.body.id)];
      assert.equal(doneA.phase, 'completed', doneA.outcome);
      assert.equal(doneB.phase, 'completed', doneB.outcome);
    });

    it('a manual policy waits for approval; a member of another team cannot approve; the owner can', async () => {
      await patch(f, '/teams/stories-ranking', { launchPolicy: 'manual' });
      await f.server.call('POST', '/models', { body: sample.model('ig_stories_tray_mtml:v3', { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 150, replicas: 0, unitCost: 1 } }) });
      const started = await f.server.call('POST', '/launches', { body: { modelType: 'ig_stories_tray_mtml', candidate: 'ig_stories_tray_mtml:v3', executor: 'simulated', peakQps: 300, bakeSeconds: 30 } });
      assert.equal(started.body.phase, 'awaiting_approval', JSON.stringify(started.body));
      assert.match(started.body.approval.reason, /manual/);
      assert.equal((await runUntilDone(f, started.body.id)).phase, 'awaiting_approval', 'nothing happens until someone approves');
      const outsider = await f.server.call('POST', `/launches/${started.body.id}/approve`, { token: memberToken, body: { reason: 'looks good' } });
      assert.equal(outsider.status, 403);
      const stories = await f.server.token('stories-member', 'member', 'stories-ranking');
      const approved = await f.server.call('POST', `/launches/${started.body.id}/approve`, { token: stories, body: { reason: 'reviewed the offline metrics' } });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.approval.approvedBy, 'stories-member');
      assert.equal((await runUntilDone(f, started.body.id)).phase, 'completed');
    });

    it('a TIER1 type always waits for approval, even when the policy is automatic', async () => {
      await seed(f.server, { modelTypes: launchable('ig_home_main_mtml', 'feed-ranking', 'TIER1'), models: models('ig_home_main_mtml') });
      const started = await f.server.call('POST', '/launches', { body: { modelType: 'ig_home_main_mtml', candidate: 'ig_home_main_mtml:v2', executor: 'simulated', peakQps: 300 } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      assert.equal(started.body.phase, 'awaiting_approval');
      assert.match(started.body.approval.reason, /TIER1/);
      const rejected = await f.server.call('POST', `/launches/${started.body.id}/reject`, { body: { reason: 'not this week' } });
      assert.equal(rejected.body.phase, 'aborted');
    });

    it('pause holds a launch where it is, resume continues it, abort brings the traffic back', async () => {
      await f.server.call('POST', '/models', { body: sample.model('ig_reels_main_mtml:v3', { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 130, replicas: 0, unitCost: 1 } }) });
      const started = await f.server.call('POST', '/launches', { body: { modelType: 'ig_reels_main_mtml', candidate: 'ig_reels_main_mtml:v3', executor: 'simulated', peakQps: 300, bakeSeconds: 60 } });
      const id = started.body.id;
      // Until the first step has moved traffic.
      for (let i = 0; i < 40; i++) {
        await f.server.fleet.launchEngine.tick();
        if ((await f.server.call('GET', `/launches/${id}`)).body.traffic.candidate > 0) break;
        f.clock.advance(5000);
      }
      const paused = await f.server.call('POST', `/launches/${id}/pause`, { body: { reason: 'checking a dashboard' } });
      assert.equal(paused.body.phase, 'paused');
      const share = paused.body.traffic.candidate;
      assert.ok(share > 0);
      f.clock.advance(10 * 60_000);
      await f.server.fleet.launchEngine.tick();
      assert.equal((await f.server.call('GET', `/launches/${id}`)).body.traffic.candidate, share, 'a paused launch does not move');
      assert.equal((await f.server.call('POST', `/launches/${id}/resume`, {})).body.phase, 'shifting');
      const aborted = await f.server.call('POST', `/launches/${id}/abort`, { body: { reason: 'found a bug' } });
      assert.equal(aborted.body.phase, 'rolling_back');
      const done = await runUntilDone(f, id);
      assert.equal(done.phase, 'aborted');
      assert.equal(done.traffic.candidate, 0);
      const v1 = (await f.server.call('GET', `/models/${encodeURIComponent('ig_reels_main_mtml:v2')}`)).body;
      assert.equal(v1.role, 'baseline', 'the baseline from the earlier launch keeps its place');
      const bad = await f.server.call('POST', `/launches/${id}/resume`, {});
      assert.equal(bad.status, 409);
    });

    it('promote skips the remaining steps: all traffic moves at once, without bake or gates; holdout keeps the old baseline', async () => {
      await seed(f.server, { modelTypes: launchable('ig_feed_reels_mtml', 'feed-ranking'), models: models('ig_feed_reels_mtml') });
      const started = await f.server.call('POST', '/launches', { body: { modelType: 'ig_feed_reels_mtml', candidate: 'ig_feed_reels_mtml:v2', executor: 'simulated', peakQps: 300, bakeSeconds: 600, retireBaseline: 'holdout' } });
      const id = started.body.id;
      for (let i = 0; i < 40; i++) {
        await f.server.fleet.launchEngine.tick();
        if ((await f.server.call('GET', `/launches/${id}`)).body.stage === 'bake') break;
        f.clock.advance(5000);
      }
      const promoted = await f.server.call('POST', `/launches/${id}/promote`, { body: { reason: 'the offline win is large' } });
      assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
      assert.equal(promoted.body.step, promoted.body.plan.length - 1);
      // Well inside a single 600 s bake: the promoted step does not bake.
      const done = await runUntilDone(f, id, 5 * 60_000);
      assert.equal(done.phase, 'completed', done.outcome);
      assert.equal(done.promotedBy, 'admin');
      assert.equal(done.summary.heldOut, 'ig_feed_reels_mtml:v1');
      const type = (await f.server.call('GET', '/model-types/ig_feed_reels_mtml')).body;
      assert.equal(type.baselineModelId, 'ig_feed_reels_mtml:v2');
      assert.equal(type.holdoutModelId, 'ig_feed_reels_mtml:v1');
      const events = (await f.server.call('GET', `/launches/${id}/events`)).body.items.map((e: any) => e.reason);
      assert.ok(events.some((r: string) => r.includes('gates skipped, promoted by admin')), events.join('\n'));
    });

    it('the CLI starts, lists, shows and acts on launches', async () => {
      await seed(f.server, { modelTypes: launchable('ig_feed_grid_mtml', 'feed-ranking'), models: models('ig_feed_grid_mtml') });
      await patch(f, '/teams/feed-ranking', { launchPolicy: 'manual' });
      const start = await runCli(f.server.url, ['launch', 'start', '--model-type', 'ig_feed_grid_mtml', '--candidate', 'ig_feed_grid_mtml:v2', '--executor', 'simulated', '--peak-qps', '300', '--expected-gain', '+0.1% sessions']);
      assert.equal(start.code, 0, showRun(start));
      assert.match(start.stdout, /awaiting_approval/);
      assert.match(start.stdout, /estimate: 3 replica\(s\) at 130 QPS each for a peak of 300 QPS/);
      assert.match(start.stdout, /expected gain: \+0.1% sessions/);
      assert.match(start.stdout, /approval \(manual\): waiting for approval: the team's launch policy is manual/);
      const id = /launch (launch-\S+):/.exec(start.stdout)![1]!;
      const list = await runCli(f.server.url, ['launch', 'list', '--active']);
      assert.equal(list.code, 0, showRun(list));
      assert.match(list.stdout, new RegExp(`${id}\\s+ig_feed_grid_mtml\\s+ig_feed_grid_mtml:v2\\s+awaiting_approval`));
      const approve = await runCli(f.server.url, ['launch', 'approve', id, '--reason', 'reviewed']);
      assert.equal(approve.code, 0, showRun(approve));
      assert.match(approve.stdout, /approval \(manual\): approved by admin/);
      await runUntilDone(f, id);
      const status = await runCli(f.server.url, ['launch', 'status', id, '--json']);
      assert.equal(status.code, 0, showRun(status));
      assert.equal(JSON.parse(status.stdout).phase, 'completed');
      const again = await runCli(f.server.url, ['launch', 'pause', id]);
      assert.equal(again.code, 1, showRun(again));
      assert.match(again.stderr, /completed: there is nothing left to pause/);
      const quotas = await runCli(f.server.url, ['quotas', '--json']);
      assert.equal(quotas.code, 0, showRun(quotas));
      await patch(f, '/teams/feed-ranking', { launchPolicy: 'auto_within_quota' });
    });

    it('two launches of one type started at the same moment: exactly one is accepted', async () => {
      await seed(f.server, { modelTypes: launchable('ig_feed_race_mtml', 'feed-ranking'), models: [...models('ig_feed_race_mtml'), sample.model('ig_feed_race_mtml:v3', { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 130, replicas: 0, unitCost: 1 } })] });
      const answers = await Promise.all(
        ['ig_feed_race_mtml:v2', 'ig_feed_race_mtml:v3', 'ig_feed_race_mtml:v2', 'ig_feed_race_mtml:v3'].map((candidate) =>
          f.server.call('POST', '/launches', { body: { modelType: 'ig_feed_race_mtml', candidate, executor: 'simulated', peakQps: 300 } }),
        ),
      );
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409, 409], JSON.stringify(answers.map((a) => a.body?.error?.message ?? a.body?.id)));
      const active = (await f.server.call('GET', '/launches?modelType=ig_feed_race_mtml&active=true')).body.items;
      assert.equal(active.length, 1);
      assert.equal((await f.server.call('POST', `/launches/${active[0].id}/abort`, {})).status, 200);
      await runUntilDone(f, active[0].id);
    });

    it('rejects bad requests with the field and a fix', async () => {
      const wrongType = await f.server.call('POST', '/launches', { body: { modelType: 'ig_feed_main_mtml', candidate: 'ig_reels_main_mtml:v3', executor: 'simulated' } });
      assert.equal(wrongType.status, 400);
      assert.match(wrongType.body.error.message, /not of ig_feed_main_mtml/);
      const baseline = await f.server.call('POST', '/launches', { body: { modelType: 'ig_feed_main_mtml', candidate: 'ig_feed_main_mtml:v2', executor: 'simulated' } });
      assert.equal(baseline.status, 409);
      assert.match(baseline.body.error.message, /baseline/);
      const unknown = await f.server.call('POST', '/launches', { body: { modelType: 'ig_feed_main_mtml', candidate: 'ig_feed_main_mtml:v2', executor: 'simulated', stepShare: 2 } });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error.details[0].path, 'stepShare');
      const malformed = await f.server.call('POST', '/launches', { raw: '{"modelType": ', contentType: 'application/json' });
      assert.equal(malformed.status, 400);
      const unknownField = await f.server.call('POST', '/launches', { body: { modelType: 'ig_feed_main_mtml', candidate: 'ig_feed_main_mtml:v2', stepshare: 0.5 } });
      assert.equal(unknownField.status, 400);
      assert.match(unknownField.body.error.message, /stepShare/);
      const oversized = await f.server.call('POST', '/launches', { raw: JSON.stringify({ modelType: 'x', candidate: 'y', reason: 'z'.repeat(2 * 1024 * 1024) }), contentType: 'application/json' });
      assert.equal(oversized.status, 413);
      const noSuchLaunch = await f.server.call('POST', '/launches/launch-nope/approve', {});
      assert.equal(noSuchLaunch.status, 404);
      const badAction = await f.server.call('POST', '/launches/launch-nope/explode', {});
      assert.ok(badAction.status === 400 || badAction.status === 404, `${badAction.status}`);
      const viewer = await f.server.token('viewer', 'viewer');
      const denied = await f.server.call('POST', '/launches', { token: viewer, body: { modelType: 'ig_feed_main_mtml', candidate: 'ig_feed_main_mtml:v2' } });
      assert.equal(denied.status, 403);
      assert.ok(ADMIN_TOKEN);
    });
  });
});
