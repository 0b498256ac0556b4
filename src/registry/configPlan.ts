import fastJsonPatch from 'fast-json-patch';
import { z } from 'zod';
import { jsonEqual } from '../core/json.js';
import { diffPatch, type JsonPatchOperation } from './change.js';
import type { RegistryKind, RegistrySpecs, StoredEntry } from './entry.js';
import { RegistryKind as RegistryKinds } from './entry.js';
import type { RegistryOp } from './writePipeline.js';

/** One desired entry from a config directory, as the API receives it. */
export const DesiredEntrySchema = z
  .object({
    kind: z.enum(RegistryKinds),
    input: z.record(z.string(), z.unknown()),
    /** Where it came from (`file:line`), echoed in errors so the CLI can point at the line. */
    source: z.string().max(2000).optional(),
  })
  .strict();
export type DesiredEntry = z.infer<typeof DesiredEntrySchema>;

export interface PlannedChange {
  action: 'create' | 'update' | 'delete';
  kind: RegistryKind;
  key: string;
  source: string | null;
  /** RFC 6902 operations from the stored spec to the desired one (updates only: a create is the whole document). */
  patch: JsonPatchOperation[];
  /** The same change field by field, with the old value, for people reading a plan. */
  fields: FieldChange[];
}

export interface FieldChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

function fieldChanges(from: unknown, patch: JsonPatchOperation[]): FieldChange[] {
  return patch.map((op) => {
    const old = op.op === 'add' ? undefined : fastJsonPatch.getValueByPointer(from as object, op.path);
    const value = 'value' in op ? op.value : undefined;
    return { path: op.path, ...(old !== undefined ? { from: old } : {}), ...(value !== undefined ? { to: value } : {}) };
  });
}

/** Fields that are derived or checked rather than stored, so they never count as a difference. */
const comparable = (kind: RegistryKind, spec: Record<string, unknown>): Record<string, unknown> => {
  if (kind === 'modelType') {
    const { baselineModelId: _b, holdoutModelId: _h, ...rest } = spec;
    return rest;
  }
  if (kind === 'model') {
    const { modelType: _t, ...rest } = spec;
    return rest;
  }
  return spec;
};

/**
 * Compares desired specs (already canonical: parsed with defaults) with stored entries and returns the
 * changes and the ops that make them. Unchanged entries produce nothing; with `prune`, stored entries in
 * scope that the directory does not declare are deleted, models before types before teams.
 */
export function planChanges(
  desired: Array<{ kind: RegistryKind; key: string; spec: RegistrySpecs[RegistryKind]; input: unknown; source: string | null; index: number }>,
  stored: { [K in RegistryKind]: Map<string, StoredEntry<RegistrySpecs[K]>> },
  pruneCandidates: { [K in RegistryKind]: string[] } | null,
): { changes: PlannedChange[]; ops: RegistryOp[]; opSources: Array<string | null> } {
  const changes: PlannedChange[] = [];
  const ops: RegistryOp[] = [];
  const opSources: Array<string | null> = [];
  const declared = new Set(desired.map((d) => `${d.kind}\u0000${d.key}`));
  const order: Record<RegistryKind, number> = { team: 0, modelType: 1, model: 2 };
  for (const entry of [...desired].sort((a, b) => order[a.kind] - order[b.kind] || a.index - b.index)) {
    const current = stored[entry.kind].get(entry.key) as StoredEntry<RegistrySpecs[RegistryKind]> | undefined;
    if (!current) {
      changes.push({ action: 'create', kind: entry.kind, key: entry.key, source: entry.source, patch: [], fields: [] });
      ops.push({ action: 'create', kind: entry.kind, input: entry.input });
      opSources.push(entry.source);
      continue;
    }
    const from = comparable(entry.kind, current.spec as never);
    const to = comparable(entry.kind, entry.spec as never);
    if (jsonEqual(from, to)) continue;
    const patch = diffPatch(from, to);
    changes.push({ action: 'update', kind: entry.kind, key: entry.key, source: entry.source, patch, fields: fieldChanges(from, patch) });
    ops.push({ action: 'update', kind: entry.kind, key: entry.key, input: entry.input, ifVersion: current.version });
    opSources.push(entry.source);
  }
  if (pruneCandidates) {
    for (const kind of ['model', 'modelType', 'team'] as const) {
      for (const key of [...pruneCandidates[kind]].sort()) {
        if (declared.has(`${kind}\u0000${key}`)) continue;
        const current = stored[kind].get(key);
        changes.push({ action: 'delete', kind, key, source: null, patch: [], fields: [] });
        ops.push({ action: 'delete', kind, key, ...(current ? { ifVersion: current.version } : {}) });
        opSources.push(null);
      }
    }
  }
  return { changes, ops, opSources };
}
