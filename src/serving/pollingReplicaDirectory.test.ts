import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PollingReplicaDirectory, type ReplicaEndpoint } from './pollingReplicaDirectory.js';

describe('PollingReplicaDirectory', () => {
  it('groups endpoints by model, keeps unchanged lists, and keeps the last list when a poll fails', async () => {
    let rows: ReplicaEndpoint[] | Error = [
      { modelId: 't:v1', endpoint: 'http://127.0.0.1:2' },
      { modelId: 't:v1', endpoint: 'http://127.0.0.1:1' },
      { modelId: 't:v2', endpoint: 'http://127.0.0.1:3' },
      { modelId: 't:v1', endpoint: 'http://127.0.0.1:1' },
    ];
    const directory = new PollingReplicaDirectory(async () => {
      if (rows instanceof Error) throw rows;
      return rows;
    });
    await directory.start();
    directory.stop();
    const v1 = directory.endpoints('t:v1');
    assert.deepEqual(v1, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    assert.deepEqual(directory.endpoints('t:v3'), []);

    rows = [...(rows as ReplicaEndpoint[]).reverse()];
    await directory.poll();
    assert.equal(directory.endpoints('t:v1'), v1, 'the same list object when nothing changed');

    rows = new Error('database unavailable');
    await assert.rejects(directory.poll(), /database unavailable/);
    assert.deepEqual(directory.endpoints('t:v2'), ['http://127.0.0.1:3'], 'the last list still serves');

    rows = [{ modelId: 't:v2', endpoint: 'http://127.0.0.1:4' }];
    await directory.poll();
    assert.deepEqual(directory.endpoints('t:v1'), [], 'a model whose replicas are gone has none');
    assert.deepEqual(directory.endpoints('t:v2'), ['http://127.0.0.1:4']);
  });
});
