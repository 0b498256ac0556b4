import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../src/alerting/alert.js';
import { createRng } from '../src/sim/random.js';
import { simulateTraffic, type Fault } from '../src/sim/traffic.js';
import { forEachDatabase, ManualClock, sample, seed, TestServer, type TestDatabase } from './harness.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T14:00:00Z');
const MODEL = 'ig_feed_main_mtml:v1';

const tier1Type = sample.modelType('ig_feed_main_mtml', 'feed-ranking', {
  criticality: 'TIER1',
  oncall: { rotation: 'feed-oncall', coverage: '24x7' },
  criticalityJustification: { businessMetrics: ['time_spent'], rationale: 'main feed' },
  tasks: [{ name: 'PLIKE' }],
});
const thresholds = { PLIKE: { calibration: { min: 0.9, max: 1.1 }, neMax: 0.9, minPositives: 100 } };

function fileUrl(db: TestDatabase): string {
  return db.name === 'sqlite' ? `sqlite:/tmp/modelfleet-monitor-${randomBytes(6).toString('hex')}.db` : db.freshUrl();
}

forEachDatabase((db) => {
  describe(`stability monitor, SLOs and the stability API (${db.name})`, () => {
    const clock = new ManualClock(T0);
    const rng = createRng(3);
    const url = fileUrl(db);
    let server: TestServer;
    let fault: Fault | null = null;

    before(async () => {
      server = await TestServer.start(db, { db: url, clock });
      // Admins may create a TIER1 type directly.
      await seed(server, { teams: [sample.team()], modelTypes: [tier1Type], models: [{ id: MODEL, role: 'baseline', trafficShare: 1, thresholds }] });
    });
    after(async () => {
      await server.close();
      if (url.startsWith('sqlite:')) for (const suffix of ['', '-wal', '-shm']) rmSync(url.slice('sqlite:'.length) + suffix, { force: true });
    });

    async function minutes(n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        const batch = simulateTraffic(rng, { model: MODEL, task: 'PLIKE', ctr: 0.1, perMinute: 1500 }, clock.epochMs, 1, fault);
        clock.advance(MINUTE);
        const response = await server.call('POST', '/events', { body: batch });
        assert.equal(response.body.rejected, 0, JSON.stringify(response.body));
        await server.fleet.monitor.tick();
      }
    }

    it('judges a healthy model stable, with per-task points over time', async () => {
      await minutes(60);
      const report = (await server.call('GET', `/models/${encodeURIComponent(MODEL)}/stability?step=10m`)).body;
      // Six hours asked, one judged: the hours before it have no verdicts (and here no events either).
      assert.equal(report.source, 'mixed');
      assert.equal(report.tasks[0].points[0].count, 0);
      assert.equal(report.tasks[0].points[0].status, null);
      assert.equal(report.current.status, 'stable');
      assert.equal(report.windowMinutes, 60);
      assert.equal(report.points.length, 36, 'six hours at 10-minute steps');
      const recent = report.points.filter((p: { status: string | null }) => p.status !== null);
      assert.ok(recent.length >= 6, JSON.stringify(report.points.slice(-7)));
      assert.ok(recent.every((p: { status: string }) => p.status === 'stable' || p.status === 'insufficient_data'));
      const task = report.tasks[0];
      assert.equal(task.task, 'PLIKE');
      assert.deepEqual(task.thresholds.calibration, { min: 0.9, max: 1.1 });
      const last = task.points.at(-1);
      assert.ok(Math.abs(last.calibration - 1) < 0.05, `calibration ${last.calibration}`);
      assert.equal(last.status, 'ok');
      const slo = (await server.call('GET', '/slos')).body.items[0];
      assert.equal(slo.report.objective, 0.995);
      assert.equal(slo.report.sli, 1);
      assert.deepEqual(slo.report.firing, []);
    });

    it('pages on a fast budget burn as well as on the unstable model, and rolls the fleet up', async () => {
      fault = { kind: 'scale', factor: 1.5 };
      await minutes(25);
      const firing = (await server.call('GET', '/alerts?state=firing')).body.items as Alert[];
      const kinds = firing.map((a) => `${a.kind}:${a.severity}`).sort();
      assert.ok(kinds.includes('ModelUnstable:page'), kinds.join());
      const burn = firing.find((a) => a.kind === 'StabilityBudgetBurn' && a.details.burn?.window === '1h/5m');
      assert.ok(burn, `fast burn alert among ${kinds.join()}`);
      assert.equal(burn.severity, 'page');
      assert.ok(burn.details.burn!.burnRate > 14.4);
      const slo = (await server.call('GET', `/slos?model=${encodeURIComponent(MODEL)}`)).body.items[0];
      assert.ok(slo.report.errorBudget.remaining < 1);
      assert.ok(slo.report.firing.some((f: { rule: string }) => f.rule === 'page_fast'));

      const fleet = (await server.call('GET', '/stability')).body;
      assert.equal(fleet.models.unstable, 1);
      assert.deepEqual(fleet.byTeam, [{ key: 'feed-ranking', models: 1, stable: 0, unstable: 1, insufficientData: 0 }]);
      assert.deepEqual(fleet.byTier.map((r: { key: string }) => r.key), ['TIER1']);
      assert.equal(fleet.unstable[0].violations[0].metric, 'calibration');
    });

    it('lets only one of two servers on the same database evaluate', async () => {
      const second = await TestServer.start(db, { db: url, clock });
      try {
        clock.advance(MINUTE);
        const first = await server.fleet.monitor.tick();
        clock.advance(MINUTE);
        const other = await second.fleet.monitor.tick();
        assert.equal(first.leader, true);
        assert.equal(other.leader, false);
        assert.deepEqual(other.evaluatedMinutes, []);
      } finally {
        await second.stop();
      }
    });

    it('answers bad stability queries with what to fix', async () => {
      const path = `/models/${encodeURIComponent(MODEL)}/stability`;
      const bad = await server.call('GET', `${path}?step=5x`);
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.details[0].message, /not a duration/);
      const many = await server.call('GET', `${path}?step=1m&from=0`);
      assert.equal(many.status, 400);
      assert.match(many.body.error.message, /more than 2000/);
      const reversed = await server.call('GET', `${path}?from=${T0 + 1000}&to=${T0}`);
      assert.equal(reversed.status, 400);
      const unknown = await server.call('GET', '/models/ig_feed_main_mtml:v9/stability');
      assert.equal(unknown.status, 404);
      const learnBad = await server.call('POST', `/models/${encodeURIComponent(MODEL)}/thresholds/learn`, { body: { days: 0 } });
      assert.equal(learnBad.status, 400);
      assert.equal(learnBad.body.error.details[0].path, 'days');
    });

    it('shows older history from the rollups when no verdicts are kept for it', async () => {
      const report = (await server.call('GET', `/models/${encodeURIComponent(MODEL)}/stability?from=${T0}&to=${T0 + 60 * MINUTE}&step=1h`)).body;
      // Verdicts exist for this hour, so they are used; a range before any verdict falls back to the buckets.
      assert.equal(report.source, 'evaluations');
      const before = (await server.call('GET', `/models/${encodeURIComponent(MODEL)}/stability?from=${T0 - 120 * MINUTE}&to=${T0}&step=1h`)).body;
      assert.equal(before.source, 'buckets');
      assert.equal(before.tasks[0].points.length, 2);
      assert.equal(before.tasks[0].points[0].count, 0);
    });
  });
});
