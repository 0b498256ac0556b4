import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forEachDatabase, sample, seed, TestServer, type ApiResponse } from './harness.js';
import { assertAbsent, assertError, assertNothingCreated, assertUntouched, type Collection } from './registryTestKit.js';

const TEAM = 'feed-ranking';
const mergePatch = 'application/merge-patch+json';

/** A TIER0/TIER1 type carries 24x7 on-call and a justification naming business metrics. */
const highTier = (tier: 'TIER0' | 'TIER1') => ({
  criticality: tier,
  oncall: { rotation: `${TEAM}-oncall`, coverage: '24x7' },
  criticalityJustification: { businessMetrics: ['daily_active_users'], rationale: 'the main feed' },
});

forEachDatabase((db) => {
  describe(`registry invariants on ${db.name}`, () => {
    let server: TestServer;
    before(async () => {
      server = await TestServer.start(db);
      await seed(server, { teams: [sample.team(TEAM)] });
    });
    after(() => server.close());

    const patch = (collection: Collection, key: string, body: unknown, version: number) =>
      server.call('PATCH', `/${collection}/${key}`, { body, contentType: mergePatch, headers: { 'if-match': `"${version}"` } });
    const typeOf = async (name: string) => (await server.call('GET', `/model-types/${name}`)).body;
    const modelOf = async (id: string) => (await server.call('GET', `/models/${id}`)).body;
    const entries = (type: string, ...versions: string[]): Array<[Collection, string]> => [
      ['teams', TEAM],
      ['model-types', type],
      ...versions.map((v): [Collection, string] => ['models', `${type}:${v}`]),
    ];

    describe('baseline and holdout', () => {
      test('a second baseline in one type is a 409 naming both, and nothing is written', async () => {
        const type = 'ig_inv_baseline_mtml';
        await seed(server, {
          modelTypes: [sample.modelType(type)],
          models: [sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.5 }), sample.model(`${type}:v3`, { role: 'experiment', trafficShare: 0.1 })],
        });
        const created = await assertNothingCreated(
          server,
          'models',
          `${type}:v2`,
          () => server.call('POST', '/models', { body: sample.model(`${type}:v2`, { role: 'baseline', trafficShare: 0.1 }) }),
          entries(type, 'v1', 'v3'),
        );
        assertError(created, {
          status: 409,
          code: 'conflict',
          message: [new RegExp(`'${type}' would have 2 baseline models \\(${type}:v1, ${type}:v2\\)`), /at most one/, /another role/],
          paths: [`modelTypes.${type}`],
        });
        const promoted = await assertUntouched(server, entries(type, 'v1', 'v3'), () => patch('models', `${type}:v3`, { role: 'baseline' }, 1));
        assertError(promoted, { status: 409, code: 'conflict', message: /2 baseline models/ });
        assert.equal((await typeOf(type)).baselineModelId, `${type}:v1`);
      });

      test('a second holdout in one type is a 409, and nothing is written', async () => {
        const type = 'ig_inv_holdout_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)], models: [sample.model(`${type}:v1`, { role: 'holdout', trafficShare: 0.05 })] });
        const created = await assertNothingCreated(
          server,
          'models',
          `${type}:v2`,
          () => server.call('POST', '/models', { body: sample.model(`${type}:v2`, { role: 'holdout', trafficShare: 0.05 }) }),
          entries(type, 'v1'),
        );
        assertError(created, { status: 409, code: 'conflict', message: [/would have 2 holdout models/, /at most one/], paths: [`modelTypes.${type}`] });
        const type2 = await typeOf(type);
        assert.equal(type2.holdoutModelId, `${type}:v1`);
        assert.equal(type2.baselineModelId, null);
      });

      test('a type stating a baselineModelId that disagrees with model roles is a 409; an agreeing one is accepted', async () => {
        const type = 'ig_inv_stated_mtml';
        await seed(server, {
          modelTypes: [sample.modelType(type)],
          models: [sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.5 }), sample.model(`${type}:v2`, { role: 'experiment', trafficShare: 0.1 })],
        });
        const wrong = await assertUntouched(server, entries(type, 'v1', 'v2'), () => patch('model-types', type, { baselineModelId: `${type}:v2` }, 1));
        assertError(wrong, {
          status: 409,
          code: 'conflict',
          message: [new RegExp(`baselineModelId says '${type}:v2' but the baseline model of '${type}' is '${type}:v1'`), /role: baseline/],
          paths: [`modelTypes.${type}.baselineModelId`],
        });
        const wrongHoldout = await assertUntouched(server, entries(type, 'v1', 'v2'), () => patch('model-types', type, { holdoutModelId: `${type}:v2` }, 1));
        assertError(wrongHoldout, { status: 409, code: 'conflict', message: /the holdout model of .* is none/, paths: [`modelTypes.${type}.holdoutModelId`] });

        const agreeing = await patch('model-types', type, { baselineModelId: `${type}:v1`, description: 'stated baseline' }, 1);
        assert.equal(agreeing.status, 200, JSON.stringify(agreeing.body));
        assert.equal(agreeing.body.baselineModelId, `${type}:v1`);

        // A new type cannot state a baseline it does not have.
        const stated = await assertNothingCreated(
          server,
          'model-types',
          'ig_inv_statednew_mtml',
          () => server.call('POST', '/model-types', { body: sample.modelType('ig_inv_statednew_mtml', TEAM, { baselineModelId: 'ig_inv_statednew_mtml:v1' }) }),
          [['teams', TEAM]],
        );
        assertError(stated, { status: 409, code: 'conflict', message: /is none/, paths: ['modelTypes.ig_inv_statednew_mtml.baselineModelId'] });
      });
    });

    describe('traffic', () => {
      test('live traffic shares summing over 1 are a 409 that lists the shares', async () => {
        const type = 'ig_inv_traffic_mtml';
        await seed(server, {
          modelTypes: [sample.modelType(type)],
          models: [sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.6 }), sample.model(`${type}:v2`, { role: 'experiment', trafficShare: 0.3 })],
        });
        const created = await assertNothingCreated(
          server,
          'models',
          `${type}:v3`,
          () => server.call('POST', '/models', { body: sample.model(`${type}:v3`, { role: 'shadow', trafficShare: 0.2 }) }),
          entries(type, 'v1', 'v2'),
        );
        assertError(created, {
          status: 409,
          code: 'conflict',
          message: [/sum to 1\.1, more than 1/, new RegExp(`${type}:v1=0\\.6`), new RegExp(`${type}:v3=0\\.2`), /lower some shares/],
          paths: [`modelTypes.${type}`],
        });
        const raised = await assertUntouched(server, entries(type, 'v1', 'v2'), () => patch('models', `${type}:v2`, { trafficShare: 0.45 }, 1));
        assertError(raised, { status: 409, code: 'conflict', message: /sum to 1\.05/ });
        const replaced = await assertUntouched(server, entries(type, 'v1', 'v2'), () =>
          server.call('PUT', `/models/${type}:v1`, { body: sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.71 }), headers: { 'if-match': '"1"' } }),
        );
        assertError(replaced, { status: 409, code: 'conflict', message: /sum to 1\.01/ });
      });

      test('shares summing to exactly 1 are accepted; one more live share is not; a retired model at 0 is', async () => {
        const type = 'ig_inv_exact_mtml';
        await seed(server, {
          modelTypes: [sample.modelType(type)],
          models: [sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.6 }), sample.model(`${type}:v2`, { role: 'experiment', trafficShare: 0.4 })],
        });
        const over = await assertNothingCreated(server, 'models', `${type}:v3`, () =>
          server.call('POST', '/models', { body: sample.model(`${type}:v3`, { role: 'candidate', trafficShare: 0.000001 }) }),
        );
        assertError(over, { status: 409, code: 'conflict', message: /more than 1/ });
        const idle = await server.call('POST', '/models', { body: sample.model(`${type}:v4`, { role: 'candidate', trafficShare: 0 }) });
        assert.equal(idle.status, 201, JSON.stringify(idle.body));
        const retired = await server.call('POST', '/models', { body: sample.model(`${type}:v5`, { role: 'retired', trafficShare: 0 }) });
        assert.equal(retired.status, 201, JSON.stringify(retired.body));
        // Moving share between models in one PUT keeps the sum at 1.
        const shifted = await server.call('PUT', `/models/${type}:v2`, { body: sample.model(`${type}:v2`, { role: 'experiment', trafficShare: 0.4 }), headers: { 'if-match': '"1"' } });
        assert.equal(shifted.status, 200, JSON.stringify(shifted.body));
      });

      test('float sums like 0.1 + 0.2 + 0.7 are accepted as 1', async () => {
        const cases = [
          ['ig_inv_floata_mtml', [0.1, 0.2, 0.7]],
          ['ig_inv_floatb_mtml', [0.7, 0.2, 0.1]],
          ['ig_inv_floatc_mtml', [0.3, 0.3, 0.3, 0.1]],
          // Sums to 1.0000000000000002 in binary floating point, in the order the server adds them (by id).
          ['ig_inv_floatd_mtml', [0.34, 0.56, 0.1]],
        ] as const;
        assert.ok(cases.some(([, shares]) => shares.reduce((a: number, b) => a + b, 0) > 1), 'the premise: at least one case exceeds 1 in floating point');
        for (const [type, shares] of cases) {
          await seed(server, { modelTypes: [sample.modelType(type)] });
          for (const [index, share] of shares.entries()) {
            const response = await server.call('POST', '/models', { body: sample.model(`${type}:v${index + 1}`, { role: index === 0 ? 'baseline' : 'experiment', trafficShare: share }) });
            assert.equal(response.status, 201, `${type} v${index + 1}: ${JSON.stringify(response.body)}`);
          }
          const more = await assertNothingCreated(server, 'models', `${type}:v9`, () =>
            server.call('POST', '/models', { body: sample.model(`${type}:v9`, { role: 'experiment', trafficShare: 0.001 }) }),
          );
          assertError(more, { status: 409, code: 'conflict', message: /sum to 1\.001, more than 1/ });
        }
      });

      test('a retired model with traffic is a 409 that says to set it to 0', async () => {
        const type = 'ig_inv_retired_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)], models: [sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.5 })] });
        const created = await assertNothingCreated(
          server,
          'models',
          `${type}:v2`,
          () => server.call('POST', '/models', { body: sample.model(`${type}:v2`, { role: 'retired', trafficShare: 0.05 }) }),
          entries(type, 'v1'),
        );
        assertError(created, {
          status: 409,
          code: 'conflict',
          message: new RegExp(`retired model '${type}:v2' still has traffic share 0.05: set it to 0`),
          paths: [`models.${type}:v2.trafficShare`],
        });
        // Retiring the baseline without taking its traffic away is refused too, and the type keeps its baseline.
        const retire = await assertUntouched(server, entries(type, 'v1'), () => patch('models', `${type}:v1`, { role: 'retired' }, 1));
        assertError(retire, { status: 409, code: 'conflict', paths: [`models.${type}:v1.trafficShare`] });
        assert.equal((await typeOf(type)).baselineModelId, `${type}:v1`);
        const done = await patch('models', `${type}:v1`, { role: 'retired', trafficShare: 0 }, 1);
        assert.equal(done.status, 200, JSON.stringify(done.body));
        assert.equal((await typeOf(type)).baselineModelId, null);
      });
    });

    describe('tasks and thresholds', () => {
      const thresholds = { calibration: { min: 0.9, max: 1.1 }, neMax: 0.95 };

      test('thresholds for a task the type does not predict are a 409 that lists its tasks', async () => {
        const type = 'ig_inv_tasks_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)] });
        const created = await assertNothingCreated(
          server,
          'models',
          `${type}:v1`,
          () => server.call('POST', '/models', { body: sample.model(`${type}:v1`, { thresholds: { PLIKE: thresholds, PSHARE: thresholds } }) }),
          entries(type),
        );
        assertError(created, {
          status: 409,
          code: 'conflict',
          message: [new RegExp(`task 'PSHARE' is not a task of model type '${type}'`), /PLIKE, PCOMMENT/, /add it to the type or remove the threshold/],
          paths: [`models.${type}:v1.thresholds.PSHARE`],
        });
      });

      test('removing a task from a type while a model has thresholds for it is a 409; after the model drops them it works', async () => {
        const type = 'ig_inv_droptask_mtml';
        await seed(server, {
          modelTypes: [sample.modelType(type)],
          models: [sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.5, thresholds: { PLIKE: thresholds, PCOMMENT: thresholds } })],
        });
        const removed = await assertUntouched(server, entries(type, 'v1'), () => patch('model-types', type, { tasks: [{ name: 'PLIKE', description: 'probability of a like' }] }, 1));
        assertError(removed, {
          status: 409,
          code: 'conflict',
          message: new RegExp(`task 'PCOMMENT' is not a task of model type '${type}'`),
          paths: [`models.${type}:v1.thresholds.PCOMMENT`],
        });
        assert.deepEqual((await typeOf(type)).tasks.map((t: { name: string }) => t.name), ['PLIKE', 'PCOMMENT']);

        const dropped = await patch('models', `${type}:v1`, { thresholds: { PCOMMENT: null } }, 1);
        assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
        const retried = await patch('model-types', type, { tasks: [{ name: 'PLIKE', description: 'probability of a like' }] }, 1);
        assert.equal(retried.status, 200, JSON.stringify(retried.body));
        assert.deepEqual(retried.body.tasks.map((t: { name: string }) => t.name), ['PLIKE']);
      });
    });

    describe('criticality', () => {
      test('a model more critical than its type is a 409; the same tier or lower is accepted', async () => {
        const type = 'ig_inv_tier_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)], models: [sample.model(`${type}:v1`)] });
        const created = await assertNothingCreated(
          server,
          'models',
          `${type}:v2`,
          () => server.call('POST', '/models', { body: sample.model(`${type}:v2`, { criticality: 'TIER0' }) }),
          entries(type, 'v1'),
        );
        assertError(created, {
          status: 409,
          code: 'conflict',
          message: [/cannot be more critical \(TIER0\) than its type \(TIER2\)/, /raise the type instead, or omit the model's criticality/],
          paths: [`models.${type}:v2.criticality`],
        });
        const raised = await assertUntouched(server, entries(type, 'v1'), () => patch('models', `${type}:v1`, { criticality: 'TIER1' }, 1));
        assertError(raised, { status: 409, code: 'conflict', paths: [`models.${type}:v1.criticality`] });
        const same = await patch('models', `${type}:v1`, { criticality: 'TIER2' }, 1);
        assert.equal(same.status, 200, JSON.stringify(same.body));
        assert.equal(same.body.effectiveCriticality, 'TIER2');
      });

      test('TIER0/TIER1 without 24x7 coverage or business metrics is a 400 at each missing obligation', async () => {
        const name = 'ig_inv_hightier_mtml';
        const both = await assertNothingCreated(server, 'model-types', name, () =>
          server.call('POST', '/model-types', { body: sample.modelType(name, TEAM, { criticality: 'TIER1' }) }),
        [['teams', TEAM]]);
        assertError(both, {
          status: 400,
          code: 'invalid_input',
          message: [/TIER1 needs 24x7 on-call coverage \(is 'business_hours'\)/, /set coverage to 24x7 or choose TIER2 or lower/],
          paths: ['oncall.coverage', 'criticalityJustification.businessMetrics'],
        });
        const noMetrics = await assertNothingCreated(server, 'model-types', name, () =>
          server.call('POST', '/model-types', { body: sample.modelType(name, TEAM, { ...highTier('TIER0'), criticalityJustification: { businessMetrics: [], rationale: 'x' } }) }),
        );
        const error = assertError(noMetrics, { status: 400, code: 'invalid_input', paths: ['criticalityJustification.businessMetrics'], detailMessage: /business metrics/ });
        assert.deepEqual(error.details.map((d) => d.path), ['criticalityJustification.businessMetrics']);
        const noCoverage = await assertNothingCreated(server, 'model-types', name, () =>
          server.call('POST', '/model-types', { body: sample.modelType(name, TEAM, { ...highTier('TIER0'), oncall: { rotation: 'r', coverage: 'business_hours' } }) }),
        );
        assertError(noCoverage, { status: 400, code: 'invalid_input', paths: ['oncall.coverage'] });

        // Raising an existing type is held to the same obligations, and leaves it as it was.
        await seed(server, { modelTypes: [sample.modelType(name)] });
        const raised = await assertUntouched(server, entries(name), () => patch('model-types', name, { criticality: 'TIER1' }, 1));
        assertError(raised, { status: 400, code: 'invalid_input', paths: ['oncall.coverage', 'criticalityJustification.businessMetrics'] });
        const fulfilled = await patch('model-types', name, highTier('TIER1'), 1);
        assert.equal(fulfilled.status, 200, JSON.stringify(fulfilled.body));
        assert.equal(fulfilled.body.criticality, 'TIER1');
        // Dropping the justification of a TIER1 type is refused the same way.
        const dropped = await assertUntouched(server, entries(name), () => patch('model-types', name, { criticalityJustification: null }, 2));
        assertError(dropped, { status: 400, code: 'invalid_input', paths: ['criticalityJustification.businessMetrics'] });
      });

      test("lowering a type's tier needs no approval, and its models' effective criticality follows", async () => {
        const type = 'ig_inv_lower_mtml';
        await seed(server, {
          modelTypes: [sample.modelType(type, TEAM, highTier('TIER1'))],
          models: [sample.model(`${type}:v1`, { role: 'baseline', trafficShare: 0.5 }), sample.model(`${type}:v2`, { criticality: 'TIER3' })],
        });
        assert.equal((await modelOf(`${type}:v1`)).effectiveCriticality, 'TIER1');
        assert.equal((await modelOf(`${type}:v2`)).effectiveCriticality, 'TIER3');

        const member = await server.token('lower-member', 'member', TEAM);
        const lowered = await server.call('PATCH', `/model-types/${type}`, {
          body: { criticality: 'TIER2' },
          contentType: mergePatch,
          headers: { 'if-match': '"1"' },
          token: member,
        });
        assert.equal(lowered.status, 200, JSON.stringify(lowered.body));
        assert.equal(lowered.body.criticality, 'TIER2');
        assert.equal(lowered.body.pendingApproval, null);
        assert.equal((await modelOf(`${type}:v1`)).effectiveCriticality, 'TIER2');
        assert.equal((await modelOf(`${type}:v2`)).effectiveCriticality, 'TIER3');
        const pending = await server.call('GET', '/approvals?status=pending');
        assert.ok(!pending.body.items?.some((a: { modelType: string }) => a.modelType === type), JSON.stringify(pending.body));

        // Lowering below a model's own (lowered) tier is free too: the model's effective tier is capped at the type's.
        const lowest = await server.call('PATCH', `/model-types/${type}`, { body: { criticality: 'TIER4' }, contentType: mergePatch, headers: { 'if-match': '"2"' }, token: member });
        assert.equal(lowest.status, 200, JSON.stringify(lowest.body));
        assert.equal((await modelOf(`${type}:v1`)).effectiveCriticality, 'TIER4');
        assert.equal((await modelOf(`${type}:v2`)).effectiveCriticality, 'TIER4');
        const listed = await server.call('GET', `/models?modelType=${type}&criticality=TIER4`);
        assert.deepEqual(listed.body.items.map((m: { id: string; effectiveCriticality: string }) => `${m.id} ${m.effectiveCriticality}`), [`${type}:v1 TIER4`, `${type}:v2 TIER4`]);
        // The models themselves were not rewritten.
        assert.equal((await modelOf(`${type}:v2`)).version, 1);
        assert.equal((await modelOf(`${type}:v2`)).criticality, 'TIER3');
      });
    });

    describe('deletes that would leave dangling references', () => {
      test('deleting a type that still has models is a 409 that names them', async () => {
        const type = 'ig_inv_deltype_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)], models: [sample.model(`${type}:v1`), sample.model(`${type}:v2`, { role: 'shadow', trafficShare: 0 })] });
        const deleted = await assertUntouched(server, entries(type, 'v1', 'v2'), () => server.call('DELETE', `/model-types/${type}`, { headers: { 'if-match': '"1"' } }));
        assertError(deleted, {
          status: 409,
          code: 'conflict',
          message: [new RegExp(`still has 2 model\\(s\\) \\(${type}:v1, ${type}:v2\\)`), /delete its models first/],
          paths: [`modelTypes.${type}`],
        });
        assert.doesNotMatch(deleted.body.error.message, /create the model type first/, 'a delete is not told to create what it deletes');
        for (const v of ['v1', 'v2']) assert.equal((await server.call('DELETE', `/models/${type}:${v}`, { headers: { 'if-match': '"1"' } })).status, 204);
        assert.equal((await server.call('DELETE', `/model-types/${type}`, { headers: { 'if-match': '"1"' } })).status, 204);
      });

      test('deleting a team that still owns types is a 409 that names them', async () => {
        await seed(server, { teams: [sample.team('ads-ranking')], modelTypes: [sample.modelType('fb_ads_main_dlrm', 'ads-ranking'), sample.modelType('fb_ads_side_dlrm', 'ads-ranking')] });
        const deleted = await assertUntouched(
          server,
          [['teams', 'ads-ranking'], ['model-types', 'fb_ads_main_dlrm'], ['model-types', 'fb_ads_side_dlrm']],
          () => server.call('DELETE', '/teams/ads-ranking', { headers: { 'if-match': '"1"' } }),
        );
        assertError(deleted, {
          status: 409,
          code: 'conflict',
          message: [/team 'ads-ranking' still owns 2 model type\(s\) \(fb_ads_main_dlrm, fb_ads_side_dlrm\)/, /move or delete them first/],
          paths: ['teams.ads-ranking'],
        });
      });
    });

    describe('concurrent writers', () => {
      const tally = (responses: ApiResponse[]) => {
        const counts = new Map<number, number>();
        for (const r of responses) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
        return Object.fromEntries([...counts].sort(([a], [b]) => a - b));
      };

      test('10 PATCHes with the same If-Match: exactly one wins, the rest are 412, the history has one update', async () => {
        const type = 'ig_inv_racepatch_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)], models: [sample.model(`${type}:v1`, { trafficShare: 0.01 })] });
        for (const [collection, key] of [['models', `${type}:v1`], ['model-types', type], ['teams', TEAM]] as const) {
          const version = (await server.call('GET', `/${collection}/${key}`)).body.version as number;
          const historyBefore = (await server.call('GET', `/${collection}/${key}/history`)).body.items.length as number;
          const responses = await Promise.all(
            Array.from({ length: 10 }, (_, i) => patch(collection, key, collection === 'models' ? { trafficShare: (i + 2) / 100 } : { description: `writer ${i}` }, version)),
          );
          assert.deepEqual(tally(responses), { 200: 1, 412: 9 }, `${collection}: ${JSON.stringify(responses.map((r) => r.body))}`);
          for (const r of responses.filter((r) => r.status === 412)) assertError(r, { status: 412, code: 'precondition_failed', message: /read it again and retry/ });
          const winner = responses.find((r) => r.status === 200)!;
          const read = await server.call('GET', `/${collection}/${key}`);
          assert.equal(read.body.version, version + 1);
          assert.deepEqual(read.body, winner.body, 'the stored entry is the winner');
          const history = (await server.call('GET', `/${collection}/${key}/history`)).body.items;
          assert.equal(history.length, historyBefore + 1);
          assert.equal(history.at(-1).action, 'update');
        }
      });

      test('10 models racing to be the baseline of one type: exactly one is created, and the type has one baseline', async () => {
        const type = 'ig_inv_racebase_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)] });
        const ids = Array.from({ length: 10 }, (_, i) => `${type}:v${i + 1}`);
        const responses = await Promise.all(ids.map((id) => server.call('POST', '/models', { body: sample.model(id, { role: 'baseline', trafficShare: 0.5 }) })));
        const created = responses.filter((r) => r.status === 201);
        assert.equal(created.length, 1, JSON.stringify(tally(responses)));
        for (const r of responses.filter((r) => r.status !== 201)) {
          assert.ok(r.status === 409 || r.status === 412, `status ${r.status}: ${JSON.stringify(r.body)}`);
          assertError(r, r.status === 409 ? { status: 409, code: 'conflict' } : { status: 412, code: 'precondition_failed' });
        }
        const winner = created[0]!.body.id as string;
        assert.equal((await typeOf(type)).baselineModelId, winner);
        const baselines = await server.call('GET', `/models?modelType=${type}&role=baseline`);
        assert.deepEqual(baselines.body.items.map((m: { id: string }) => m.id), [winner]);
        const all = await server.call('GET', `/models?modelType=${type}`);
        assert.deepEqual(all.body.items.map((m: { id: string }) => m.id), [winner]);
        for (const id of ids.filter((id) => id !== winner)) await assertAbsent(server, 'models', id);
      });

      test('10 experiments racing for traffic: only as many as fit under a share of 1 are created', async () => {
        const type = 'ig_inv_raceshare_mtml';
        await seed(server, { modelTypes: [sample.modelType(type)], models: [sample.model(`${type}:v0`, { role: 'baseline', trafficShare: 0.5 })] });
        const responses = await Promise.all(
          Array.from({ length: 10 }, (_, i) => server.call('POST', '/models', { body: sample.model(`${type}:x${i}`, { role: 'experiment', trafficShare: 0.2 }) })),
        );
        assert.deepEqual(tally(responses), { 201: 2, 409: 8 });
        for (const r of responses.filter((r) => r.status === 409)) assertError(r, { status: 409, code: 'conflict', message: /more than 1/ });
        const all = await server.call('GET', `/models?modelType=${type}`);
        const sum = all.body.items.reduce((s: number, m: { trafficShare: number }) => s + m.trafficShare, 0);
        assert.ok(sum <= 1 + 1e-9, `live shares sum to ${sum}`);
        assert.equal(all.body.items.length, 3);
      });

      test('10 creates of the same team: exactly one is created, the rest are 409', async () => {
        const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => server.call('POST', '/teams', { body: { ...sample.team('race-team'), description: `creator ${i}` } })));
        assert.deepEqual(tally(responses), { 201: 1, 409: 9 });
        for (const r of responses.filter((r) => r.status === 409)) assertError(r, { status: 409, code: 'conflict' });
        const history = await server.call('GET', '/teams/race-team/history');
        assert.deepEqual(history.body.items.map((c: { action: string }) => c.action), ['create']);
      });
    });
  });
});
