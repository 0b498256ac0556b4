/**
 * Feature hashing for the model server. Written by hand rather than taken from a package: FNV-1a is a
 * few lines, the hot path needs it over JavaScript strings without first encoding them into a Buffer
 * (an allocation per feature), and the artifact format pins the exact function so that a trainer in
 * another language computes the same buckets. The hash runs over the UTF-8 bytes of the text, so it
 * agrees with any byte-oriented FNV-1a implementation.
 */

/** FNV-1a 32-bit offset basis: the state of a hash over no bytes. */
export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a (32-bit) over the UTF-8 bytes of `text`, continuing from `state` so that `name`, `=` and
 * `value` hash as one string without being concatenated. Returns an unsigned 32-bit integer.
 */
export function fnv1a(text: string, state: number = FNV_OFFSET): number {
  let h = state >>> 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    // Encode the code point as UTF-8 on the fly; an unpaired surrogate becomes U+FFFD, as TextEncoder does.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * The hash of the categorical feature `name=value` (the bucket is this modulo the artifact's
 * featureDim). A numeric feature hashes its name alone (`featureHash(name)`) and scales its row by
 * its value instead.
 */
export function featureHash(name: string, value?: string): number {
  const h = fnv1a(name);
  // 0x3d is '=': hashing it inline keeps `name=value` free of a concatenated string.
  return value === undefined ? h : fnv1a(value, Math.imul(h ^ 0x3d, FNV_PRIME));
}
