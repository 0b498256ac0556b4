import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createModelfleet, listen } from '../src/modelfleet.js';
import { forEachDatabase, sample, seed, TestServer, type ApiResponse, type TestDatabase } from './harness.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function assertErrorShape(response: ApiResponse, status: number, code: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(response.body.error.code, code);
  assert.equal(typeof response.body.error.message, 'string');
  assert.ok(response.body.error.message.length > 0);
  assert.ok(Array.isArray(response.body.error.details));
}

/** Plain fetch, for headers the harness client does not send. */
async function rawCall(server: TestServer, path: string, headers: Record<string, string>): Promise<ApiResponse> {
  const response = await fetch(`${server.url}/api/v1${path}`, { headers });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

forEachDatabase((db) => {
  describe(`authentication and authorization on ${db.name}`, () => {
    let server: TestServer;
    let alice: string; // member of team-a
    let bob: string; // member of team-b
    let viewer: string;
    let ingest: string;
    const typeA = 'ig_feed_alpha_mtml';
    const typeB = 'ig_feed_beta_mtml';

    before(async () => {
      server = await TestServer.start(db);
      await seed(server, {
        teams: [sample.team('team-a'), sample.team('team-b')],
        modelTypes: [sample.modelType(typeA, 'team-a'), sample.modelType(typeB, 'team-b')],
        models: [sample.model(`${typeA}:v1`), sample.model(`${typeB}:v1`)],
      });
      alice = await server.token('alice', 'member', 'team-a');
      bob = await server.token('bob', 'member', 'team-b');
      viewer = await server.token('vera', 'viewer');
      ingest = await server.token('ingester', 'ingest');
    });
    after(() => server.close());

    test('a request without a token gets 401 with the error shape', async () => {
      const response = await server.call('GET', '/teams', { token: null });
      assertErrorShape(response, 401, 'unauthorized');
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="modelfleet"');
      assert.match(response.body.error.message, /Bearer/);
      assert.deepEqual(response.body.error.details, []);
    });

    test('unknown and garbage tokens get 401', async () => {
      for (const token of ['garbage', 'mf_thisTokenWasNeverIssuedByTheServer000000', 'x'.repeat(40)]) {
        const response = await server.call('GET', '/teams', { token });
        assertErrorShape(response, 401, 'unauthorized');
        assert.match(response.body.error.message, /unknown or revoked/);
      }
    });

    test('an Authorization header that is not Bearer gets 401', async () => {
      const basic = await rawCall(server, '/teams', { authorization: `Basic ${Buffer.from(`admin:${alice}`).toString('base64')}` });
      assertErrorShape(basic, 401, 'unauthorized');
      assert.match(basic.body.error.message, /Bearer <token>/);
      const bare = await rawCall(server, '/teams', { authorization: alice });
      assertErrorShape(bare, 401, 'unauthorized');
    });

    test('viewer and ingest tokens read the registry but get 403 on every write', async () => {
      for (const [name, token] of [['vera', viewer], ['ingester', ingest]] as const) {
        const whoami = await server.call('GET', '/whoami', { token });
        assert.equal(whoami.status, 200);
        assert.equal(whoami.body.name, name);
        assert.equal((await server.call('GET', '/teams', { token })).status, 200);
        assert.equal((await server.call('GET', `/model-types/${typeA}`, { token })).status, 200);
        assert.equal((await server.call('GET', `/models/${typeA}:v1`, { token })).status, 200);
        assert.equal((await server.call('GET', '/changes', { token })).status, 200);

        const writes: ApiResponse[] = [
          await server.call('POST', '/teams', { token, body: sample.team(`${name}-team`) }),
          await server.call('POST', '/model-types', { token, body: sample.modelType('ig_feed_viewer_mtml', 'team-a') }),
          await server.call('POST', '/models', { token, body: sample.model(`${typeA}:v9`) }),
          await server.call('PATCH', `/model-types/${typeA}`, { token, body: { description: 'changed' }, headers: { 'if-match': '"1"' } }),
          await server.call('PATCH', '/teams/team-a', { token, body: { description: 'changed' }, headers: { 'if-match': '"1"' } }),
          await server.call('DELETE', `/models/${typeA}:v1`, { token, headers: { 'if-match': '"1"' } }),
        ];
        for (const response of writes) {
          assertErrorShape(response, 403, 'forbidden');
          assert.match(response.body.error.message, new RegExp(`role ${name === 'vera' ? 'viewer' : 'ingest'}`));
        }
      }
      // Nothing was written by the refused requests.
      assert.equal((await server.call('GET', `/models/${typeA}:v1`)).body.version, 1);
      assert.equal((await server.call('GET', '/teams/vera-team')).status, 404);
    });

    test("a member writes its own team's model types and models", async () => {
      const created = await server.call('POST', '/model-types', { token: alice, body: sample.modelType('ig_feed_gamma_mtml', 'team-a') });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const model = await server.call('POST', '/models', { token: alice, body: sample.model('ig_feed_gamma_mtml:v1') });
      assert.equal(model.status, 201, JSON.stringify(model.body));
      const patched = await server.call('PATCH', `/model-types/${typeA}`, {
        token: alice,
        body: { description: 'alpha feed, owned by team-a' },
        headers: { 'if-match': '"1"' },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const deleted = await server.call('DELETE', '/models/ig_feed_gamma_mtml:v1', { token: alice, headers: { 'if-match': '"1"' } });
      assert.equal(deleted.status, 204);
      const history = await server.call('GET', '/models/ig_feed_gamma_mtml:v1/history', { token: alice });
      assert.deepEqual(history.body.items.map((c: { actor: string }) => c.actor), ['alice', 'alice']);
    });

    test("a member gets 403 writing another team's entries, naming both teams", async () => {
      const attempts: ApiResponse[] = [
        await server.call('POST', '/model-types', { token: alice, body: sample.modelType('ig_feed_delta_mtml', 'team-b') }),
        await server.call('PATCH', `/model-types/${typeB}`, { token: alice, body: { description: 'taken over' }, headers: { 'if-match': '"1"' } }),
        await server.call('POST', '/models', { token: alice, body: sample.model(`${typeB}:v2`) }),
        await server.call('PATCH', `/models/${typeB}:v1`, { token: alice, body: { trafficShare: 0.2 }, headers: { 'if-match': '"1"' } }),
        await server.call('DELETE', `/models/${typeB}:v1`, { token: alice, headers: { 'if-match': '"1"' } }),
      ];
      for (const response of attempts) {
        assertErrorShape(response, 403, 'forbidden');
        assert.match(response.body.error.message, /team 'team-b'/);
        assert.match(response.body.error.message, /team 'team-a'/);
      }
      assert.equal((await server.call('GET', '/model-types/ig_feed_delta_mtml')).status, 404);
      assert.equal((await server.call('GET', `/model-types/${typeB}`)).body.version, 1);
      assert.equal((await server.call('GET', `/models/${typeB}:v1`)).body.trafficShare, 0.1);
    });

    test('a member cannot hand its model type to another team', async () => {
      const current = await server.call('GET', `/model-types/${typeA}`);
      const moved = await server.call('PATCH', `/model-types/${typeA}`, {
        token: alice,
        body: { ownerTeam: 'team-b', oncall: { rotation: 'team-b-oncall', coverage: 'business_hours' } },
        headers: { 'if-match': current.headers.get('etag')! },
      });
      assertErrorShape(moved, 403, 'forbidden');
      assert.match(moved.body.error.message, /team-b/);
      assert.match(moved.body.error.message, /team-a/);
      assert.equal((await server.call('GET', `/model-types/${typeA}`)).body.ownerTeam, 'team-a');
      // An admin may move it (and then alice no longer may write it).
      const byAdmin = await server.call('PATCH', '/model-types/ig_feed_gamma_mtml', {
        body: { ownerTeam: 'team-b' },
        headers: { 'if-match': '"1"' },
      });
      assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
      const later = await server.call('PATCH', '/model-types/ig_feed_gamma_mtml', { token: alice, body: { description: 'mine again?' }, headers: { 'if-match': '"2"' } });
      assert.equal(later.status, 403);
    });

    test('members cannot create or delete teams but can update their own', async () => {
      const create = await server.call('POST', '/teams', { token: alice, body: sample.team('team-c') });
      assertErrorShape(create, 403, 'forbidden');
      assert.match(create.body.error.message, /admin/);
      const own = await server.call('PATCH', '/teams/team-a', { token: alice, body: { description: 'Team A ranks alpha feeds' }, headers: { 'if-match': '"1"' } });
      assert.equal(own.status, 200, JSON.stringify(own.body));
      assert.equal(own.body.description, 'Team A ranks alpha feeds');
      const other = await server.call('PATCH', '/teams/team-b', { token: alice, body: { description: 'hijacked' }, headers: { 'if-match': '"1"' } });
      assertErrorShape(other, 403, 'forbidden');
      const remove = await server.call('DELETE', '/teams/team-a', { token: alice, headers: { 'if-match': '"2"' } });
      assertErrorShape(remove, 403, 'forbidden');
      assert.equal((await server.call('GET', '/teams/team-a')).status, 200);
      const byAdmin = await server.call('POST', '/teams', { body: sample.team('team-c') });
      assert.equal(byAdmin.status, 201);
    });

    test('only admins issue, list and revoke tokens', async () => {
      for (const token of [alice, viewer, ingest]) {
        assertErrorShape(await server.call('GET', '/tokens', { token }), 403, 'forbidden');
        assertErrorShape(await server.call('POST', '/tokens', { token, body: { name: 'sneaky', role: 'admin' } }), 403, 'forbidden');
        assertErrorShape(await server.call('DELETE', '/tokens/bob', { token }), 403, 'forbidden');
      }
      const list = await server.call('GET', '/tokens');
      assert.equal(list.status, 200);
      const names = list.body.items.map((t: { name: string }) => t.name);
      for (const name of ['admin', 'alice', 'bob', 'vera', 'ingester']) assert.ok(names.includes(name), `missing ${name}`);
      assert.ok(!names.includes('sneaky'));
      for (const item of list.body.items) {
        assert.deepEqual(Object.keys(item).sort(), ['createdAt', 'id', 'name', 'revokedAt', 'role', 'team']);
      }
      // bob still works: nobody revoked him.
      assert.equal((await server.call('GET', '/whoami', { token: bob })).status, 200);
    });

    test('a token is refused with 401 as soon as it is revoked', async () => {
      const secret = await server.token('short-lived', 'member', 'team-a');
      // Used once, so the 5 s authentication cache holds it.
      assert.equal((await server.call('GET', '/whoami', { token: secret })).body.name, 'short-lived');
      const revoked = await server.call('DELETE', '/tokens/short-lived');
      assert.equal(revoked.status, 204);
      const refused = await server.call('GET', '/whoami', { token: secret });
      assertErrorShape(refused, 401, 'unauthorized');
      const listed = (await server.call('GET', '/tokens')).body.items.find((t: { name: string }) => t.name === 'short-lived');
      assert.ok(listed.revokedAt, 'revokedAt is set');
      assert.equal((await server.call('DELETE', '/tokens/never-issued')).status, 404);
      // Revoking again changes nothing.
      assert.equal((await server.call('DELETE', '/tokens/short-lived')).status, 204);
      assertErrorShape(await server.call('GET', '/whoami', { token: secret }), 401, 'unauthorized');
      // The name stays reserved: it is the actor of its changes in the history.
      const reissue = await server.call('POST', '/tokens', { body: { name: 'short-lived', role: 'member', team: 'team-a' } });
      assertErrorShape(reissue, 409, 'conflict');
      assert.match(reissue.body.error.message, /was revoked/);
      assert.doesNotMatch(reissue.body.error.message, /revoke it first/);
      const duplicate = await server.call('POST', '/tokens', { body: { name: 'alice', role: 'viewer' } });
      assertErrorShape(duplicate, 409, 'conflict');
      assert.match(duplicate.body.error.message, /already exists/);
      const unknownTeam = await server.call('POST', '/tokens', { body: { name: 'nobody', role: 'member', team: 'no-such-team' } });
      assertErrorShape(unknownTeam, 409, 'conflict');
      const teamless = await server.call('POST', '/tokens', { body: { name: 'nobody', role: 'member' } });
      assertErrorShape(teamless, 400, 'invalid_input');
    });

    test('tokens are stored as their SHA-256, never as the secret', async () => {
      const secrets = new Map([['alice', alice], ['bob', bob], ['vera', viewer], ['ingester', ingest]]);
      const issued = await server.call('POST', '/tokens', { body: { name: 'hash-check', role: 'viewer' } });
      assert.equal(issued.status, 201);
      assert.match(issued.body.token, /^mf_/);
      assert.equal(issued.body.info.name, 'hash-check');
      assert.equal('hash' in issued.body.info, false);
      secrets.set('hash-check', issued.body.token);

      const rows = await server.fleet.database.db.selectFrom('tokens').select(['name', 'hash']).execute();
      const allSecrets = new Set(secrets.values());
      for (const row of rows) {
        assert.match(row.hash, /^[0-9a-f]{64}$/);
        assert.ok(!allSecrets.has(row.hash), `token ${row.name} is stored in the clear`);
        const secret = secrets.get(row.name);
        if (secret) assert.equal(row.hash, sha256(secret), `hash of ${row.name}`);
      }
      assert.ok(rows.length >= secrets.size);
    });

    test('revoking the last admin token is refused with 409', async () => {
      const spare = await server.token('spare-admin', 'admin');
      assert.equal((await server.call('GET', '/whoami', { token: spare })).body.role, 'admin');
      // With two admins, one may go.
      assert.equal((await server.call('DELETE', '/tokens/admin', { token: spare })).status, 204);
      const last = await server.call('DELETE', '/tokens/spare-admin', { token: spare });
      assertErrorShape(last, 409, 'conflict');
      assert.match(last.body.error.message, /last admin token/);
      assert.equal((await server.call('GET', '/whoami', { token: spare })).status, 200);
      // Revoking the already revoked admin token again is not "revoking the last admin".
      assert.equal((await server.call('DELETE', '/tokens/admin', { token: spare })).status, 204);
      // The harness's admin token was the one revoked (this test runs last in the suite).
      assertErrorShape(await server.call('GET', '/whoami'), 401, 'unauthorized');
    });
  });

  describe(`concurrent revocation on ${db.name}`, () => {
    test('two admins revoking each other at once leave exactly one admin', async () => {
      const server = await TestServer.start(db);
      try {
        const a = await server.token('admin-a', 'admin');
        const b = await server.token('admin-b', 'admin');
        // Leave only admin-a and admin-b active, then race them against each other, several times over.
        assert.equal((await server.call('DELETE', '/tokens/admin', { token: a })).status, 204);
        const [first, second] = await Promise.all([
          server.call('DELETE', '/tokens/admin-b', { token: a }),
          server.call('DELETE', '/tokens/admin-a', { token: b }),
        ]);
        // One wins; the other is refused: as the last admin (409), or because its own token is already gone (401).
        const statuses = [first.status, second.status].sort();
        assert.equal(statuses[0], 204, JSON.stringify([first.body, second.body]));
        assert.ok([401, 409].includes(statuses[1]!), JSON.stringify([first.body, second.body]));
        const active = await server.fleet.database.db.selectFrom('tokens').select('name').where('role', '=', 'admin').where('revoked_at', 'is', null).execute();
        assert.equal(active.length, 1);
      } finally {
        await server.close();
      }
    });
  });

  describe(`admin token bootstrap on ${db.name}`, () => {
    test('the first start issues an admin token into <dataDir>/admin-token (0600); a second start issues none', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'modelfleet-boot-'));
      const { url, cleanup } = bootstrapDatabase(db, dir);
      const logger = pino({ level: 'silent' });
      try {
        const first = await createModelfleet({ db: url, dataDir: join(dir, 'data'), logger });
        let token: string;
        try {
          assert.ok(first.issuedAdminToken, 'the first start issues a token');
          token = first.issuedAdminToken.token;
          assert.match(token, /^mf_/);
          assert.equal(first.issuedAdminToken.file, join(dir, 'data', 'admin-token'));
          const stat = statSync(first.issuedAdminToken.file);
          assert.equal(stat.mode & 0o777, 0o600);
          assert.equal(readFileSync(first.issuedAdminToken.file, 'utf8').trim(), token);

          const running = await listen(first, { port: 0 });
          try {
            const whoami = await fetch(`${running.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
            assert.equal(whoami.status, 200);
            const actor = (await whoami.json()) as { name: string; role: string };
            assert.equal(actor.role, 'admin');
          } finally {
            await running.close();
          }
          const rows = await first.database.db.selectFrom('tokens').select(['hash']).execute();
          assert.deepEqual(rows.map((r) => r.hash), [sha256(token)]);
        } finally {
          await first.close();
        }

        const second = await createModelfleet({ db: url, dataDir: join(dir, 'data'), logger });
        try {
          assert.equal(second.issuedAdminToken, null);
          assert.equal(readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim(), token, 'the file is left as it was');
          const admins = await second.database.db.selectFrom('tokens').select(['name', 'role']).execute();
          assert.deepEqual(admins, [{ name: 'admin', role: 'admin' }]);
          assert.ok(await second.tokens.authenticate(`Bearer ${token}`));
        } finally {
          await second.close();
        }
      } finally {
        await cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** A database that outlives one process: a SQLite file, or a fresh PostgreSQL schema. */
function bootstrapDatabase(db: TestDatabase, dir: string): { url: string; cleanup: () => Promise<void> } {
  if (db.name === 'sqlite') return { url: `sqlite:${join(dir, 'x.db')}`, cleanup: async () => {} };
  const url = db.freshUrl();
  return { url, cleanup: () => db.cleanup(url) };
}
