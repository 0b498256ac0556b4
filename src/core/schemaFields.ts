import type { z } from 'zod';

/**
 * Small readers of zod schemas and of the raw input they parse, for error messages: which fields an
 * object allows at a path, whether a field is absent from the input, and field paths as users write them.
 */

/** Splits `tasks[0].name` into `['tasks', 0, 'name']`, the inverse of formatPath in zodIssues. */
export function pathSegments(path: string): (string | number)[] {
  if (path === '' || path === '(root)') return [];
  const segments: (string | number)[] = [];
  for (const part of path.split('.')) {
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!match) {
      segments.push(part);
      continue;
    }
    if (match[1]) segments.push(match[1]);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]));
  }
  return segments;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** True when the parent of a path exists in the input (as an object) but the last field of the path does not. */
export function isMissing(input: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  const last = path[path.length - 1];
  if (typeof last !== 'string') return false;
  let value: unknown = input;
  for (const segment of path.slice(0, -1)) {
    if (value === null || typeof value !== 'object') return false;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return isRecord(value) && !Object.hasOwn(value, last);
}

/** Wrappers that leave the shape of the value they wrap unchanged, for reading fields. */
const wrapperTypes = new Set(['default', 'prefault', 'nullable', 'optional', 'nonoptional', 'readonly', 'catch']);

/**
 * The field names of the object schema at a path (as in a zod issue path), walking through wrappers,
 * pipes, arrays and records; [] when the path does not lead to an object schema.
 */
export function fieldsAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let def = defOf(schema);
  const unwrap = () => {
    for (let guard = 0; def && guard < 32; guard++) {
      if (wrapperTypes.has(def.type)) def = defOf(def.innerType);
      else if (def.type === 'pipe') def = defOf(def.in);
      else if (def.type === 'lazy' && typeof def.getter === 'function') def = defOf(def.getter());
      else break;
    }
  };
  unwrap();
  for (const segment of path) {
    if (!def) return [];
    if (def.type === 'object' && typeof segment === 'string') def = defOf(def.shape?.[segment]);
    else if (def.type === 'array' && typeof segment === 'number') def = defOf(def.element);
    else if (def.type === 'record') def = defOf(def.valueType);
    else return [];
    unwrap();
  }
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The parts of a zod (v4) schema definition that {@link fieldsAt} reads. */
export interface SchemaDef {
  type: string;
  innerType?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  in?: unknown;
  getter?: () => unknown;
}

/** A zod (v4) schema's definition, or undefined when the value is not a schema. */
export function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}
