#!/usr/bin/env node
// Runs every compiled test file (unit tests beside the code, integration tests under test/) with node's test runner.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['dist/src', 'dist/test'];
const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.test.js')) files.push(path);
  }
};
for (const root of roots) {
  try {
    walk(root);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}
files.sort();
if (!process.env.MODELFLEET_TEST_POSTGRES_URL) {
  console.log('# MODELFLEET_TEST_POSTGRES_URL is unset: the PostgreSQL half of the suite is skipped (each such test says so)');
}
if (!process.env.MODELFLEET_TEST_NATS_URL) {
  console.log('# MODELFLEET_TEST_NATS_URL is unset: the NATS JetStream (scale-out) tests are skipped (each such test says so)');
}
const extra = process.argv.slice(2);
const reporters = ['--test-reporter=tap', '--test-reporter-destination=stdout', '--test-reporter=./scripts/failure-summary.mjs', '--test-reporter-destination=stderr'];
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...reporters, ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
