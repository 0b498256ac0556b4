import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRecordingOrThrow } from '../capacity/recording.js';
import { TrafficSampler, type RecordingSink } from './trafficSampler.js';

class MemorySink implements RecordingSink {
  readonly recordings: Array<{ modelType: string; text: string; name?: string; source?: string }> = [];
  fail = false;
  async import(_actor: unknown, modelType: string, text: string, options: { name?: string; source?: string }): Promise<unknown> {
    if (this.fail) throw new Error('no such model type');
    this.recordings.push({ modelType, text, ...options });
    return {};
  }
}

const body = (user: string) => Buffer.from(JSON.stringify({ user: { id: user, features: { country: 'us' } }, candidates: [{ id: 'c1', features: { media: 'video' } }] }, null, 2));

describe('TrafficSampler', () => {
  it('samples at the configured rate', () => {
    let i = 0;
    const sampler = new TrafficSampler(new MemorySink(), { rate: 0.25, random: () => (i++ % 100) / 100 });
    let taken = 0;
    for (let k = 0; k < 1000; k++) if (sampler.shouldSample()) taken++;
    assert.equal(taken, 250);
    assert.equal(new TrafficSampler(new MemorySink(), { rate: 0 }).shouldSample(), false);
    assert.throws(() => new TrafficSampler(new MemorySink(), { rate: 2 }), /fraction from 0 to 1/);
  });

  it('stores a type’s samples as a recording every flushRequests, one request per line', async () => {
    const sink = new MemorySink();
    const sampler = new TrafficSampler(sink, { flushRequests: 3, now: () => Date.UTC(2025, 10, 25, 9, 30, 5) });
    for (let k = 0; k < 7; k++) sampler.add(k % 2 ? 'type_a' : 'type_b', body(`u${k}`), 1000 + k);
    sampler.add('type_a', Buffer.from('{not json'));
    await sampler.flush();
    assert.deepEqual(sink.recordings.map((r) => r.modelType).sort(), ['type_a', 'type_b', 'type_b']);
    for (const recording of sink.recordings) {
      assert.equal(recording.source, 'router');
      assert.match(recording.name!, /^router-20251125-093005-\d+$/);
      const requests = parseRecordingOrThrow(recording.text, recording.name!);
      for (const request of requests) {
        assert.equal(request.method, 'POST');
        assert.equal(request.path, '/predict');
        assert.equal(request.headers['content-type'], 'application/json');
        assert.match(JSON.parse(request.body!.toString()).user.id, /^u\d$/);
      }
    }
    const lines = sink.recordings.flatMap((r) => r.text.trim().split('\n'));
    assert.equal(lines.length, 7, 'the invalid body was left out');
    assert.equal(sampler.stored, 3);
  });

  it('bounds the memory held, and drops what a failed store held', async () => {
    const sink = new MemorySink();
    const one = body('u1').length;
    const sampler = new TrafficSampler(sink, { flushRequests: 1000, maxBufferedBytes: one * 2 + 200, log: () => {} });
    for (let k = 0; k < 5; k++) sampler.add('type_a', body('u1'));
    assert.equal(sampler.dropped, 3);
    sink.fail = true;
    await sampler.flush();
    assert.equal(sink.recordings.length, 0);
    sink.fail = false;
    sampler.add('type_a', body('u2'));
    await sampler.close();
    assert.equal(sink.recordings.length, 1);
    assert.equal(parseRecordingOrThrow(sink.recordings[0]!.text, 'r').length, 1, 'the buffer was freed by the failed store');
  });
});
