import { invalidInput } from '../core/errors.js';
import { DEFAULT_SEARCH, nextStep, searchConfigProblems, type Phase, type SearchConfig, type StepOutcome, type Verdict } from './capacitySearch.js';
import { LoadGenerator, maxUsefulWorkers, probeTarget, type ErrorClass, type LoadGeneratorOptions, type StepMeasurement, type StepProgress } from './loadGenerator.js';
import type { ReplayRequest } from './recording.js';
import { checkStoppers, judgeStep, type StepJudgement, type StopperName, type Stoppers } from './stoppers.js';

export interface EstimateOptions {
  target: string;
  /** The recording to replay, cyclically; see `parseRecordingOrThrow`. */
  requests: readonly ReplayRequest[];
  /** Where the recording came from, for the report. */
  trafficFile?: string | null;
  stoppers: Stoppers;
  /** Overrides of {@link DEFAULT_SEARCH}. */
  search?: Partial<SearchConfig>;
  /** Measured length of a ramp or search step. Default 5 s. */
  stepDurationMs?: number;
  /** Load before each step's measurement, not counted. Default 1 s. */
  warmupMs?: number;
  /** Measured length of a confirmation run. Default twice the step duration. */
  confirmDurationMs?: number;
  /** Pause after a failed step, so a queue it left behind drains before the next. Default 1 s. */
  cooldownMs?: number;
  /** Per-request timeout. Default the larger of 2 s and 10 x the p99 stopper. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  maxInFlight?: number;
  connections?: number | null;
  /**
   * Worker threads: a number, or `auto` (default): start in this thread and, when one core cannot
   * offer a rate, run that step again with more workers, up to the cores available.
   */
  workers?: number | 'auto';
  /** See {@link LoadGeneratorOptions.clientCostUs}. */
  clientCostUs?: number;
  onProgress?: (event: EstimateEvent) => void;
}

/** One row of the steps table. Latencies in ms from the scheduled send time; rates per second. */
export interface EstimateStep {
  index: number;
  phase: Phase;
  offeredQps: number;
  issuedQps: number;
  achievedQps: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  errorRate: number;
  errorsByClass: Record<ErrorClass, number>;
  pass: boolean;
  /** The first stopper breached, or null. */
  stopper: StopperName | null;
  breached: StopperName[];
  /** Set when the generator limited this step (then the search stopped). */
  generatorLimit: string | null;
  /** Set when the target fell over during this step. */
  targetDown: string | null;
  /** The target's own share: p99 from when requests went out on a connection. */
  wireP99: number;
  sendLagP99: number;
  errorSamples: string[];
  workers: number;
  durationMs: number;
}

/** The estimate: the answer, how it was reached, and with what. */
export interface CapacityEstimate {
  /** The maximum stable rate: set when converged, or the maximum asked for when that held (max_qps_reached). */
  maxQps: number | null;
  verdict: Verdict;
  /** True only for a capacity found between a good and a bad rate and confirmed. */
  converged: boolean;
  reason: string;
  /** Highest rate that held (not disproved by a confirmation run). */
  lowerBoundQps: number | null;
  /** Lowest rate that failed. */
  upperBoundQps: number | null;
  stoppers: Stoppers;
  steps: EstimateStep[];
  durationMs: number;
  target: string;
  traffic: { file: string | null; requests: number };
  settings: {
    startQps: number;
    maxQps: number | null;
    tolerance: number;
    stepDurationMs: number;
    warmupMs: number;
    confirmDurationMs: number;
    timeoutMs: number;
    workers: number | 'auto';
    connections: number | null;
    maxInFlight: number;
  };
  /** Worker threads added when one thread could not offer a rate. */
  workerChanges: Array<{ atQps: number; from: number; to: number; reason: string }>;
}

