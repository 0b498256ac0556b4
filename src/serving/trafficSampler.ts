import type { Actor } from '../registry/actor.js';
import { systemActor } from '../registry/actor.js';

/**
 * Records a sample of the requests each model type receives as that type's traffic recording (the
 * NDJSON format of `capacity/recording.ts`), so capacity estimates replay what production sends
 * rather than a synthetic guess. Samples are buffered per type and stored as one recording once a
 * type has `flushRequests` of them or its oldest is `flushMs` old; memory stays bounded by
 * `maxBufferedBytes` (samples beyond it are dropped and counted).
 *
 * Only requests a replica answered with 2xx are kept: a recording of malformed requests would make a
 * capacity estimate count their 400s as the model's errors.
 */

/** Where recordings go: `RecordingService` is one. */
export interface RecordingSink {
  import(actor: Actor, modelType: string, text: string, options: { name?: string; source?: string }): Promise<unknown>;
}

export interface TrafficSamplerOptions {
  /** Fraction of requests recorded, in [0, 1]. Default 0.01. */
  rate: number;
  /** Samples of one type stored together as one recording. Default 1000. */
  flushRequests: number;
  /** A type's samples are stored at the latest this long after the first of them. Default 10 minutes. */
  flushMs: number;
  /** Bytes of samples held at once across all types. Default 16 MiB. */
  maxBufferedBytes: number;
  /** Who the recordings are imported as. Default the system (admin) actor. */
  actor: Actor;
  random: () => number;
  now: () => number;
  log: (line: string) => void;
}

export const DEFAULT_SAMPLER_OPTIONS: TrafficSamplerOptions = {
  rate: 0.01,
  flushRequests: 1000,
  flushMs: 10 * 60_000,
  maxBufferedBytes: 16 * 1024 * 1024,
  actor: systemActor,
  random: Math.random,
  now: Date.now,
  log: (line) => process.stderr.write(`${line}\n`),
};

const LINE_HEAD = '{"method":"POST","path":"/predict","headers":{"content-type":"application/json"},"body":';

interface TypeBuffer {
  lines: string[];
  bytes: number;
  firstAt: number;
}

/** Samples of each model type's requests, stored as recordings through a {@link RecordingSink}. */
export class TrafficSampler {
  private readonly options: TrafficSamplerOptions;
  private readonly buffers = new Map<string, TypeBuffer>();
  private readonly storing = new Set<Promise<void>>();
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private sequence = 0;
  /** Samples dropped because the buffers were full. */
  dropped = 0;
  /** Recordings stored. */
  stored = 0;

  constructor(
    private readonly sink: RecordingSink,
    options: Partial<TrafficSamplerOptions> = {},
  ) {
    this.options = { ...DEFAULT_SAMPLER_OPTIONS, ...options };
    const rate = this.options.rate;
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`the sample rate is a fraction from 0 to 1 (0.01 records 1% of requests), not ${rate}`);
  }

  /** Whether to sample the request arriving now: decide before forwarding, {@link add} once it succeeded. */
  shouldSample(): boolean {
    return this.options.rate > 0 && this.options.random() < this.options.rate;
  }

  /** Adds a request (its JSON body as received) to its type's samples. */
  add(modelType: string, body: Buffer, ts: number = this.options.now()): void {
    let compact: string;
    try {
      // Only samples pay for parsing: a body may span lines, and NDJSON needs one line per request.
      compact = JSON.stringify(JSON.parse(body.toString('utf8')));
    } catch {
      return;
    }
    const line = `${LINE_HEAD}${compact},"ts":${Math.round(ts)}}`;
    const bytes = Buffer.byteLength(line) + 1;
    if (this.bufferedBytes + bytes > this.options.maxBufferedBytes) {
      this.dropped++;
      return;
    }
    let buffer = this.buffers.get(modelType);
    if (!buffer) {
      buffer = { lines: [], bytes: 0, firstAt: this.options.now() };
      this.buffers.set(modelType, buffer);
    }
    buffer.lines.push(line);
    buffer.bytes += bytes;
    this.bufferedBytes += bytes;
    if (buffer.lines.length >= this.options.flushRequests) this.store(modelType);
  }

  /** Stores the types whose oldest sample has waited `flushMs`, checked every few seconds until close. */
  start(): void {
    if (this.timer) return;
    const every = Math.max(100, Math.min(10_000, this.options.flushMs / 4));
    this.timer = setInterval(() => {
      const now = this.options.now();
      for (const [modelType, buffer] of this.buffers) if (now - buffer.firstAt >= this.options.flushMs) this.store(modelType);
    }, every);
    this.timer.unref();
  }

  /** Stores every type's samples now, whatever their number or age, and waits for all stores in flight. */
  async flush(): Promise<void> {
    for (const modelType of [...this.buffers.keys()]) this.store(modelType);
    while (this.storing.size) await Promise.all([...this.storing]);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Takes a type's samples out of the buffers and imports them as one recording, in the background. */
  private store(modelType: string): void {
    const buffer = this.buffers.get(modelType);
    if (!buffer || !buffer.lines.length) return;
    this.buffers.delete(modelType);
    this.bufferedBytes -= buffer.bytes;
    const text = `${buffer.lines.join('\n')}\n`;
    const name = this.recordingName();
    const task = this.sink
      .import(this.options.actor, modelType, text, { name, source: 'router' })
      .then(
        () => {
          this.stored++;
        },
        (error: Error) => this.options.log(`router: could not store ${buffer.lines.length} sampled requests of ${modelType} as recording ${name} (dropped): ${error.message}`),
      )
      .finally(() => this.storing.delete(task));
    this.storing.add(task);
  }

  /** `router-YYYYMMDD-HHMMSS-N`: a valid recording name that sorts by time. */
  private recordingName(): string {
    const at = new Date(this.options.now()).toISOString();
    return `router-${at.slice(0, 10).replace(/-/g, '')}-${at.slice(11, 19).replace(/:/g, '')}-${++this.sequence}`;
  }
}
