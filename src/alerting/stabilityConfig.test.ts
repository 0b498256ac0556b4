import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DomainError } from '../core/errors.js';
import { loadStabilityConfig } from './stabilityConfig.js';

test('the stability config carries the generated Alertmanager receivers, and names a bad one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelfleet-stability-config-'));
  try {
    const file = join(dir, 'stability.yaml');
    writeFileSync(file, 'alertmanagerReceivers:\n  page: [https://pager.example.com/hook]\n  ticket: []\n');
    const config = loadStabilityConfig(file);
    assert.deepEqual(config.alertmanagerReceivers, { page: ['https://pager.example.com/hook'], ticket: [] });
    writeFileSync(file, 'alertmanagerReceivers:\n  pager: [https://pager.example.com/hook]\n  ticket: [not a url]\n');
    assert.throws(
      () => loadStabilityConfig(file),
      (error: unknown) => {
        assert.ok(error instanceof DomainError);
        const paths = error.details.map((d) => `${d.path}: ${d.message}`).join('\n');
        assert.match(paths, /alertmanagerReceivers.*pager/);
        assert.match(paths, /alertmanagerReceivers\.ticket/);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
