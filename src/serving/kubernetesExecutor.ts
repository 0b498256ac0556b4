import pino, { type Logger } from 'pino';
import { Agent, request, type Dispatcher } from 'undici';
import { conflict, forbidden, invalidInput, notFound } from '../core/errors.js';
import type { DeploymentSpec, DeploymentStatus, Executor } from './executor.js';
import { ANNOTATION, checkManifest, deploymentManifest, gatewayWeights, httpRouteManifest, LABEL, MANAGED_BY, objectName, serviceManifest, type ManifestSettings } from './kubernetesManifests.js';
import type { ArtifactSize } from './modelArtifact.js';

export interface KubernetesExecutorOptions {
  /** The API server, e.g. `https://10.0.0.1:6443` (in a pod: `https://kubernetes.default.svc`). */
  server: string;
  /** Bearer token, e.g. the service account's (`/var/run/secrets/kubernetes.io/serviceaccount/token`). */
  token?: string;
  /** PEM certificate(s) of the authority that signed the API server's certificate. */
  ca?: string;
  namespace: string;
  /** An image with the modelfleet CLI; every replica runs `modelfleet model-server --model ID --port PORT`. */
  image: string;
  /** How the image runs the CLI. Default `['modelfleet']`. */
  command?: string[];
  /** The Gateway the model types' HTTPRoutes attach to. */
  gateway: { name: string; namespace?: string; sectionName?: string };
  /** Port the model server listens on in its pod. Default 8080. */
  port?: number;
  /** Dimensions of the generated artifact, when replicas serve one. */
  size?: ArtifactSize;
  /** Extra `model-server` flags for a model. */
  argsFor?: (modelId: string) => string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  /** Header a request names its model type with. Default `x-modelfleet-model-type`. */
  modelTypeHeader?: string;
  /** Per API request. Default 10 s. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/** The parts of a Deployment the executor reads back. */
interface DeploymentObject {
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number };
}

interface RouteObject {
  spec?: { rules?: Array<{ backendRefs?: Array<{ name?: string; weight?: number }> }> };
  metadata?: { annotations?: Record<string, string> };
}

