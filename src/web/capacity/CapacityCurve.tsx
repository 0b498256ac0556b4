import type { CapacityEstimate } from '../../capacity/estimateCapacity.js';
import { fmt } from '../components/format.js';
import { TimeChart } from '../components/TimeChart.js';

/**
 * A capacity estimate as people read it: latency against offered load, with the p99 stopper as a
 * dashed line and the answer marked, then the table of steps (which passed, and which stopper failed
 * the others).
 */
export function CapacityCurve({ estimate }: { estimate: Pick<CapacityEstimate, 'steps' | 'stoppers' | 'maxQps' | 'verdict' | 'reason'> }) {
  // One point per offered rate: the last run at that rate (confirmations repeat a rate) is what counted.
  const byRate = new Map<number, CapacityEstimate['steps'][number]>();
  for (const step of estimate.steps) byRate.set(step.offeredQps, step);
  const points = [...byRate.values()].sort((a, b) => a.offeredQps - b.offeredQps);
  const x = points.map((s) => s.offeredQps);
  const data = [x, points.map((s) => s.p50), points.map((s) => s.p99), x.map(() => estimate.stoppers.p99Ms)];
  const answer = estimate.maxQps;
  return (
    <div class="capacity-curve">
      <p>
        {answer !== null ? (
          <>
            One replica holds <strong>{fmt.num(answer, 4)} QPS</strong> within p99 ≤ {estimate.stoppers.p99Ms} ms and errors ≤ {fmt.pct(estimate.stoppers.maxErrorRate, 2)}.
          </>
        ) : (
          <>No stable rate: {estimate.reason}</>
        )}{' '}
        <span class="muted">({estimate.verdict.replace(/_/g, ' ')})</span>
      </p>
      <TimeChart
        label={`Latency against offered load over ${points.length} rates; p99 stopper at ${estimate.stoppers.p99Ms} ms${answer !== null ? `; capacity ${fmt.num(answer, 4)} QPS` : ''}`}
        time={false}
        xLabel="offered load (QPS)"
        yLabel="latency (ms)"
        data={data}
        series={[
          { label: 'p50 ms', color: '#2563eb' },
          { label: 'p99 ms', color: '#b45309' },
          { label: 'p99 stopper', color: '#9b1c1c', dash: true, width: 1.5 },
        ]}
        spans={answer !== null ? [{ from: 0, to: answer, color: 'rgba(15, 92, 46, 0.08)' }] : []}
      />
      <table>
        <caption class="visually-hidden">Capacity search steps</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">phase</th>
            <th scope="col" class="num">offered QPS</th>
            <th scope="col" class="num">achieved QPS</th>
            <th scope="col" class="num">p50</th>
            <th scope="col" class="num">p99</th>
            <th scope="col" class="num">errors</th>
            <th scope="col">result</th>
          </tr>
        </thead>
        <tbody>
          {estimate.steps.map((s) => (
            <tr key={s.index}>
              <td>{s.index + 1}</td>
              <td>{s.phase}</td>
              <td class="num">{fmt.num(s.offeredQps, 4)}</td>
              <td class="num">{fmt.num(s.achievedQps, 4)}</td>
              <td class="num">{fmt.ms(s.p50)}</td>
              <td class="num">{fmt.ms(s.p99)}</td>
              <td class="num">{fmt.pct(s.errorRate, 2)}</td>
              <td>{s.pass ? <span class="badge ok">pass</span> : <span class="badge bad">fail: {s.generatorLimit ? 'generator limit' : s.targetDown ? 'target down' : (s.stopper ?? 'stopper').replace('_', ' ')}</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
