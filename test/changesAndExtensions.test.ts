import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';

const TEAM_A = 'team-a';
const TEAM_B = 'team-b';

forEachDatabase((db) => {
  describe(`change feed on ${db.name}`, () => {
    let server: TestServer;
    before(async () => {
      server = await TestServer.start(db);
      await seed(server, { teams: [sample.team(TEAM_A)] });
    });
    after(() => server.close());

    const lastSeq = async (): Promise<number> => (await server.call('GET', '/changes?after=0&limit=1000')).body.lastSeq;

    test('GET /changes?after=N returns the later changes in sequence order', async () => {
      const start = await lastSeq();
      await seed(server, {
        modelTypes: [sample.modelType('ig_feed_main_mtml', TEAM_A)],
        models: [sample.model('ig_feed_main_mtml:v1'), sample.model('ig_feed_main_mtml:v2')],
      });
      const all = await server.call('GET', `/changes?after=${start}`);
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.items.map((c: { entity: string; entityId: string; action: string }) => `${c.action} ${c.entity} ${c.entityId}`),
        ['create modelType ig_feed_main_mtml', 'create model ig_feed_main_mtml:v1', 'create model ig_feed_main_mtml:v2'],
      );
      const seqs = all.body.items.map((c: { seq: number }) => c.seq);
      assert.ok(seqs.every((seq: number, i: number) => seq > start && (i === 0 || seq > seqs[i - 1])), `ordered: ${seqs}`);
      assert.equal(all.body.lastSeq, seqs.at(-1));

      const rest = await server.call('GET', `/changes?after=${seqs[0]}`);
      assert.deepEqual(rest.body.items.map((c: { seq: number }) => c.seq), seqs.slice(1));
      const page = await server.call('GET', `/changes?after=${start}&limit=2`);
      assert.deepEqual(page.body.items.map((c: { seq: number }) => c.seq), seqs.slice(0, 2));
      assert.equal(page.body.lastSeq, seqs[1]);
      const models = await server.call('GET', `/changes?after=${start}&entity=model`);
      assert.deepEqual(models.body.items.map((c: { entityId: string }) => c.entityId), ['ig_feed_main_mtml:v1', 'ig_feed_main_mtml:v2']);
      const one = await server.call('GET', `/changes?after=0&entity=model&entityId=${encodeURIComponent('ig_feed_main_mtml:v2')}`);
      assert.deepEqual(one.body.items.map((c: { seq: number }) => c.seq), [seqs[2]]);
      const none = await server.call('GET', `/changes?after=${seqs[2]}`);
      assert.deepEqual(none.body, { items: [], lastSeq: seqs[2] });
      assert.equal((await server.call('GET', '/changes?after=-1')).status, 400);
    });

    test('a long poll returns as soon as a write happens during the wait', async () => {
      const start = await lastSeq();
      const began = performance.now();
      const poll = server.call('GET', `/changes?after=${start}&wait=5`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const write = await server.call('PATCH', '/model-types/ig_feed_main_mtml', {
        body: { description: 'changed during the wait' },
        headers: { 'if-match': '"1"' },
      });
      assert.equal(write.status, 200, JSON.stringify(write.body));
      const response = await poll;
      const elapsed = performance.now() - began;
      assert.equal(response.status, 200);
      assert.equal(response.body.items.length, 1);
      assert.equal(response.body.items[0].entityId, 'ig_feed_main_mtml');
      assert.equal(response.body.items[0].action, 'update');
      assert.equal(response.body.items[0].seq, Number(write.headers.get('x-change-seq')));
      // A sanity bound, far below the 5 s wait: the write woke the poll rather than its deadline.
      assert.ok(elapsed < 4000, `the poll took ${Math.round(elapsed)} ms`);
    });

    test('a follower misses no change when writers commit out of sequence order', async () => {
      // A writer that has taken its sequence number but not yet committed, driven through the store
      // directly so the test controls when it commits.
      const start = await lastSeq();
      // Read before the held writer opens: on SQLite every request waits for it to commit.
      const current = await server.call('GET', '/model-types/ig_feed_main_mtml');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let appended!: () => void;
      const heldAppended = new Promise<void>((resolve) => (appended = resolve));
      const held = server.fleet.registry.store.transaction(async (tx) => {
        const [change] = await tx.appendChanges([
          { entity: 'team', entityId: 'held-writer', version: 1, action: 'create', actor: 'test', at: new Date().toISOString(), reason: null, before: null, after: { name: 'held-writer' } },
        ]);
        appended();
        await released;
        return change!;
      });
      await heldAppended;

      // A follower reads the feed the way routers do: from its last sequence number on.
      const seen: number[] = [];
      let stop = false;
      const follower = (async () => {
        let cursor = start;
        const deadline = Date.now() + 8000;
        while (!stop && Date.now() < deadline) {
          const page = await server.call('GET', `/changes?after=${cursor}&wait=1`);
          seen.push(...page.body.items.map((c: { seq: number }) => c.seq));
          cursor = page.body.lastSeq;
        }
      })();

      // A second writer, through the API, while the first is still open.
      const write = server.call('PATCH', '/model-types/ig_feed_main_mtml', {
        body: { description: 'written while another writer is open' },
        headers: { 'if-match': current.headers.get('etag')! },
      });
      await Promise.race([write, new Promise((resolve) => setTimeout(resolve, 500))]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      const heldChange = await held;
      server.fleet.registry.feed.committed();
      const written = await write;
      assert.equal(written.status, 200, JSON.stringify(written.body));
      const writtenSeq = Number(written.headers.get('x-change-seq'));
      for (let i = 0; i < 40 && !(seen.includes(heldChange.seq) && seen.includes(writtenSeq)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      stop = true;
      await follower;
      assert.ok(seen.includes(writtenSeq), `the follower saw the API write (seq ${writtenSeq}); saw ${seen}`);
      assert.ok(seen.includes(heldChange.seq), `the follower saw the change committed late (seq ${heldChange.seq}); saw ${seen}`);
    });

    test('a long poll with nothing to report returns empty after its wait', async () => {
      const start = await lastSeq();
      const began = performance.now();
      const response = await server.call('GET', `/changes?after=${start}&wait=1`);
      const elapsed = performance.now() - began;
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { items: [], lastSeq: start });
      assert.ok(elapsed >= 900, `returned after ${Math.round(elapsed)} ms, before its 1 s wait`);
    });
  });

  describe(`extension schemas on ${db.name}`, () => {
    let server: TestServer;
    let alice: string; // member of team-a
    let bob: string; // member of team-b
    const typeA = 'ig_feed_alpha_mtml';
    const typeB = 'ig_feed_beta_mtml';

    const modelsSchema = {
      name: 'model-ownership',
      appliesTo: 'model',
      description: 'every model names its Slack channel',
      schema: {
        type: 'object',
        required: ['owner_slack'],
        properties: { owner_slack: { type: 'string', pattern: '^#' }, gpu_hours: { type: 'number', minimum: 0 } },
      },
    };
    const teamTypeSchema = {
      name: 'team-a-cost',
      appliesTo: 'modelType',
      team: TEAM_A,
      schema: {
        type: 'object',
        required: ['cost_center'],
        properties: { cost_center: { type: 'integer' }, tier_reviewed: { type: 'boolean' } },
      },
    };

    before(async () => {
      server = await TestServer.start(db);
      await seed(server, { teams: [sample.team(TEAM_A), sample.team(TEAM_B)] });
      alice = await server.token('alice', 'member', TEAM_A);
      bob = await server.token('bob', 'member', TEAM_B);
    });
    after(() => server.close());

    test('members cannot register, replace or delete schemas', async () => {
      for (const token of [alice, await server.token('vera', 'viewer')]) {
        const created = await server.call('POST', '/extension-schemas', { token, body: { ...teamTypeSchema, name: 'sneaky' } });
        assert.equal(created.status, 403);
        assert.equal(created.body.error.code, 'forbidden');
      }
      assert.deepEqual((await server.call('GET', '/extension-schemas', { token: alice })).body.items, []);
    });

    test('an invalid JSON Schema is rejected with 400', async () => {
      for (const schema of [{ type: 'objekt' }, { type: 'object', required: 'owner_slack' }, { properties: { x: { minimum: 'zero' } } }]) {
        const response = await server.call('POST', '/extension-schemas', { body: { name: 'broken', appliesTo: 'model', schema } });
        assert.equal(response.status, 400, JSON.stringify(response.body));
        assert.equal(response.body.error.code, 'invalid_input');
        assert.match(response.body.error.message, /not a valid JSON Schema/);
        assert.equal(response.body.error.details[0].path, 'schema');
      }
      const badTarget = await server.call('POST', '/extension-schemas', { body: { name: 'broken', appliesTo: 'team', schema: {} } });
      assert.equal(badTarget.status, 400);
      const unknownTeam = await server.call('POST', '/extension-schemas', { body: { ...teamTypeSchema, name: 'ghost', team: 'no-such-team' } });
      assert.equal(unknownTeam.status, 409);
      assert.equal((await server.call('GET', '/extension-schemas/broken')).status, 404);
    });

    test('an admin registers a global schema for models and a team-scoped one for model types', async () => {
      const global = await server.call('POST', '/extension-schemas', { body: modelsSchema, headers: { 'x-change-reason': 'on-call needs a channel' } });
      assert.equal(global.status, 201, JSON.stringify(global.body));
      assert.equal(global.headers.get('etag'), '"1"');
      assert.equal(global.body.team, null);
      assert.equal(global.body.version, 1);
      const scoped = await server.call('POST', '/extension-schemas', { body: teamTypeSchema });
      assert.equal(scoped.status, 201, JSON.stringify(scoped.body));
      assert.equal(scoped.body.team, TEAM_A);
      const again = await server.call('POST', '/extension-schemas', { body: teamTypeSchema });
      assert.equal(again.status, 409);
      const listed = await server.call('GET', '/extension-schemas', { token: bob });
      assert.deepEqual(listed.body.items.map((s: { name: string }) => s.name).sort(), ['model-ownership', 'team-a-cost']);
    });

    test("model types of the schema's team must satisfy it; other teams are not bound", async () => {
      const missing = await server.call('POST', '/model-types', { token: alice, body: sample.modelType(typeA, TEAM_A) });
      assert.equal(missing.status, 409, JSON.stringify(missing.body));
      assert.equal(missing.body.error.code, 'conflict');
      assert.deepEqual(missing.body.error.details.map((d: { path: string }) => d.path), [`modelTypes.${typeA}.extended.cost_center`]);
      assert.match(missing.body.error.details[0].message, /cost_center/);
      assert.match(missing.body.error.details[0].message, /team-a-cost/);

      const wrongType = await server.call('POST', '/model-types', { token: alice, body: sample.modelType(typeA, TEAM_A, { extended: { cost_center: 'CC-12' } }) });
      assert.equal(wrongType.status, 409);
      assert.deepEqual(wrongType.body.error.details.map((d: { path: string }) => d.path), [`modelTypes.${typeA}.extended.cost_center`]);
      assert.match(wrongType.body.error.details[0].message, /integer/);
      assert.equal((await server.call('GET', `/model-types/${typeA}`)).status, 404);

      const ok = await server.call('POST', '/model-types', { token: alice, body: sample.modelType(typeA, TEAM_A, { extended: { cost_center: 1234 } }) });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.extended, { cost_center: 1234 });

      const teamB = await server.call('POST', '/model-types', { token: bob, body: sample.modelType(typeB, TEAM_B) });
      assert.equal(teamB.status, 201, JSON.stringify(teamB.body));

      // Breaking it later through a patch is refused too.
      const broken = await server.call('PATCH', `/model-types/${typeA}`, { token: alice, body: { extended: { cost_center: null } }, headers: { 'if-match': '"1"' } });
      assert.equal(broken.status, 409);
      assert.equal(broken.body.error.details[0].path, `modelTypes.${typeA}.extended.cost_center`);
    });

    test('models of every team must satisfy the global model schema', async () => {
      const missing = await server.call('POST', '/models', { token: alice, body: sample.model(`${typeA}:v1`) });
      assert.equal(missing.status, 409, JSON.stringify(missing.body));
      assert.deepEqual(missing.body.error.details.map((d: { path: string }) => d.path), [`models.${typeA}:v1.extended.owner_slack`]);
      assert.match(missing.body.error.message, new RegExp(`models\\.${typeA}:v1\\.extended\\.owner_slack`));
      assert.match(missing.body.error.details[0].message, /model-ownership/);

      const bad = await server.call('POST', '/models', { token: bob, body: sample.model(`${typeB}:v1`, { extended: { owner_slack: 'beta', gpu_hours: -1 } }) });
      assert.equal(bad.status, 409);
      assert.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path).sort(), [`models.${typeB}:v1.extended.gpu_hours`, `models.${typeB}:v1.extended.owner_slack`]);

      for (const [token, id] of [[alice, `${typeA}:v1`], [bob, `${typeB}:v1`]] as const) {
        const ok = await server.call('POST', '/models', { token, body: sample.model(id, { extended: { owner_slack: '#feed-oncall', gpu_hours: 12 } }) });
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
      }
    });

    test('PUT needs If-Match; a stale one is refused; the new version binds writes', async () => {
      const current = await server.call('GET', '/extension-schemas/model-ownership');
      assert.equal(current.status, 200);
      assert.equal(current.headers.get('etag'), '"1"');
      const relaxed = { ...modelsSchema, schema: { type: 'object', properties: { owner_slack: { type: 'string' } } } };
      const noIfMatch = await server.call('PUT', '/extension-schemas/model-ownership', { body: relaxed });
      assert.equal(noIfMatch.status, 428);
      assert.equal(noIfMatch.body.error.code, 'precondition_required');
      const stale = await server.call('PUT', '/extension-schemas/model-ownership', { body: relaxed, headers: { 'if-match': '"7"' } });
      assert.equal(stale.status, 412);
      const byMember = await server.call('PUT', '/extension-schemas/model-ownership', { token: alice, body: relaxed, headers: { 'if-match': '"1"' } });
      assert.equal(byMember.status, 403);
      const invalid = await server.call('PUT', '/extension-schemas/model-ownership', { body: { ...relaxed, schema: { type: 42 } }, headers: { 'if-match': '"1"' } });
      assert.equal(invalid.status, 400);

      const saved = await server.call('PUT', '/extension-schemas/model-ownership', { body: relaxed, headers: { 'if-match': '"1"', 'x-change-reason': 'relax' } });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.equal(saved.body.version, 2);
      assert.equal(saved.headers.get('etag'), '"2"');
      // owner_slack is no longer required.
      const model = await server.call('POST', '/models', { token: alice, body: sample.model(`${typeA}:v2`, { trafficShare: 0.2 }) });
      assert.equal(model.status, 201, JSON.stringify(model.body));

      assert.equal((await server.call('PUT', '/extension-schemas/nothing-here', { body: relaxed, headers: { 'if-match': '"1"' } })).status, 404);
    });

    test('the history of a schema records every change; DELETE needs If-Match', async () => {
      const history = await server.call('GET', '/extension-schemas/model-ownership/history', { token: alice });
      assert.equal(history.status, 200);
      assert.deepEqual(history.body.items.map((c: { action: string; version: number }) => `${c.action} ${c.version}`), ['create 1', 'update 2']);
      assert.equal(history.body.items[0].reason, 'on-call needs a channel');
      assert.equal(history.body.items[1].reason, 'relax');
      assert.equal(history.body.items[1].before.schema.required[0], 'owner_slack');
      assert.equal(history.body.items[1].after.schema.required, undefined);
      assert.ok(history.body.items.every((c: { entity: string; actor: string }) => c.entity === 'extensionSchema' && c.actor === 'admin'));

      assert.equal((await server.call('DELETE', '/extension-schemas/team-a-cost')).status, 428);
      assert.equal((await server.call('DELETE', '/extension-schemas/team-a-cost', { token: alice, headers: { 'if-match': '"1"' } })).status, 403);
      assert.equal((await server.call('DELETE', '/extension-schemas/team-a-cost', { headers: { 'if-match': '"1"' } })).status, 204);
      assert.equal((await server.call('GET', '/extension-schemas/team-a-cost')).status, 404);
      const afterDelete = await server.call('GET', '/extension-schemas/team-a-cost/history');
      assert.deepEqual(afterDelete.body.items.map((c: { action: string }) => c.action), ['create', 'delete']);
      // Without the schema, team-a's types are free again.
      const freed = await server.call('POST', '/model-types', { token: alice, body: sample.modelType('ig_feed_gamma_mtml', TEAM_A) });
      assert.equal(freed.status, 201, JSON.stringify(freed.body));
      assert.equal((await server.call('GET', '/extension-schemas/never-existed/history')).status, 404);
    });
  });

  describe(`registry settings on ${db.name}`, () => {
    let server: TestServer;
    let member: string;
    before(async () => {
      server = await TestServer.start(db);
      await seed(server, { teams: [sample.team()] });
      member = await server.token('mia', 'member', 'feed-ranking');
    });
    after(() => server.close());

    test('GET /settings has the default apps and architectures', async () => {
      const settings = await server.call('GET', '/settings', { token: member });
      assert.equal(settings.status, 200);
      assert.deepEqual(settings.body, {
        apps: ['ig', 'fb', 'wa', 'threads', 'msgr'],
        architectures: ['mtml', 'mtl', 'dlrm', 'twotower', 'gbdt', 'lr', 'dnn', 'dcn', 'moe', 'transformer'],
      });
    });

    test('an unknown app is refused with the known list, and a suggestion when one is close', async () => {
      const unknown = await server.call('POST', '/model-types', { body: sample.modelType('xyz_feed_main_mtml') });
      assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
      assert.equal(unknown.body.error.code, 'invalid_input');
      assert.equal(unknown.body.error.details[0].path, 'name');
      assert.match(unknown.body.error.details[0].message, /unknown app 'xyz'/);
      assert.match(unknown.body.error.details[0].message, /known: ig, fb, wa, threads, msgr/);
      const typo = await server.call('POST', '/model-types', { body: sample.modelType('igg_feed_main_mtml') });
      assert.equal(typo.status, 400);
      assert.match(typo.body.error.message, /did you mean 'ig'\?/);
      const arch = await server.call('POST', '/model-types', { body: sample.modelType('ig_feed_main_transfomer') });
      assert.equal(arch.status, 400);
      assert.match(arch.body.error.message, /unknown architecture 'transfomer'.*did you mean 'transformer'\?/);
      // Models are checked by the type name in their id too.
      const model = await server.call('POST', '/models', { body: sample.model('xyz_feed_main_mtml:v1') });
      assert.equal(model.status, 400);
      assert.match(model.body.error.message, /unknown app 'xyz'/);
    });

    test('only an admin changes the settings; an added app becomes valid', async () => {
      const extended = {
        apps: ['ig', 'fb', 'wa', 'threads', 'msgr', 'xyz'],
        architectures: ['mtml', 'mtl', 'dlrm', 'twotower', 'gbdt', 'lr', 'dnn', 'dcn', 'moe', 'transformer'],
      };
      const byMember = await server.call('PUT', '/settings', { token: member, body: extended });
      assert.equal(byMember.status, 403);
      assert.equal(byMember.body.error.code, 'forbidden');
      assert.equal((await server.call('GET', '/settings')).body.apps.includes('xyz'), false);

      const invalid = await server.call('PUT', '/settings', { body: { apps: ['Bad App'], architectures: ['mtml'] } });
      assert.equal(invalid.status, 400);
      const empty = await server.call('PUT', '/settings', { body: { apps: [], architectures: ['mtml'] } });
      assert.equal(empty.status, 400);

      const start = (await server.call('GET', '/changes?after=0&limit=1000')).body.lastSeq;
      const saved = await server.call('PUT', '/settings', { body: extended, headers: { 'x-change-reason': 'onboard xyz' } });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.deepEqual(saved.body, extended);
      assert.deepEqual((await server.call('GET', '/settings', { token: member })).body, extended);
      const change = (await server.call('GET', `/changes?after=${start}&entity=settings`)).body.items;
      assert.equal(change.length, 1);
      assert.equal(change[0].reason, 'onboard xyz');

      const created = await server.call('POST', '/model-types', { token: member, body: sample.modelType('xyz_feed_main_mtml') });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.parsed.app, 'xyz');
    });
  });
});
