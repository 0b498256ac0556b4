import { createHash } from 'node:crypto';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { invalidInput, type ErrorDetail } from '../core/errors.js';

/**
 * The Kubernetes objects a model runs as: a Deployment and a Service per model, and per model type
 * a Gateway API HTTPRoute whose weighted backends split the type's traffic between its models.
 * Pure: built from the deployment spec and the settings, and checked before anything is sent.
 */

export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  model: 'modelfleet.dev/model',
  modelType: 'modelfleet.dev/model-type',
} as const;
/** Label values cannot hold a model id (`:` and 63 characters at most): the real ids are annotations. */
export const ANNOTATION = { model: 'modelfleet.dev/model', modelType: 'modelfleet.dev/model-type' } as const;
export const MANAGED_BY = 'modelfleet';
/** The largest weight a Gateway API backendRef takes; weights are scaled to it. */
export const MAX_GATEWAY_WEIGHT = 1_000_000;

export interface ManifestSettings {
  namespace: string;
  /** Image with the modelfleet CLI. */
  image: string;
  /** Command that runs the CLI in the image. Default `modelfleet`. */
  command: string[];
  /** Port the model server listens on in the pod. */
  port: number;
  /** Extra `model-server` flags for a model (artifact size, faults for a rehearsal). */
  args: (modelId: string) => string[];
  /** Container resources, e.g. `{ requests: { cpu: '1', memory: '1Gi' } }`. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  /** The Gateway every model type's HTTPRoute attaches to. */
  gateway: { name: string; namespace?: string; sectionName?: string };
  /** Request header naming the model type, matched by the type's HTTPRoute. */
  modelTypeHeader: string;
}

/**
 * A DNS-1035 name for a model's (or a type's) objects: `mf-`, the id in lower case with anything
 * else as `-`, and 8 hex digits of the id's hash, so ids that differ only in case or punctuation
 * still get names of their own.
 */
export function objectName(id: string): string {
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  const readable = id.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63 - 3 - 1 - 8).replace(/-+$/, '');
  return `mf-${readable ? `${readable}-` : ''}${hash}`;
}

/** A label value for an id: allowed characters kept, others as `-`, at most 63, alphanumeric at both ends. */
export function labelValue(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

function labelsOf(modelId: string, modelType: string): Record<string, string> {
  return { [LABEL.managedBy]: MANAGED_BY, [LABEL.name]: 'modelfleet-model-server', [LABEL.instance]: objectName(modelId), [LABEL.model]: labelValue(modelId), [LABEL.modelType]: labelValue(modelType) };
}

export function deploymentManifest(spec: { modelId: string; modelType: string; replicas: number }, settings: ManifestSettings): Deployment {
  const name = objectName(spec.modelId);
  const labels = labelsOf(spec.modelId, spec.modelType);
  const annotations = { [ANNOTATION.model]: spec.modelId, [ANNOTATION.modelType]: spec.modelType };
  return new Deployment({
    metadata: { name, namespace: settings.namespace, labels, annotations },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: { [LABEL.instance]: name } },
      template: {
        metadata: { labels, annotations },
        spec: {
          // The model server finishes requests in flight within 5 s of SIGTERM.
          terminationGracePeriodSeconds: 15,
          containers: [
            {
              name: 'model-server',
              image: settings.image,
              command: settings.command,
              // 0.0.0.0: the kubelet's probes and the Service reach the pod's address, not its loopback.
              args: ['model-server', '--model', spec.modelId, '--host', '0.0.0.0', '--port', String(settings.port), ...settings.args(spec.modelId)],
              ports: [{ name: 'http', containerPort: settings.port }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 6 },
              ...(settings.resources ? { resources: settings.resources } : {}),
            },
          ],
        },
      },
    },
  });
}

export function serviceManifest(spec: { modelId: string; modelType: string }, settings: ManifestSettings): Service {
  const name = objectName(spec.modelId);
  return new Service({
    metadata: { name, namespace: settings.namespace, labels: labelsOf(spec.modelId, spec.modelType), annotations: { [ANNOTATION.model]: spec.modelId, [ANNOTATION.modelType]: spec.modelType } },
    spec: { selector: { [LABEL.instance]: name }, ports: [{ name: 'http', port: settings.port, targetPort: 'http' }] },
  });
}

/** The type's route: requests naming the type in the header go to its models' Services in proportion to their weights. */
export function httpRouteManifest(modelType: string, weights: Record<string, number>, settings: ManifestSettings): HTTPRoute {
  const { name: gateway, namespace, sectionName } = settings.gateway;
  return new HTTPRoute({
    metadata: {
      name: objectName(modelType),
      namespace: settings.namespace,
      labels: { [LABEL.managedBy]: MANAGED_BY, [LABEL.modelType]: labelValue(modelType) },
      annotations: { [ANNOTATION.modelType]: modelType },
    },
    spec: {
      parentRefs: [{ name: gateway, ...(namespace ? { namespace } : {}), ...(sectionName ? { sectionName } : {}) }],
      rules: [
        {
          matches: [{ headers: [{ type: 'Exact', name: settings.modelTypeHeader, value: modelType }] }],
          backendRefs: Object.entries(weights)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([modelId, weight]) => ({ name: objectName(modelId), port: settings.port, weight })),
        },
      ],
    },
  });
}

