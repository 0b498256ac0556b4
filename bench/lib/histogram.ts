// The benchmarks measure with the load generator's histograms, so their percentiles mean the same.
export { latencyHistogram, recordMs, summarize, type Histogram, type LatencySummary } from '../../src/capacity/histogram.js';
