import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DomainError } from '../core/errors.js';
import { KubernetesExecutor, type KubernetesExecutorOptions } from './kubernetesExecutor.js';
import { gatewayWeights, labelValue, objectName } from './kubernetesManifests.js';

/**
 * A Kubernetes cluster cannot run on this machine, so these tests talk to a real HTTP server on an
 * ephemeral port that stands in for the API server: it records every request and answers as the API
 * server does for the calls the executor makes (server-side apply, get, list by label, delete,
 * Status objects for errors). What it cannot stand in for is the cluster's controllers: a test sets
 * `status.readyReplicas` itself, as the Deployment controller would.
 */

const TOKEN = 'test-token';
const NAMESPACE = 'ranking';
const TYPE = 'ig_feed_main_mtml';
const V1 = `${TYPE}:v1`;
const V2 = `${TYPE}:v2`;

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  authorization: string | undefined;
  body: any;
}

/** The stand-in API server: objects by path, and every request it got. */
class FakeApiServer {
  readonly objects = new Map<string, any>();
  readonly requests: Recorded[] = [];
  server!: Server;
  url = '';

  handler = (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://api');
      const path = url.pathname;
      // The apply content type is YAML: parse it as the API server would (JSON is valid YAML).
      const body = text ? (req.headers['content-type'] === 'application/apply-patch+yaml' ? parseYaml(text) : JSON.parse(text)) : undefined;
      this.requests.push({ method: req.method!, path, query: url.searchParams, contentType: req.headers['content-type'], authorization: req.headers['authorization'], body });
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const failure = (code: number, reason: string, message: string) => answer(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
      if (req.headers['authorization'] !== `Bearer ${TOKEN}`) return failure(401, 'Unauthorized', 'Unauthorized');
      if (path.includes('/namespaces/locked/')) return failure(403, 'Forbidden', `deployments.apps is forbidden: User "system:serviceaccount:modelfleet:default" cannot patch resource "deployments" in API group "apps" in the namespace "locked"`);
      const name = path.split('/').at(-1)!;
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/apply-patch+yaml' || url.searchParams.get('fieldManager') !== 'modelfleet') return failure(415, 'UnsupportedMediaType', 'not an apply patch');
        const existing = this.objects.get(path);
        const stored = { ...body, metadata: { ...body.metadata, uid: existing?.metadata?.uid ?? `uid-${this.objects.size + 1}` }, ...(existing?.status ? { status: existing.status } : {}) };
        this.objects.set(path, stored);
        return answer(existing ? 200 : 201, stored);
      }
      if (req.method === 'GET') {
        if (this.objects.has(path)) return answer(200, this.objects.get(path));
        const selector = url.searchParams.get('labelSelector');
        const items = [...this.objects.entries()].filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/')).map(([, o]) => o);
        if (selector !== null || path.endsWith('s')) {
          const [key, value] = (selector ?? '=').split('=');
          return answer(200, { kind: 'List', items: items.filter((o) => !key || o.metadata?.labels?.[key!] === value) });
        }
        return failure(404, 'NotFound', `"${name}" not found`);
      }
      if (req.method === 'DELETE') {
        if (!this.objects.delete(path)) return failure(404, 'NotFound', `"${name}" not found`);
        return answer(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
      return failure(405, 'MethodNotAllowed', 'method not allowed');
    });
  };

