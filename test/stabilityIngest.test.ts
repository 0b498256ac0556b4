import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FIXTURES, fixtureFleet, fixtureText } from './stabilityFixture.js';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Accumulator } from '../src/stability/accumulator.js';
import { metricsOf } from '../src/stability/metrics.js';
import { forEachDatabase, ManualClock, seed, TestServer } from './harness.js';

const expectedWhole: ExpectedRow[] = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8'));
const expectedWindows: ExpectedRow[] = JSON.parse(readFileSync(new URL('expected-windows.json', FIXTURES), 'utf8'));

interface ExpectedRow {
  model: string;
  task: string;
  windowStart?: number;
  count: number;
  weight: number;
  positives: number;
  calibration: number | null;
  logLoss: number | null;
  ne: number | null;
}


/** Just after the fixture's last event, so all of it is within the allowed lateness. */
const FIXTURE_NOW = 1764065100000 + 60_000;

function closeTo(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) return assert.equal(actual, null, what);
  assert.ok(actual !== null, `${what}: got null, expected ${expected}`);
  const scale = Math.max(Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) / scale <= 1e-9, `${what}: ${actual} vs ${expected}`);
}

function assertMatches(sums: { count: number; acc: Accumulator }, expected: ExpectedRow, what: string): void {
  const m = metricsOf(sums.acc);
  assert.equal(m.count, expected.count, `${what} count`);
  closeTo(m.weight, expected.weight, `${what} weight`);
  closeTo(m.positives, expected.positives, `${what} positives`);
  closeTo(m.calibration, expected.calibration, `${what} calibration`);
  closeTo(m.logLoss, expected.logLoss, `${what} logLoss`);
  closeTo(m.ne, expected.ne, `${what} ne`);
}

forEachDatabase((db) => {
  describe(`event ingestion (${db.name})`, () => {
    let server: TestServer;
    const clock = new ManualClock(FIXTURE_NOW);
    before(async () => {
      server = await TestServer.start(db, { clock });
      await seed(server, fixtureFleet);
    });
    after(() => server.close());

    const post = (body: string | Buffer, headers: Record<string, string> = {}, token?: string | null) =>
      fetch(`${server.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token === undefined ? 'test-admin-token-0123456789' : token}`, ...headers },
        body,
      }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as any }));

    it('keeps the fixture events and stores per-minute sums that match scikit-learn to 1e-9, per window and whole', async () => {
      // Sent in three gzip'd chunks: sums must merge exactly across requests.
      const lines = fixtureText.split('\n').filter((l) => l.trim());
      let accepted = 0;
      for (let i = 0; i < 3; i++) {
        const chunk = lines.filter((_, j) => j % 3 === i).join('\n') + '\n';
        const response = await post(gzipSync(chunk), { 'content-encoding': 'gzip' });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.equal(response.body.rejected, 0, JSON.stringify(response.body.errors));
        accepted += response.body.accepted;
      }
      assert.equal(accepted, lines.length);

      const store = server.fleet.stabilityStore;
      for (const expected of expectedWindows) {
        const [row] = (await store.buckets(expected.model, 1, expected.windowStart!, expected.windowStart! + 60_000)).filter((r) => r.task === expected.task);
        assert.ok(row, `bucket ${expected.model} ${expected.task} ${expected.windowStart}`);
        assertMatches({ count: row.sums.count, acc: Accumulator.fromSnapshot(row.sums) }, expected, `${expected.model}/${expected.task}@${expected.windowStart}`);
      }
      // A window spanning all the minute buckets (edges included) sums to the whole-file figures.
      const whole = await store.windowSums(1764064800000, 1764065100000);
      for (const expected of expectedWhole) {
        const row = whole.find((r) => r.modelId === expected.model && r.task === expected.task);
        assert.ok(row, `window ${expected.model} ${expected.task}`);
        assertMatches({ count: row.sums.count, acc: Accumulator.fromSnapshot(row.sums) }, expected, `${expected.model}/${expected.task} whole`);
      }
      // And so do the hourly rollups written with the same requests.
      const hour = await store.buckets('ig_feed_main_mtml:v3', 60, 1764064800000 - 3_600_000, 1764068400000);
      const expectedFeed = expectedWhole.find((e) => e.model === 'ig_feed_main_mtml:v3' && e.task === 'PLIKE')!;
      const feedHour = hour.filter((r) => r.task === 'PLIKE');
      const merged = new Accumulator();
      for (const r of feedHour) merged.merge(r.sums);
      assertMatches({ count: merged.count, acc: merged }, expectedFeed, 'hourly rollup');
    });
  });
});
