import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRouter } from '../src/modelfleet.js';
import type { Router } from '../src/serving/router.js';
import { processAlive } from '../src/serving/replicaProcess.js';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';

/**
 * Launches on the local executor, end to end: real model-server processes started and stopped by
 * modelfleet, the router in the server sending every request by the registry's shares, and a load
 * loop sending requests through the router for the whole launch.
 */

const TYPE = 'ig_feed_main_mtml';
const serving = { p99Ms: 1000, bakeSeconds: 2, errorRateMargin: 0.01, minReplicas: 1, headroom: 0.3, maxErrorRate: 0.01, unitCost: 1 };

/** Sends requests through the router from `concurrency` loops, each a new user, until stopped. */
function loadLoop(router: Router, concurrency = 4) {
  const tally = { ok: 0, failed: 0, byModel: new Map<string, number>(), failures: [] as Array<{ at: number; model: string; status: number | string }> };
  let running = true;
  let n = 0;
  const loop = async () => {
    while (running) {
      const user = `u${n++}`;
      try {
        const response = await fetch(`${router.url}/rank/${TYPE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: { id: user, features: { country: 'us' } }, candidates: [{ id: 'c1', features: { media: 'video' } }, { id: 'c2', features: { media: 'photo' } }] }) });
        await response.arrayBuffer();
        const model = response.headers.get('x-modelfleet-model') ?? '?';
        if (response.ok) {
          tally.ok += 1;
          tally.byModel.set(model, (tally.byModel.get(model) ?? 0) + 1);
        } else {
          tally.failed += 1;
          tally.failures.push({ at: Date.now(), model, status: response.status });
        }
      } catch (error) {
        tally.failed += 1;
        tally.failures.push({ at: Date.now(), model: '?', status: (error as Error).message });
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    tally,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

async function until(server: TestServer, id: string, phases: string[], limitMs = 120_000): Promise<any> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const launch = (await server.call('GET', `/launches/${id}`)).body;
    if (phases.includes(launch.phase)) return launch;
    if (Date.now() > deadline) throw new Error(`launch ${id} is ${launch.phase} (${launch.stage}) after ${limitMs / 1000} s: ${launch.outcome ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

forEachDatabase((db) => {
  describe(`a launch on the local executor with traffic flowing (${db.name})`, () => {
    let server: TestServer;
    let router: Router;
    before(async () => {
      server = await TestServer.start(db, {
        launch: {
          simulated: false,
          tickMs: 200,
          readyTimeoutMs: 60_000,
          local: { healthPollMs: 100, argsFor: (id) => (id.endsWith(':bad') ? ['--error-rate', '0.3'] : []) },
        },
      });
      await seed(server, {
        teams: [sample.team()],
        modelTypes: [sample.modelType(TYPE, 'feed-ranking', { serving })],
        models: [
          sample.model(`${TYPE}:v1`, { role: 'baseline', trafficShare: 1, capacity: { maxQpsPerReplica: 200, replicas: 1, unitCost: 1 } }),
          sample.model(`${TYPE}:v2`, { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 200, replicas: 0, unitCost: 1 } }),
          sample.model(`${TYPE}:bad`, { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 200, replicas: 0, unitCost: 1 } }),
        ],
      });
      // The baseline serves before any launch, as in production.
      const local = server.fleet.executors.local!;
      await local.apply({ modelId: `${TYPE}:v1`, modelType: TYPE, replicas: 1 });
      for (let i = 0; i < 300 && !(await local.status(`${TYPE}:v1`))?.ready; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      router = await startRouter(server.fleet, { sampleRate: 0, flushMs: 300 });
    });
    after(async () => {
      await router?.close();
      await server?.close();
    });

    it('a bad candidate fails its error gate and rolls back: failures only from it, and none once the traffic is back', async () => {
      const load = loadLoop(router);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = await server.call('POST', '/launches', { body: { modelType: TYPE, candidate: `${TYPE}:bad`, executor: 'local', stepShare: 0.25, peakQps: 100 } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const done = await until(server, started.body.id, ['rolled_back', 'completed', 'failed']);
      const backAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const tally = await load.stop();
      assert.equal(done.phase, 'rolled_back', done.outcome);
      assert.match(done.outcome, /error_rate/);
      assert.equal(done.step, 0, 'the first step caught it');
      assert.ok(tally.failed > 0, 'the bad candidate did fail some requests (else the test shows nothing)');
      assert.deepEqual([...new Set(tally.failures.map((f) => f.model))], [`${TYPE}:bad`], JSON.stringify(tally.failures.slice(0, 5)));
      assert.equal(tally.failures.filter((f) => f.at > backAt).length, 0, 'no failure after the traffic moved back');
      const exposure = tally.failed / (tally.ok + tally.failed);
      assert.ok(exposure < 0.25 * 0.3 + 0.05, `failures ${(exposure * 100).toFixed(1)}% of all requests: bounded by the first step's share times the error rate`);
      assert.equal(await server.fleet.executors.local!.status(`${TYPE}:bad`), null, 'its replicas were removed');
      const v1 = (await server.call('GET', `/models/${encodeURIComponent(`${TYPE}:v1`)}`)).body;
      assert.equal(v1.trafficShare, 1);
    });

    it('a good candidate takes over step by step with zero failed requests; the old model is retired and its processes stop', async () => {
      const local = server.fleet.executors.local!;
      const oldPids = (await local.status(`${TYPE}:v1`))!.endpoints.length;
      assert.equal(oldPids, 1);
      const load = loadLoop(router);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // No peak given: the demand is what the router has seen of the type.
      const started = await server.call('POST', '/launches', { body: { modelType: TYPE, candidate: `${TYPE}:v2`, executor: 'local', stepShare: 0.5 } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const done = await until(server, started.body.id, ['completed', 'rolled_back', 'failed']);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const tally = await load.stop();
      assert.equal(done.phase, 'completed', done.outcome);
      assert.match(done.estimate.demandSource, /router/);
      assert.ok(done.estimate.peakQps > 0);
      assert.equal(tally.failed, 0, JSON.stringify(tally.failures.slice(0, 5)));
      assert.ok((tally.byModel.get(`${TYPE}:v1`) ?? 0) > 0 && (tally.byModel.get(`${TYPE}:v2`) ?? 0) > 0, `both served: ${JSON.stringify([...tally.byModel])}`);
      // The gates judged real traffic.
      const judged = done.gates.filter((g: any) => g.name === 'error_rate' && g.value !== null);
      assert.ok(judged.length >= 1, JSON.stringify(done.gates));
      const type = (await server.call('GET', `/model-types/${TYPE}`)).body;
      assert.equal(type.baselineModelId, `${TYPE}:v2`);
      assert.equal((await server.call('GET', `/models/${encodeURIComponent(`${TYPE}:v1`)}`)).body.role, 'retired');
      assert.equal(await local.status(`${TYPE}:v1`), null);
      const replicas = await server.fleet.database.db.selectFrom('replicas').select(['model_id', 'pid']).execute();
      assert.deepEqual(replicas.map((r) => r.model_id), [`${TYPE}:v2`], 'only the new baseline has replicas');
      for (const r of replicas) assert.ok(r.pid !== null && (await processAlive(r.pid)), `replica process ${r.pid} runs`);
    });
  });
});
