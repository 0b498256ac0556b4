import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './cliRunner.js';

/** The scale-out example users copy is valid against the Kubernetes API's published schemas. */
test('examples/scale-out/modelfleet.yaml holds valid Deployments and a Service running serve --nats and worker', () => {
  const text = readFileSync(`${REPO_ROOT}/examples/scale-out/modelfleet.yaml`, 'utf8');
  const documents = parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJSON() as { kind: string; spec: { template?: { spec: { containers: Array<{ args: string[] }> } } } };
  });
  assert.deepEqual(documents.map((d) => d.kind), ['Deployment', 'Service', 'Deployment']);
  for (const doc of documents) {
    const model = doc.kind === 'Service' ? new Service(doc as never) : new Deployment(doc as never);
    model.validate();
  }
  const args = documents.filter((d) => d.kind === 'Deployment').map((d) => d.spec.template!.spec.containers[0]!.args);
  assert.deepEqual([args[0]![0], args[1]![0]], ['serve', 'worker']);
  for (const a of args) assert.ok(a.includes('--nats'), `${a.join(' ')} names NATS`);
});
