/**
 * Where models run. A launch asks an executor for replicas of a model and waits for them to be ready;
 * the router asks it where a model's ready replicas are. Three implementations share this interface:
 * `local` (model-server processes on loopback ports), `simulated` (a simulated fleet on a simulated
 * clock) and `kubernetes` (Deployments through the Kubernetes API).
 */

export const ExecutorKind = ['local', 'simulated', 'kubernetes'] as const;
export type ExecutorKind = (typeof ExecutorKind)[number];

/** What to run: a model and how many replicas of it. */
export interface DeploymentSpec {
  modelId: string;
  modelType: string;
  replicas: number;
}

/** A model's replicas as the executor sees them now. */
export interface DeploymentStatus {
  modelId: string;
  modelType: string;
  /** Replicas asked for. */
  desired: number;
  /** Replicas that answer their health check. */
  ready: number;
  /** Base URLs of the ready replicas (`http://127.0.0.1:PORT`); empty for executors the router does not reach directly. */
  endpoints: string[];
}

export interface Executor {
  readonly kind: ExecutorKind;
  /**
   * Makes `spec.replicas` replicas of the model exist, creating the deployment if needed. Idempotent:
   * asking again for the same count changes nothing, so a launch that resumes after a crash repeats
   * its last request safely. Returns without waiting for readiness.
   */
  apply(spec: DeploymentSpec): Promise<DeploymentStatus>;
  /** The model's replicas now, or null when it has no deployment. */
  status(modelId: string): Promise<DeploymentStatus | null>;
  /** Stops every replica of the model and forgets the deployment. Idempotent. */
  remove(modelId: string): Promise<void>;
  /** Every deployment this executor runs. */
  list(): Promise<DeploymentStatus[]>;
  /**
   * After a restart: adopts the replicas a previous process recorded and left running, replaces the
   * dead ones, and stops what no deployment accounts for, so nothing leaks.
   */
  recover(): Promise<void>;
  /**
   * For executors that also own the traffic split (Kubernetes: Gateway API HTTPRoute weights), the
   * shares of a model type's models after a launch moved them. Executors whose traffic goes through
   * modelfleet's router, which follows the registry, leave it out.
   */
  setTrafficWeights?(modelType: string, weights: Record<string, number>): Promise<void>;
  /** Stops supervising. Local replicas keep running only when `keepReplicas` is set (the server restarts and adopts them). */
  close(options?: { keepReplicas?: boolean }): Promise<void>;
}

/** Where the router finds a model's ready replicas, kept current by whoever runs them. */
export interface ReplicaDirectory {
  endpoints(modelId: string): readonly string[];
}
