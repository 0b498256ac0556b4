import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskThresholdsSchema } from '../registry/model.js';
import { evaluateTask, modelStatusOf, positivesToJudge } from './evaluation.js';
import type { StabilityMetrics } from './metrics.js';

const thresholds = TaskThresholdsSchema.parse({ calibration: { min: 0.8, max: 1.25 }, neMax: 0.9, minPositives: 100, minCount: 1000 });
const metrics = (over: Partial<StabilityMetrics> = {}): StabilityMetrics => ({ count: 20_000, weight: 20_000, positives: 2_000, ctr: 0.1, calibration: 1.02, logLoss: 0.25, ne: 0.77, ...over });

describe('evaluateTask', () => {
  it('is ok inside the band', () => {
    const e = evaluateTask('PLIKE', metrics(), thresholds);
    assert.equal(e.status, 'ok');
    assert.deepEqual(e.violations, []);
    assert.deepEqual(e.band, { calibration: { min: 0.8, max: 1.25 }, ne: { min: null, max: 0.9 } });
  });

  it('names each metric outside its band, with value and band', () => {
    const e = evaluateTask('PLIKE', metrics({ calibration: 1.3, ne: 0.95 }), thresholds);
    assert.equal(e.status, 'unstable');
    assert.deepEqual(e.violations, [
      { metric: 'calibration', value: 1.3, band: { min: 0.8, max: 1.25 } },
      { metric: 'ne', value: 0.95, band: { min: null, max: 0.9 } },
    ]);
    assert.equal(evaluateTask('PLIKE', metrics({ calibration: 0.79 }), thresholds).violations[0]!.metric, 'calibration');
  });

  it('treats the band edges as inside', () => {
    assert.equal(evaluateTask('PLIKE', metrics({ calibration: 1.25, ne: 0.9 }), thresholds).status, 'ok');
  });

  it('calls too few events, too few positives, or a one-class window insufficient data, never unstable', () => {
    assert.match(evaluateTask('PLIKE', metrics({ count: 999, calibration: 3 }), thresholds).reason!, /999 events .* fewer than the 1000/);
    assert.equal(evaluateTask('PLIKE', metrics({ positives: 99, calibration: 3 }), thresholds).status, 'insufficient_data');
    assert.match(evaluateTask('PLIKE', metrics({ calibration: null, ne: null }), thresholds).reason!, /only positives or only negatives/);
    assert.equal(evaluateTask('PLIKE', metrics({ count: 0, weight: 0, positives: 0, calibration: null }), thresholds).status, 'insufficient_data');
  });

  it('waits for enough positives to judge a narrow band, so sampling noise cannot page anyone', () => {
    const narrow = TaskThresholdsSchema.parse({ calibration: { min: 0.95, max: 1.05 }, neMax: 0.9, minPositives: 100 });
    const needed = positivesToJudge(narrow.calibration, narrow.minPositives);
    assert.equal(needed, Math.ceil((3 / (Math.log(1.05 / 0.95) / 2)) ** 2));
    const early = evaluateTask('PLIKE', metrics({ positives: needed - 1, calibration: 1.2 }), narrow);
    assert.equal(early.status, 'insufficient_data');
    assert.match(early.reason!, new RegExp(`fewer than the ${needed} needed to judge calibration within \\[0.95, 1.05\\]`));
    assert.equal(evaluateTask('PLIKE', metrics({ positives: needed, calibration: 1.2 }), narrow).status, 'unstable');
    // A wide band keeps the configured minimum.
    assert.equal(positivesToJudge({ min: 0.5, max: 2 }, 100), 100);
  });

  it('has no verdict without thresholds', () => {
    const e = evaluateTask('PLIKE', metrics({ calibration: 5 }), undefined);
    assert.equal(e.status, 'no_thresholds');
    assert.equal(e.band, null);
  });
});

describe('modelStatusOf', () => {
  const task = (status: 'ok' | 'unstable' | 'insufficient_data' | 'no_thresholds') => ({ ...evaluateTask('P', metrics(), thresholds), status });
  it('is unstable if any task is, stable if every judged task is ok, else says why not', () => {
    assert.equal(modelStatusOf([task('ok'), task('unstable'), task('insufficient_data')]), 'unstable');
    assert.equal(modelStatusOf([task('ok'), task('insufficient_data'), task('no_thresholds')]), 'stable');
    assert.equal(modelStatusOf([task('insufficient_data'), task('no_thresholds')]), 'insufficient_data');
    assert.equal(modelStatusOf([task('no_thresholds')]), 'unmonitored');
  });
});
