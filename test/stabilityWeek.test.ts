import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../src/registry/actor.js';
import { generateFleet } from '../src/sim/fleet.js';
import { createRng } from '../src/sim/random.js';
import { seedFleet } from '../src/sim/seedFleet.js';
import { simulateTraffic, trafficFor, type TaskTraffic } from '../src/sim/traffic.js';
import { forEachDatabase, ManualClock, TestServer } from './harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2026-11-02T00:00:00Z');
/** Minutes of traffic per step of the simulation; the monitor evaluates once per step. */
const STEP = 60;

/**
 * A week of healthy traffic over a simulated fleet, with thresholds learned from its first day, must
 * raise no alert at all: a stability SLO that pages on noise would be switched off by its users.
 * Traffic goes through the ingestion service in process (the HTTP path is covered elsewhere) so a
 * week of it runs in seconds; the monitor evaluates every hour rather than every minute.
 */
forEachDatabase((db) => {
  describe(`a healthy simulated week (${db.name})`, () => {
    const clock = new ManualClock(T0);
    const rng = createRng(7);
    let server: TestServer;
    let traffic: TaskTraffic[];
    let monitored: string[];

    before(async () => {
      server = await TestServer.start(db, { clock, stability: { maxCatchUpMinutes: 1 } });
      const synthetic = generateFleet({ models: 16, seed: 9 });
      // Six-hour windows: at this simulated volume an hour holds too few positives to judge tight bands.
      for (const type of synthetic.modelTypes) type.stability = { windowMinutes: 360 };
      await seedFleet(server.fleet.registry, systemActor, synthetic);
      const models = (await server.fleet.registry.listModels({ limit: 1000 })).items.filter((m) => m.role !== 'retired' && Object.keys(m.thresholds).length);
      const tasks = new Map(synthetic.modelTypes.map((t) => [t.name, t.tasks.map((task) => task.name)]));
      monitored = models.map((m) => m.id);
      // A model predicts every task of its type, thresholds or not.
      traffic = trafficFor(rng, models.map((m) => ({ id: m.id, tasks: tasks.get(m.modelType)! })), 25);
    });
    after(() => server.close());

    async function run(minutes: number): Promise<void> {
      for (let done = 0; done < minutes; done += STEP) {
        const batches = traffic.map((t) => simulateTraffic(rng, t, clock.epochMs, STEP));
        clock.advance(STEP * MINUTE);
        const result = await server.fleet.ingestion.ingest(systemActor, { format: 'columnar', value: batches, bytes: Buffer.alloc(0) }, null);
        assert.equal(result.answer.rejected, 0, JSON.stringify(result.answer.errors));
        await server.fleet.monitor.tick();
      }
    }

    it('learns every monitored model its thresholds from the first day', async () => {
      assert.ok(monitored.length >= 10 && traffic.length >= 25, `${monitored.length} models, ${traffic.length} tasks`);
      await run(26 * 60);
      for (const id of monitored) {
        const learned = await server.fleet.stability.learn(systemActor, id, { days: 2, dryRun: false });
        assert.deepEqual(learned.skipped, {}, `${id}: ${JSON.stringify(learned.skipped)}`);
        assert.ok(learned.change, `${id}: thresholds written`);
        for (const t of Object.values(learned.thresholds)) assert.equal(t.source, 'learned');
      }
    });

    it('raises no alert over the next seven days', async () => {
      const start = clock.epochMs;
      await run(7 * 24 * 60);
      assert.equal(clock.epochMs - start, 7 * 24 * HOUR);
      const alerts = (await server.call('GET', '/alerts')).body.items;
      assert.deepEqual(alerts.map((a: { summary: string }) => a.summary), []);
      const slos = (await server.call('GET', '/slos')).body;
      assert.equal(slos.items.length, monitored.length);
      for (const item of slos.items) {
        assert.equal(item.report.sli, 1, `${item.model}: SLI ${item.report.sli}`);
        assert.deepEqual(item.report.firing, []);
      }
      const fleet = (await server.call('GET', '/stability')).body;
      assert.equal(fleet.models.stable, monitored.length);
      // Retention kept the per-minute buckets to their two days while the week went by.
      const oldest = await server.fleet.stabilityStore.buckets(monitored[0]!, 1, 0, clock.epochMs - 2 * 24 * HOUR - HOUR);
      assert.deepEqual(oldest, []);
    });
  });
});
