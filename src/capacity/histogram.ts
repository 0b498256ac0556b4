import hdr from 'hdr-histogram-js';

/** A latency histogram in microseconds: 1 µs to 60 s at 3 significant digits (HdrHistogram). */
export type Histogram = ReturnType<typeof hdr.build>;

/** An empty latency histogram; it grows past 60 s rather than dropping a value. */
export function latencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a duration given in milliseconds (performance.now() differences). */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

/** Latency percentiles in milliseconds; all 0 when nothing was recorded. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** The percentiles a report shows, in milliseconds. */
export function summarize(histogram: Histogram): LatencySummary {
  const ms = (us: number) => us / 1000;
  return {
    count: histogram.totalCount,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
  };
}

/**
 * A histogram as compact text (HdrHistogram's compressed V2 encoding), to move it between worker
 * threads: percentiles of merged histograms are exact, averaging per-thread percentiles is not.
 */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Reads a histogram written by {@link encodeHistogram}. */
export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded);
}

/** One histogram holding the values of all of `parts`. */
export function mergeHistograms(parts: readonly Histogram[]): Histogram {
  const merged = latencyHistogram();
  for (const part of parts) if (part.totalCount) merged.add(part);
  return merged;
}
