import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

/**
 * Collects garbage now, before a measured run, so that what earlier phases left behind (a generated
 * fleet, parsed YAML) is not collected in the middle of a run, stalling the load generator and
 * showing up as server latency. `npm run bench` starts node without --expose-gc, hence the flag here.
 */
export function collectGarbage(): void {
  gc?.();
}
