/**
 * RFC 7396 JSON Merge Patch: objects merge recursively, null deletes, anything else replaces.
 * Hand-written because the rule is five lines and the npm packages for it are unmaintained.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    // Defined, not assigned: a `__proto__` member from JSON.parse must stay a field (that validation then
    // rejects as unknown) rather than become the prototype, whose members the schema would read as fields.
    else Object.defineProperty(base, key, { value: applyMergePatch(Object.hasOwn(base, key) ? base[key] : undefined, value), enumerable: true, writable: true, configurable: true });
  }
  return base;
}
