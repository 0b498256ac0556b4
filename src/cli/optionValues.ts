/** A numeric command-line option's value, or an error naming the flag. */
export function numberOption(flag: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${flag} '${String(value)}' is not a number`);
  return n;
}
