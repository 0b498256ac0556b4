import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../src/registry/actor.js';
import type { Catalog, CatalogRow } from '../src/registry/catalog.js';
import type { ModelInput } from '../src/registry/model.js';
import { Criticality } from '../src/registry/vocabulary.js';
import { generateFleet } from '../src/sim/fleet.js';
import { createRng } from '../src/sim/random.js';
import { seedFleet } from '../src/sim/seedFleet.js';
import { simulateTraffic, type Fault } from '../src/sim/traffic.js';
import { forEachDatabase, ManualClock, TestServer } from './harness.js';

/**
 * GET /catalog against a generated fleet: each row is checked against what the generator's input
 * says it must be, computed here without the server, then statuses after real ingestion and a real
 * evaluation, the ETag round trip, and auth.
 */

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T09:00:00Z');
const fleet = generateFleet({ models: 80, seed: 7 });
const typeOf = (id: string) => fleet.modelTypes.find((t) => t.name === id.slice(0, id.lastIndexOf(':')))!;
const monitored = (m: ModelInput) => m.role !== 'retired' && Object.keys(m.thresholds ?? {}).length > 0;

/** An experiment with traffic, thresholds and a baseline to give its traffic back to: the one that goes bad. */
const bad = fleet.models.find((m) => m.role === 'experiment' && (m.trafficShare ?? 0) > 0 && monitored(m) && fleet.models.some((b) => b.role === 'baseline' && typeOf(b.id) === typeOf(m.id)))!;
const healthy = fleet.models.find((m) => m.role === 'baseline' && monitored(m) && typeOf(m.id) !== typeOf(bad.id))!;

function expectedRow(m: ModelInput, status: CatalogRow[9]): CatalogRow {
  const type = typeOf(m.id);
  const rank = (tier: string) => Criticality.indexOf(tier as Criticality);
  // A model may lower its tier below its type's, never raise it.
  const tier = m.criticality && rank(m.criticality) > rank(type.criticality) ? m.criticality : type.criticality;
  return [m.id, type.name, type.name.split('_')[1]!, type.funnelStage, tier, type.ownerTeam, type.oncall.rotation, m.role, m.trafficShare ?? 0, status, m.role === 'retired'];
}

const rowOf = (catalog: Catalog, id: string) => catalog.rows.find((r) => r[0] === id);

