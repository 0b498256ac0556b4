import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { ChangeAction, EntityKind } from './vocabulary.js';

export type JsonPatchOperation = Operation;

/** One immutable line of the ledger. `before`/`after` are full snapshots; `patch` is RFC 6902 from before to after. */
export interface ChangeRecord {
  seq: number;
  entity: EntityKind;
  entityId: string;
  version: number;
  action: ChangeAction;
  actor: string;
  at: string;
  reason: string | null;
  before: unknown;
  after: unknown;
  patch: JsonPatchOperation[];
}

export type ChangeDraft = Omit<ChangeRecord, 'seq' | 'patch'>;

/** The RFC 6902 patch between two snapshots, over what the writer controls (the version is bookkeeping). */
export function diffPatch(before: unknown, after: unknown): JsonPatchOperation[] {
  return fastJsonPatch.compare(withoutVersion(before), withoutVersion(after));
}

function withoutVersion(snapshot: unknown): object {
  if (snapshot === null || typeof snapshot !== 'object') return {};
  const { version: _version, ...rest } = snapshot as Record<string, unknown>;
  return rest;
}