  async start(server: Server = createServer(this.handler), scheme = 'http'): Promise<this> {
    this.server = server;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  deployment(modelId: string): any {
    return this.objects.get(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${objectName(modelId)}`);
  }

  route(modelType: string): any {
    return this.objects.get(`/apis/gateway.networking.k8s.io/v1/namespaces/${NAMESPACE}/httproutes/${objectName(modelType)}`);
  }
}

const settings = (api: FakeApiServer, overrides: Partial<KubernetesExecutorOptions> = {}): KubernetesExecutorOptions => ({
  server: api.url,
  token: TOKEN,
  namespace: NAMESPACE,
  image: 'registry.example.com/modelfleet:0.1.0',
  gateway: { name: 'ranking-gateway', namespace: 'gateways' },
  size: 'small',
  ...overrides,
});

describe('Kubernetes names', () => {
  it('makes DNS-1035 names that stay distinct for ids that differ only in punctuation or case', () => {
    assert.match(objectName(V1), /^mf-ig-feed-main-mtml-v1-[0-9a-f]{8}$/);
    assert.notEqual(objectName('ig_feed:v1'), objectName('ig-feed:v1'));
    assert.notEqual(objectName('A:v1'), objectName('a:v1'));
    const long = objectName(`${'x'.repeat(300)}:v1`);
    assert.ok(long.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(long), long);
  });

  it('turns ids into label values', () => {
    assert.equal(labelValue(V1), 'ig_feed_main_mtml-v1');
    assert.equal(labelValue('y'.repeat(80)).length, 63);
    assert.equal(labelValue(`:${'y'.repeat(80)}`), 'y'.repeat(62), 'starts and ends with a letter or digit');
  });

  it('scales relative weights to whole Gateway API weights in the same proportions', () => {
    assert.deepEqual(gatewayWeights({ a: 0.675, b: 0.225 }), { a: 750_000, b: 250_000 });
    assert.deepEqual(gatewayWeights({ a: 0, b: 0 }), { a: 0, b: 0 });
    assert.throws(() => gatewayWeights({ a: -1, b: Number.NaN }), (error: DomainError) => error.code === 'invalid_input' && error.details.length === 2);
  });
});

describe('KubernetesExecutor against a stand-in API server', () => {
  let api: FakeApiServer;
  let executor: KubernetesExecutor;
  before(async () => {
    api = await new FakeApiServer().start();
    executor = new KubernetesExecutor(settings(api));
  });
  after(async () => {
    await executor.close();
    await api.close();
  });
  beforeEach(() => (api.requests.length = 0));

  it('applies a Service and a Deployment per model by server-side apply, with the token', async () => {
    const status = await executor.apply({ modelId: V1, modelType: TYPE, replicas: 3 });
    assert.deepEqual(status, { modelId: V1, modelType: TYPE, desired: 3, ready: 0, endpoints: [] });
    const name = objectName(V1);
    assert.deepEqual(
      api.requests.map((r) => [r.method, r.path]),
      [
        ['PATCH', `/api/v1/namespaces/${NAMESPACE}/services/${name}`],
        ['PATCH', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${name}`],
      ],
    );
    for (const r of api.requests) {
      assert.equal(r.contentType, 'application/apply-patch+yaml');
      assert.equal(r.query.get('fieldManager'), 'modelfleet');
      assert.equal(r.query.get('force'), 'true');
      assert.equal(r.authorization, `Bearer ${TOKEN}`);
    }
    const deployment = api.requests[1]!.body;
    assert.equal(deployment.apiVersion, 'apps/v1');
    assert.equal(deployment.kind, 'Deployment');
    assert.deepEqual(deployment.metadata.labels, {
      'app.kubernetes.io/managed-by': 'modelfleet',
      'app.kubernetes.io/name': 'modelfleet-model-server',
      'app.kubernetes.io/instance': name,
      'modelfleet.dev/model': 'ig_feed_main_mtml-v1',
      'modelfleet.dev/model-type': TYPE,
    });
    assert.equal(deployment.metadata.annotations['modelfleet.dev/model'], V1);
    assert.equal(deployment.spec.replicas, 3);
    assert.deepEqual(deployment.spec.selector.matchLabels, { 'app.kubernetes.io/instance': name });
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container.image, 'registry.example.com/modelfleet:0.1.0');
    assert.deepEqual([...container.command, ...container.args], ['modelfleet', 'model-server', '--model', V1, '--host', '0.0.0.0', '--port', '8080', '--size', 'small']);
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/healthz', port: 'http' });
    const service = api.requests[0]!.body;
    assert.deepEqual(service.spec, { selector: { 'app.kubernetes.io/instance': name }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] });
  });

  it('reads readiness from the Deployment status; scaling is the same apply again', async () => {
    api.deployment(V1).status = { replicas: 3, readyReplicas: 2 };
    assert.deepEqual(await executor.status(V1), { modelId: V1, modelType: TYPE, desired: 3, ready: 2, endpoints: [] });
    const scaled = await executor.apply({ modelId: V1, modelType: TYPE, replicas: 5 });
    assert.deepEqual([scaled.desired, scaled.ready], [5, 2]);
    assert.equal(await executor.status('ig_feed_main_mtml:v9'), null);
    await executor.apply({ modelId: V2, modelType: TYPE, replicas: 1 });
    assert.deepEqual((await executor.list()).map((d) => [d.modelId, d.desired]), [[V1, 5], [V2, 1]]);
    const listed = api.requests.find((r) => r.method === 'GET' && r.path.endsWith('/deployments'));
    assert.equal(listed?.query.get('labelSelector'), 'app.kubernetes.io/managed-by=modelfleet');
  });

  it('sets a type’s traffic weights through its HTTPRoute on the Gateway', async () => {
    await executor.setTrafficWeights(TYPE, { [V1]: 0.675, [V2]: 0.225 });
    assert.equal(api.requests.length, 1);
    const { method, path, contentType, body } = api.requests[0]!;
    assert.equal(method, 'PATCH');
    assert.equal(path, `/apis/gateway.networking.k8s.io/v1/namespaces/${NAMESPACE}/httproutes/${objectName(TYPE)}`);
    assert.equal(contentType, 'application/apply-patch+yaml');
    assert.equal(body.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.equal(body.kind, 'HTTPRoute');
    assert.deepEqual(body.spec.parentRefs, [{ name: 'ranking-gateway', namespace: 'gateways' }]);
    assert.deepEqual(body.spec.rules[0].matches, [{ headers: [{ type: 'Exact', name: 'x-modelfleet-model-type', value: TYPE }] }]);
    assert.deepEqual(body.spec.rules[0].backendRefs, [
      { name: objectName(V1), port: 8080, weight: 750_000 },
      { name: objectName(V2), port: 8080, weight: 250_000 },
    ]);
  });

  it('remove deletes the Deployment and the Service and takes the model out of its route; again is harmless', async () => {
    await executor.remove(V2);
    assert.equal(await executor.status(V2), null);
    assert.equal(api.objects.has(`/api/v1/namespaces/${NAMESPACE}/services/${objectName(V2)}`), false);
    assert.deepEqual(api.route(TYPE).spec.rules[0].backendRefs, [{ name: objectName(V1), port: 8080, weight: 750_000 }]);
    const deletes = api.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
    assert.deepEqual(deletes, [`/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${objectName(V2)}`, `/api/v1/namespaces/${NAMESPACE}/services/${objectName(V2)}`]);
    await executor.remove(V2);
    // The last model of a type takes the route with it.
    await executor.remove(V1);
    assert.equal(api.route(TYPE), undefined);
    assert.deepEqual(await executor.list(), []);
  });

  it('refuses an invalid manifest before sending any request', async () => {
    const badNamespace = new KubernetesExecutor(settings(api, { namespace: 'Team Ranking' }));
    await assert.rejects(badNamespace.apply({ modelId: V1, modelType: TYPE, replicas: 1 }), (error: DomainError) => {
      assert.equal(error.code, 'invalid_input');
      assert.match(error.message, /would be refused by the Kubernetes API/);
      assert.ok(error.details.some((d) => d.path === 'metadata.namespace' && d.message.includes("'Team Ranking' is not a namespace name")), JSON.stringify(error.details));
      return true;
    });
    // The published schema: a CPU limit must be a quantity.
    const badResources = new KubernetesExecutor(settings(api, { resources: { limits: { cpu: 'lots' } } }));
    await assert.rejects(badResources.apply({ modelId: V1, modelType: TYPE, replicas: 1 }), (error: DomainError) => {
      assert.equal(error.code, 'invalid_input');
      assert.ok(error.details.some((d) => d.path.startsWith('spec.template.spec.containers.0.resources.limits') && /quantity/.test(d.message)), JSON.stringify(error.details));
      return true;
    });
    const badGateway = new KubernetesExecutor(settings(api, { gateway: { name: 'ranking-gateway', sectionName: 'Not A Section!' } }));
    await assert.rejects(badGateway.setTrafficWeights(TYPE, { [V1]: 1 }), (error: DomainError) => error.code === 'invalid_input' && error.details.some((d) => d.path.startsWith('spec.parentRefs.0.sectionName')));
    await assert.rejects(executor.setTrafficWeights(TYPE, { [V1]: -0.5 }), /traffic weights must be numbers of 0 or more/);
    await assert.rejects(executor.apply({ modelId: V1, modelType: TYPE, replicas: -1 }), /whole number/);
    assert.deepEqual(api.requests, [], 'nothing reached the API server');
    await Promise.all([badNamespace.close(), badResources.close(), badGateway.close()]);
  });

  it('reports the API server’s refusals with its reason and what to do', async () => {
    const locked = new KubernetesExecutor(settings(api, { namespace: 'locked' }));
    await assert.rejects(locked.apply({ modelId: V1, modelType: TYPE, replicas: 1 }), (error: DomainError) => {
      assert.equal(error.code, 'forbidden');
      assert.match(error.message, /HTTP 403\): services is forbidden|HTTP 403\): deployments\.apps is forbidden/);
      assert.match(error.message, /RBAC rights on deployments, services and httproutes in namespace locked/);
      return true;
    });
    const anonymous = new KubernetesExecutor(settings(api, { token: 'wrong' }));
    await assert.rejects(anonymous.status(V1), /HTTP 401\): Unauthorized; the token is missing or not valid/);
    await Promise.all([locked.close(), anonymous.close()]);
  });
});

describe('KubernetesExecutor over TLS', () => {
  let dir: string | null = null;
  let api: FakeApiServer | null = null;
  let ca = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'modelfleet-kube-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    } catch {
      return;
    }
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const fake = new FakeApiServer();
    api = await fake.start(createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, fake.handler) as unknown as Server, 'https');
  });
  after(async () => {
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the API server through the given CA certificate, and only through it', async (t) => {
    if (!api) return t.skip('openssl is not installed: no certificate to test TLS with');
    const trusting = new KubernetesExecutor(settings(api, { ca }));
    assert.equal((await trusting.apply({ modelId: V1, modelType: TYPE, replicas: 1 })).desired, 1);
    const untrusting = new KubernetesExecutor(settings(api));
    await assert.rejects(untrusting.status(V1), /did not answer GET .*: self[- ]signed certificate.*check the server URL, the network and the CA certificate/);
    await Promise.all([trusting.close(), untrusting.close()]);
  });
});
