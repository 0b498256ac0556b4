import type { z } from 'zod';
import type { ErrorDetail } from '../core/errors.js';
import { zodDetails } from '../core/zodIssues.js';
import { criticalityObligations } from './criticalityPolicy.js';
import type { RegistryKind, RegistrySpecs } from './entry.js';
import { ModelInputSchema } from './model.js';
import { ModelTypeInputSchema } from './modelType.js';
import { parseModelTypeName, splitModelId } from './modelTypeName.js';
import type { RegistrySettings } from './settings.js';
import { TeamInputSchema } from './team.js';

export const inputSchemas = {
  team: TeamInputSchema,
  modelType: ModelTypeInputSchema,
  model: ModelInputSchema,
} as const satisfies Record<RegistryKind, z.ZodType>;

export const kindLabel: Record<RegistryKind, string> = { team: 'team', modelType: 'model type', model: 'model' };

/** The field that names an entry of each kind. */
export const keyField: Record<RegistryKind, 'name' | 'id'> = { team: 'name', modelType: 'name', model: 'id' };

export type SpecCheck<K extends RegistryKind> = { spec: RegistrySpecs[K]; problems: [] } | { spec: null; problems: ErrorDetail[] };

/**
 * Parses one entry's input into its canonical spec (defaults filled in) and checks everything that
 * depends on the entry alone: field types, unknown fields, the name grammar, the criticality obligations.
 */
export function checkSpec<K extends RegistryKind>(kind: K, input: unknown, settings: RegistrySettings): SpecCheck<K> {
  const schema = inputSchemas[kind];
  const parsed = schema.safeParse(input);
  if (!parsed.success) return { spec: null, problems: zodDetails(parsed.error, { schema, input }) };
  const problems: ErrorDetail[] = [];
  let spec: unknown = parsed.data;
  if (kind === 'modelType') {
    const type = parsed.data as RegistrySpecs['modelType'];
    const name = parseModelTypeName(type.name, settings);
    if (!name.ok) problems.push(...name.problems);
    problems.push(...criticalityObligations(type));
  } else if (kind === 'model') {
    const model = parsed.data as z.output<typeof ModelInputSchema>;
    const split = splitModelId(model.id);
    if (!split) {
      problems.push({
        path: 'id',
        message: `'${model.id}' is not a model id: use <modelType>:<version>, e.g. ig_stories_tray_mtml:v42 (version: letters, digits, . _ -)`,
      });
    } else {
      const name = parseModelTypeName(split.modelType, settings, 'id');
      if (!name.ok) problems.push(...name.problems);
      if (model.modelType !== undefined && model.modelType !== split.modelType) {
        problems.push({
          path: 'modelType',
          message: `modelType '${model.modelType}' disagrees with id '${model.id}': the id starts with its model type, so use '${split.modelType}' or omit modelType`,
        });
      }
      spec = { ...model, modelType: split.modelType };
    }
  }
  if (problems.length) return { spec: null, problems };
  return { spec: spec as RegistrySpecs[K], problems: [] };
}

/** The name of the entry an input describes, when it has one, for error messages and look-ups. */
export function inputKey(kind: RegistryKind, input: unknown): string | null {
  if (input === null || typeof input !== 'object') return null;
  const value = (input as Record<string, unknown>)[keyField[kind]];
  return typeof value === 'string' ? value : null;
}
