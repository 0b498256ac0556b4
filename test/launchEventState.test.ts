import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { forEachDatabase, ManualClock, sample, seed, TestServer } from './harness.js';

/**
 * Each launch event records where the launch stood once it was written (step, stage, traffic and
 * replicas of both models), so a reader of the events can draw the shift over time without the
 * launch's later state.
 */

const START = Date.parse('2026-11-26T10:00:00Z');
const TYPE = 'ig_feed_main_mtml';

forEachDatabase((db) => {
  describe(`launch events record the launch's state (${db.name})`, () => {
    let server: TestServer;
    let clock: ManualClock;
    before(async () => {
      clock = new ManualClock(START);
      server = await TestServer.start(db, { clock, launch: { autoStart: false, simulated: { startupMs: 10_000, demandQps: () => 300 } } });
      await seed(server, {
        teams: [sample.team()],
        modelTypes: [sample.modelType()],
        models: [
          sample.model(`${TYPE}:v1`, { role: 'baseline', trafficShare: 0.9, capacity: { maxQpsPerReplica: 100, replicas: 4, unitCost: 1 } }),
          sample.model(`${TYPE}:v2`, { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 130, replicas: 0, unitCost: 1 } }),
        ],
      });
    });
    after(() => server.close());

    it('from the request to completion: shares step up, the candidate scales up before the old model scales down', async () => {
      const started = await server.call('POST', '/launches', { body: { modelType: TYPE, candidate: `${TYPE}:v2`, executor: 'simulated', stepShare: 0.5, bakeSeconds: 30, peakQps: 300 } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const id = started.body.id;
      for (let i = 0; i < 200; i++) {
        await server.fleet.launchEngine.tick();
        if ((await server.call('GET', `/launches/${id}`)).body.phase === 'completed') break;
        clock.advance(5000);
      }
      const launch = (await server.call('GET', `/launches/${id}`)).body;
      assert.equal(launch.phase, 'completed', launch.outcome);
      const events = (await server.call('GET', `/launches/${id}/events`)).body.items;
      for (const e of events) assert.ok(e.detail.state, `event ${e.seq} (${e.reason}) has no state`);
      const states = events.map((e: any) => e.detail.state);

      assert.deepEqual(states[0], { step: -1, stage: null, traffic: { candidate: 0, baseline: 0.9 }, replicas: { candidate: 0, baseline: 4 } });
      assert.deepEqual(states.at(-1).replicas, { candidate: 3, baseline: 0 });
      assert.deepEqual(states.at(-1).traffic, { candidate: 0.9, baseline: 0 });

      const shares = [...new Set(states.map((s: any) => s.traffic.candidate))];
      assert.deepEqual(shares, [0, 0.45, 0.9], 'the candidate share only steps up, by the plan');
      // Make before break: when the old model scales down, the candidate already holds the replicas of the step that moved traffic.
      let scaledDown = 0;
      for (let i = 1; i < states.length; i++) {
        if (states[i].replicas.baseline < states[i - 1].replicas.baseline) {
          scaledDown++;
          assert.equal(states[i].replicas.candidate, launch.plan[states[i - 1].step].candidateReplicas, events[i].reason);
        }
      }
      assert.equal(scaledDown, 2);
      const steps = [...new Set(states.map((s: any) => s.step))];
      assert.deepEqual(steps, [-1, 0, 1]);
    });
  });
});
