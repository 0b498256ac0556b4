import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../src/store/database.js';
import { kyselyReplicaStore, readyEndpoints } from '../src/store/replicaRepository.js';
import { forEachDatabase, ManualClock } from './harness.js';

/** The replicas table: slots an executor records, and the ready endpoints a router in another process reads. */
forEachDatabase((db) => {
  describe(`replica repository (${db.name})`, () => {
    const url = db.freshUrl();
    let handle: DatabaseHandle;
    const clock = new ManualClock(Date.parse('2026-11-26T10:00:00Z'));
    before(async () => (handle = await openDatabase(url)));
    after(async () => {
      await handle.close();
      await db.cleanup(url);
    });

    it('records slots, changes them, and lists an executor’s slots oldest first', async () => {
      const store = kyselyReplicaStore(handle.db, clock);
      const base = { executor: 'local', modelType: 'ig_feed_main_mtml', doc: {} };
      const first = await store.insert({ ...base, id: 'b-1', modelId: 'ig_feed_main_mtml:v1', endpoint: 'http://127.0.0.1:41001', pid: 101, state: 'ready' });
      assert.equal(first.createdAt, '2026-11-26T10:00:00.000Z');
      clock.advance(1000);
      await store.insert({ ...base, id: 'a-2', modelId: 'ig_feed_main_mtml:v1', endpoint: 'http://127.0.0.1:41002', pid: null, state: 'starting' });
      await store.insert({ ...base, id: 'c-3', modelId: 'ig_feed_main_mtml:v2', endpoint: null, pid: null, state: 'starting' });
      await store.insert({ ...base, executor: 'other', id: 'b-1', modelId: 'ig_feed_main_mtml:v1', endpoint: 'http://127.0.0.1:42000', pid: 7, state: 'ready' });
      clock.advance(1000);
      await store.update('local', 'a-2', { pid: 102, state: 'ready', doc: { slot: 2, restarts: 1 } });
      await store.update('local', 'gone', { state: 'dead' });

      const slots = await store.list('local');
      assert.deepEqual(slots.map((s) => s.id), ['b-1', 'a-2', 'c-3']);
      assert.deepEqual(slots[1], { executor: 'local', id: 'a-2', modelId: 'ig_feed_main_mtml:v1', modelType: 'ig_feed_main_mtml', endpoint: 'http://127.0.0.1:41002', pid: 102, state: 'ready', doc: { slot: 2, restarts: 1 }, createdAt: '2026-11-26T10:00:01.000Z', updatedAt: '2026-11-26T10:00:02.000Z' });

      assert.deepEqual(await readyEndpoints(handle.db), [
        { modelId: 'ig_feed_main_mtml:v1', modelType: 'ig_feed_main_mtml', endpoint: 'http://127.0.0.1:41002' },
        { modelId: 'ig_feed_main_mtml:v1', modelType: 'ig_feed_main_mtml', endpoint: 'http://127.0.0.1:41001' },
        { modelId: 'ig_feed_main_mtml:v1', modelType: 'ig_feed_main_mtml', endpoint: 'http://127.0.0.1:42000' },
      ]);
      await store.update('local', 'b-1', { state: 'stopping' });
      await store.delete('other', 'b-1');
      assert.deepEqual((await readyEndpoints(handle.db)).map((e) => e.endpoint), ['http://127.0.0.1:41002']);
    });

    it('reads a state it does not know as dead, so the slot is restarted rather than trusted', async () => {
      await handle.db.insertInto('replicas').values({ executor: 'future', id: 'x', model_id: 'm:v1', model_type: 'm', endpoint: null, pid: null, state: 'draining', doc: '{}', created_at: 'now', updated_at: 'now' }).execute();
      const [slot] = await kyselyReplicaStore(handle.db).list('future');
      assert.equal(slot?.state, 'dead');
    });
  });
});
