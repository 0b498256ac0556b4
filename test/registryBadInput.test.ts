import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, forEachDatabase, sample, seed, TestServer } from './harness.js';
import { assertAbsent, assertError, assertNothingCreated, assertUntouched, rawCall, type Collection } from './registryTestKit.js';

const TYPE = 'ig_feed_main_mtml';
const MODEL = `${TYPE}:v1`;
const TEAM = 'feed-ranking';

/** Every entry the suite seeds: each failed write must leave all of them as they were. */
const seeded: Array<[Collection, string]> = [
  ['teams', TEAM],
  ['model-types', TYPE],
  ['models', MODEL],
];

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const mergePatch = 'application/merge-patch+json';

forEachDatabase((db) => {
  describe(`bad input to the registry on ${db.name}`, () => {
    let server: TestServer;
    before(async () => {
      server = await TestServer.start(db);
      await seed(server, {
        teams: [sample.team(TEAM)],
        modelTypes: [sample.modelType(TYPE, TEAM)],
        models: [sample.model(MODEL, { role: 'baseline', trafficShare: 0.5, thresholds: { PLIKE: { calibration: { min: 0.9, max: 1.1 }, neMax: 0.95 } } })],
      });
    });
    after(() => server.close());

    /** Each seeded entry is at version 1; a write must leave it there. */
    const untouched = <T>(write: () => Promise<T>) => assertUntouched(server, seeded, write);

    describe('body encoding', () => {
      test('malformed JSON is a 400 that says the JSON is broken and where', async () => {
        const created = await assertNothingCreated(
          server,
          'models',
          `${TYPE}:v2`,
          () => server.call('POST', '/models', { raw: `{"id": "${TYPE}:v2", "role": "experiment",` }),
          seeded,
        );
        assertError(created, { status: 400, code: 'invalid_input', message: [/not valid JSON/, /JSON/], paths: ['(body)'] });

        const patched = await untouched(() =>
          server.call('PATCH', `/models/${MODEL}`, { raw: "{'trafficShare': 0.2}", contentType: mergePatch, headers: { 'if-match': '"1"' } }),
        );
        assertError(patched, { status: 400, code: 'invalid_input', message: /JSON/ });

        const put = await untouched(() => server.call('PUT', `/model-types/${TYPE}`, { raw: '{"name": "ig_feed_main_mtml"} trailing', headers: { 'if-match': '"1"' } }));
        assertError(put, { status: 400, code: 'invalid_input', message: /JSON/ });
      });

      test('a body that is not JSON by Content-Type is a 400 naming the Content-Type to use', async () => {
        for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
          const response = await assertNothingCreated(
            server,
            'teams',
            'search-ranking',
            () => server.call('POST', '/teams', { body: sample.team('search-ranking'), contentType }),
            seeded,
          );
          assertError(response, { status: 400, code: 'invalid_input', message: [/Content-Type: application\/json/, new RegExp(contentType.replace('/', '\\/'))] });
        }
        // No Content-Type at all.
        const bare = await untouched(() =>
          rawCall(server, 'POST', '/teams', { headers: auth, body: new Blob([JSON.stringify(sample.team('search-ranking'))]) }),
        );
        assertError(bare, { status: 400, code: 'invalid_input', message: /Content-Type/ });
        await assertAbsent(server, 'teams', 'search-ranking');

        const patched = await untouched(() =>
          server.call('PATCH', `/teams/${TEAM}`, { body: { description: 'x' }, contentType: 'text/plain', headers: { 'if-match': '"1"' } }),
        );
        assertError(patched, { status: 400, code: 'invalid_input', message: /Content-Type/ });
      });

      test('an empty or blank body is a 400 asking for a JSON document', async () => {
        for (const raw of ['', '   \n']) {
          const created = await untouched(() => server.call('POST', '/models', { raw }));
          assertError(created, { status: 400, code: 'invalid_input', message: [/body/, /JSON/] });
          const patched = await untouched(() => server.call('PATCH', `/models/${MODEL}`, { raw, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
          assertError(patched, { status: 400, code: 'invalid_input', message: [/body/, /JSON/] });
        }
        const none = await untouched(() => rawCall(server, 'POST', '/models', { headers: { ...auth, 'content-type': 'application/json' } }));
        assertError(none, { status: 400, code: 'invalid_input', message: /JSON/ });
      });

      test('JSON that is not an object is a 400, for creates and merge patches alike', async () => {
        for (const raw of ['null', '[]', '"ig_feed_main_mtml:v2"', '42']) {
          const created = await untouched(() => server.call('POST', '/models', { raw }));
          assertError(created, { status: 400, code: 'invalid_input', paths: ['id'] });
          const patched = await untouched(() => server.call('PATCH', `/models/${MODEL}`, { raw, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
          assertError(patched, { status: 400, code: 'invalid_input', message: [/JSON object/, /PUT/], paths: ['(body)'] });
        }
      });

      test('a body over 1 MiB is a 413, declared or streamed without a length', async () => {
        const huge = sample.model(`${TYPE}:v2`, { tags: [], extended: { blob: 'x'.repeat(1024 * 1024 + 10) } });
        const declared = await assertNothingCreated(server, 'models', `${TYPE}:v2`, () => server.call('POST', '/models', { body: huge }), seeded);
        assertError(declared, { status: 413, code: 'payload_too_large', message: [/larger than 1048576 bytes/, /split/] });

        const text = JSON.stringify(huge);
        const streamed = await assertNothingCreated(
          server,
          'models',
          `${TYPE}:v2`,
          () =>
            rawCall(server, 'POST', '/models', {
              headers: { ...auth, 'content-type': 'application/json' },
              duplex: 'half',
              body: new ReadableStream({
                start(controller) {
                  const bytes = new TextEncoder().encode(text);
                  for (let offset = 0; offset < bytes.length; offset += 64 * 1024) controller.enqueue(bytes.subarray(offset, offset + 64 * 1024));
                  controller.close();
                },
              }),
            }),
          seeded,
        );
        assertError(streamed, { status: 413, code: 'payload_too_large' });

        const patched = await untouched(() =>
          server.call('PATCH', `/models/${MODEL}`, { body: { extended: { blob: 'y'.repeat(1024 * 1024 + 1) } }, contentType: mergePatch, headers: { 'if-match': '"1"' } }),
        );
        assertError(patched, { status: 413, code: 'payload_too_large' });

        // Just under the limit is read (and then judged on its content, here: fine).
        const fits = await server.call('POST', '/models', { body: sample.model(`${TYPE}:v3`, { role: 'shadow', trafficShare: 0, extended: { blob: 'z'.repeat(1000 * 1000) } }) });
        assert.equal(fits.status, 201, JSON.stringify(fits.body).slice(0, 500));
        const removed = await server.call('DELETE', `/models/${TYPE}:v3`, { headers: { 'if-match': '"1"' } });
        assert.equal(removed.status, 204);
      });
    });

    describe('fields', () => {
      test('wrong field types are 400s with the path of each field', async () => {
        const model = await assertNothingCreated(
          server,
          'models',
          `${TYPE}:v2`,
          () => server.call('POST', '/models', { body: sample.model(`${TYPE}:v2`, { trafficShare: 'high', assets: {}, tags: 'a' }) }),
          seeded,
        );
        const error = assertError(model, { status: 400, code: 'invalid_input', paths: ['trafficShare', 'assets', 'tags'], detailMessage: /number/ });
        assert.match(error.message, /trafficShare: /, 'the message names the field');

        const type = await assertNothingCreated(
          server,
          'model-types',
          'ig_reels_tab_dlrm',
          () => server.call('POST', '/model-types', { body: sample.modelType('ig_reels_tab_dlrm', TEAM, { tasks: 'PLIKE', criticality: 'TIER9', oncall: { rotation: 'x', coverage: 24 } }) }),
          seeded,
        );
        assertError(type, { status: 400, code: 'invalid_input', paths: ['tasks', 'criticality', 'oncall.coverage'], detailMessage: /array/ });

        const nested = await untouched(() =>
          server.call('PATCH', `/models/${MODEL}`, {
            body: { thresholds: { PLIKE: { calibration: { min: 1.2, max: 'one' } } } },
            contentType: mergePatch,
            headers: { 'if-match': '"1"' },
          }),
        );
        assertError(nested, { status: 400, code: 'invalid_input', paths: ['thresholds.PLIKE.calibration.max'] });

        const outOfRange = await untouched(() => server.call('PATCH', `/models/${MODEL}`, { body: { trafficShare: 1.5 }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(outOfRange, { status: 400, code: 'invalid_input', paths: ['trafficShare'], detailMessage: /1/ });

        const badRole = await untouched(() => server.call('PATCH', `/models/${MODEL}`, { body: { role: 'champion' }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(badRole, { status: 400, code: 'invalid_input', paths: ['role'], detailMessage: /baseline/ });
      });

      test('a missing required field is reported as missing, by name', async () => {
        const { role: _role, ...noRole } = sample.model(`${TYPE}:v2`);
        const response = await assertNothingCreated(server, 'models', `${TYPE}:v2`, () => server.call('POST', '/models', { body: noRole }), seeded);
        assertError(response, { status: 400, code: 'invalid_input', paths: ['role'], detailMessage: /missing required field 'role'/ });

        const removed = await untouched(() => server.call('PATCH', `/model-types/${TYPE}`, { body: { funnelStage: null }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(removed, { status: 400, code: 'invalid_input', paths: ['funnelStage'], detailMessage: /missing required field 'funnelStage'/ });
      });

      test('unknown fields at the root and nested are 400s at their own path, with a suggestion', async () => {
        const root = await assertNothingCreated(
          server,
          'models',
          `${TYPE}:v2`,
          () => server.call('POST', '/models', { body: { ...sample.model(`${TYPE}:v2`), trafficShar: 0.2 } }),
          seeded,
        );
        assertError(root, { status: 400, code: 'invalid_input', paths: ['trafficShar'], detailMessage: [/unknown field 'trafficShar'/, /did you mean 'trafficShare'/] });

        const nestedType = sample.modelType('ig_reels_tab_dlrm', TEAM, {
          tasks: [{ name: 'PLIKE', descripton: 'probability of a like' }],
          oncall: { rotaton: 'x', coverage: 'business_hours' },
        });
        const nested = await assertNothingCreated(server, 'model-types', 'ig_reels_tab_dlrm', () => server.call('POST', '/model-types', { body: nestedType }), seeded);
        const error = assertError(nested, {
          status: 400,
          code: 'invalid_input',
          paths: ['tasks[0].descripton'],
          detailMessage: [/unknown field 'descripton'/, /did you mean 'description'/],
        });
        assert.ok(error.details.some((d) => d.path === 'oncall.rotaton' && /did you mean 'rotation'/.test(d.message)), JSON.stringify(error));
        assert.match(error.message, /tasks\[0\]\.descripton/);

        const inPatch = await untouched(() =>
          server.call('PATCH', `/models/${MODEL}`, { body: { thresholds: { PLIKE: { neMaxx: 0.9 } } }, contentType: mergePatch, headers: { 'if-match': '"1"' } }),
        );
        assertError(inPatch, { status: 400, code: 'invalid_input', paths: ['thresholds.PLIKE.neMaxx'], detailMessage: /did you mean 'neMax'/ });

        // Bookkeeping is the server's: a writer cannot set it.
        const bookkeeping = await untouched(() => server.call('PATCH', `/models/${MODEL}`, { body: { version: 7 }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(bookkeeping, { status: 400, code: 'invalid_input', paths: ['version'] });
      });

      test('a __proto__ member is an unknown field, not a way to smuggle values past the schema', async () => {
        const created = await assertNothingCreated(
          server,
          'models',
          `${TYPE}:v2`,
          () => server.call('POST', '/models', { raw: `{"id":"${TYPE}:v2","role":"experiment","__proto__":{"trafficShare":0.3}}` }),
          seeded,
        );
        assertError(created, { status: 400, code: 'invalid_input', paths: ['__proto__'] });

        const patched = await untouched(() =>
          server.call('PATCH', `/models/${MODEL}`, { raw: '{"tags": null, "__proto__": {"tags": ["smuggled"]}}', contentType: mergePatch, headers: { 'if-match': '"1"' } }),
        );
        assertError(patched, { status: 400, code: 'invalid_input', paths: ['__proto__'] });
      });
    });

    describe('names and ids', () => {
      test('model type names outside the grammar are 400s that show the grammar', async () => {
        for (const name of ['ig_mtml', 'IG_Feed_Main_MTML', 'ig-feed-main-mtml', 'ig__feed_mtml', '']) {
          const response = await assertNothingCreated(server, 'model-types', name || '_empty_', () => server.call('POST', '/model-types', { body: sample.modelType(name, TEAM) }), seeded);
          assertError(response, { status: 400, code: 'invalid_input', paths: ['name'] });
          if (name) assert.match(response.body.error.message, /<app>_<surface>\[_<subsurface>\.\.\.\]_<architecture>/, name);
        }
      });

      test("an unknown app gets a 'did you mean' and the known apps", async () => {
        const response = await assertNothingCreated(server, 'model-types', 'igg_feed_main_mtml', () => server.call('POST', '/model-types', { body: sample.modelType('igg_feed_main_mtml', TEAM) }), seeded);
        assertError(response, { status: 400, code: 'invalid_input', paths: ['name'], detailMessage: [/unknown app 'igg'/, /did you mean 'ig'\?/, /known: ig, fb/] });
      });

      test('an unknown architecture is named, with the known ones', async () => {
        const response = await assertNothingCreated(server, 'model-types', 'ig_feed_main_xgboost', () => server.call('POST', '/model-types', { body: sample.modelType('ig_feed_main_xgboost', TEAM) }), seeded);
        assertError(response, { status: 400, code: 'invalid_input', paths: ['name'], detailMessage: [/unknown architecture 'xgboost'/, /mtml/] });
        const typo = await assertNothingCreated(server, 'model-types', 'ig_feed_main_transfomer', () =>
          server.call('POST', '/model-types', { body: sample.modelType('ig_feed_main_transfomer', TEAM) }),
        seeded);
        assertError(typo, { status: 400, code: 'invalid_input', paths: ['name'], detailMessage: /did you mean 'transformer'\?/ });
      });

      test('a model id without a version, or with a modelType that disagrees, is a 400', async () => {
        for (const id of [TYPE, `${TYPE}:`, `${TYPE}:v 2`]) {
          const response = await assertNothingCreated(server, 'models', id, () => server.call('POST', '/models', { body: sample.model(id) }), seeded);
          assertError(response, { status: 400, code: 'invalid_input', paths: ['id'], detailMessage: /<modelType>:<version>/ });
        }
        const unknownApp = await assertNothingCreated(server, 'models', 'zz_feed_main_mtml:v1', () => server.call('POST', '/models', { body: sample.model('zz_feed_main_mtml:v1') }), seeded);
        assertError(unknownApp, { status: 400, code: 'invalid_input', paths: ['id'], detailMessage: /unknown app 'zz'/ });

        const disagree = await assertNothingCreated(
          server,
          'models',
          `${TYPE}:v2`,
          () => server.call('POST', '/models', { body: sample.model(`${TYPE}:v2`, { modelType: 'ig_reels_tab_dlrm' }) }),
          seeded,
        );
        assertError(disagree, { status: 400, code: 'invalid_input', paths: ['modelType'], detailMessage: [/disagrees with id/, new RegExp(`use '${TYPE}' or omit modelType`)] });
      });

      test('PATCH or PUT cannot change the name or id; they say to create a new entry', async () => {
        const renamed = await untouched(() => server.call('PATCH', `/model-types/${TYPE}`, { body: { name: 'ig_feed_other_mtml' }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(renamed, { status: 400, code: 'invalid_input', paths: ['name'], detailMessage: [/cannot change/, /create a new model type/] });
        await assertAbsent(server, 'model-types', 'ig_feed_other_mtml');

        const reId = await untouched(() => server.call('PATCH', `/models/${MODEL}`, { body: { id: `${TYPE}:v9` }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(reId, { status: 400, code: 'invalid_input', paths: ['id'], detailMessage: /cannot change/ });
        await assertAbsent(server, 'models', `${TYPE}:v9`);

        const teamRename = await untouched(() => server.call('PATCH', `/teams/${TEAM}`, { body: { name: 'ads-ranking' }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(teamRename, { status: 400, code: 'invalid_input', paths: ['name'] });

        const dropName = await untouched(() => server.call('PATCH', `/teams/${TEAM}`, { body: { name: null }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(dropName, { status: 400, code: 'invalid_input', paths: ['name'] });

        const put = await untouched(() => server.call('PUT', `/models/${MODEL}`, { body: sample.model(`${TYPE}:v9`, { role: 'baseline', trafficShare: 0.5 }), headers: { 'if-match': '"1"' } }));
        assertError(put, { status: 400, code: 'invalid_input', paths: ['id'], detailMessage: /cannot change/ });
        await assertAbsent(server, 'models', `${TYPE}:v9`);
      });
    });

    describe('references', () => {
      test('a model type owned by an unknown team is a 409 naming the team', async () => {
        const response = await assertNothingCreated(
          server,
          'model-types',
          'ig_reels_tab_dlrm',
          () => server.call('POST', '/model-types', { body: sample.modelType('ig_reels_tab_dlrm', 'ghost-team') }),
          seeded,
        );
        assertError(response, {
          status: 409,
          code: 'conflict',
          message: /team 'ghost-team' does not exist/,
          paths: ['modelTypes.ig_reels_tab_dlrm.ownerTeam'],
          detailMessage: /create it first/,
        });
        const moved = await untouched(() => server.call('PATCH', `/model-types/${TYPE}`, { body: { ownerTeam: 'ghost-team' }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(moved, { status: 409, code: 'conflict', paths: [`modelTypes.${TYPE}.ownerTeam`] });
      });

      test('a model of an unknown model type is a 409 that says to create the type first', async () => {
        const response = await assertNothingCreated(server, 'models', 'ig_reels_tab_dlrm:v1', () => server.call('POST', '/models', { body: sample.model('ig_reels_tab_dlrm:v1') }), seeded);
        assertError(response, {
          status: 409,
          code: 'conflict',
          message: /model type 'ig_reels_tab_dlrm' does not exist/,
          paths: ['modelTypes.ig_reels_tab_dlrm'],
          detailMessage: /create the model type first/,
        });
        await assertAbsent(server, 'model-types', 'ig_reels_tab_dlrm');
      });

      test('creating what exists is a 409 that says how to update it', async () => {
        const response = await untouched(() => server.call('POST', '/models', { body: sample.model(MODEL, { role: 'experiment' }) }));
        assertError(response, { status: 409, code: 'conflict', message: [/already exists \(version 1\)/, /PATCH/, /If-Match: "1"/], paths: ['id'] });
      });
    });

    describe('preconditions', () => {
      test('a stale If-Match is a 412 that gives the current version', async () => {
        for (const [method, path, body] of [
          ['PATCH', `/models/${MODEL}`, { trafficShare: 0.4 }],
          ['PUT', `/models/${MODEL}`, sample.model(MODEL, { role: 'baseline', trafficShare: 0.4 })],
          ['DELETE', `/models/${MODEL}`, undefined],
          ['PATCH', `/model-types/${TYPE}`, { description: 'stale' }],
          ['DELETE', `/teams/${TEAM}`, undefined],
        ] as const) {
          const response = await untouched(() =>
            server.call(method, path, { ...(body ? { body } : {}), ...(method === 'PATCH' ? { contentType: mergePatch } : {}), headers: { 'if-match': '"7"' } }),
          );
          assertError(response, { status: 412, code: 'precondition_failed', message: [/is at version 1, not 7/, /read it again and retry/] });
        }
      });

      test('a write without If-Match is a 428 that shows the header to send', async () => {
        for (const [method, path, body] of [
          ['PATCH', `/models/${MODEL}`, { trafficShare: 0.4 }],
          ['PUT', `/model-types/${TYPE}`, sample.modelType(TYPE, TEAM)],
          ['DELETE', `/models/${MODEL}`, undefined],
          ['DELETE', `/teams/${TEAM}`, undefined],
        ] as const) {
          const response = await untouched(() => server.call(method, path, { ...(body ? { body } : {}), ...(method === 'PATCH' ? { contentType: mergePatch } : {}) }));
          assertError(response, { status: 428, code: 'precondition_required', message: [/If-Match/, /ETag/] });
        }
      });

      test('a garbage If-Match is rejected, not treated as absent', async () => {
        for (const header of ['abc', '"v1"', '"1", "2"', '""', '-1']) {
          const response = await untouched(() => server.call('PATCH', `/models/${MODEL}`, { body: { trafficShare: 0.4 }, contentType: mergePatch, headers: { 'if-match': header } }));
          assertError(response, { status: 412, code: 'precondition_failed', message: [/If-Match/, /ETag/] });
        }
        // A weak form of the right ETag is understood.
        await seed(server, { teams: [sample.team('etag-team')] });
        const weak = await server.call('PATCH', '/teams/etag-team', { body: { description: 'weak etag' }, contentType: mergePatch, headers: { 'if-match': 'W/"1"' } });
        assert.equal(weak.status, 200, JSON.stringify(weak.body));
        assert.equal(weak.headers.get('etag'), '"2"');
        const removed = await server.call('DELETE', '/teams/etag-team', { headers: { 'if-match': '"2"' } });
        assert.equal(removed.status, 204);
      });
    });

    describe('reads', () => {
      test('an unknown query parameter on a list is a 400 with a suggestion', async () => {
        const response = await server.call('GET', '/models?rol=baseline');
        assertError(response, { status: 400, code: 'invalid_input', paths: ['rol'], detailMessage: [/unknown field 'rol'/, /did you mean 'role'/] });
        assert.match(response.body.error.message, /query/);
        const types = await server.call('GET', '/model-types?ownerteam=feed-ranking');
        assertError(types, { status: 400, code: 'invalid_input', paths: ['ownerteam'], detailMessage: /did you mean 'ownerTeam'/ });
        const teams = await server.call('GET', '/teams?role=baseline');
        assertError(teams, { status: 400, code: 'invalid_input', paths: ['role'] });
        const badEnum = await server.call('GET', '/models?role=champion');
        assertError(badEnum, { status: 400, code: 'invalid_input', paths: ['role'] });
      });

      test('a cursor the server did not issue is a 400 that says to pass nextCursor unchanged', async () => {
        const first = await server.call('GET', '/teams?limit=1');
        assert.equal(first.status, 200);
        for (const cursor of ['not a cursor!', '%%%', '', 'x'.repeat(2000)]) {
          const response = await server.call('GET', `/models?cursor=${encodeURIComponent(cursor)}`);
          assertError(response, { status: 400, code: 'invalid_input', paths: ['cursor'] });
        }
        const response = await server.call('GET', '/model-types?cursor=bm90IGEgY3Vyc29y!');
        assertError(response, { status: 400, code: 'invalid_input', message: /nextCursor/, paths: ['cursor'] });
      });

      test('a limit out of range or not an integer is a 400 at limit', async () => {
        for (const limit of ['0', '-1', '1001', '1.5', 'ten', '']) {
          const response = await server.call('GET', `/models?limit=${encodeURIComponent(limit)}`);
          assertError(response, { status: 400, code: 'invalid_input', paths: ['limit'] });
        }
        assert.equal((await server.call('GET', '/models?limit=1000')).status, 200);
        assert.equal((await server.call('GET', '/models?limit=1')).status, 200);
      });

      test('an unknown route is a 404 with the error shape', async () => {
        for (const [method, path] of [
          ['GET', '/nope'],
          ['GET', '/models/a/b/c'],
          ['POST', '/model-types/ig_feed_main_mtml/promote'],
          ['PATCH', '/models'],
        ] as const) {
          const response = await untouched(() => server.call(method, path, method === 'GET' ? {} : { body: {} }));
          assertError(response, { status: 404, code: 'not_found', message: [new RegExp(`no route ${method}`), /openapi\.json/] });
        }
        // Outside /api/v1 too, except for GETs of page paths, which the console answers with its index.html.
        for (const [method, path] of [['POST', '/nope'], ['GET', '/api/nope'], ['DELETE', '/models/x']] as const) {
          const outside = await fetch(`${server.url}${path}`, { method });
          assert.equal(outside.status, 404, `${method} ${path}`);
          const body = (await outside.json()) as { error: { code: string } };
          assert.equal(body.error.code, 'not_found');
        }
      });

      test('a missing entry is a 404 that names it, for reads and writes', async () => {
        assertError(await server.call('GET', `/models/${TYPE}:v404`), { status: 404, code: 'not_found', message: new RegExp(`model '${TYPE}:v404' does not exist`) });
        assertError(await server.call('GET', '/model-types/ig_ghost_main_mtml'), { status: 404, code: 'not_found', message: /model type 'ig_ghost_main_mtml' does not exist/ });
        assertError(await server.call('GET', '/teams/ghost-team'), { status: 404, code: 'not_found', message: /team 'ghost-team' does not exist/ });
        assertError(await server.call('GET', '/teams/ghost-team/history'), { status: 404, code: 'not_found', message: /never existed/ });
        const patched = await untouched(() => server.call('PATCH', `/models/${TYPE}:v404`, { body: { trafficShare: 0 }, contentType: mergePatch, headers: { 'if-match': '"1"' } }));
        assertError(patched, { status: 404, code: 'not_found', message: /does not exist/ });
        const put = await untouched(() => server.call('PUT', `/models/${TYPE}:v404`, { body: sample.model(`${TYPE}:v404`), headers: { 'if-match': '"1"' } }));
        assertError(put, { status: 404, code: 'not_found' });
        const deleted = await untouched(() => server.call('DELETE', '/teams/ghost-team', { headers: { 'if-match': '"1"' } }));
        assertError(deleted, { status: 404, code: 'not_found' });
        await assertAbsent(server, 'models', `${TYPE}:v404`);
        const revert = await untouched(() => server.call('POST', `/models/${TYPE}:v404/revert`, { body: { version: 1 } }));
        assertError(revert, { status: 404, code: 'not_found', message: /no version 1/ });
        const badRevert = await untouched(() => server.call('POST', `/models/${MODEL}/revert`, { body: { version: 'one', why: 'x' } }));
        assertError(badRevert, { status: 400, code: 'invalid_input', paths: ['version', 'why'] });
      });
    });

    test('after all of the above, the seeded entries are still at version 1 with one change each', async () => {
      for (const [collection, key] of [['model-types', TYPE], ['models', MODEL]] as const) {
        const read = await server.call('GET', `/${collection}/${key}`);
        assert.equal(read.body.version, 1);
        const history = await server.call('GET', `/${collection}/${key}/history`);
        assert.deepEqual(history.body.items.map((c: { action: string }) => c.action), ['create']);
      }
      const models = await server.call('GET', '/models');
      assert.deepEqual(models.body.items.map((m: { id: string }) => m.id), [MODEL]);
      const types = await server.call('GET', '/model-types');
      assert.deepEqual(types.body.items.map((t: { name: string }) => t.name), [TYPE]);
      const teams = await server.call('GET', '/teams');
      assert.deepEqual(teams.body.items.map((t: { name: string }) => t.name), [TEAM]);
    });
  });
});
