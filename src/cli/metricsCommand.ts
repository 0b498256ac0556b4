import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { parseDuration, parseLabeledEvent } from '../stability/labeledEvent.js';
import { MetricsReport } from '../stability/metricsReport.js';
import { printJson, printTable, progress, progressDone } from './output.js';

/** Bad lines reported one by one before the count is summarized, so a broken file does not flood the terminal. */
const MAX_REPORTED_LINES = 20;

const fixed = (value: number | null, digits: number) => (value === null ? null : value.toFixed(digits));

export function registerMetricsCommand(program: Command): void {
  program
    .command('metrics')
    .argument('<file>', 'NDJSON file of labeled predictions ({"model","task","p","y","ts","w"?}), or - for stdin')
    .option('--window <duration>', 'also split into epoch-aligned tumbling windows, e.g. 60s, 5m, 1h')
    .option('--json', 'print one JSON array')
    .description('calibration and normalized entropy per model and task, offline, in constant memory')
    .action(async (file: string, options: { window?: string; json?: boolean }) => {
      const windowMs = options.window === undefined ? null : parseDuration(options.window);
      if (options.window !== undefined && windowMs === null) throw new Error(`--window '${options.window}' is not a duration: use e.g. 60s, 5m, 1h or milliseconds`);
      const input = file === '-' ? process.stdin : createReadStream(file);
      const opened = new Promise<void>((resolve, reject) => {
        input.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)));
        if (file === '-') resolve();
        else input.once('open', () => resolve());
      });
      await opened;
      const report = new MetricsReport(windowMs);
      let line = 0;
      let bad = 0;
      for await (const text of createInterface({ input, crlfDelay: Infinity })) {
        line += 1;
        if (line % 500_000 === 0) progress(`${line.toLocaleString('en-US')} lines read`);
        if (!text.trim()) continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (error) {
          if (++bad <= MAX_REPORTED_LINES) process.stderr.write(`${file}:${line}: not JSON: ${(error as Error).message}\n`);
          continue;
        }
        const parsed = parseLabeledEvent(value);
        if ('problem' in parsed) {
          if (++bad <= MAX_REPORTED_LINES) process.stderr.write(`${file}:${line}: ${parsed.problem}\n`);
          continue;
        }
        report.add(parsed.event);
      }
      progressDone();
      const rows = report.rows();
      if (options.json) printJson(rows);
      else {
        printTable(
          rows.map((r) => ({
            ...r,
            windowStart: r.windowStart === undefined ? undefined : new Date(r.windowStart).toISOString(),
            ctr: fixed(r.ctr, 5),
            calibration: fixed(r.calibration, 4),
            logLoss: fixed(r.logLoss, 5),
            ne: fixed(r.ne, 4),
          })),
          [...(windowMs === null ? [] : ['windowStart']), 'model', 'task', 'count', 'positives', 'ctr', 'calibration', 'ne', 'logLoss'],
        );
      }
      if (bad) {
        process.stderr.write(`${bad} of ${line} line(s) were not valid events and were left out${bad > MAX_REPORTED_LINES ? ` (the first ${MAX_REPORTED_LINES} are listed)` : ''}\n`);
        process.exitCode = 1;
      }
    });
}