/**
 * Relative traffic weights (e.g. the registry's shares) as Gateway API weights: whole numbers in
 * the same proportions, the total scaled to 1,000,000 (shares are kept to six decimals).
 */
export function gatewayWeights(weights: Record<string, number>): Record<string, number> {
  const problems = Object.entries(weights).filter(([, w]) => !(Number.isFinite(w) && w >= 0));
  if (problems.length) {
    throw invalidInput(
      'traffic weights must be numbers of 0 or more',
      problems.map(([modelId, w]) => ({ path: `weights.${modelId}`, message: `${w} is not a weight: use the model's traffic share, e.g. 0.25` })),
    );
  }
  const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
  return Object.fromEntries(Object.entries(weights).map(([modelId, w]) => [modelId, total > 0 ? Math.round((w / total) * MAX_GATEWAY_WEIGHT) : 0]));
}

// -----------------------------------------------------------------------------------------------
// Checks the API server makes in code rather than in its published schema.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const isDns1123Label = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s);
const isDns1123Subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);

function qualifiedNameProblem(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== null && !isDns1123Subdomain(prefix)) return `the prefix '${prefix}' must be a DNS subdomain (lower case, e.g. example.com)`;
  if (!(name.length <= 63 && QUALIFIED_NAME.test(name))) return `'${name}' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return null;
}

function labelValueProblem(value: string): string | null {
  return value === '' || (value.length <= 63 && QUALIFIED_NAME.test(value)) ? null : `'${value}' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** `kind` null: a pod template's metadata, which has no name of its own. */
function metadataProblems(kind: string | null, metadata: ObjectMeta | undefined, at: string): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const name = metadata?.name ?? '';
  // A Service's name becomes a DNS label in the cluster, so it follows the stricter RFC 1035.
  if (kind !== null && (kind === 'Service' ? !(name.length <= 63 && DNS1035_LABEL.test(name)) : !isDns1123Subdomain(name))) {
    problems.push({ path: `${at}metadata.name`, message: `'${name}' is not a valid ${kind} name: lower-case letters, digits and '-'${kind === 'Service' ? ', starting with a letter, at most 63 characters' : ' (and .), at most 253 characters'}` });
  }
  if (metadata?.namespace !== undefined && !isDns1123Label(metadata.namespace)) {
    problems.push({ path: `${at}metadata.namespace`, message: `'${metadata.namespace}' is not a namespace name: lower-case letters, digits and '-', at most 63 characters` });
  }
  for (const [key, value] of Object.entries(metadata?.labels ?? {})) {
    const problem = qualifiedNameProblem(key) ?? labelValueProblem(value);
    if (problem) problems.push({ path: `${at}metadata.labels.${key}`, message: problem });
  }
  for (const key of Object.keys(metadata?.annotations ?? {})) {
    const problem = qualifiedNameProblem(key);
    if (problem) problems.push({ path: `${at}metadata.annotations.${key}`, message: problem });
  }
  return problems;
}

type Manifest = Deployment | Service | HTTPRoute;

/**
 * Checks a manifest against the Kubernetes API's published schema (the generated models' own
 * validation) and the naming rules the API server applies beyond it (names, namespace, label and
 * annotation keys, label values), and returns it as plain JSON to send. Throws invalid input
 * listing every problem, so nothing malformed reaches the cluster.
 */
export function checkManifest(manifest: Manifest): Record<string, unknown> {
  const json = manifest.toJSON() as Record<string, any>;
  const kind = String(json['kind']);
  const problems = metadataProblems(kind, json['metadata'], '');
  if (kind === 'Deployment') {
    problems.push(...metadataProblems(null, json['spec']?.template?.metadata, 'spec.template.'));
    for (const [i, container] of ((json['spec']?.template?.spec?.containers ?? []) as Array<{ name: string }>).entries()) {
      if (!isDns1123Label(container.name)) problems.push({ path: `spec.template.spec.containers.${i}.name`, message: `'${container.name}' is not a container name: lower-case letters, digits and '-'` });
    }
  }
  try {
    manifest.validate();
  } catch (error) {
    const errors = (error as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    if (errors?.length) {
      for (const e of errors) problems.push({ path: (e.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') || '(manifest)', message: e.message ?? 'invalid' });
    } else problems.push({ path: '(manifest)', message: (error as Error).message });
  }
  if (problems.length) {
    const name = json['metadata']?.name ?? '(unnamed)';
    throw invalidInput(`the ${kind} ${name} would be refused by the Kubernetes API (${problems.length} problem${problems.length === 1 ? '' : 's'}); fix the executor's settings (namespace, image, resources, gateway) named below`, problems);
  }
  return json;
}
