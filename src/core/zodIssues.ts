import type { z } from 'zod';
import type { ErrorDetail } from './errors.js';
import { invalidInput } from './errors.js';

/** Joins a zod issue path the way users write it: `tasks[0].name`, `thresholds.PLIKE.neMax`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/** Turns zod issues into error details that say what is wrong and how to fix it. */
export function zodDetails(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = formatPath([...prefix, ...issue.path]);
    if (issue.code === 'unrecognized_keys') {
      return {
        path,
        message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}: remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling`,
      };
    }
    return { path, message: issue.message };
  });
}

/** Parses with a schema or throws `invalid_input` listing every problem with its path. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = zodDetails(result.error);
  throw invalidInput(`${what} is invalid: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}
