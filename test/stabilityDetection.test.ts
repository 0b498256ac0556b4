import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../src/alerting/alert.js';
import type { Model } from '../src/registry/model.js';
import { systemActor } from '../src/registry/actor.js';
import { generateFleet } from '../src/sim/fleet.js';
import { createRng } from '../src/sim/random.js';
import { seedFleet } from '../src/sim/seedFleet.js';
import { simulateTraffic, trafficFor, type Fault, type TaskTraffic } from '../src/sim/traffic.js';
import { forEachDatabase, ManualClock, TestServer, type TestDatabase } from './harness.js';

const MINUTE = 60_000;
/** A Wednesday, 09:00 UTC: inside default business hours, so routing is by tier alone. */
const T0 = Date.parse('2026-11-25T09:00:00Z');

/** A real HTTP receiver standing in for an on-call webhook: records every notification it is sent. */
async function startReceiver(): Promise<{ url: string; received: Array<{ transition: string; alert: Alert }>; server: Server }> {
  const received: Array<{ transition: string; alert: Alert }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { notifications: Array<{ transition: string; alert: Alert }> };
      received.push(...parsed.notifications);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

/** SQLite on a file (not memory) so the server can be restarted on the same data. */
function restartableUrl(db: TestDatabase): string {
  return db.name === 'sqlite' ? `sqlite:/tmp/modelfleet-detect-${randomBytes(6).toString('hex')}.db` : db.freshUrl();
}

forEachDatabase((db) => {
  describe(`stability detection on a simulated fleet (${db.name})`, () => {
    const clock = new ManualClock(T0);
    const rng = createRng(42);
    const url = restartableUrl(db);
    let server: TestServer;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let traffic: TaskTraffic[];
    let watchedCount = 0;
    let experiment: Model;
    let baseline: Model;
    const faults = new Map<string, Fault>();

    const options = () => ({ db: url, clock, stability: { notifiers: [{ kind: 'webhook' as const, url: receiver.url }], baseUrl: 'https://modelfleet.example.com' } });

    before(async () => {
      receiver = await startReceiver();
      server = await TestServer.start(db, options());
      const synthetic = generateFleet({ models: 24, seed: 5 });
      await seedFleet(server.fleet.registry, systemActor, synthetic);
      const models = (await server.fleet.registry.listModels({ limit: 1000 })).items;
      const types = new Map((await server.fleet.registry.listModelTypes({ limit: 1000 })).items.map((t) => [t.name, t]));
      // An experiment with traffic and a baseline in the same type: the two roles on-call handles differently.
      experiment = models.find((m) => m.role === 'experiment' && m.trafficShare > 0 && Object.keys(m.thresholds).length && types.get(m.modelType)?.baselineModelId)!;
      baseline = models.find((m) => m.id === types.get(experiment.modelType)!.baselineModelId)!;
      assert.ok(experiment && baseline && Object.keys(baseline.thresholds).length, 'the simulated fleet has a monitored experiment and baseline');
      const watched = models.filter((m) => m.role !== 'retired' && Object.keys(m.thresholds).length).slice(0, 6);
      for (const m of [experiment, baseline]) if (!watched.includes(m)) watched.push(m);
      watchedCount = watched.length;
      traffic = trafficFor(rng, watched.map((m) => ({ id: m.id, tasks: Object.keys(m.thresholds) })), 400);
    });
    after(async () => {
      await server.close();
      receiver.server.close();
      if (url.startsWith('sqlite:')) for (const suffix of ['', '-wal', '-shm']) rmSync(url.slice('sqlite:'.length) + suffix, { force: true });
    });

    /** Sends `minutes` of traffic ending at the clock through the HTTP API, then lets the monitor run. */
    async function advance(minutes: number, step = 5): Promise<void> {
      for (let done = 0; done < minutes; done += step) {
        const start = clock.epochMs;
        const batches = traffic.map((t) => simulateTraffic(rng, t, start, step, faults.get(t.model) ?? null));
        clock.advance(step * MINUTE);
        const response = await server.call('POST', '/events', { body: batches });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.equal(response.body.rejected, 0, JSON.stringify(response.body.errors));
        await server.fleet.monitor.tick();
      }
    }

    const firing = async () => ((await server.call('GET', '/alerts?state=firing')).body.items as Alert[]).filter((a) => a.kind === 'ModelUnstable');

    it('raises nothing while the fleet is healthy', async () => {
      await advance(70);
      assert.deepEqual(await firing(), []);
      const fleet = (await server.call('GET', '/stability')).body;
      assert.equal(fleet.models.unstable, 0);
      // Models with traffic are judged stable; the rest of the fleet sends nothing and is shown as such.
      assert.equal(fleet.models.stable, watchedCount, JSON.stringify(fleet.models));
      assert.equal(fleet.models.insufficientData, fleet.models.monitored - watchedCount);
      assert.equal(receiver.received.length, 0, JSON.stringify(receiver.received.slice(0, 2), null, 1));
    });

    it('fires within one evaluation window when predictions are scaled by 1.3 and when labels turn noisy', async (t) => {
      const faultAt = clock.epochMs;
      faults.set(experiment.id, { kind: 'scale', factor: 1.3 });
      faults.set(baseline.id, { kind: 'noisy_labels', flipRate: 0.1 });
      let firedAt: Record<string, number> = {};
      for (let m = 0; m < 60 && Object.keys(firedAt).length < 2; m += 5) {
        await advance(5);
        for (const alert of await firing()) firedAt[alert.modelId] ??= clock.epochMs;
      }
      assert.deepEqual(Object.keys(firedAt).sort(), [baseline.id, experiment.id].sort(), 'both faulty models alert, and only they do');
      for (const [model, at] of Object.entries(firedAt)) {
        assert.ok(at - faultAt <= 60 * MINUTE, `${model} fired ${(at - faultAt) / MINUTE} min after the fault`);
        t.diagnostic(`${model === experiment.id ? 'predictions x1.3' : 'labels 10% flipped'}: alert ${(at - faultAt) / MINUTE} min after the fault (checked every 5 min)`);
      }

      const alerts = await firing();
      const onExperiment = alerts.find((a) => a.modelId === experiment.id)!;
      assert.equal(onExperiment.details.action.kind, 'end_experiment');
      assert.match(onExperiment.details.action.text, /end the experiment: its traffic .* goes back to the baseline/);
      assert.equal(onExperiment.details.action.http?.path, `/api/v1/models/${encodeURIComponent(experiment.id)}/end-experiment`);
      assert.ok(onExperiment.details.tasks.some((t) => t.metric === 'calibration' && t.value > t.band.max!), JSON.stringify(onExperiment.details.tasks));
      assert.equal(onExperiment.details.ownerTeam.length > 0, true);
      const onBaseline = alerts.find((a) => a.modelId === baseline.id)!;
      assert.match(onBaseline.details.action.text, /do not turn it off/);
      assert.equal(onBaseline.details.action.http ?? null, null);

      // The webhook heard each exactly once, however many evaluations saw them unstable since.
      const firingNotes = receiver.received.filter((n) => n.transition === 'firing' && n.alert.kind === 'ModelUnstable');
      assert.deepEqual(firingNotes.map((n) => n.alert.modelId).sort(), [baseline.id, experiment.id].sort());
      const stability = (await server.call('GET', `/models/${encodeURIComponent(experiment.id)}/stability?step=5m`)).body;
      assert.equal(stability.current.status, 'unstable');
      assert.ok(stability.points.some((p: { status: string }) => p.status === 'stable') && stability.points.some((p: { status: string }) => p.status === 'unstable'));
    });

    it('survives a restart without notifying again', async () => {
      const before = receiver.received.length;
      await server.stop();
      server = await TestServer.start(db, options());
      await advance(5);
      assert.equal((await firing()).length, 2);
      assert.equal(receiver.received.length, before, 'no repeated notification after the restart');
    });

    it("ends the experiment with the alert's action, and the alert resolves", async () => {
      const action = (await firing()).find((a) => a.modelId === experiment.id)!.details.action.http!;
      const response = await server.call('POST', action.path.replace('/api/v1', ''), { headers: { 'x-change-reason': 'calibration 1.3 on PLIKE' } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.model.role, 'retired');
      assert.equal(response.body.model.trafficShare, 0);
      assert.ok(Math.abs(response.body.baseline.trafficShare - Math.min(1, baseline.trafficShare + experiment.trafficShare)) < 1e-9);
      const history = (await server.call('GET', `/models/${encodeURIComponent(experiment.id)}/history`)).body;
      assert.equal(history.items.at(-1).reason, 'calibration 1.3 on PLIKE');
      // A baseline is refused with what to do instead.
      const refused = await server.call('POST', `/models/${encodeURIComponent(baseline.id)}/end-experiment`);
      assert.equal(refused.status, 409);
      assert.match(refused.body.error.message, /do not turn it off/);

      traffic = traffic.filter((t) => t.model !== experiment.id);
      await advance(5);
      assert.deepEqual((await firing()).map((a) => a.modelId), [baseline.id]);
      assert.ok(receiver.received.some((n) => n.transition === 'resolved' && n.alert.modelId === experiment.id));
    });

    it('resolves when the model is healthy again', async () => {
      faults.delete(baseline.id);
      for (let m = 0; m < 90 && (await firing()).length; m += 5) await advance(5);
      assert.deepEqual(await firing(), []);
      assert.ok(receiver.received.some((n) => n.transition === 'resolved' && n.alert.modelId === baseline.id));
      const resolved = (await server.call('GET', '/alerts?state=resolved')).body.items as Alert[];
      assert.ok(resolved.some((a) => a.modelId === baseline.id && a.endsAt));
    });
  });
});