/** What an estimate reports while it runs. */
export type EstimateEvent =
  | { type: 'probe'; status: number; ms: number }
  | { type: 'step'; index: number; phase: Phase; offeredQps: number; durationMs: number; good: number | null; bad: number | null }
  | { type: 'measuring'; index: number; phase: Phase; offeredQps: number; progress: StepProgress }
  | { type: 'result'; step: EstimateStep; good: number | null; bad: number | null }
  | { type: 'workers'; from: number; to: number; reason: string }
  | { type: 'recovered'; index: number; message: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function toStep(index: number, phase: Phase, m: StepMeasurement, judged: StepJudgement): EstimateStep {
  return {
    index,
    phase,
    offeredQps: m.offeredQps,
    issuedQps: m.issuedQps,
    achievedQps: m.achievedQps,
    p50: m.latency.p50,
    p90: m.latency.p90,
    p99: m.latency.p99,
    p999: m.latency.p999,
    errorRate: m.errorRate,
    errorsByClass: m.errorsByClass,
    pass: judged.pass && !judged.generatorLimit && !judged.targetDown,
    stopper: judged.stopper,
    breached: judged.breached,
    generatorLimit: judged.generatorLimit?.message ?? null,
    targetDown: judged.targetDown,
    wireP99: m.wireLatency.p99,
    sendLagP99: m.sendLag.p99,
    errorSamples: m.errorSamples,
    workers: m.generator.workers,
    durationMs: m.durationMs,
  };
}

/**
 * Where the ramp starts when no start rate is given: half of what one connection sending requests
 * back to back would offer, judged from one request's latency (the second probe's: the first pays for
 * the connection). Any server holds that much unless it is already overloaded, and it skips the ramp
 * steps that tell nothing; at least the default start, at most the maximum asked for.
 */
export function startRateFor(probeMs: number, search: SearchConfig): number {
  const oneConnection = 1000 / Math.max(probeMs, 0.1);
  const start = Math.max(DEFAULT_SEARCH.startQps, Math.floor(oneConnection / 2));
  return search.maxQps === null ? start : Math.min(start, search.maxQps);
}

/** Checks the options a user gives, naming every problem; throws `invalid_input`. */
export function checkEstimateOptions(options: EstimateOptions): { stoppers: Stoppers; search: SearchConfig } {
  const stoppers = checkStoppers(options.stoppers);
  const search: SearchConfig = { ...DEFAULT_SEARCH, ...options.search };
  const problems = searchConfigProblems(search);
  const positive = (path: string, value: number | undefined) => {
    if (value !== undefined && !(value > 0 && Number.isFinite(value))) problems.push({ path, message: `must be a positive number of milliseconds, not ${value}` });
  };
  positive('stepDurationMs', options.stepDurationMs);
  positive('confirmDurationMs', options.confirmDurationMs);
  positive('timeoutMs', options.timeoutMs);
  if (options.warmupMs !== undefined && !(options.warmupMs >= 0)) problems.push({ path: 'warmupMs', message: `must be 0 or more, not ${options.warmupMs}` });
  if (options.workers !== undefined && options.workers !== 'auto' && !(Number.isInteger(options.workers) && options.workers >= 0)) {
    problems.push({ path: 'workers', message: `must be 'auto' or a whole number (0: this thread), not ${options.workers}` });
  }
  if (!options.requests.length) problems.push({ path: 'requests', message: 'the recording holds no requests' });
  if (problems.length) throw invalidInput(`cannot estimate capacity: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  return { stoppers, search };
}

/**
 * Finds the highest rate the target sustains within the stoppers: probes it with one request, then
 * runs the steps {@link nextStep} asks for with the open-loop generator, judging each with
 * {@link judgeStep}. A step the generator limited ends the search as `generator_bound` (after more
 * worker threads were tried, with `workers: 'auto'`), never as the target's capacity.
 */
export async function estimateCapacity(options: EstimateOptions): Promise<CapacityEstimate> {
  const started = performance.now();
  const { stoppers, search: configured } = checkEstimateOptions(options);
  let search = configured;
  const stepDurationMs = options.stepDurationMs ?? 5000;
  const warmupMs = options.warmupMs ?? 1000;
  const confirmDurationMs = options.confirmDurationMs ?? stepDurationMs * 2;
  const cooldownMs = options.cooldownMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? Math.max(2000, stoppers.p99Ms * 10);
  const workersOption = options.workers ?? 'auto';
  const emit = options.onProgress ?? (() => {});
  const probe = async () => {
    const answer = await probeTarget(options.target, options.requests[0]!, { timeoutMs, ...(options.headers ? { headers: options.headers } : {}) });
    if (answer.status < 200 || answer.status >= 300) {
      const first = options.requests[0]!;
      throw invalidInput(`the target answered ${answer.status} to the recording's first request (${first.method} ${first.path}): check --target and the recorded paths`, [
        { path: 'target', message: answer.bodyStart || `HTTP ${answer.status}` },
      ]);
    }
    return answer;
  };
  const first = await probe();
  emit({ type: 'probe', status: first.status, ms: first.ms });
  if (options.search?.startQps === undefined) search = { ...search, startQps: startRateFor((await probe()).ms, search) };

  const generatorOptions = (workers: number): LoadGeneratorOptions => ({
    target: options.target,
    requests: options.requests,
    timeoutMs,
    workers,
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
    ...(options.connections !== undefined ? { connections: options.connections } : {}),
    ...(options.clientCostUs ? { clientCostUs: options.clientCostUs } : {}),
  });
  let workers = workersOption === 'auto' ? 0 : workersOption;
  const maxWorkers = workersOption === 'auto' ? maxUsefulWorkers() : workers;
  let generator = await LoadGenerator.start(generatorOptions(workers));
  const steps: EstimateStep[] = [];
  const outcomes: StepOutcome[] = [];
  const workerChanges: CapacityEstimate['workerChanges'] = [];
  let decision = nextStep(search, outcomes);
  try {
    while (!decision.done) {
      const { phase, offeredQps } = decision;
      const index = steps.length + 1;
      const durationMs = phase === 'confirm' ? confirmDurationMs : stepDurationMs;
      emit({ type: 'step', index, phase, offeredQps, durationMs, good: decision.good, bad: decision.bad });
      const measure = () => generator.run({ rate: offeredQps, warmupMs, durationMs }, (progress) => emit({ type: 'measuring', index, phase, offeredQps, progress }));
      let measured = await measure();
      let judged = judgeStep(measured, stoppers);
      // One thread could not offer the rate: the same step again with more threads, while cores remain.
      while (judged.generatorLimit?.kind === 'cpu' && !judged.targetDown && workers < maxWorkers) {
        const to = Math.min(maxWorkers, Math.max(2, workers * 2));
        workerChanges.push({ atQps: offeredQps, from: workers, to, reason: judged.generatorLimit.message });
        emit({ type: 'workers', from: workers, to, reason: judged.generatorLimit.message });
        await generator.close();
        workers = to;
        generator = await LoadGenerator.start(generatorOptions(workers));
        measured = await measure();
        judged = judgeStep(measured, stoppers);
      }
      const step = toStep(index, phase, measured, judged);
      if (judged.targetDown && index > 1) {
        // Refused connections under overload may be the target shedding load: if it answers again
        // after a pause, the step is a failure like any other, not the end.
        await sleep(cooldownMs);
        const recovered = await probe().then(
          () => true,
          () => false,
        );
        if (recovered) {
          emit({ type: 'recovered', index, message: `the target answered again after ${judged.targetDown}` });
          step.targetDown = null;
          if (!step.breached.includes('error_rate')) step.breached.push('error_rate');
          step.stopper ??= 'error_rate';
        }
      }
      steps.push(step);
      outcomes.push({ phase, offeredQps, pass: step.pass, stopper: step.stopper, breached: step.breached, generatorLimit: step.generatorLimit, targetDown: step.targetDown });
      decision = nextStep(search, outcomes);
      emit({ type: 'result', step, good: decision.good, bad: decision.bad });
      if (!step.pass && !decision.done) await sleep(cooldownMs);
    }
  } finally {
    await generator.close();
  }
  const converged = decision.verdict === 'converged';
  return {
    maxQps: decision.maxQps,
    verdict: decision.verdict,
    converged,
    reason: decision.reason,
    lowerBoundQps: decision.good,
    upperBoundQps: decision.bad,
    stoppers,
    steps,
    durationMs: Math.round(performance.now() - started),
    target: options.target,
    traffic: { file: options.trafficFile ?? null, requests: options.requests.length },
    settings: {
      startQps: search.startQps,
      maxQps: search.maxQps,
      tolerance: search.tolerance,
      stepDurationMs,
      warmupMs,
      confirmDurationMs,
      timeoutMs,
      workers: workersOption,
      connections: generator.connections,
      maxInFlight: generator.inFlightLimit,
    },
    workerChanges,
  };
}
