import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import type { ErrorDetail } from './errors.js';
import { invalidInput } from './errors.js';
import { fieldsAt, isMissing } from './schemaFields.js';

/** Joins a zod issue path the way users write it: `tasks[0].name`, `thresholds.PLIKE.neMax`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

export interface ZodDetailsOptions {
  /** The schema that was parsed: lets unknown-field messages list the fields allowed at that place. */
  schema?: z.ZodType;
  /** The value that was parsed: lets a field absent from it be reported as missing. */
  input?: unknown;
  /** Prepended to every path shown (e.g. where the parsed value sits in a larger body); not used to read schema or input. */
  prefix?: ReadonlyArray<PropertyKey>;
}

/**
 * Turns zod issues into error details that say what is wrong and how to fix it. Zod reports unknown
 * fields at the enclosing object with the keys in one issue; here each unknown key gets its own detail
 * at its own path, with a spelling suggestion from the fields the schema allows there. A field the
 * input does not have is reported as missing rather than as "received undefined".
 */
export function zodDetails(error: z.ZodError, options: ZodDetailsOptions = {}): ErrorDetail[] {
  const { schema, input, prefix = [] } = options;
  return error.issues.flatMap((issue): ErrorDetail[] => {
    if (issue.code === 'unrecognized_keys') {
      const allowed = schema ? fieldsAt(schema, issue.path) : [];
      return issue.keys.map((key) => ({
        path: formatPath([...prefix, ...issue.path, key]),
        message: unknownFieldMessage(key, allowed),
      }));
    }
    const path = formatPath([...prefix, ...issue.path]);
    // Only zod's own type checks: a refinement's message about an absent field already says what to do.
    if (issue.code !== 'custom' && isMissing(input, issue.path)) {
      const field = String(issue.path[issue.path.length - 1]);
      const expected = issue.message.replace(/^Invalid (input|option): /, '').replace(/, received undefined$/, '');
      const hint = /^Invalid (input|option)$/.test(expected) ? '' : ` (${expected})`;
      return [{ path, message: `missing required field '${field}': add it${hint}` }];
    }
    return [{ path, message: issue.message }];
  });
}

function unknownFieldMessage(key: string, allowed: string[]): string {
  const best = allowed.length ? closest(key, allowed) : undefined;
  const near = best && distance(key, best) <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${best}'?)` : '';
  const known = allowed.length ? `; fields allowed here: ${allowed.join(', ')}` : '';
  return `unknown field '${key}'${near}: remove it or fix the spelling${known}`;
}

/** Parses with a schema or throws `invalid_input` listing every problem with its path. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = zodDetails(result.error, { schema, input: value });
  throw invalidInput(`${what} is invalid: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}
