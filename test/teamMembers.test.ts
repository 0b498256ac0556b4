import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';
import { assertError } from './registryTestKit.js';

forEachDatabase((db) => {
  describe(`a team's members on ${db.name}`, () => {
    let server: TestServer;
    let viewer: string;

    before(async () => {
      server = await TestServer.start(db);
      await seed(server, { teams: [sample.team('feed-ranking'), sample.team('stories-ranking'), sample.team('quiet-team')] });
      await server.token('zoe', 'member', 'feed-ranking');
      await server.token('alice', 'member', 'feed-ranking');
      await server.token('gone', 'member', 'feed-ranking');
      await server.token('sam', 'member', 'stories-ranking');
      await server.token('ops-admin', 'admin');
      viewer = await server.token('night-watch', 'viewer');
      await server.token('feed-ingest', 'ingest');
      assert.equal((await server.call('DELETE', '/tokens/gone')).status, 204);
    });
    after(() => server.close());

    test("lists the team's member tokens that are not revoked, by name, with role and issue time only", async () => {
      const response = await server.call('GET', '/teams/feed-ranking/members');
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(
        response.body.items.map((m: { name: string; role: string }) => [m.name, m.role]),
        [
          ['alice', 'member'],
          ['zoe', 'member'],
        ],
      );
      for (const member of response.body.items) {
        assert.deepEqual(Object.keys(member).sort(), ['createdAt', 'name', 'role'], 'no secret, hash or id');
        assert.ok(!Number.isNaN(Date.parse(member.createdAt)), member.createdAt);
      }
      // The same names the team itself reports.
      assert.deepEqual((await server.call('GET', '/teams/feed-ranking')).body.members, ['alice', 'zoe']);
    });

    test('a team without members answers an empty list', async () => {
      const response = await server.call('GET', '/teams/quiet-team/members');
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { items: [] });
    });

    test('any signed-in token may read it, a viewer too; no token may not', async () => {
      const asViewer = await server.call('GET', '/teams/stories-ranking/members', { token: viewer });
      assert.equal(asViewer.status, 200);
      assert.deepEqual(asViewer.body.items.map((m: { name: string }) => m.name), ['sam']);
      assertError(await server.call('GET', '/teams/stories-ranking/members', { token: null }), { status: 401, code: 'unauthorized' });
    });

    test("an unknown team is the registry's not_found", async () => {
      assertError(await server.call('GET', '/teams/no-such-team/members', { token: viewer }), { status: 404, code: 'not_found', message: /team 'no-such-team' does not exist/ });
    });

    test('the endpoint is in the OpenAPI document', async () => {
      const doc = (await server.call('GET', '/openapi.json')).body;
      const path = doc.paths['/api/v1/teams/{name}/members'];
      assert.ok(path?.get, Object.keys(doc.paths).join(', '));
      assert.ok(path.get.responses['200'] && path.get.responses['404']);
    });
  });
});
