import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, showRun } from './cliRunner.js';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';

const TYPE = 'ig_feed_main_mtml';
const recording = [
  JSON.stringify({ method: 'POST', path: '/predict', headers: { 'x-user': 'u1', Host: 'old-host' }, body: { user: { id: 'u1' }, candidates: [{ id: 'c1' }] }, ts: 1764064800000 }),
  '',
  JSON.stringify({ path: '/predict', body: { base64: Buffer.from('{"user":{"id":"u2"},"candidates":[]}').toString('base64') } }),
  JSON.stringify({ method: 'GET', path: '/healthz' }),
].join('\n');

forEachDatabase((db) => {
  describe(`recorded traffic and launch sizing (${db.name})`, () => {
    let server: TestServer;
    before(async () => {
      server = await TestServer.start(db);
      await seed(server, {
        teams: [sample.team(), sample.team('stories-ranking')],
        modelTypes: [sample.modelType()],
        models: [
          sample.model(`${TYPE}:v1`, { role: 'baseline', trafficShare: 0.9, capacity: { maxQpsPerReplica: 100, replicas: 12, unitCost: 40 } }),
          sample.model(`${TYPE}:v2`, { role: 'experiment', trafficShare: 0.1, capacity: { maxQpsPerReplica: 150, replicas: 0, unitCost: 50 } }),
          sample.model(`${TYPE}:v3`, { role: 'candidate', trafficShare: 0 }),
        ],
      });
    });
    after(() => server.close());

    const importRecording = (body: string, query = '', token?: string, contentType = 'application/x-ndjson') =>
      server.call('POST', `/model-types/${TYPE}/recordings${query}`, { raw: body, contentType, ...(token ? { token } : {}) });

    it('imports a recording, keeps its file, and lists it', async () => {
      const created = await importRecording(recording, '?name=feed-sample');
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.requests, 3);
      assert.equal(created.body.name, 'feed-sample');
      assert.equal(created.body.modelType, TYPE);
      assert.equal(created.body.bytes, Buffer.byteLength(recording));
      const content = await fetch(`${server.url}/api/v1/recordings/${created.body.id}/content`, { headers: { authorization: 'Bearer test-admin-token-0123456789' } });
      assert.equal(await content.text(), recording);
      const list = await server.call('GET', `/model-types/${TYPE}/recordings`);
      assert.deepEqual(list.body.items.map((r: { id: string }) => r.id), [created.body.id]);
      const { requests } = await server.fleet.recordings.requests(created.body.id);
      assert.equal(requests[0]!.headers['x-user'], 'u1');
      assert.equal(requests[0]!.headers['host'], undefined, 'hop-by-hop headers are dropped');
      assert.equal(requests[1]!.method, 'POST', 'method defaults to POST');
      assert.equal(requests[1]!.body!.toString(), '{"user":{"id":"u2"},"candidates":[]}');
    });

    it('reports every bad line with its number and stores nothing', async () => {
      const before = (await server.call('GET', `/model-types/${TYPE}/recordings`)).body.items.length;
      const bad = ['{"path": "/predict"}', 'not json', '{"path": "predict"}', '{"path": "/x", "methd": "GET"}', '{"path": "/x", "body": {"base64": "@@"}}'].join('\n');
      const response = await importRecording(bad, '?name=broken');
      assert.equal(response.status, 400);
      assert.match(response.body.error.message, /3 bad lines/);
      assert.deepEqual(response.body.error.details.map((d: { path: string }) => d.path), ['broken:2', 'broken:3', 'broken:4']);
      assert.match(response.body.error.details[1].message, /starts with \//);
      assert.match(response.body.error.details[2].message, /did you mean 'method'/);
      const empty = await importRecording('\n\n', '?name=empty');
      assert.equal(empty.status, 400);
      assert.match(empty.body.error.details[0].message, /holds no requests/);
      assert.equal((await server.call('GET', `/model-types/${TYPE}/recordings`)).body.items.length, before);
    });

    it('refuses other teams, viewers, unknown types, bad names and non-NDJSON bodies', async () => {
      const other = await server.token('stories-member', 'member', 'stories-ranking');
      assert.equal((await importRecording(recording, '', other)).status, 403);
      const viewer = await server.token('viewer', 'viewer');
      assert.equal((await importRecording(recording, '', viewer)).status, 403);
      const own = await server.token('feed-member', 'member', 'feed-ranking');
      assert.equal((await importRecording(recording, '?name=mine', own)).status, 201);
      assert.equal((await server.call('POST', '/model-types/ig_nope_mtml/recordings', { raw: recording, contentType: 'application/x-ndjson' })).status, 404);
      const badName = await importRecording(recording, '?name=Bad%20Name');
      assert.equal(badName.status, 400);
      assert.equal(badName.body.error.details[0].path, 'name');
      assert.equal((await importRecording(recording, '', undefined, 'application/json')).status, 400);
      assert.equal((await server.call('GET', '/recordings/no-such-id')).status, 404);
    });

    it("sizes a candidate for a peak, against the baseline's footprint, and records it when asked", async () => {
      const dry = await server.call('POST', `/models/${encodeURIComponent(`${TYPE}:v2`)}/capacity/cost`, { body: { peakQps: 1000, headroom: 0.5 } });
      assert.equal(dry.status, 200, JSON.stringify(dry.body));
      assert.equal(dry.body.replicas, 10); // 1500 / 150
      assert.equal(dry.body.cost, 500);
      assert.equal(dry.body.baselineModel, `${TYPE}:v1`);
      assert.deepEqual(dry.body.baseline, { replicas: 12, cost: 480 });
      assert.deepEqual(dry.body.delta, { replicas: -2, cost: 20 });
      assert.equal(dry.body.change, null);

      const written = await server.call('POST', `/models/${encodeURIComponent(`${TYPE}:v2`)}/capacity/cost`, { body: { peakQps: 1000, headroom: 0.5, write: true }, headers: { 'x-change-reason': 'launch plan' } });
      assert.equal(written.status, 200);
      assert.equal(written.body.change.reason, 'launch plan');
      const model = (await server.call('GET', `/models/${encodeURIComponent(`${TYPE}:v2`)}`)).body;
      assert.deepEqual(model.capacity, { maxQpsPerReplica: 150, replicas: 10, unitCost: 50 });
    });

    it('imports and lists recordings from the CLI, naming bad lines', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mf-rec-'));
      try {
        const good = join(dir, 'Feed Sample.ndjson');
        writeFileSync(good, recording);
        const imported = await runCli(server.url, ['recordings', 'import', TYPE, good, '--json']);
        assert.equal(imported.code, 0, showRun(imported));
        const info = JSON.parse(imported.stdout);
        assert.equal(info.name, 'feed-sample');
        assert.equal(info.requests, 3);
        const listed = await runCli(server.url, ['recordings', 'list', TYPE]);
        assert.match(listed.stdout, new RegExp(`^${info.id} +feed-sample +3 `, 'm'));
        const bad = join(dir, 'bad.ndjson');
        writeFileSync(bad, '{"path": "/ok"}\n{"path": 7}\n');
        const refused = await runCli(server.url, ['recordings', 'import', TYPE, bad]);
        assert.equal(refused.code, 1, showRun(refused));
        assert.match(refused.stderr, /bad:2: path: /);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('says how to get a capacity profile when a model has none, and checks the body', async () => {
      const none = await server.call('POST', `/models/${encodeURIComponent(`${TYPE}:v3`)}/capacity/cost`, { body: { peakQps: 10 } });
      assert.equal(none.status, 409);
      assert.match(none.body.error.message, /capacity estimate/);
      const bad = await server.call('POST', `/models/${encodeURIComponent(`${TYPE}:v2`)}/capacity/cost`, { body: { peakQps: -1, headrom: 1 } });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path).sort(), ['headrom', 'peakQps']);
    });
  });
});
