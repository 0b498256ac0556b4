import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const root = repoRoot();
const fixtures = resolve(root, '../shared/fixtures/stability');
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, [join(root, 'bin/modelfleet.js'), 'metrics', ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });

type Row = Record<string, number | string | null>;
const KEYS = ['model', 'task', 'count', 'weight', 'positives', 'ctr', 'calibration', 'logLoss', 'ne'];

function assertRowsMatch(actual: Row[], expected: Row[], keys: string[]): void {
  assert.equal(actual.length, expected.length);
  for (const [i, want] of expected.entries()) {
    const got = actual[i]!;
    assert.deepEqual(Object.keys(got).sort(), [...keys].sort(), 'exactly the documented keys');
    for (const key of keys) {
      const [a, b] = [got[key], want[key]];
      if (typeof b === 'number' && typeof a === 'number') {
        assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${String(want['model'])} ${String(want['task'])} ${key}: ${a} vs ${b}`);
      } else {
        assert.equal(a, b, `${String(want['model'])} ${String(want['task'])} ${key}`);
      }
    }
  }
}

const byKey = (rows: Row[]) => [...rows].sort((a, b) => `${a['model']}|${a['task']}|${a['windowStart'] ?? ''}`.localeCompare(`${b['model']}|${b['task']}|${b['windowStart'] ?? ''}`));

test('modelfleet metrics --json matches the scikit-learn fixture per model and task', () => {
  const run = cli([join(fixtures, 'events.ndjson'), '--json']);
  assert.equal(run.status, 0, run.stderr);
  const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Row[];
  assertRowsMatch(byKey(JSON.parse(run.stdout)), byKey(expected), KEYS);
});

test('modelfleet metrics --window 60s --json matches the fixture per 60 s tumbling window', () => {
  const run = cli([join(fixtures, 'events.ndjson'), '--window', '60s', '--json']);
  assert.equal(run.status, 0, run.stderr);
  const expected = JSON.parse(readFileSync(join(fixtures, 'expected-windows.json'), 'utf8')) as Row[];
  assertRowsMatch(byKey(JSON.parse(run.stdout)), byKey(expected), [...KEYS, 'windowStart']);
});

test('bad lines are named by line number, left out, and make the exit code non-zero', () => {
  const input = [
    '{"model":"ig_feed_main_mtml:v1","task":"PLIKE","p":0.2,"y":1,"ts":1764064800000}',
    '{"model":"ig_feed_main_mtml:v1","task":"PLIKE","p":1.5,"y":0,"ts":1764064800000}',
    'not json',
    '{"model":"ig_feed_main_mtml:v1","task":"PLIKE","p":0.1,"y":0,"ts":"2026-11-25T10:00:00Z","w":2}',
    '{"model":"ig_feed_main_mtml:v1","task":"PLIKE","p":0.1,"y":2,"ts":1}',
  ].join('\n');
  const run = cli(['-', '--json'], input);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /^-:2: p: p is a probability in \[0, 1\]$/m);
  assert.match(run.stderr, /^-:3: not JSON/m);
  assert.match(run.stderr, /^-:5: y: y is the label: 0 or 1$/m);
  assert.match(run.stderr, /3 of 5 line\(s\) were not valid events/);
  const [row] = JSON.parse(run.stdout) as Row[];
  assert.equal(row!['count'], 2);
  assert.equal(row!['weight'], 3);
});

test('a missing file and a bad --window are clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-metrics-'));
  const missing = cli([join(dir, 'nope.ndjson')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.ndjson: no such file/);
  writeFileSync(join(dir, 'one.ndjson'), '{"model":"m:v1","task":"PLIKE","p":0.5,"y":1,"ts":1}\n');
  const window = cli([join(dir, 'one.ndjson'), '--window', 'soon']);
  assert.equal(window.status, 1);
  assert.match(window.stderr, /--window 'soon' is not a duration/);
});
