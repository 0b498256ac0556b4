import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Accumulator } from '../src/stability/accumulator.js';
import { createRng } from '../src/sim/random.js';
import { forEachDatabase, ManualClock, sample, seed, TestServer } from './harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2026-11-25T06:00:00Z');
const MODEL = 'ig_feed_main_mtml:v1';

interface Event {
  task: string;
  p: number;
  y: 0 | 1;
  ts: number;
  w: number;
}

/**
 * Window sums are read from minute buckets at the ragged ends and hourly buckets in between. Whatever
 * the window's edges, the sums must equal those of the events inside it.
 */
forEachDatabase((db) => {
  describe(`windows across bucket edges (${db.name})`, () => {
    const clock = new ManualClock(T0 + 3 * HOUR + MINUTE);
    let server: TestServer;
    const events: Event[] = [];

    before(async () => {
      server = await TestServer.start(db, { clock, stability: { latenessMinutes: 240 } });
      await seed(server, { teams: [sample.team()], modelTypes: [sample.modelType()], models: [sample.model(MODEL)] });
      const rng = createRng(5);
      for (let i = 0; i < 6000; i++) {
        const p = rng.next();
        events.push({ task: rng.chance(0.5) ? 'PLIKE' : 'PCOMMENT', p, y: rng.chance(p) ? 1 : 0, ts: T0 + Math.floor(rng.next() * 3 * HOUR), w: rng.chance(0.2) ? 2.5 : 1 });
      }
      // Sent out of time order, in several requests, as loggers do.
      for (let i = 0; i < events.length; i += 1500) {
        const body = events.slice(i, i + 1500).map((e) => JSON.stringify({ model: MODEL, ...e })).join('\n');
        const response = await server.call('POST', '/events', { raw: body, contentType: 'application/x-ndjson' });
        assert.equal(response.body.accepted, Math.min(1500, events.length - i), JSON.stringify(response.body.errors));
      }
    });
    after(() => server.close());

    const windows: Array<[string, number, number]> = [
      ['inside one hour', T0 + 7 * MINUTE, T0 + 52 * MINUTE],
      ['exactly one hour bucket', T0 + HOUR, T0 + 2 * HOUR],
      ['ragged across two hour edges', T0 + 37 * MINUTE, T0 + 2 * HOUR + 11 * MINUTE],
      ['ragged, spanning a whole hour in between', T0 + 59 * MINUTE, T0 + 2 * HOUR + MINUTE],
      ['all three hours', T0, T0 + 3 * HOUR],
      ['one minute on an hour edge', T0 + HOUR, T0 + HOUR + MINUTE],
    ];
    for (const [name, from, to] of windows) {
      it(`sums ${name} like the events themselves`, async () => {
        const rows = await server.fleet.stabilityStore.windowSums(from, to);
        for (const task of ['PLIKE', 'PCOMMENT']) {
          const expected = new Accumulator();
          for (const e of events) if (e.task === task && e.ts >= from && e.ts < to) expected.add(e.p, e.y, e.w);
          const row = rows.find((r) => r.task === task);
          assert.ok(row, `${task}: a row`);
          const got = Accumulator.fromSnapshot(row.sums);
          assert.equal(got.count, expected.count, `${task} count`);
          for (const key of ['weight', 'positives', 'weightedP', 'weightedLogLoss'] as const) {
            const scale = Math.max(1, Math.abs(expected[key]));
            assert.ok(Math.abs(got[key] - expected[key]) <= 1e-12 * scale, `${task} ${key}: ${got[key]} vs ${expected[key]}`);
          }
        }
      });
    }
  });
});