forEachDatabase((db) => {
  describe(`GET /catalog (${db.name})`, () => {
    const clock = new ManualClock(T0);
    const rng = createRng(5);
    let server: TestServer;

    before(async () => {
      server = await TestServer.start(db, { clock });
      await seedFleet(server.fleet.registry, systemActor, fleet);
    });
    after(async () => {
      await server?.close();
    });

    it('lists every model, retired ones flagged, with the fields the registry holds, the values of each filter, gzipped', async () => {
      const response = await server.call<Catalog>('GET', '/catalog', { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-encoding'), 'gzip');
      const catalog = response.body;
      assert.deepEqual(catalog.fields, ['id', 'modelType', 'surface', 'funnelStage', 'tier', 'team', 'oncall', 'role', 'trafficShare', 'status', 'retired']);
      assert.equal(catalog.evaluatedAt, null, 'nothing evaluated yet');
      assert.ok(catalog.seq > 0);
      // Before any evaluation a monitored model has insufficient data; the others are not monitored.
      const expected = fleet.models.map((m) => expectedRow(m, monitored(m) ? 'insufficient_data' : 'unmonitored')).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      assert.deepEqual(catalog.rows, expected);
      const retired = catalog.rows.filter((r) => r[10]);
      assert.ok(retired.length > 0, 'the generated fleet has retired models');
      assert.ok(retired.every((r) => r[7] === 'retired' && r[9] === 'unmonitored'));
      const distinct = (i: number) => new Set(expected.map((r) => r[i] as string));
      assert.deepEqual(new Set(catalog.values.surface), distinct(2));
      assert.deepEqual(new Set(catalog.values.team), distinct(5));
      assert.deepEqual(catalog.values.tier, Criticality.filter((t) => distinct(4).has(t)));
      assert.deepEqual(catalog.values.status, ['insufficient_data', 'unmonitored']);
    });

    it('answers 304 to If-None-Match while nothing changed, and a new ETag after a registry change', async () => {
      const first = await server.call<Catalog>('GET', '/catalog');
      const etag = first.headers.get('etag')!;
      assert.match(etag, /^W\/"/);
      const again = await server.call('GET', '/catalog', { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      assert.equal(again.body, null);
      assert.equal(again.headers.get('etag'), etag);
      // Weak comparison: the tag without W/, or among others, matches too.
      assert.equal((await server.call('GET', '/catalog', { headers: { 'if-none-match': `"other", ${etag.slice(2)}` } })).status, 304);

      const model = await server.call('GET', `/models/${encodeURIComponent(healthy.id)}`);
      const patched = await server.call('PATCH', `/models/${encodeURIComponent(healthy.id)}`, {
        body: { tags: ['catalog-test'] },
        contentType: 'application/merge-patch+json',
        headers: { 'if-match': model.headers.get('etag')! },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const changed = await server.call<Catalog>('GET', '/catalog', { headers: { 'if-none-match': etag } });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get('etag'), etag);
      assert.equal(changed.body.seq, first.body.seq + 1);
    });

    it("shows each model's latest verdict after ingestion and an evaluation, and retires the bad experiment", async () => {
      const before = await server.call<Catalog>('GET', '/catalog');
      const traffic = (m: ModelInput, fault: Fault | null) =>
        Object.keys(m.thresholds ?? {}).map((task) => simulateTraffic(rng, { model: m.id, task, ctr: 0.1, perMinute: 1500 }, clock.epochMs, 1, fault));
      for (let minute = 0; minute < 30; minute++) {
        const batches = [...traffic(bad, { kind: 'scale', factor: 1.3 }), ...traffic(healthy, null)];
        clock.advance(MINUTE);
        const response = await server.call('POST', '/events', { body: batches });
        assert.equal(response.body.rejected, 0, JSON.stringify(response.body));
      }
      const tick = await server.fleet.monitor.tick();
      assert.deepEqual(tick.evaluatedMinutes, [T0 + 30 * MINUTE]);

      const after = await server.call<Catalog>('GET', '/catalog', { headers: { 'if-none-match': before.headers.get('etag')! } });
      assert.equal(after.status, 200, 'a new evaluation is a new catalog');
      assert.equal(after.body.evaluatedAt, T0 + 30 * MINUTE);
      assert.equal(rowOf(after.body, bad.id)![9], 'unstable');
      assert.equal(rowOf(after.body, healthy.id)![9], 'stable');
      // Evaluated without events: still not enough data to judge.
      const quiet = fleet.models.find((m) => monitored(m) && m.id !== bad.id && m.id !== healthy.id)!;
      assert.equal(rowOf(after.body, quiet.id)![9], 'insufficient_data');
      // The same verdicts the fleet summary counts.
      const fleetStability = (await server.call('GET', '/stability')).body;
      assert.equal(after.body.rows.filter((r) => r[9] === 'unstable').length, fleetStability.models.unstable);
      assert.equal(after.body.rows.filter((r) => r[9] === 'stable').length, fleetStability.models.stable);

      const ended = await server.call('POST', `/models/${encodeURIComponent(bad.id)}/end-experiment`, { headers: { 'x-change-reason': 'unstable in the catalog test' } });
      assert.equal(ended.status, 200, JSON.stringify(ended.body));
      const retired = rowOf((await server.call<Catalog>('GET', '/catalog')).body, bad.id)!;
      assert.equal(retired[7], 'retired');
      assert.equal(retired[8], 0);
      assert.equal(retired[10], true);
      assert.equal(retired[9], 'unmonitored', 'a retired model has no current verdict, whatever the last evaluation said');
    });

    it('refuses a request without a token (401) and unknown query parameters (400)', async () => {
      const anonymous = await server.call('GET', '/catalog', { token: null });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body.error.code, 'unauthorized');
      const typo = await server.call('GET', '/catalog?surfac=feed');
      assert.equal(typo.status, 400);
      assert.equal(typo.body.error.code, 'invalid_input');
    });

    it('is in the OpenAPI document', async () => {
      const document = (await fetch(`${server.url}/api/v1/openapi.json`).then((r) => r.json())) as { paths: Record<string, { get?: unknown }> };
      assert.ok(document.paths['/api/v1/catalog']?.get);
    });
  });
});
