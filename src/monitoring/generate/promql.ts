/** Small pieces of PromQL and Prometheus template text the generators share. */

/** A PromQL double-quoted string literal. */
export const promString = (value: string): string => JSON.stringify(value);

/** An RE2 pattern matching exactly `value`. */
export const regexLiteral = (value: string): string => value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/** A label selector body, e.g. `model_type="ig_feed_main_mtml",model=~"a|b"`; equality for one value, an anchored alternation for several. */
export function selector(labels: Record<string, string | readonly string[]>): string {
  return Object.entries(labels)
    .map(([name, value]) => {
      if (typeof value === 'string') return `${name}=${promString(value)}`;
      if (value.length === 1) return `${name}=${promString(value[0]!)}`;
      return `${name}=~${promString(value.map(regexLiteral).join('|'))}`;
    })
    .join(',');
}

/** A Prometheus duration for whole minutes: 5 -> 5m, 60 -> 1h, 4320 -> 3d. */
export function promDuration(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/**
 * Registry text (descriptions, rotations) placed in alert labels and annotations, which Prometheus
 * expands as Go templates: `{{` would start an action, so it is written as a template that prints it.
 */
export const templateLiteral = (text: string): string => text.replace(/\{\{/g, '{{ "{{" }}');
