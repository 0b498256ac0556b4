/**
 * A fixed piece of CPU work (JSON round trips of a model-sized document), timed. On a shared or
 * virtualized machine the same work can take noticeably longer from one minute to the next; recording
 * it next to every run says whether a slow run was the code or the machine.
 */
const DOCUMENT = JSON.stringify({
  id: 'ig_feed_main_mtml:v12',
  role: 'experiment',
  trafficShare: 0.03,
  assets: [{ name: 'checkpoint', kind: 'checkpoint', uri: 'manifold://models/ig_feed_main_mtml/v12/model.pt' }],
  thresholds: { PLIKE: { calibration: { min: 0.85, max: 1.12 }, neMax: 0.93, minPositives: 100, source: 'static' } },
  capacity: { maxQpsPerReplica: 180, replicas: 12, unitCost: 3.1 },
});

/** Milliseconds for 30,000 parse + stringify round trips; lower is faster. */
export function calibrate(): number {
  const started = performance.now();
  let size = 0;
  for (let i = 0; i < 30_000; i++) size += JSON.stringify(JSON.parse(DOCUMENT)).length;
  if (size === 0) throw new Error('unreachable');
  return performance.now() - started;
}
