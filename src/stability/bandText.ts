/**
 * Metric values and healthy bands as on-call reads them, the same in alerts, notifiers and the
 * console: four significant digits, enough to compare a value against its band.
 */
export const formatValue = (value: number): string => (Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value));

/** "[0.9, 1.1]", "at most 0.95", "at least 0.5". */
export function formatBand(band: { min: number | null; max: number | null }): string {
  if (band.min !== null && band.max !== null) return `[${formatValue(band.min)}, ${formatValue(band.max)}]`;
  if (band.max !== null) return `at most ${formatValue(band.max)}`;
  if (band.min !== null) return `at least ${formatValue(band.min)}`;
  return 'no band';
}
