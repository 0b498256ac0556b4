import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Command } from 'commander';
import { parseRetryAfter, retryDelay } from '../client/backoff.js';
import { ApiClient, ApiError, resolveToken } from './client.js';
import { printJson, progress, progressDone } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

const gzip = promisify(gzipCallback);
const n = (count: number) => count.toLocaleString('en-US');

/** Retries of one batch after its first attempt: enough to ride out a server restart. */
const MAX_RETRIES = 5;
const BACKOFF = { initialMs: 500, maxMs: 30_000 };
/** An attempt without an answer is abandoned and retried under the same key. */
const REQUEST_TIMEOUT_MS = 60_000;
/** A batch is also cut at this many bytes, well under the server's 32 MiB body limit, whatever --batch says. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Rejected lines listed one by one before the rest are only counted, so a broken file does not flood the terminal. */
const MAX_REPORTED_LINES = 1000;

interface IngestAnswer {
  accepted: number;
  rejected: number;
  errors: Array<{ line: number; message: string }>;
  errorsOmitted?: number;
}

interface Batch {
  /** The non-blank lines sent, in order; the server numbers them from 1. */
  lines: string[];
  /** The file line of each sent line, to turn the server's numbers back into the file's. */
  fileLines: number[];
  bytes: number;
}

interface Totals {
  lines: number;
  sent: number;
  accepted: number;
  rejected: number;
  batches: number;
  retries: number;
  rejections: Array<{ line: number; message: string }>;
  /** Rejections the server counted but did not list (it lists the first 100 of a batch). */
  unlisted: number;
}

/** Says why one attempt failed, and whether trying the same batch again may succeed. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null,
    readonly apiError: ApiError | null,
  ) {
    super(message);
  }
}

/**
 * Posts batches to `POST /api/v1/events`, each gzipped under one Idempotency-Key that is kept across
 * that batch's retries, so a batch whose answer was lost is counted once.
 */
class EventPoster {
  private readonly endpoint: string;
  private readonly token: string | undefined;

  constructor(
    server: string,
    token: string | undefined,
    private readonly onRetry: (error: AttemptError, retry: number, delayMs: number) => void,
  ) {
    this.endpoint = `${server}/api/v1/events`;
    this.token = token;
  }

  async post(batch: Batch): Promise<IngestAnswer> {
    const body = await gzip(`${batch.lines.join('\n')}\n`);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      'idempotency-key': randomUUID(),
      'user-agent': 'modelfleet-cli',
    };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    for (let retry = 0; ; retry++) {
      try {
        return await this.attempt(body, headers);
      } catch (error) {
        if (!(error instanceof AttemptError)) throw error;
        if (!error.retryable || retry >= MAX_RETRIES) throw error.apiError ?? new Error(`${error.message}${error.retryable ? ` (gave up after ${MAX_RETRIES} retries)` : ''}`);
        const delay = retryDelay(retry + 1, BACKOFF, error.retryAfterMs);
        this.onRetry(error, retry + 1, delay);
        await sleep(delay);
      }
    }
  }

  private async attempt(body: Buffer, headers: Record<string, string>): Promise<IngestAnswer> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      text = await response.text();
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new AttemptError(`cannot reach ${this.endpoint}: ${cause}`, true, null, null);
    }
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: a proxy's error page, say; the status decides what happens.
    }
    if (response.ok) {
      const answer = parsed as IngestAnswer | null;
      if (answer && typeof answer.accepted === 'number' && typeof answer.rejected === 'number' && Array.isArray(answer.errors)) return answer;
      throw new AttemptError(`${this.endpoint} answered ${response.status} without an ingest result; is something else listening there? ${text.slice(0, 200)}`, false, null, null);
    }
    const served = (parsed as { error?: { code?: string; message?: string; details?: Array<{ path: string; message: string }> } } | null)?.error;
    const retryable = response.status === 429 || response.status >= 500;
    const hint =
      response.status === 413
        ? ' (pass a smaller --batch)'
        : response.status === 401
          ? ' (pass --token or set MODELFLEET_TOKEN)'
          : response.status === 403
            ? ' (use an ingest token, or a member token of the team that owns the models)'
            : '';
    const message = `${served?.message ?? (text.slice(0, 200) || `HTTP ${response.status}`)}${hint}`;
    const apiError = new ApiError(response.status, served?.code ?? String(response.status), message, served?.details ?? []);
    throw new AttemptError(`${response.status}: ${message}`, retryable, retryable ? parseRetryAfter(response.headers.get('retry-after'), Date.now()) : null, apiError);
  }
}

