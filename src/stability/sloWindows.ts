import { HOUR_MS, MINUTE_MS } from './eventBatch.js';
import { SLO_WINDOWS_MINUTES, type SloWindowCounts, type SloWindowMinutes } from './slo.js';
import type { StabilityStore, StatusCounts } from './stabilityStore.js';

export type SloWindows = Record<SloWindowMinutes, SloWindowCounts>;

const toWindow = (c: StatusCounts | undefined): SloWindowCounts => ({ evaluated: (c?.stable ?? 0) + (c?.unstable ?? 0), stable: c?.stable ?? 0 });

function add(a: StatusCounts | undefined, b: StatusCounts | undefined): StatusCounts {
  return { stable: (a?.stable ?? 0) + (b?.stable ?? 0), unstable: (a?.unstable ?? 0) + (b?.unstable ?? 0), insufficient: (a?.insufficient ?? 0) + (b?.insufficient ?? 0) };
}

/**
 * Minute counts of every SLO window ending at `at`, per model. Windows up to an hour count minute
 * verdicts exactly; longer ones add whole hours from the hourly rollup to the current hour's minutes,
 * so they end at `at` and start on an hour boundary (at most an hour shorter than named). Whole-hour
 * sums only change when the hour does, so they are cached per hour.
 */
export class SloWindowCounter {
  private cachedHour = NaN;
  private cachedHours = new Map<number, Map<string, StatusCounts>>();

  constructor(private readonly store: StabilityStore) {}

  async countsAt(at: number): Promise<Map<string, SloWindows>> {
    const hour = at - (at % HOUR_MS);
    if (hour !== this.cachedHour) {
      this.cachedHour = hour;
      this.cachedHours = new Map();
    }
    const exact = new Map<number, Map<string, StatusCounts>>();
    const partial = await this.store.minuteCounts(hour, at);
    for (const minutes of SLO_WINDOWS_MINUTES) {
      if (minutes <= 60) {
        exact.set(minutes, await this.store.minuteCounts(at - minutes * MINUTE_MS, at));
        continue;
      }
      let whole = this.cachedHours.get(minutes);
      if (!whole) {
        const hours = Math.floor(minutes / 60) - 1;
        whole = await this.store.hourCounts(hour - hours * HOUR_MS, hour);
        this.cachedHours.set(minutes, whole);
      }
      const merged = new Map<string, StatusCounts>();
      for (const id of new Set([...whole.keys(), ...partial.keys()])) merged.set(id, add(whole.get(id), partial.get(id)));
      exact.set(minutes, merged);
    }
    const models = new Set<string>();
    for (const counts of exact.values()) for (const id of counts.keys()) models.add(id);
    const result = new Map<string, SloWindows>();
    for (const id of models) {
      result.set(id, Object.fromEntries(SLO_WINDOWS_MINUTES.map((m) => [m, toWindow(exact.get(m)!.get(id))])) as SloWindows);
    }
    return result;
  }
}
