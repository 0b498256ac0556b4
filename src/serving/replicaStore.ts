/**
 * Where an executor keeps its replica slots, so a restarted server knows what should run and which
 * processes are its own. One record per slot: the number of a model's slots (not stopping) is its
 * desired replica count. The store adapter is src/store/replicaRepository.ts.
 */

export const ReplicaState = ['starting', 'ready', 'dead', 'stopping'] as const;
/** `starting`: asked for, not yet healthy; `ready`: answers its health check; `dead`: its process is gone and a restart is due; `stopping`: scaled down, leaving. */
export type ReplicaState = (typeof ReplicaState)[number];

export interface ReplicaRecord {
  /** The executor kind that owns the slot (`local`). */
  executor: string;
  id: string;
  modelId: string;
  modelType: string;
  /** Base URL the replica serves on, e.g. `http://127.0.0.1:41234`; null before a port is chosen. */
  endpoint: string | null;
  /** Process id, or null before the process is spawned. */
  pid: number | null;
  state: ReplicaState;
  /** Anything else the executor keeps about the slot (its ordinal, restarts, the last failure). */
  doc: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export type ReplicaChange = Partial<Pick<ReplicaRecord, 'endpoint' | 'pid' | 'state' | 'doc'>>;

export interface ReplicaStore {
  /** Every slot of an executor, oldest first. */
  list(executor: string): Promise<ReplicaRecord[]>;
  insert(record: Omit<ReplicaRecord, 'createdAt' | 'updatedAt'>): Promise<ReplicaRecord>;
  /** Changes a slot's fields (and its update time); a slot already deleted is left deleted. */
  update(executor: string, id: string, change: ReplicaChange): Promise<void>;
  delete(executor: string, id: string): Promise<void>;
}
