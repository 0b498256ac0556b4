import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forEachDatabase, sample, seed, TestServer, type ApiResponse } from './harness.js';

const TEAM = 'feed-ranking';

/** What a TIER0/TIER1 type must carry besides the tier itself. */
const highTierObligations = {
  oncall: { rotation: `${TEAM}-oncall`, coverage: '24x7' },
  criticalityJustification: { businessMetrics: ['daily_active_users', 'time_spent'], rationale: 'main feed ranking' },
};

forEachDatabase((db) => {
  describe(`criticality elevations and approvals on ${db.name}`, () => {
    let server: TestServer;
    let member: string;

    before(async () => {
      server = await TestServer.start(db);
      await seed(server, { teams: [sample.team(TEAM)] });
      member = await server.token('mia', 'member', TEAM);
    });
    after(() => server.close());

    const getType = (name: string) => server.call('GET', `/model-types/${name}`);
    const patchType = async (name: string, body: unknown, token: string | undefined, reason?: string): Promise<ApiResponse> => {
      const current = await getType(name);
      assert.equal(current.status, 200, JSON.stringify(current.body));
      return server.call('PATCH', `/model-types/${name}`, {
        body,
        ...(token === undefined ? {} : { token }),
        headers: { 'if-match': current.headers.get('etag')!, ...(reason ? { 'x-change-reason': reason } : {}) },
      });
    };
    const approval = async (id: number) => {
      const all = await server.call('GET', '/approvals');
      assert.equal(all.status, 200);
      const found = all.body.items.find((a: { id: number }) => a.id === id);
      assert.ok(found, `approval ${id} is listed`);
      return found;
    };
    /** A TIER2 type created by the admin, then raised to TIER1 by the member: returns the pending approval's id. */
    const pendingElevation = async (name: string): Promise<number> => {
      await seed(server, { modelTypes: [sample.modelType(name, TEAM)] });
      const raised = await patchType(name, { criticality: 'TIER1', ...highTierObligations }, member, 'feed outages hit DAU');
      assert.equal(raised.status, 200, JSON.stringify(raised.body));
      assert.ok(raised.body.pendingApproval, 'a pending approval is filed');
      return raised.body.pendingApproval.id;
    };

    test("a member's TIER2→TIER1 raise is held at TIER2 with a pending approval", async () => {
      const name = 'ig_feed_main_mtml';
      await seed(server, { modelTypes: [sample.modelType(name, TEAM)] });
      const raised = await patchType(name, { criticality: 'TIER1', ...highTierObligations }, member, 'feed outages hit DAU');
      assert.equal(raised.status, 200, JSON.stringify(raised.body));
      assert.equal(raised.body.criticality, 'TIER2');
      // The rest of the write applies at once.
      assert.equal(raised.body.oncall.coverage, '24x7');
      assert.deepEqual(raised.body.criticalityJustification.businessMetrics, ['daily_active_users', 'time_spent']);
      assert.equal(raised.body.version, 2);
      assert.equal(raised.body.pendingApproval.requestedCriticality, 'TIER1');
      assert.equal(raised.body.pendingApproval.requestedBy, 'mia');
      assert.equal(typeof raised.body.pendingApproval.id, 'number');

      const read = await getType(name);
      assert.equal(read.body.criticality, 'TIER2');
      assert.deepEqual(read.body.pendingApproval, raised.body.pendingApproval);
      // Models of the type keep the held tier.
      await seed(server, { models: [sample.model(`${name}:v1`)] });
      assert.equal((await server.call('GET', `/models/${name}:v1`)).body.effectiveCriticality, 'TIER2');

      const pending = await server.call('GET', '/approvals?status=pending');
      assert.equal(pending.status, 200);
      const listed = pending.body.items.find((a: { id: number }) => a.id === raised.body.pendingApproval.id);
      assert.deepEqual(
        { ...listed, requestedAt: undefined },
        {
          id: raised.body.pendingApproval.id,
          modelType: name,
          fromCriticality: 'TIER2',
          requestedCriticality: 'TIER1',
          status: 'pending',
          requestedBy: 'mia',
          requestedAt: undefined,
          requestReason: 'feed outages hit DAU',
          decidedBy: null,
          decidedAt: null,
          decisionReason: null,
        },
      );
      assert.ok(pending.body.items.every((a: { status: string }) => a.status === 'pending'));
      // Members and viewers can see the queue.
      assert.equal((await server.call('GET', '/approvals?status=pending', { token: member })).status, 200);
      assert.equal((await server.call('GET', '/approvals?status=bogus')).status, 400);
    });

    test('a member cannot approve or reject; an admin approves and the type takes the tier', async () => {
      const name = 'ig_feed_main_mtml';
      const id = (await getType(name)).body.pendingApproval.id as number;
      const byMember = await server.call('POST', `/approvals/${id}/approve`, { token: member });
      assert.equal(byMember.status, 403);
      assert.equal(byMember.body.error.code, 'forbidden');
      assert.equal((await server.call('POST', `/approvals/${id}/reject`, { token: member, body: { reason: 'no' } })).status, 403);
      assert.equal((await approval(id)).status, 'pending');

      const approved = await server.call('POST', `/approvals/${id}/approve`, { body: { reason: 'DAU impact confirmed' } });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.approval.status, 'approved');
      assert.equal(approved.body.approval.decidedBy, 'admin');
      assert.equal(approved.body.approval.decisionReason, 'DAU impact confirmed');
      assert.equal(approved.body.modelType.criticality, 'TIER1');
      assert.equal(approved.body.modelType.version, 3);
      assert.equal(approved.body.modelType.pendingApproval, null);

      const read = await getType(name);
      assert.equal(read.body.criticality, 'TIER1');
      assert.equal(read.headers.get('etag'), '"3"');
      assert.equal(read.body.pendingApproval, null);
      assert.equal((await server.call('GET', `/models/${name}:v1`)).body.effectiveCriticality, 'TIER1');

      const history = await server.call('GET', `/model-types/${name}/history`);
      const last = history.body.items.at(-1);
      assert.equal(last.action, 'approve');
      assert.equal(last.actor, 'admin');
      assert.equal(last.version, 3);
      assert.equal(last.reason, 'DAU impact confirmed');
      assert.equal(last.before.criticality, 'TIER2');
      assert.equal(last.after.criticality, 'TIER1');
      assert.deepEqual(last.patch, [{ op: 'replace', path: '/criticality', value: 'TIER1' }]);
      assert.equal((await approval(id)).status, 'approved');
    });

    test('approving an approval that is no longer pending is a 409; an unknown one a 404', async () => {
      const id = (await server.call('GET', '/approvals?status=approved')).body.items[0].id as number;
      const again = await server.call('POST', `/approvals/${id}/approve`);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conflict');
      assert.match(again.body.error.message, /already approved/);
      const reject = await server.call('POST', `/approvals/${id}/reject`, { body: { reason: 'too late' } });
      assert.equal(reject.status, 409);
      assert.equal((await server.call('POST', '/approvals/999999/approve')).status, 404);
    });

    test('a rejection needs a reason and is recorded in the history', async () => {
      const name = 'ig_reels_tab_mtml';
      const id = await pendingElevation(name);
      const noReason = await server.call('POST', `/approvals/${id}/reject`);
      assert.equal(noReason.status, 400);
      assert.equal(noReason.body.error.code, 'invalid_input');
      assert.deepEqual(noReason.body.error.details, [{ path: 'reason', message: 'required' }]);
      const emptyReason = await server.call('POST', `/approvals/${id}/reject`, { body: { reason: '' } });
      assert.equal(emptyReason.status, 400);
      assert.equal((await approval(id)).status, 'pending');

      const rejected = await server.call('POST', `/approvals/${id}/reject`, { body: { reason: 'reels tab is not a TIER1 surface' } });
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      assert.equal(rejected.body.status, 'rejected');
      assert.equal(rejected.body.decidedBy, 'admin');
      assert.equal(rejected.body.decisionReason, 'reels tab is not a TIER1 surface');

      const type = await getType(name);
      assert.equal(type.body.criticality, 'TIER2');
      assert.equal(type.body.pendingApproval, null);
      assert.equal(type.body.version, 2, 'a rejection does not change the type');
      const history = await server.call('GET', `/model-types/${name}/history`);
      const last = history.body.items.at(-1);
      assert.equal(last.action, 'reject');
      assert.equal(last.actor, 'admin');
      assert.equal(last.reason, 'reels tab is not a TIER1 surface');
      assert.deepEqual(last.patch, []);
      assert.equal((await server.call('POST', `/approvals/${id}/approve`)).status, 409);
    });

    test('a second elevation request supersedes the first', async () => {
      const name = 'ig_explore_grid_mtml';
      const first = await pendingElevation(name);
      const second = await patchType(name, { criticality: 'TIER0' }, member, 'explore is revenue critical');
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.equal(second.body.criticality, 'TIER2');
      const secondId = second.body.pendingApproval.id as number;
      assert.notEqual(secondId, first);
      assert.equal(second.body.pendingApproval.requestedCriticality, 'TIER0');

      const old = await approval(first);
      assert.equal(old.status, 'superseded');
      assert.equal(old.decidedBy, 'mia');
      const pendingForType = (await server.call('GET', '/approvals?status=pending')).body.items.filter((a: { modelType: string }) => a.modelType === name);
      assert.deepEqual(pendingForType.map((a: { id: number }) => a.id), [secondId]);
      const superseded = (await server.call('GET', '/approvals?status=superseded')).body.items.map((a: { id: number }) => a.id);
      assert.ok(superseded.includes(first));

      assert.equal((await server.call('POST', `/approvals/${first}/approve`)).status, 409);
      const approved = await server.call('POST', `/approvals/${secondId}/approve`);
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.modelType.criticality, 'TIER0');
    });

    test('an admin raising a type applies at once, with no approval', async () => {
      const name = 'ig_search_typeahead_gbdt';
      await seed(server, { modelTypes: [sample.modelType(name, TEAM)] });
      const before = (await server.call('GET', '/approvals')).body.items.length;
      const raised = await patchType(name, { criticality: 'TIER1', ...highTierObligations }, undefined);
      assert.equal(raised.status, 200, JSON.stringify(raised.body));
      assert.equal(raised.body.criticality, 'TIER1');
      assert.equal(raised.body.pendingApproval, null);
      assert.equal((await server.call('GET', '/approvals')).body.items.length, before);
      // The obligations still hold for admins.
      const noOncall = await patchType(name, { criticality: 'TIER0', oncall: { rotation: 'x', coverage: 'business_hours' } }, undefined);
      assert.equal(noOncall.status, 400);
      assert.ok(noOncall.body.error.details.some((d: { path: string }) => d.path === 'oncall.coverage'));
    });

    test('setting the tier directly supersedes a pending request, and a repeated request reuses it', async () => {
      const name = 'ig_feed_direct_mtml';
      const id = await pendingElevation(name);
      const again = await patchType(name, { criticality: 'TIER1', ...highTierObligations }, member);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.pendingApproval.id, id, 'the same request is not filed twice');
      const direct = await patchType(name, { criticality: 'TIER0' }, undefined, 'incident review');
      assert.equal(direct.status, 200, JSON.stringify(direct.body));
      assert.equal(direct.body.criticality, 'TIER0');
      assert.equal(direct.body.pendingApproval, null);
      const moot = await approval(id);
      assert.equal(moot.status, 'superseded');
      assert.match(moot.decisionReason, /set to TIER0 directly/);
    });

    test('lowering the tier supersedes a pending raise; approving it then is a 409', async () => {
      const name = 'ig_feed_moved_mtml';
      const id = await pendingElevation(name);
      const lowered = await patchType(name, { criticality: 'TIER3' }, member);
      assert.equal(lowered.status, 200);
      assert.equal((await approval(id)).status, 'superseded');
      const stale = await server.call('POST', `/approvals/${id}/approve`, { body: {} });
      assert.equal(stale.status, 409);
    });

    test('a member lowers a tier freely', async () => {
      const name = 'ig_search_typeahead_gbdt';
      const lowered = await patchType(name, { criticality: 'TIER3' }, member);
      assert.equal(lowered.status, 200, JSON.stringify(lowered.body));
      assert.equal(lowered.body.criticality, 'TIER3');
      assert.equal(lowered.body.pendingApproval, null);
      const history = await server.call('GET', `/model-types/${name}/history`);
      assert.equal(history.body.items.at(-1).action, 'update');
      assert.equal(history.body.items.at(-1).actor, 'mia');
    });

    test('a member raising TIER4→TIER2 applies directly: only TIER0/TIER1 need approval', async () => {
      const name = 'ig_notifications_push_dnn';
      await seed(server, { modelTypes: [sample.modelType(name, TEAM, { criticality: 'TIER4' })] });
      const raised = await patchType(name, { criticality: 'TIER2' }, member);
      assert.equal(raised.status, 200, JSON.stringify(raised.body));
      assert.equal(raised.body.criticality, 'TIER2');
      assert.equal(raised.body.pendingApproval, null);
      const pending = (await server.call('GET', '/approvals?status=pending')).body.items.filter((a: { modelType: string }) => a.modelType === name);
      assert.deepEqual(pending, []);
    });

    test('a member creating a TIER0 type gets it at TIER2 with a pending approval', async () => {
      const name = 'fb_feed_main_dlrm';
      const created = await server.call('POST', '/model-types', {
        token: member,
        body: sample.modelType(name, TEAM, { criticality: 'TIER0', ...highTierObligations }),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.criticality, 'TIER2');
      assert.equal(created.body.pendingApproval.requestedCriticality, 'TIER0');
      const filed = await approval(created.body.pendingApproval.id);
      assert.equal(filed.fromCriticality, 'TIER2');
      assert.equal(filed.status, 'pending');
      const history = await server.call('GET', `/model-types/${name}/history`);
      assert.equal(history.body.items.length, 1);
      assert.equal(history.body.items[0].after.criticality, 'TIER2');
      // A TIER0 request still has to meet the TIER0 obligations up front.
      const bare = await server.call('POST', '/model-types', { token: member, body: sample.modelType('fb_feed_other_dlrm', TEAM, { criticality: 'TIER0' }) });
      assert.equal(bare.status, 400);
      assert.deepEqual(bare.body.error.details.map((d: { path: string }) => d.path).sort(), ['criticalityJustification.businessMetrics', 'oncall.coverage']);
    });

    test('approving after the on-call coverage dropped to business hours is a 409 that says why', async () => {
      const name = 'ig_stories_tray_mtml';
      const id = await pendingElevation(name);
      const relaxed = await patchType(name, { oncall: { rotation: `${TEAM}-oncall`, coverage: 'business_hours' } }, member);
      assert.equal(relaxed.status, 200, JSON.stringify(relaxed.body));
      assert.equal(relaxed.body.pendingApproval.id, id, 'the request is still pending');

      const approve = await server.call('POST', `/approvals/${id}/approve`);
      assert.equal(approve.status, 409, JSON.stringify(approve.body));
      assert.equal(approve.body.error.code, 'conflict');
      assert.match(approve.body.error.message, /cannot approve TIER1 for 'ig_stories_tray_mtml'/);
      assert.match(approve.body.error.message, /24x7/);
      assert.match(approve.body.error.message, /business_hours/);
      assert.ok(approve.body.error.details.some((d: { path: string }) => d.path === 'oncall.coverage'));
      const type = await getType(name);
      assert.equal(type.body.criticality, 'TIER2');
      assert.equal((await approval(id)).status, 'pending');
      // Restoring 24x7 makes it approvable again.
      await patchType(name, { oncall: { rotation: `${TEAM}-oncall`, coverage: '24x7' } }, member);
      const retry = await server.call('POST', `/approvals/${id}/approve`);
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      assert.equal(retry.body.modelType.criticality, 'TIER1');
    });
  });
});
