import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PredictionBuffer } from './predictionBuffer.js';

function fill(buffer: PredictionBuffer, model: string, task: string, events: Array<[number, 0 | 1, number, number?, string?]>): void {
  const group = buffer.group(model, task);
  for (const [p, y, ts, w, id] of events) {
    group.push(p, y, ts, w ?? 1, id);
    buffer.added();
  }
}

test('a sealed batch is a JSON array of columnar batches per (model, task), in first-seen order', () => {
  const buffer = new PredictionBuffer(100);
  fill(buffer, 'a_feed_main_mtml:v1', 'PLIKE', [[0.1, 0, 1000], [0.25, 1, 1001]]);
  fill(buffer, 'a_feed_main_mtml:v1', 'PCOMMENT', [[0.3, 1, 2000]]);
  fill(buffer, 'a_feed_main_mtml:v1', 'PLIKE', [[0.031, 0, 1002]]);
  const batch = buffer.seal()!;
  assert.equal(buffer.length, 0);
  assert.equal(buffer.seal(), null, 'an empty buffer seals to nothing');
  assert.equal(batch.events, 4);
  assert.match(batch.idempotencyKey, /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(batch.toJson()), [
    { model: 'a_feed_main_mtml:v1', task: 'PLIKE', p: [0.1, 0.25, 0.031], y: [0, 1, 0], ts: [1000, 1001, 1002] },
    { model: 'a_feed_main_mtml:v1', task: 'PCOMMENT', p: [0.3], y: [1], ts: 2000 },
  ]);
});

test('numbers survive the trip exactly; weights are sent only when one differs from 1; a shared ts is sent once', () => {
  const buffer = new PredictionBuffer(1000);
  const ps = Array.from({ length: 300 }, (_, i) => Math.sin(i) ** 2);
  fill(buffer, 'm:v1', 'PLIKE', ps.map((p, i) => [p, (i % 2) as 0 | 1, 1764064800123, i === 250 ? 0.5 : 1]));
  const [columns] = JSON.parse(buffer.seal()!.toJson());
  assert.deepEqual(columns.p, ps, 'shortest round-trip form, not rounded');
  assert.equal(columns.ts, 1764064800123);
  assert.equal(columns.w.length, 300);
  assert.equal(columns.w[249], 1, 'weights before the first non-1 are back-filled with 1');
  assert.equal(columns.w[250], 0.5);
});

test('server line numbers map back to the logged prediction, with its caller id', () => {
  const buffer = new PredictionBuffer(100);
  fill(buffer, 'm:v1', 'PLIKE', [[0.1, 0, 1], [0.2, 1, 2, 1, 'req-2']]);
  fill(buffer, 'm:v2', 'PLIKE', [[0.3, 1, 3, 2]]);
  const batch = buffer.seal()!;
  assert.deepEqual(batch.eventAt(2), { model: 'm:v1', task: 'PLIKE', p: 0.2, y: 1, ts: 2, w: 1, id: 'req-2' });
  assert.deepEqual(batch.eventAt(3), { model: 'm:v2', task: 'PLIKE', p: 0.3, y: 1, ts: 3, w: 2 });
  assert.equal(batch.eventAt(4), null);
  assert.equal(batch.eventAt(0), null);
  assert.ok(!('id' in JSON.parse(batch.toJson())[0]), 'ids are kept for reports, not sent');
});

test('splitting keeps every event once, in order, under two new keys', () => {
  const buffer = new PredictionBuffer(100);
  fill(buffer, 'm:v1', 'PLIKE', [[0.1, 0, 1], [0.2, 1, 2], [0.3, 0, 3]]);
  fill(buffer, 'm:v1', 'PCOMMENT', [[0.4, 1, 4], [0.5, 0, 5]]);
  const batch = buffer.seal()!;
  const [a, b] = batch.split();
  assert.equal(a.events, 3);
  assert.equal(b.events, 2);
  assert.notEqual(a.idempotencyKey, batch.idempotencyKey);
  assert.notEqual(a.idempotencyKey, b.idempotencyKey);
  const all = [...JSON.parse(a.toJson()), ...JSON.parse(b.toJson())].flatMap((g: { task: string; p: number[] }) => g.p.map((p) => `${g.task}:${p}`));
  assert.deepEqual(all, ['PLIKE:0.1', 'PLIKE:0.2', 'PLIKE:0.3', 'PCOMMENT:0.4', 'PCOMMENT:0.5']);
  const [c, d] = a.split();
  assert.deepEqual([c.events, d.events], [2, 1], 'a group is cut in the middle when the half falls inside it');
  assert.deepEqual(JSON.parse(d.toJson()), [{ model: 'm:v1', task: 'PLIKE', p: [0.3], y: [0], ts: 3 }]);
});

test('columns grow past their first capacity up to the batch size and no further', () => {
  const buffer = new PredictionBuffer(1000);
  const group = buffer.group('m:v1', 'PLIKE');
  for (let i = 0; i < 1000; i++) group.push(i / 1000, 0, i, 1, undefined);
  assert.equal(group.length, 1000);
  assert.throws(() => group.push(0.5, 0, 0, 1, undefined), RangeError);
  assert.equal(group.at(999).p, 0.999);
});

test('a bad model or task throws when its group is first made', () => {
  const buffer = new PredictionBuffer(10);
  assert.throws(() => buffer.group('', 'PLIKE'), /model must be/);
  assert.throws(() => buffer.group('m:v1', 'like'), /task must be/);
  assert.equal(buffer.seal(), null);
});
