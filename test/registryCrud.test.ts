import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';

forEachDatabase((db) => {
  describe(`registry entries on ${db.name}`, () => {
    let server: TestServer;
    before(async () => {
      server = await TestServer.start(db);
      await seed(server, { teams: [sample.team()] });
    });
    after(() => server.close());

    test('a model type is created with its parsed name, an ETag and a history', async () => {
      const created = await server.call('POST', '/model-types', { body: sample.modelType('ig_stories_tray_sub_mtml') });
      assert.equal(created.status, 201);
      assert.equal(created.headers.get('etag'), '"1"');
      assert.deepEqual(created.body.parsed, { app: 'ig', surface: 'stories', subsurfaces: ['tray', 'sub'], architecture: 'mtml' });
      assert.equal(created.body.baselineModelId, null);
      const read = await server.call('GET', '/model-types/ig_stories_tray_sub_mtml');
      assert.equal(read.status, 200);
      assert.equal(read.body.description, 'Ranks the main feed');
      const history = await server.call('GET', '/model-types/ig_stories_tray_sub_mtml/history');
      assert.equal(history.body.items.length, 1);
      assert.equal(history.body.items[0].action, 'create');
      assert.equal(history.body.items[0].actor, 'admin');
    });

    test('PATCH merges fields, bumps the version and records an RFC 6902 patch with the reason', async () => {
      await seed(server, { modelTypes: [sample.modelType('ig_reels_tab_dlrm')] });
      const patched = await server.call('PATCH', '/model-types/ig_reels_tab_dlrm', {
        body: { description: 'Ranks reels in the tab', tags: ['surface:reels'] },
        contentType: 'application/merge-patch+json',
        headers: { 'if-match': '"1"', 'x-change-reason': 'clarify purpose' },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.version, 2);
      assert.equal(patched.headers.get('etag'), '"2"');
      assert.deepEqual(patched.body.tags, ['surface:reels']);
      const history = await server.call('GET', '/model-types/ig_reels_tab_dlrm/history');
      const change = history.body.items[1];
      assert.equal(change.reason, 'clarify purpose');
      assert.equal(change.version, 2);
      assert.deepEqual(
        change.patch.map((op: { op: string; path: string }) => `${op.op} ${op.path}`).sort(),
        ['add /tags/0', 'replace /description'].sort(),
      );
      assert.equal(change.before.description, 'Ranks the main feed');
      assert.equal(change.after.description, 'Ranks reels in the tab');
    });

    test('models derive their type and the type derives its baseline and holdout from model roles', async () => {
      await seed(server, {
        modelTypes: [sample.modelType('ig_explore_grid_mtml')],
        models: [
          sample.model('ig_explore_grid_mtml:v1', { role: 'baseline', trafficShare: 0.9 }),
          sample.model('ig_explore_grid_mtml:v2', { role: 'holdout', trafficShare: 0.05 }),
        ],
      });
      const type = await server.call('GET', '/model-types/ig_explore_grid_mtml');
      assert.equal(type.body.baselineModelId, 'ig_explore_grid_mtml:v1');
      assert.equal(type.body.holdoutModelId, 'ig_explore_grid_mtml:v2');
      const model = await server.call('GET', '/models/ig_explore_grid_mtml:v1');
      assert.equal(model.body.modelType, 'ig_explore_grid_mtml');
      assert.equal(model.body.effectiveCriticality, 'TIER2');

      // Swapping the baseline in two writes: demote, then promote.
      const demote = await server.call('PATCH', '/models/ig_explore_grid_mtml:v1', { body: { role: 'retired', trafficShare: 0 }, headers: { 'if-match': '"1"' } });
      assert.equal(demote.status, 200, JSON.stringify(demote.body));
      assert.equal((await server.call('GET', '/model-types/ig_explore_grid_mtml')).body.baselineModelId, null);
      const promote = await server.call('POST', '/models', { body: sample.model('ig_explore_grid_mtml:v3', { role: 'baseline', trafficShare: 0.95 }) });
      assert.equal(promote.status, 201, JSON.stringify(promote.body));
      assert.equal((await server.call('GET', '/model-types/ig_explore_grid_mtml')).body.baselineModelId, 'ig_explore_grid_mtml:v3');
    });

    test('a lowered model criticality is kept; the effective tier never exceeds the type', async () => {
      await seed(server, { modelTypes: [sample.modelType('ig_search_typeahead_gbdt')] });
      const lowered = await server.call('POST', '/models', { body: sample.model('ig_search_typeahead_gbdt:v1', { criticality: 'TIER4' }) });
      assert.equal(lowered.status, 201);
      assert.equal(lowered.body.effectiveCriticality, 'TIER4');
      const raised = await server.call('POST', '/models', { body: sample.model('ig_search_typeahead_gbdt:v2', { criticality: 'TIER1' }) });
      assert.equal(raised.status, 409);
      assert.match(raised.body.error.message, /cannot be more critical \(TIER1\) than its type \(TIER2\)/);
    });

    test('PUT replaces, DELETE removes, history stays, and revert restores a deleted entry', async () => {
      await seed(server, { modelTypes: [sample.modelType('ig_comments_ranking_lr')], models: [sample.model('ig_comments_ranking_lr:v1', { tags: ['exp-a'] })] });
      const replaced = await server.call('PUT', '/models/ig_comments_ranking_lr:v1', {
        body: sample.model('ig_comments_ranking_lr:v1', { trafficShare: 0.2 }),
        headers: { 'if-match': '"1"' },
      });
      assert.equal(replaced.status, 200);
      assert.deepEqual(replaced.body.tags, []);
      const deleted = await server.call('DELETE', '/models/ig_comments_ranking_lr:v1', { headers: { 'if-match': '"2"' } });
      assert.equal(deleted.status, 204);
      assert.equal((await server.call('GET', '/models/ig_comments_ranking_lr:v1')).status, 404);
      const history = await server.call('GET', '/models/ig_comments_ranking_lr:v1/history');
      assert.deepEqual(history.body.items.map((c: { action: string }) => c.action), ['create', 'update', 'delete']);
      const revert = await server.call('POST', '/models/ig_comments_ranking_lr:v1/revert', { body: { version: 1, reason: 'deleted by mistake' } });
      assert.equal(revert.status, 200, JSON.stringify(revert.body));
      assert.deepEqual(revert.body.tags, ['exp-a']);
      assert.equal(revert.body.trafficShare, 0.1);
      assert.equal(revert.body.version, 4);
      const after = await server.call('GET', '/models/ig_comments_ranking_lr:v1/history');
      assert.equal(after.body.items.at(-1).action, 'revert');
      assert.equal(after.body.items.at(-1).reason, 'deleted by mistake');
      const missing = await server.call('POST', '/models/ig_comments_ranking_lr:v1/revert', { body: { version: 99 } });
      assert.equal(missing.status, 404);
    });

    test('assets are found by purpose: model type, kind or uri', async () => {
      await seed(server, {
        modelTypes: [sample.modelType('ig_notifications_push_dnn')],
        models: [
          sample.model('ig_notifications_push_dnn:v7', {
            assets: [
              { name: 'checkpoint', kind: 'checkpoint', uri: 'manifold://models/push/v7.pt' },
              { name: 'inference', kind: 'inference_service', uri: 'service://push-v7' },
            ],
          }),
        ],
      });
      const byUri = await server.call('GET', `/assets?uri=${encodeURIComponent('service://push-v7')}`);
      assert.deepEqual(byUri.body.items, [{ modelId: 'ig_notifications_push_dnn:v7', modelType: 'ig_notifications_push_dnn', name: 'inference', kind: 'inference_service', uri: 'service://push-v7' }]);
      const byType = await server.call('GET', '/assets?modelType=ig_notifications_push_dnn&kind=checkpoint');
      assert.equal(byType.body.items.length, 1);
    });

    test("model lists follow their type: a new owner or tier shows in the models' filters at once", async () => {
      await seed(server, {
        teams: [sample.team('explore-ranking')],
        modelTypes: [sample.modelType('ig_tagging_people_mtl')],
        models: [sample.model('ig_tagging_people_mtl:v1'), sample.model('ig_tagging_people_mtl:v2', { criticality: 'TIER3' })],
      });
      const ids = async (query: string) => (await server.call('GET', `/models?modelType=ig_tagging_people_mtl&${query}`)).body.items.map((m: { id: string }) => m.id);
      assert.deepEqual(await ids('ownerTeam=feed-ranking'), ['ig_tagging_people_mtl:v1', 'ig_tagging_people_mtl:v2']);
      assert.deepEqual(await ids('criticality=TIER2'), ['ig_tagging_people_mtl:v1']);
      const moved = await server.call('PATCH', '/model-types/ig_tagging_people_mtl', { body: { ownerTeam: 'explore-ranking', criticality: 'TIER4' }, headers: { 'if-match': '"1"' } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.deepEqual(await ids('ownerTeam=feed-ranking'), []);
      assert.deepEqual(await ids('ownerTeam=explore-ranking'), ['ig_tagging_people_mtl:v1', 'ig_tagging_people_mtl:v2']);
      assert.deepEqual(await ids('criticality=TIER4'), ['ig_tagging_people_mtl:v1', 'ig_tagging_people_mtl:v2']);
      assert.deepEqual(await ids('criticality=TIER3'), []);
    });

    test('teams list their member tokens', async () => {
      await server.token('alice', 'member', 'feed-ranking');
      const team = await server.call('GET', '/teams/feed-ranking');
      assert.deepEqual(team.body.members, ['alice']);
    });

    test('the OpenAPI document describes every route with named schemas', async () => {
      const response = await fetch(`${server.url}/api/v1/openapi.json`);
      assert.equal(response.status, 200);
      const doc = (await response.json()) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
      for (const path of ['/api/v1/teams', '/api/v1/model-types/{name}', '/api/v1/models/{id}/history', '/api/v1/changes', '/api/v1/approvals', '/api/v1/extension-schemas', '/api/v1/apply']) {
        assert.ok(doc.paths[path], `missing ${path}`);
      }
      for (const schema of ['ModelType', 'Model', 'Team', 'Error', 'ChangeRecord']) assert.ok(doc.components.schemas[schema], `missing schema ${schema}`);
    });
  });
});