export function registerIngestCommand(program: Command): void {
  withServerOptions(
    program
      .command('ingest')
      .argument('<file>', 'NDJSON file of labeled predictions ({"model","task","p","y","ts","w"?}), or - for stdin')
      .option('--format <format>', 'input format; ndjson is the one there is', 'ndjson')
      .option('--batch <lines>', 'lines per request', '5000')
      .option('--json', 'print the totals and rejected lines as JSON')
      .description('send labeled predictions to the server in gzipped batches; rejected lines are named as FILE:LINE and make the exit code 1'),
  ).action(async (file: string, options: Record<string, unknown>) => {
    if (options['format'] !== 'ndjson') throw new Error(`--format '${String(options['format'])}' is not supported: ingest reads NDJSON, one event per line`);
    const batchLines = Number(options['batch']);
    if (!Number.isInteger(batchLines) || batchLines < 1 || batchLines > 1_000_000) throw new Error(`--batch '${String(options['batch'])}' is not a number of lines from 1 to 1000000`);
    const json = Boolean(options['json']);
    const client = new ApiClient(clientOptions(options));

    const input = file === '-' ? process.stdin : createReadStream(file);
    await new Promise<void>((resolve, reject) => {
      input.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)));
      if (file === '-') resolve();
      else input.once('open', () => resolve());
    });

    const totals: Totals = { lines: 0, sent: 0, accepted: 0, rejected: 0, batches: 0, retries: 0, rejections: [], unlisted: 0 };
    const started = performance.now();
    const rate = () => Math.round(totals.sent / Math.max(0.001, (performance.now() - started) / 1000));
    const report = () => progress(`${n(totals.sent)} lines sent: ${n(totals.accepted)} accepted, ${n(totals.rejected)} rejected, ${n(rate())} events/s`);
    const poster = new EventPoster(client.server, resolveToken(options['token'] as string | undefined), (error, retry, delay) => {
      totals.retries += 1;
      progressDone();
      process.stderr.write(`${error.message}; retry ${retry} of ${MAX_RETRIES} in ${(delay / 1000).toFixed(1)} s\n`);
    });
    const settle = (batch: Batch, answer: IngestAnswer) => {
      totals.batches += 1;
      totals.sent += batch.lines.length;
      totals.accepted += answer.accepted;
      totals.rejected += answer.rejected;
      totals.unlisted += answer.errorsOmitted ?? 0;
      if (answer.errors.length) progressDone();
      for (const e of answer.errors) {
        if (totals.rejections.length >= MAX_REPORTED_LINES) {
          totals.unlisted += 1;
          continue;
        }
        const line = batch.fileLines[e.line - 1] ?? e.line;
        totals.rejections.push({ line, message: e.message });
        if (!json) process.stderr.write(`${file}:${line}: ${e.message}\n`);
      }
      report();
    };

    // One batch is in flight while the next is read and compressed; memory holds at most two.
    let inFlight: Promise<void> = Promise.resolve();
    let batch: Batch = { lines: [], fileLines: [], bytes: 0 };
    let failedAt: number | null = null;
    const send = async (full: Batch) => {
      await inFlight;
      inFlight = poster.post(full).then(
        (answer) => settle(full, answer),
        (error: unknown) => {
          failedAt = full.fileLines[0]!;
          throw error;
        },
      );
      // The rejection is awaited with the next batch or at the end; this only keeps it from counting as unhandled meanwhile.
      inFlight.catch(() => {});
    };
    try {
      for await (const text of createInterface({ input, crlfDelay: Infinity })) {
        totals.lines += 1;
        if (!text.trim()) continue;
        batch.lines.push(text);
        batch.fileLines.push(totals.lines);
        batch.bytes += Buffer.byteLength(text) + 1;
        if (batch.lines.length >= batchLines || batch.bytes >= MAX_BATCH_BYTES) {
          await send(batch);
          batch = { lines: [], fileLines: [], bytes: 0 };
        }
      }
      if (batch.lines.length) {
        await send(batch);
      }
      await inFlight;
    } catch (error) {
      progressDone();
      // Batches before the failed one were counted; say where to resume so nothing is sent twice.
      if (failedAt !== null) {
        process.stderr.write(
          totals.batches
            ? `the lines before line ${failedAt} were delivered (${n(totals.sent)} sent: ${n(totals.accepted)} accepted, ${n(totals.rejected)} rejected); nothing from line ${failedAt} on was\n`
            : 'nothing was delivered\n',
        );
      }
      throw error;
    }
    progressDone();

    const seconds = (performance.now() - started) / 1000;
    const summary = { file, lines: totals.lines, sent: totals.sent, accepted: totals.accepted, rejected: totals.rejected, batches: totals.batches, retries: totals.retries, seconds: Number(seconds.toFixed(3)) };
    if (json) printJson({ ...summary, rejections: totals.rejections, unlisted: totals.unlisted });
    else {
      if (totals.unlisted) process.stderr.write(`${totals.unlisted} more rejected line(s) not listed\n`);
      process.stdout.write(
        `${file}: ${n(totals.lines)} line(s), ${n(totals.sent)} sent in ${n(totals.batches)} batch(es): ${n(totals.accepted)} accepted, ${n(totals.rejected)} rejected (${n(rate())} events/s${totals.retries ? `, ${totals.retries} retries` : ''})\n`,
      );
    }
    if (totals.rejected) process.exitCode = 1;
  });
}