/** Paths of the objects the executor manages, in its namespace. */
const paths = {
  deployments: (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  services: (ns: string) => `/api/v1/namespaces/${ns}/services`,
  httpRoutes: (ns: string) => `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
};

/**
 * Runs models on a Kubernetes cluster: one Deployment and one Service per model, created and
 * scaled by server-side apply (so repeating a request is harmless and other controllers' fields are
 * left alone), and a Gateway API HTTPRoute per model type whose backend weights split the type's
 * traffic. Readiness is the Deployment's `status.readyReplicas`, kept by the cluster from the
 * model server's /healthz. Every manifest is checked before it is sent.
 */
export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes' as const;
  private readonly server: string;
  private readonly namespace: string;
  private readonly token: string | undefined;
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  private readonly settings: ManifestSettings;
  private readonly logger: Logger;

  constructor(options: KubernetesExecutorOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.namespace = options.namespace;
    this.token = options.token;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.dispatcher = new Agent(options.ca ? { connect: { ca: options.ca } } : {});
    this.logger = options.logger ?? pino({ level: 'silent' });
    const argsFor = options.argsFor ?? (() => []);
    this.settings = {
      namespace: options.namespace,
      image: options.image,
      command: options.command ?? ['modelfleet'],
      port: options.port ?? 8080,
      args: (modelId) => [...(options.size ? ['--size', options.size] : []), ...argsFor(modelId)],
      ...(options.resources ? { resources: options.resources } : {}),
      gateway: options.gateway,
      modelTypeHeader: options.modelTypeHeader ?? 'x-modelfleet-model-type',
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Executor

  async apply(spec: DeploymentSpec): Promise<DeploymentStatus> {
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0) {
      throw invalidInput(`replicas of ${spec.modelId} must be a whole number, 0 or more, not ${spec.replicas}`, [{ path: 'replicas', message: 'a whole number of pods' }]);
    }
    // Both are checked before either is sent: a bad setting never leaves half a model behind.
    const service = checkManifest(serviceManifest(spec, this.settings));
    const deployment = checkManifest(deploymentManifest(spec, this.settings));
    const name = objectName(spec.modelId);
    await this.serverSideApply(`${paths.services(this.namespace)}/${name}`, service);
    const applied = (await this.serverSideApply(`${paths.deployments(this.namespace)}/${name}`, deployment)) as DeploymentObject;
    this.logger.info({ model: spec.modelId, deployment: name, replicas: spec.replicas }, 'deployment applied');
    return this.statusOf(applied, spec);
  }

  async status(modelId: string): Promise<DeploymentStatus | null> {
    const found = (await this.call('GET', `${paths.deployments(this.namespace)}/${objectName(modelId)}`, { allow404: true })) as DeploymentObject | null;
    return found ? this.statusOf(found, { modelId }) : null;
  }

  /** Deletes the model's Deployment and Service, and takes its backend out of its type's route. */
  async remove(modelId: string): Promise<void> {
    const name = objectName(modelId);
    const found = (await this.call('GET', `${paths.deployments(this.namespace)}/${name}`, { allow404: true })) as DeploymentObject | null;
    const modelType = found?.metadata?.annotations?.[ANNOTATION.modelType];
    // Background: the pods go after the Deployment does; the call does not wait for them.
    await this.call('DELETE', `${paths.deployments(this.namespace)}/${name}?propagationPolicy=Background`, { allow404: true });
    await this.call('DELETE', `${paths.services(this.namespace)}/${name}`, { allow404: true });
    if (modelType) await this.dropBackend(modelType, modelId);
    this.logger.info({ model: modelId, deployment: name }, 'deployment removed');
  }

  async list(): Promise<DeploymentStatus[]> {
    const selector = encodeURIComponent(`${LABEL.managedBy}=${MANAGED_BY}`);
    const found = (await this.call('GET', `${paths.deployments(this.namespace)}?labelSelector=${selector}`)) as { items?: DeploymentObject[] };
    return (found.items ?? [])
      .filter((d) => d.metadata?.annotations?.[ANNOTATION.model])
      .map((d) => this.statusOf(d, { modelId: d.metadata!.annotations![ANNOTATION.model]! }))
      .sort((a, b) => a.modelId.localeCompare(b.modelId));
  }

  /** Nothing to adopt: the cluster keeps the Deployments running and is their record. */
  async recover(): Promise<void> {}

  /** Closes the connections to the API server. The cluster's objects stay: they run without modelfleet. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Traffic

  /**
   * Splits a model type's traffic between its models: the type's HTTPRoute gets one backend per
   * model (its Service) weighted in proportion to `weights` (e.g. the registry's traffic shares).
   * Models left out get no traffic.
   */
  async setTrafficWeights(modelType: string, weights: Record<string, number>): Promise<void> {
    const route = checkManifest(httpRouteManifest(modelType, gatewayWeights(weights), this.settings));
    await this.serverSideApply(`${paths.httpRoutes(this.namespace)}/${objectName(modelType)}`, route);
    this.logger.info({ modelType, weights }, 'traffic weights applied');
  }

  private async dropBackend(modelType: string, modelId: string): Promise<void> {
    const routePath = `${paths.httpRoutes(this.namespace)}/${objectName(modelType)}`;
    const route = (await this.call('GET', routePath, { allow404: true })) as RouteObject | null;
    const refs = route?.spec?.rules?.[0]?.backendRefs ?? [];
    const gone = objectName(modelId);
    if (!refs.some((r) => r.name === gone)) return;
    const kept = refs.filter((r) => r.name && r.name !== gone);
    if (!kept.length) {
      await this.call('DELETE', routePath, { allow404: true });
      return;
    }
    // Backends are Services named after models; the remaining models keep their weights as they are.
    const names = await this.modelIdsByName();
    const weights = Object.fromEntries(kept.filter((r) => names.has(r.name!)).map((r) => [names.get(r.name!)!, r.weight ?? 1]));
    const manifest = httpRouteManifest(modelType, weights, this.settings);
    await this.serverSideApply(routePath, checkManifest(manifest));
  }

  /** Model ids by object name, from the annotations of the Services this executor made. */
  private async modelIdsByName(): Promise<Map<string, string>> {
    const selector = encodeURIComponent(`${LABEL.managedBy}=${MANAGED_BY}`);
    const found = (await this.call('GET', `${paths.services(this.namespace)}?labelSelector=${selector}`)) as { items?: Array<{ metadata?: { name?: string; annotations?: Record<string, string> } }> };
    const names = new Map<string, string>();
    for (const item of found.items ?? []) {
      const id = item.metadata?.annotations?.[ANNOTATION.model];
      if (item.metadata?.name && id) names.set(item.metadata.name, id);
    }
    return names;
  }

  // ---------------------------------------------------------------------------------------------
  // The API server

  private statusOf(found: DeploymentObject, spec: { modelId: string; modelType?: string }): DeploymentStatus {
    return {
      modelId: found.metadata?.annotations?.[ANNOTATION.model] ?? spec.modelId,
      modelType: found.metadata?.annotations?.[ANNOTATION.modelType] ?? spec.modelType ?? '',
      // The API server defaults an unset count to 1.
      desired: found.spec?.replicas ?? 1,
      ready: found.status?.readyReplicas ?? 0,
      // Traffic reaches the pods through the Gateway, not through modelfleet's router.
      endpoints: [],
    };
  }

  /** Server-side apply: the object as this field manager wants it; JSON is valid YAML. */
  private serverSideApply(path: string, manifest: Record<string, unknown>): Promise<unknown> {
    return this.call('PATCH', `${path}?fieldManager=${MANAGED_BY}&force=true`, { body: JSON.stringify(manifest), contentType: 'application/apply-patch+yaml' });
  }

  private async call(method: Dispatcher.HttpMethod, path: string, options: { body?: string; contentType?: string; allow404?: boolean } = {}): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (options.contentType) headers['content-type'] = options.contentType;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.server}${path}`, { method, headers, dispatcher: this.dispatcher, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, ...(options.body !== undefined ? { body: options.body } : {}) });
    } catch (error) {
      throw new Error(`the Kubernetes API at ${this.server} did not answer ${method} ${path.split('?')[0]}: ${(error as Error).message}; check the server URL, the network and the CA certificate in the executor's settings`);
    }
    const text = await response.body.text();
    const status = response.statusCode;
    if (status === 404 && options.allow404) return null;
    if (status >= 200 && status < 300) return text ? JSON.parse(text) : null;
    let reason = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { message?: string };
      if (parsed.message) reason = parsed.message;
    } catch {
      /* not a Status object: the text is the reason */
    }
    const what = `the Kubernetes API refused ${method} ${path.split('?')[0]} (HTTP ${status}): ${reason}`;
    if (status === 401) throw new Error(`${what}; the token is missing or not valid for this cluster`);
    if (status === 403) throw forbidden(`${what}; give the token's service account the RBAC rights on deployments, services and httproutes in namespace ${this.namespace}`);
    if (status === 404) throw notFound(`${what}; check that namespace ${this.namespace} exists and the Gateway API CRDs are installed`);
    if (status === 409) throw conflict(what);
    if (status === 400 || status === 422) throw invalidInput(what);
    throw new Error(what);
  }
}
