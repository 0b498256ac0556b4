/** A numeric command-line option's value, or an error naming the flag. */
export function numberOption(flag: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${flag} '${String(value)}' is not a number`);
  return n;
}

/** A whole-number option of at least `min`, or an error naming the flag. */
export function wholeNumberOption(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min) throw new Error(`${flag} '${value}' is not a whole number >= ${min}`);
  return n;
}
