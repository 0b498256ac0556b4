import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabeledEventSchema } from '../stability/labeledEvent.js';
import { checkId, checkLabel, checkModel, checkProbability, checkTask, checkTimestamp, checkWeight, TASK_PATTERN } from './prediction.js';

const throwsNaming = (fn: () => unknown, field: RegExp) => assert.throws(fn, (error: unknown) => error instanceof TypeError && field.test(error.message));

test('probabilities in [0, 1] pass; NaN, out of range and non-numbers throw a TypeError naming p', () => {
  for (const p of [0, 1, 0.031, 1e-12]) assert.equal(checkProbability(p), p);
  for (const p of [Number.NaN, -0.01, 1.0001, Infinity, '0.5', null, undefined]) throwsNaming(() => checkProbability(p), /^PredictionLogger\.log: p must be a probability in \[0, 1\]; got /);
});

test('labels are 0/1 or booleans; anything else throws naming y', () => {
  assert.equal(checkLabel(0), 0);
  assert.equal(checkLabel(1), 1);
  assert.equal(checkLabel(false), 0);
  assert.equal(checkLabel(true), 1);
  for (const y of [2, 0.5, '1', null, undefined, -1]) throwsNaming(() => checkLabel(y), /\by must be the observed label/);
});

test('timestamps are finite epoch ms or valid Dates; the rest throw naming ts', () => {
  assert.equal(checkTimestamp(1764064800123, 0), 1764064800123);
  assert.equal(checkTimestamp(new Date(1764064800123), 0), 1764064800123);
  assert.equal(checkTimestamp(undefined, 42), 42);
  for (const ts of [Number.NaN, Infinity, -1, '2026-11-25T10:00:00Z', new Date('nope'), null]) throwsNaming(() => checkTimestamp(ts, 0), /\bts must be epoch milliseconds/);
});

test('weights default to 1 and must be finite and positive', () => {
  assert.equal(checkWeight(undefined), 1);
  assert.equal(checkWeight(2.5), 2.5);
  for (const w of [0, -1, Infinity, Number.NaN, '1']) throwsNaming(() => checkWeight(w), /\bw must be a finite weight > 0/);
});

test('model ids and ids have the server limits; the message shows the bad value, shortened', () => {
  checkModel('ig_feed_main_mtml:v1');
  throwsNaming(() => checkModel(''), /\bmodel must be a model id/);
  throwsNaming(() => checkModel(undefined), /\bmodel must be a model id.*got undefined/);
  throwsNaming(() => checkModel('x'.repeat(301)), /got "x{60}\.\.\."/);
  assert.equal(checkId(undefined), undefined);
  assert.equal(checkId('req-1'), 'req-1');
  throwsNaming(() => checkId(7), /\bid must be a string/);
  throwsNaming(() => checkId('i'.repeat(201)), /at most 200/);
});

test("the client's task grammar agrees with the server's event schema", () => {
  const event = { model: 'ig_feed_main_mtml:v1', p: 0.5, y: 1, ts: 1764064800000 };
  for (const task of ['PLIKE', 'P2', 'P_COMMENT', 'PLIKE_30S', 'plike', 'LIKE', 'P', 'P-LIKE', '', 'PLIKE ', 'pLIKE']) {
    const server = LabeledEventSchema.safeParse({ ...event, task }).success;
    assert.equal(TASK_PATTERN.test(task), server, `task ${JSON.stringify(task)}`);
    if (server) checkTask(task);
    else throwsNaming(() => checkTask(task), /\btask must be a task name/);
  }
});
