import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DomainError } from '../core/errors.js';
import { loadKubernetesConfig } from './kubernetesConfig.js';

test('a Kubernetes config reads its token next to it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelfleet-k8s-config-'));
  try {
    writeFileSync(join(dir, 'token'), 'secret-token\n');
    writeFileSync(join(dir, 'k8s.yaml'), 'server: https://10.0.0.1:6443\ntokenFile: token\nnamespace: ranking\nimage: registry.local/modelfleet:1\ngateway: {name: ranking-gateway}\n');
    const options = loadKubernetesConfig(join(dir, 'k8s.yaml'));
    assert.equal(options.token, 'secret-token');
    assert.equal(options.namespace, 'ranking');
    assert.deepEqual(options.gateway, { name: 'ranking-gateway' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad Kubernetes config names the file and every field to fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelfleet-k8s-config-'));
  try {
    const file = join(dir, 'k8s.yaml');
    writeFileSync(file, 'server: not a url\nnamespace: ranking\ngatway: {name: g}\n');
    assert.throws(
      () => loadKubernetesConfig(file),
      (error: unknown) => {
        assert.ok(error instanceof DomainError);
        const paths = error.details.map((d) => d.path).join(' ');
        for (const field of ['server', 'image', 'gateway', 'gatway']) assert.match(paths, new RegExp(field), paths);
        return true;
      },
    );
    writeFileSync(file, 'server: https://10.0.0.1:6443\ntokenFile: missing-token\nnamespace: ranking\nimage: i\ngateway: {name: g}\n');
    assert.throws(() => loadKubernetesConfig(file), /tokenFile missing-token cannot be read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
