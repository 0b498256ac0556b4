import type { ChangeRecord } from './apiTypes.js';

/** One field a change touched, as people read it: where, what it was, what it became. */
export interface FieldChange {
  /** Dotted path, e.g. `thresholds.PLIKE.calibration.min`. */
  path: string;
  /** Absent when the field was added. */
  from?: unknown;
  /** Absent when the field was removed. */
  to?: unknown;
}

/** Marks a field that is not there (undefined could be mistaken for a value). */
const ABSENT = Symbol('absent');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPrimitiveList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object');

/** RFC 6901 pointer segments, unescaped. */
function segmentsOf(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolve(doc: unknown, segments: string[]): unknown {
  let at: unknown = doc;
  for (const s of segments) {
    if (Array.isArray(at)) at = at[Number(s)];
    else if (isObject(at) && s in at) at = at[s];
    else return ABSENT;
    if (at === undefined) return ABSENT;
  }
  return at;
}

/**
 * Leaves of a value under `path`: objects and lists of objects are opened up, so a whole threshold
 * block added reads as its bounds; lists of plain values stay one field.
 */
function leaves(path: string, value: unknown, out: Map<string, unknown>): void {
  if (isObject(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) leaves(path ? `${path}.${k}` : k, v, out);
  } else if (Array.isArray(value) && value.length && !isPrimitiveList(value)) {
    value.forEach((v, i) => leaves(`${path}[${i}]`, v, out));
  } else out.set(path, value);
}

const dotted = (segments: string[]): string => segments.reduce((p, s) => (/^\d+$/.test(s) && p ? `${p}[${s}]` : p ? `${p}.${s}` : s), '');

/**
 * A change's JSON Patch as field-level `old -> new` lines. Old values come from the change's `before`
 * snapshot, since a patch only carries the new ones.
 */
export function fieldChanges(change: Pick<ChangeRecord, 'patch' | 'before'>): FieldChange[] {
  const result: FieldChange[] = [];
  for (const op of change.patch) {
    const segments = segmentsOf(op.path);
    const path = dotted(segments);
    const before = op.op === 'add' ? ABSENT : resolve(change.before, segments);
    const after: unknown = op.op === 'remove' ? ABSENT : 'value' in op ? op.value : ABSENT;
    const was = new Map<string, unknown>();
    const now = new Map<string, unknown>();
    if (before !== ABSENT) leaves(path, before, was);
    if (after !== ABSENT) leaves(path, after, now);
    for (const key of new Set([...was.keys(), ...now.keys()])) {
      const from = was.get(key);
      const to = now.get(key);
      if (was.has(key) && now.has(key) && JSON.stringify(from) === JSON.stringify(to)) continue;
      result.push({ path: key || '(whole entry)', ...(was.has(key) ? { from } : {}), ...(now.has(key) ? { to } : {}) });
    }
  }
  return result;
}

/** A field value in a sentence: strings bare, lists comma-separated, empty containers named. */
export function showValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value === '' ? '""' : value;
  if (Array.isArray(value)) return value.length ? value.map(showValue).join(', ') : '(empty list)';
  if (isObject(value)) return Object.keys(value).length ? JSON.stringify(value) : '(empty)';
  return String(value);
}
