import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli, showRun } from './cliRunner.js';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';
import { assertError } from './registryTestKit.js';

const TYPE_A = 'ig_feed_alpha_mtml';
const TYPE_A2 = 'ig_feed_gamma_mtml';
const TYPE_B = 'ig_feed_beta_mtml';
const capacity = (replicas: number, unitCost: number) => ({ maxQpsPerReplica: 100, replicas, unitCost });

forEachDatabase((db) => {
  describe(`team quotas, launch policies and serving settings on ${db.name}`, () => {
    let server: TestServer;
    let alice: string; // member of team-a

    before(async () => {
      server = await TestServer.start(db);
      await seed(server, {
        teams: [sample.team('team-a'), sample.team('team-b')],
        modelTypes: [sample.modelType(TYPE_A, 'team-a'), sample.modelType(TYPE_A2, 'team-a'), sample.modelType(TYPE_B, 'team-b')],
        models: [
          // team-a: 10 x 2 + 3 x 2 + 4 x 0.5 = 28 units live; the retired one and the one without a profile hold nothing.
          sample.model(`${TYPE_A}:v1`, { role: 'baseline', trafficShare: 0.9, capacity: capacity(10, 2) }),
          sample.model(`${TYPE_A}:v2`, { role: 'experiment', trafficShare: 0.1, capacity: capacity(3, 2) }),
          sample.model(`${TYPE_A}:v0`, { role: 'retired', trafficShare: 0, capacity: capacity(50, 2) }),
          sample.model(`${TYPE_A2}:v1`, { role: 'baseline', trafficShare: 1, capacity: capacity(4, 0.5) }),
          sample.model(`${TYPE_A2}:v2`, { role: 'candidate', trafficShare: 0 }),
          // team-b: 7 units.
          sample.model(`${TYPE_B}:v1`, { role: 'baseline', trafficShare: 1, capacity: capacity(7, 1) }),
        ],
      });
      alice = await server.token('alice', 'member', 'team-a');
    });
    after(() => server.close());

    const team = async (name: string) => (await server.call('GET', `/teams/${name}`)).body;
    const patchTeam = async (name: string, body: unknown, token?: string) => {
      const current = await team(name);
      return server.call('PATCH', `/teams/${name}`, { body, headers: { 'if-match': `"${current.version}"` }, ...(token ? { token } : {}) });
    };

    test('a team has no quota and the auto_within_quota policy until an admin sets them', async () => {
      const created = await team('team-b');
      assert.equal(created.quota, null);
      assert.equal(created.launchPolicy, 'auto_within_quota');
    });

    test('an admin sets a quota and a launch policy; the change is in the history', async () => {
      const response = await patchTeam('team-a', { quota: 40, launchPolicy: 'no_capacity_regression' });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.quota, 40);
      assert.equal(response.body.launchPolicy, 'no_capacity_regression');
      const stored = await team('team-a');
      assert.equal(stored.quota, 40);
      assert.equal(stored.launchPolicy, 'no_capacity_regression');
      const history = await server.call('GET', '/teams/team-a/history');
      const last = history.body.items.at(-1);
      assert.deepEqual(last.patch.map((op: { path: string }) => op.path).sort(), ['/launchPolicy', '/quota']);
    });

    test("a member cannot change their team's quota or policy, and nothing stored changes", async () => {
      const before = await team('team-a');
      for (const [body, field] of [
        [{ quota: 1000 }, 'quota'],
        [{ quota: null }, 'quota'],
        [{ launchPolicy: 'auto_within_quota' }, 'launchPolicy'],
        [{ description: 'and a bigger pool', quota: 41 }, 'quota'],
      ] as const) {
        const response = await patchTeam('team-a', body, alice);
        assertError(response, { status: 403, code: 'forbidden', paths: [field], message: [new RegExp(field), /platform admin/], detailMessage: /alice/ });
      }
      // A replacement that leaves the quota out would remove it: refused too, saying what to keep.
      const { members: _m, version: _v, createdAt: _c, updatedAt: _u, quota: _q, ...rest } = before;
      const put = await server.call('PUT', '/teams/team-a', { token: alice, body: rest, headers: { 'if-match': `"${before.version}"` } });
      assertError(put, { status: 403, code: 'forbidden', paths: ['quota'], detailMessage: /keep quota: 40/ });
      assert.deepEqual(await team('team-a'), before);
    });

    test("a member still changes their team's description, and the quota and policy stay", async () => {
      const response = await patchTeam('team-a', { description: 'Team A ranks alpha and gamma feeds' }, alice);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.description, 'Team A ranks alpha and gamma feeds');
      assert.equal(response.body.quota, 40);
      assert.equal(response.body.launchPolicy, 'no_capacity_regression');
      // Repeating the current values is not a change of them.
      const same = await patchTeam('team-a', { quota: 40, launchPolicy: 'no_capacity_regression', oncallRotation: 'team-a-primary' }, alice);
      assert.equal(same.status, 200, JSON.stringify(same.body));
      assert.equal(same.body.oncallRotation, 'team-a-primary');
    });

    test("usage is the sum of the live models' replicas x unit cost; retired models and models without a profile do not count", async () => {
      const response = await server.call('GET', '/teams/team-a/quota');
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const pool = response.body;
      assert.equal(pool.team, 'team-a');
      assert.equal(pool.launchPolicy, 'no_capacity_regression');
      assert.equal(pool.quota, 40);
      assert.equal(pool.used, 28);
      assert.equal(pool.reserved, 0);
      assert.equal(pool.free, 12);
      assert.equal(pool.usedShare, 0.7);
      assert.deepEqual(
        pool.models.map((m: { id: string; units: number }) => [m.id, m.units]),
        [[`${TYPE_A}:v1`, 20], [`${TYPE_A}:v2`, 6], [`${TYPE_A2}:v1`, 2]],
      );
      assert.deepEqual(pool.models[0], { id: `${TYPE_A}:v1`, role: 'baseline', replicas: 10, unitCost: 2, units: 20 });
    });

    test('retiring a model frees its units; a profile change is counted at once', async () => {
      const experiment = (await server.call('GET', `/models/${TYPE_A}:v2`)).body;
      const retired = await server.call('PATCH', `/models/${TYPE_A}:v2`, { body: { role: 'retired', trafficShare: 0 }, headers: { 'if-match': `"${experiment.version}"` } });
      assert.equal(retired.status, 200, JSON.stringify(retired.body));
      const baseline = (await server.call('GET', `/models/${TYPE_A}:v1`)).body;
      const resized = await server.call('PATCH', `/models/${TYPE_A}:v1`, { body: { capacity: capacity(12, 2), trafficShare: 1 }, headers: { 'if-match': `"${baseline.version}"` } });
      assert.equal(resized.status, 200, JSON.stringify(resized.body));
      const pool = (await server.call('GET', '/teams/team-a/quota')).body;
      assert.equal(pool.used, 24 + 2);
      assert.equal(pool.free, 40 - 26);
      assert.deepEqual(pool.models.map((m: { id: string }) => m.id), [`${TYPE_A}:v1`, `${TYPE_A2}:v1`]);
    });

    test('GET /quotas shows every team; an unknown team is 404', async () => {
      const response = await server.call('GET', '/quotas');
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const byTeam = Object.fromEntries(response.body.items.map((p: { team: string }) => [p.team, p]));
      assert.deepEqual(Object.keys(byTeam), ['team-a', 'team-b']);
      assert.deepEqual(byTeam['team-a'], (await server.call('GET', '/teams/team-a/quota')).body);
      assert.equal(byTeam['team-b'].quota, null);
      assert.equal(byTeam['team-b'].used, 7);
      assert.equal(byTeam['team-b'].free, null);
      assertError(await server.call('GET', '/teams/team-z/quota'), { status: 404, code: 'not_found', message: /team-z/ });
      // Any token that reads the registry reads the pools.
      assert.equal((await server.call('GET', '/quotas', { token: alice })).status, 200);
    });

    test('the quota endpoints and fields are in the OpenAPI document', async () => {
      const doc = (await server.call('GET', '/openapi.json')).body;
      assert.ok(doc.paths['/api/v1/quotas']?.get, 'GET /api/v1/quotas');
      assert.ok(doc.paths['/api/v1/teams/{name}/quota']?.get, 'GET /api/v1/teams/{name}/quota');
      const schemas = doc.components.schemas;
      for (const field of ['team', 'launchPolicy', 'quota', 'used', 'reserved', 'free', 'usedShare', 'models']) assert.ok(schemas.TeamPool.properties[field], `TeamPool.${field}`);
      assert.ok(schemas.TeamInput.properties.quota, 'TeamInput.quota');
      assert.deepEqual(schemas.TeamInput.properties.launchPolicy.enum, ['auto_within_quota', 'no_capacity_regression', 'manual']);
      assert.ok(schemas.ModelTypeInput.properties.serving, 'ModelTypeInput.serving');
    });

    test('the CLI shows the pools and sets a quota and a policy', async () => {
      const table = await runCli(server.url, ['quotas']);
      assert.equal(table.code, 0, showRun(table));
      const lines = table.stdout.trim().split('\n');
      assert.match(lines[0]!, /^TEAM\s+POLICY\s+QUOTA\s+USED\s+RESERVED\s+FREE\s+% USED$/);
      assert.match(lines.find((l) => l.startsWith('team-a'))!, /^team-a\s+no_capacity_regression\s+40\s+26\s+0\s+14\s+65%$/);
      assert.match(lines.find((l) => l.startsWith('team-b'))!, /^team-b\s+auto_within_quota\s+none\s+7\s+0\s+-\s+-$/);

      const one = await runCli(server.url, ['quotas', '--team', 'team-a']);
      assert.equal(one.code, 0, showRun(one));
      assert.match(one.stdout, new RegExp(`${TYPE_A}:v1\\s+baseline\\s+12\\s+2\\s+24`));

      const json = await runCli(server.url, ['quotas', '--team', 'team-b', '--json']);
      assert.equal(json.code, 0, showRun(json));
      assert.deepEqual(JSON.parse(json.stdout), (await server.call('GET', '/teams/team-b/quota')).body);

      const update = await runCli(server.url, ['teams', 'update', 'team-b', '--quota', '12.5', '--launch-policy', 'manual', '--reason', 'pool for the beta surface']);
      assert.equal(update.code, 0, showRun(update));
      const b = await team('team-b');
      assert.equal(b.quota, 12.5);
      assert.equal(b.launchPolicy, 'manual');
      const after = await runCli(server.url, ['quotas', '--team', 'team-b']);
      assert.match(after.stdout, /team-b\s+manual\s+12\.5\s+7\s+0\s+5\.5\s+56%/, showRun(after));

      const none = await runCli(server.url, ['teams', 'update', 'team-b', '--quota', 'none']);
      assert.equal(none.code, 0, showRun(none));
      assert.equal((await team('team-b')).quota, null);

      const bad = await runCli(server.url, ['teams', 'update', 'team-b', '--quota', 'lots']);
      assert.equal(bad.code, 1, showRun(bad));
      assert.match(bad.stderr, /--quota 'lots' is not a number/);
      const badPolicy = await runCli(server.url, ['teams', 'update', 'team-b', '--launch-policy', 'yolo']);
      assert.equal(badPolicy.code, 1, showRun(badPolicy));
      assert.match(badPolicy.stderr, /launchPolicy/);
      assert.equal((await team('team-b')).launchPolicy, 'manual');
    });

    test("a model type's serving settings round-trip, with defaults for the fields left out", async () => {
      const name = 'ig_reels_main_mtml';
      const created = await server.call('POST', '/model-types', { token: alice, body: sample.modelType(name, 'team-a', { serving: { p99Ms: 50, bakeSeconds: 30 } }) });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const expected = { p99Ms: 50, maxErrorRate: 0.001, headroom: 0.3, minReplicas: 2, unitCost: 1, errorRateMargin: 0.005, bakeSeconds: 30 };
      assert.deepEqual(created.body.serving, expected);
      assert.deepEqual((await server.call('GET', `/model-types/${name}`)).body.serving, expected);
      const patched = await server.call('PATCH', `/model-types/${name}`, { token: alice, body: { serving: { headroom: 0.5 } }, headers: { 'if-match': `"${created.body.version}"` } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.serving, { ...expected, headroom: 0.5 });
      // A type written without them has none stored; readers take the defaults (servingSettingsOf).
      const plain = (await server.call('GET', `/model-types/${TYPE_B}`)).body;
      assert.equal(plain.serving, undefined);
    });

    test('bad values are rejected with the path of the field', async () => {
      const teamV = (await team('team-b')).version;
      const cases: Array<[string, string, unknown, string]> = [
        ['PATCH', '/teams/team-b', { quota: -1 }, 'quota'],
        ['PATCH', '/teams/team-b', { quota: 'ten' }, 'quota'],
        ['PATCH', '/teams/team-b', { launchPolicy: 'whenever' }, 'launchPolicy'],
        ['POST', '/teams', { ...sample.team('team-c'), quota: -5 }, 'quota'],
        ['POST', '/model-types', sample.modelType('ig_stories_main_mtml', 'team-b', { serving: { p99Ms: 0 } }), 'serving.p99Ms'],
        ['POST', '/model-types', sample.modelType('ig_stories_main_mtml', 'team-b', { serving: { minReplicas: 1.5 } }), 'serving.minReplicas'],
        ['POST', '/model-types', sample.modelType('ig_stories_main_mtml', 'team-b', { serving: { maxErrorRate: 2 } }), 'serving.maxErrorRate'],
        ['POST', '/model-types', sample.modelType('ig_stories_main_mtml', 'team-b', { serving: { p99: 40 } }), 'serving.p99'],
      ];
      for (const [method, path, body, field] of cases) {
        const headers: Record<string, string> = method === 'PATCH' ? { 'if-match': `"${teamV}"` } : {};
        const response = await server.call(method, path, { body, headers });
        assertError(response, { status: 400, code: 'invalid_input', paths: [field] });
      }
      const unknownField = await server.call('POST', '/model-types', { body: sample.modelType('ig_stories_main_mtml', 'team-b', { serving: { p99: 40 } }) });
      assert.match(JSON.stringify(unknownField.body), /did you mean 'p99Ms'/);
      assert.equal((await team('team-b')).version, teamV);
      assert.equal((await server.call('GET', '/teams/team-c')).status, 404);
      assert.equal((await server.call('GET', '/model-types/ig_stories_main_mtml')).status, 404);
    });

    test('teams stored before quotas existed read with the defaults, and a config plan sees no change in them', async () => {
      await seed(server, { teams: [sample.team('team-old')] });
      // The document as it was stored before the fields existed.
      const { name, description, oncallRotation } = sample.team('team-old');
      await server.fleet.database.db.updateTable('teams').set({ doc: JSON.stringify({ name, description, oncallRotation }) }).where('name', '=', 'team-old').execute();
      const old = await team('team-old');
      assert.equal(old.quota, null);
      assert.equal(old.launchPolicy, 'auto_within_quota');
      const plan = await server.call('POST', '/apply', { body: { documents: [{ kind: 'team', input: sample.team('team-old') }], dryRun: true, prune: false } });
      assert.equal(plan.status, 200, JSON.stringify(plan.body));
      assert.deepEqual(plan.body.changes, []);
      const pool = (await server.call('GET', '/teams/team-old/quota')).body;
      assert.deepEqual([pool.quota, pool.used, pool.free], [null, 0, null]);
    });

    test('config files carry the quota: an admin applies it; a member applying a file without it is refused', async () => {
      const doc = { ...sample.team('team-a'), description: 'Team A ranks alpha and gamma feeds', oncallRotation: 'team-a-primary' };
      const applied = await server.call('POST', '/apply', { body: { documents: [{ kind: 'team', input: { ...doc, quota: 60, launchPolicy: 'manual' } }], dryRun: false, prune: false } });
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      assert.deepEqual(applied.body.changes[0].fields.map((f: { path: string }) => f.path).sort(), ['/launchPolicy', '/quota']);
      const byMember = await server.call('POST', '/apply', { token: alice, body: { documents: [{ kind: 'team', input: doc, source: 'teams.yaml:1' }], dryRun: true, prune: false } });
      assertError(byMember, { status: 403, code: 'forbidden', detailMessage: /keep quota: 60/ });
      assert.ok(byMember.body.error.details.some((d: { path: string }) => d.path.startsWith('teams.yaml:1')), JSON.stringify(byMember.body));
      const stored = await team('team-a');
      assert.deepEqual([stored.quota, stored.launchPolicy], [60, 'manual']);
    });
  });
});
