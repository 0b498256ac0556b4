import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Accumulator } from '../src/stability/accumulator.js';
import { metricsOf } from '../src/stability/metrics.js';
import { ADMIN_TOKEN, forEachDatabase, ManualClock, seed, TestServer, type ApiResponse } from './harness.js';
import { assertError } from './registryTestKit.js';

/**
 * POST /api/v1/events with everything a sender can get wrong: per-event problems are rejected one by
 * one with their line, whole-body problems refuse the request and store nothing, and an
 * Idempotency-Key makes a retry count once. Time is a ManualClock, so lateness is exact.
 */

const MIN = 60_000;
/** 30 s into a minute, so the lateness and future bounds fall in the middle of a minute. */
const NOW = Date.UTC(2026, 10, 25, 10, 0, 30);
const CURRENT_MINUTE = NOW - 30_000;

const FEED = 'ig_feed_main_mtml:v1';
const REELS = 'ig_reels_main_mtml:v1';
const RETIRED = 'ig_feed_main_mtml:v0';
const ALL_MODELS = [FEED, REELS, RETIRED];

/** Start of the minute `k` minutes before the current one: each test writes to minutes of its own. */
const slot = (k: number) => CURRENT_MINUTE - k * MIN;
/** A time inside minute `k`. */
const at = (k: number, second = 15) => slot(k) + second * 1000;

const fleet = {
  teams: [
    { name: 'feed-ranking', description: 'feed ranking team', oncallRotation: 'feed-ranking-oncall' },
    { name: 'reels-ranking', description: 'reels ranking team', oncallRotation: 'reels-ranking-oncall' },
  ],
  modelTypes: [
    {
      name: 'ig_feed_main_mtml',
      description: 'Ranks the main feed',
      funnelStage: 'late_stage_ranking',
      ownerTeam: 'feed-ranking',
      oncall: { rotation: 'feed-ranking-oncall', coverage: 'business_hours' },
      criticality: 'TIER2',
      tasks: [{ name: 'PLIKE' }, { name: 'PCOMMENT' }],
    },
    {
      name: 'ig_reels_main_mtml',
      description: 'Ranks reels',
      funnelStage: 'late_stage_ranking',
      ownerTeam: 'reels-ranking',
      oncall: { rotation: 'reels-ranking-oncall', coverage: 'business_hours' },
      criticality: 'TIER2',
      tasks: [{ name: 'PLIKE' }, { name: 'PSHARE' }],
    },
  ],
  models: [
    { id: FEED, role: 'experiment', trafficShare: 0.1 },
    { id: REELS, role: 'experiment', trafficShare: 0.1 },
    { id: RETIRED, role: 'retired', trafficShare: 0 },
  ],
};

interface Event {
  model?: unknown;
  task?: unknown;
  p?: unknown;
  y?: unknown;
  ts?: unknown;
  w?: unknown;
  [key: string]: unknown;
}

/** One NDJSON line: a good event in minute `k` unless `over` changes it (`undefined` drops a field). */
function line(k: number, over: Event = {}): string {
  const event: Event = { model: FEED, task: 'PLIKE', p: 0.25, y: 1, ts: at(k), ...over };
  for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
  return JSON.stringify(event);
}

const ndjson = (lines: string[]) => lines.join('\n') + '\n';

interface Answer {
  accepted: number;
  rejected: number;
  errors: Array<{ line: number; message: string }>;
  errorsOmitted?: number;
}

forEachDatabase((db) => {
  describe(`event ingestion: bad input, auth, lateness and retries (${db.name})`, () => {
    let server: TestServer;
    const clock = new ManualClock(NOW);
    const tokens: Record<'ingest' | 'ingest2' | 'feedMember' | 'viewer', string> = { ingest: '', ingest2: '', feedMember: '', viewer: '' };

    before(async () => {
      server = await TestServer.start(db, { clock });
      await seed(server, fleet);
      tokens.ingest = await server.token('logger', 'ingest');
      tokens.ingest2 = await server.token('logger-two', 'ingest');
      tokens.feedMember = await server.token('feed-dev', 'member', 'feed-ranking');
      tokens.viewer = await server.token('watcher', 'viewer');
    });
    after(() => server.close());

    /** A raw POST /events; `contentType: null` sends none (a byte body, so fetch adds none either). */
    async function post(
      body: string | Buffer,
      options: { contentType?: string | null; token?: string | null; headers?: Record<string, string> } = {},
    ): Promise<ApiResponse> {
      const headers: Record<string, string> = { ...options.headers };
      const contentType = options.contentType === undefined ? 'application/x-ndjson' : options.contentType;
      if (contentType !== null) headers['content-type'] = contentType;
      const token = options.token === undefined ? ADMIN_TOKEN : options.token;
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      const payload = contentType === null && typeof body === 'string' ? Buffer.from(body) : body;
      const response = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers, body: payload });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // Left as text: the assertion on it then shows what came back.
      }
      return { status: response.status, body: parsed, headers: response.headers };
    }

    /** Posts and asserts a 200 answer with exactly these counts; returns the answer. */
    async function ingest(body: string | Buffer, expected: { accepted: number; rejected: number }, options: Parameters<typeof post>[1] = {}): Promise<Answer> {
      const response = await post(body, options);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const answer = response.body as Answer;
      assert.equal(answer.accepted, expected.accepted, `accepted: ${JSON.stringify(answer)}`);
      assert.equal(answer.rejected, expected.rejected, `rejected: ${JSON.stringify(answer)}`);
      return answer;
    }

    /** Asserts the listed errors exactly: their lines in order, each message matching its patterns. */
    function assertErrors(answer: Answer, expected: Array<[number, ...RegExp[]]>): void {
      const shown = JSON.stringify(answer.errors, null, 1);
      assert.deepEqual(
        answer.errors.map((e) => e.line),
        expected.map(([n]) => n),
        `error lines: ${shown}`,
      );
      for (const [index, [, ...patterns]] of expected.entries()) {
        for (const pattern of patterns) assert.match(answer.errors[index]!.message, pattern, `line ${expected[index]![0]}: ${shown}`);
      }
      assert.equal(answer.errorsOmitted, undefined, 'no errors omitted');
    }

    /** What one minute holds, per `model/task`: count, weight and positives. */
    async function minute(k: number): Promise<Record<string, { count: number; weight: number; positives: number }>> {
      const rows = await server.fleet.stabilityStore.windowSums(slot(k), slot(k) + MIN);
      const out: Record<string, { count: number; weight: number; positives: number }> = {};
      for (const row of rows) {
        const m = metricsOf(Accumulator.fromSnapshot(row.sums));
        out[`${row.modelId}/${row.task}`] = { count: row.sums.count, weight: round(m.weight), positives: round(m.positives) };
      }
      return out;
    }

    /** Counts per `model/task` in one minute. */
    async function counts(k: number): Promise<Record<string, number>> {
      return Object.fromEntries(Object.entries(await minute(k)).map(([key, v]) => [key, v.count]));
    }

    /** Everything stored around now, minute and hourly buckets: equal before and after means nothing was written. */
    async function everything(): Promise<unknown> {
      const store = server.fleet.stabilityStore;
      const minutes = [];
      const hours = [];
      for (const model of ALL_MODELS) {
        minutes.push(...(await store.buckets(model, 1, NOW - 4 * 60 * MIN, NOW + 2 * 60 * MIN)));
        hours.push(...(await store.buckets(model, 60, NOW - 4 * 60 * MIN, NOW + 2 * 60 * MIN)));
      }
      const key = (r: { modelId: string; task: string; start: number }) => `${r.modelId}/${r.task}/${r.start}`;
      return {
        minutes: minutes.map((r) => [key(r), r.sums]).sort(),
        hours: hours.map((r) => [key(r), r.sums]).sort(),
      };
    }

    async function assertNothingStored<T>(write: () => Promise<T>): Promise<T> {
      const before = await everything();
      const result = await write();
      assert.deepEqual(await everything(), before, 'the stored sums changed');
      return result;
    }

    async function metric(name: string, labels: string): Promise<number> {
      const response = await fetch(`${server.url}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      const found = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
      return found ? Number(found.slice(found.lastIndexOf(' ') + 1)) : 0;
    }

    describe('per-event problems are rejected with their line and the good events are kept', () => {
      it('rejects a malformed JSON line and lines that are not objects', async () => {
        const answer = await ingest(
          ndjson([line(1), '{"model": "ig_feed_main_mtml:v1", "task": ', '[1, 2]', '42', '"an event"', 'null', 'true', line(1, { task: 'PCOMMENT' })]),
          { accepted: 2, rejected: 6 },
        );
        assertErrors(answer, [
          [2, /not valid JSON/],
          [3, /expected object/],
          [4, /expected object/],
          [5, /expected object/],
          [6, /expected object/],
          [7, /expected object/],
        ]);
        assert.deepEqual(await counts(1), { [`${FEED}/PLIKE`]: 1, [`${FEED}/PCOMMENT`]: 1 });
      });

      it('rejects unknown fields, suggesting the field meant when the spelling is close', async () => {
        const answer = await ingest(
          ndjson([
            JSON.stringify({ modle: FEED, task: 'PLIKE', p: 0.2, y: 0, ts: at(2) }),
            line(2, { tassk: 'PLIKE' }),
            line(2, { weight: 2 }),
            line(2),
          ]),
          { accepted: 1, rejected: 3 },
        );
        assertErrors(answer, [
          [1, /unknown field 'modle'/, /did you mean 'model'\?/, /missing required field 'model'/],
          [2, /unknown field 'tassk'/, /did you mean 'task'\?/],
          [3, /unknown field 'weight'/, /remove it or fix the spelling/],
        ]);
        assert.doesNotMatch(answer.errors[2]!.message, /did you mean/, 'no suggestion when no field is close');
        assert.deepEqual(await counts(2), { [`${FEED}/PLIKE`]: 1 });
      });

      it('rejects events missing a required field, naming it', async () => {
        const answer = await ingest(
          ndjson([line(3, { model: undefined }), line(3, { task: undefined }), line(3, { p: undefined }), line(3, { y: undefined }), line(3, { ts: undefined }), line(3, { w: undefined })]),
          { accepted: 1, rejected: 5 },
        );
        assertErrors(answer, [
          [1, /missing required field 'model'/],
          [2, /missing required field 'task'/],
          [3, /missing required field 'p'/],
          [4, /missing required field 'y'/],
          [5, /missing required field 'ts'/],
        ]);
        assert.deepEqual(await counts(3), { [`${FEED}/PLIKE`]: 1 });
      });

      it('rejects values out of range or of the wrong type: p, y, w and ts', async () => {
        const answer = await ingest(
          ndjson([
            line(4, { p: -0.01 }),
            line(4, { p: 1.01 }),
            line(4, { p: '0.5' }),
            line(4, { p: null }),
            line(4, { y: 2 }),
            line(4, { y: true }),
            line(4, { y: '1' }),
            line(4, { w: 0 }),
            line(4, { w: -1 }),
            line(4, { w: '2' }),
            line(4, { ts: 'yesterday' }),
            line(4, { ts: new Date(at(4)).toISOString().replace('T', ' ') }),
            line(4, { ts: '2026-11-25' }),
            line(4, { ts: -5 }),
            line(4, { ts: true }),
            line(4, { p: 0, y: 0 }),
            line(4, { p: 1, y: 1, w: 0.5 }),
          ]),
          { accepted: 2, rejected: 15 },
        );
        assertErrors(answer, [
          [1, /^p: /, /probability in \[0, 1\]/],
          [2, /^p: /, /probability in \[0, 1\]/],
          [3, /^p: /, /number/],
          [4, /^p: /, /number/],
          [5, /^y: /, /0 or 1/],
          [6, /^y: /, /0 or 1/],
          [7, /^y: /, /0 or 1/],
          [8, /^w: /, /positive weight/],
          [9, /^w: /, /positive weight/],
          [10, /^w: /, /number/],
          [11, /^ts: /, /'yesterday'/, /RFC 3339/],
          [12, /^ts: /, /RFC 3339/],
          [13, /^ts: /, /RFC 3339/],
          [14, /^ts: /, /epoch milliseconds/],
          [15, /^ts: /],
        ]);
        assert.deepEqual(await minute(4), { [`${FEED}/PLIKE`]: { count: 2, weight: 1.5, positives: 0.5 } });
      });

      it('rejects a time that is not in the calendar', async () => {
        // 2026-11-31 does not exist; read leniently it would become December 1st, so the clock stands there.
        clock.set(Date.UTC(2026, 11, 1, 10, 0, 30));
        try {
          const answer = await ingest(
            ndjson([line(5, { ts: '2026-11-31T10:00:00Z' }), line(5, { ts: '2026-11-30T24:00:00Z' }), line(5, { ts: '2026-12-01T09:60:00Z' }), line(5, { ts: '2026-12-01T10:00:00Z' })]),
            { accepted: 1, rejected: 3 },
          );
          assertErrors(answer, [
            [1, /^ts: /, /RFC 3339/],
            [2, /^ts: /, /RFC 3339/],
            [3, /^ts: /, /RFC 3339/],
          ]);
          const columnar = await ingest(JSON.stringify({ model: FEED, task: 'PLIKE', p: [0.5, 0.5], y: [1, 1], ts: ['2026-12-01T10:00:00Z', '2026-11-31T10:00:00Z'] }), { accepted: 1, rejected: 1 }, { contentType: 'application/json' });
          assertErrors(columnar, [[2, /ts\[1\]/, /RFC 3339/]]);
        } finally {
          clock.set(NOW);
        }
      });

      it('accepts RFC 3339 times with an offset or fractional seconds, in the minute they name', async () => {
        // at(6) is 09:54:15Z; the same instant written in three ways.
        const instant = new Date(at(6));
        assert.equal(instant.toISOString(), '2026-11-25T09:54:15.000Z');
        const answer = await ingest(
          ndjson([
            line(6, { ts: '2026-11-25T11:54:15+02:00' }),
            line(6, { ts: '2026-11-25T04:24:15.250-05:30' }),
            line(6, { ts: '2026-11-25T09:54:15.5Z' }),
            line(6, { ts: '2026-11-25T09:54:15+00:00', task: 'PCOMMENT' }),
          ]),
          { accepted: 4, rejected: 0 },
        );
        assertErrors(answer, []);
        assert.deepEqual(await counts(6), { [`${FEED}/PLIKE`]: 3, [`${FEED}/PCOMMENT`]: 1 });
      });

      it('rejects events older than the lateness bound and keeps those just within it', async () => {
        const tooLate = NOW - 61 * MIN;
        const justIn = NOW - 59 * MIN;
        const answer = await ingest(ndjson([line(0, { ts: tooLate }), line(0, { ts: justIn }), line(0, { ts: new Date(tooLate).toISOString() }), line(0, { ts: NOW - 60 * MIN })]), {
          accepted: 2,
          rejected: 2,
        });
        assertErrors(answer, [
          [1, /61 min old/, /60 min lateness/],
          [3, /61 min old/, /60 min lateness/],
        ]);
        const inMinute = async (ts: number) => {
          const start = ts - (ts % MIN);
          return (await server.fleet.stabilityStore.windowSums(start, start + MIN)).map((r) => [r.modelId, r.task, r.sums.count]);
        };
        assert.deepEqual(await inMinute(justIn), [[FEED, 'PLIKE', 1]]);
        assert.deepEqual(await inMinute(NOW - 60 * MIN), [[FEED, 'PLIKE', 1]]);
        assert.deepEqual(await inMinute(tooLate), []);
      });

      it('judges lateness per event, not per minute, whatever the order of the lines', async () => {
        // The bound (now - 60 min) falls 30 s into a minute: events on both sides of it share that minute.
        const bound = NOW - 60 * MIN;
        const start = bound - 30_000;
        const inMinute = async () => (await server.fleet.stabilityStore.windowSums(start, start + MIN)).find((r) => r.modelId === FEED && r.task === 'PLIKE')?.sums.count ?? 0;
        const before = await inMinute();
        const inside = line(0, { ts: bound + 10_000 });
        const outside = line(0, { ts: bound - 10_000 });
        assertErrors(await ingest(ndjson([inside, outside]), { accepted: 1, rejected: 1 }), [[2, /lateness/]]);
        assertErrors(await ingest(ndjson([outside, inside]), { accepted: 1, rejected: 1 }), [[1, /lateness/]]);
        const columnar = await ingest(JSON.stringify({ model: FEED, task: 'PLIKE', p: [0.1, 0.2, 0.3], y: [0, 1, 0], ts: [bound + 5_000, bound - 5_000, bound + 20_000] }), { accepted: 2, rejected: 1 }, { contentType: 'application/json' });
        assertErrors(columnar, [[2, /lateness/]]);
        assert.equal((await inMinute()) - before, 4, 'the four events inside the bound, and none of the three outside');
      });

      it('rejects events more than 5 minutes in the future, per event', async () => {
        const bound = NOW + 5 * MIN;
        const answer = await ingest(
          ndjson([line(0, { ts: NOW + 4 * MIN }), line(0, { ts: NOW + 6 * MIN }), line(0, { ts: bound }), line(0, { ts: bound + 10_000 }), line(0, { ts: (NOW + 10 * MIN) / 1000 * 1_000_000 })]),
          { accepted: 2, rejected: 3 },
        );
        assertErrors(answer, [
          [2, /in the future/, /server time 2026-11-25T10:00:30.000Z/],
          [4, /in the future/],
          [5, /in the future/, /milliseconds/],
        ]);
        const rows = await server.fleet.stabilityStore.windowSums(NOW + 4 * MIN - 30_000, NOW + 10 * MIN);
        assert.deepEqual(rows.map((r) => [r.modelId, r.task, r.sums.count]), [[FEED, 'PLIKE', 2]]);
      });

      it('rejects unknown and retired models and tasks the type does not predict', async () => {
        const answer = await ingest(
          ndjson([
            line(7, { model: 'ig_feed_main_mtml:v9' }),
            line(7, { model: RETIRED }),
            line(7, { task: 'PSHARE' }),
            line(7, { model: REELS, task: 'PCOMMENT' }),
            line(7, { task: 'plike' }),
            line(7, { model: 'not a model id' }),
            line(7, { model: REELS, task: 'PSHARE' }),
          ]),
          { accepted: 1, rejected: 6 },
        );
        assertErrors(answer, [
          [1, /model 'ig_feed_main_mtml:v9' is not registered/],
          [2, new RegExp(`model '${RETIRED}' is not registered \\(or is retired\\)`)],
          [3, /task 'PSHARE' is not a task of ig_feed_main_mtml:v1/, /PLIKE, PCOMMENT/],
          [4, /task 'PCOMMENT' is not a task of ig_reels_main_mtml:v1/, /PLIKE, PSHARE/],
          [5, /task 'plike' is not a task of ig_feed_main_mtml:v1/],
          [6, /model 'not a model id' is not registered/],
        ]);
        assert.deepEqual(await counts(7), { [`${REELS}/PSHARE`]: 1 });
      });

      it('keeps exactly the good events of a mixed body, with their weights and labels, and nothing of the bad ones', async () => {
        const lines = [
          line(8, { p: 0.1, y: 1, w: 2 }),
          line(8, { p: 1.5, w: 100 }),
          line(8, { task: 'PCOMMENT', p: 0.3, y: 0 }),
          line(8, { model: REELS, p: 0.4, y: 1, w: 0.5 }),
          line(8, { model: REELS, p: 0.4, y: 1, w: -0.5 }),
          line(8, { model: RETIRED, w: 7 }),
          line(8, { task: 'PCOMMENT', ts: NOW - 2 * 60 * MIN, w: 7 }),
          line(8, { p: 0.9, y: 0, w: 3 }),
          '{"model":"ig_feed_main_mtml:v1","task":"PLIKE","p":0.5,"y":1,"ts":' + at(8) + ',"w":9', // cut short
          line(8, { model: REELS, task: 'PSHARE', p: 0.6, y: 0 }),
        ];
        const hourStart = slot(8) - (slot(8) % (60 * MIN));
        const hourCounts = async () => Object.fromEntries((await server.fleet.stabilityStore.buckets(REELS, 60, hourStart, hourStart + 60 * MIN)).map((r) => [r.task, r.sums.count]));
        const hourBefore = await hourCounts();
        const answer = await ingest(ndjson(lines), { accepted: 5, rejected: 5 });
        assertErrors(answer, [[2, /^p: /], [5, /^w: /], [6, /retired/], [7, /lateness/], [9, /not valid JSON/]]);
        assert.deepEqual(await minute(8), {
          [`${FEED}/PLIKE`]: { count: 2, weight: 5, positives: 2 },
          [`${FEED}/PCOMMENT`]: { count: 1, weight: 1, positives: 0 },
          [`${REELS}/PLIKE`]: { count: 1, weight: 0.5, positives: 0.5 },
          [`${REELS}/PSHARE`]: { count: 1, weight: 1, positives: 0 },
        });
        // The hourly rollup gained the same events.
        const hourAfter = await hourCounts();
        assert.deepEqual({ PLIKE: (hourAfter['PLIKE'] ?? 0) - (hourBefore['PLIKE'] ?? 0), PSHARE: (hourAfter['PSHARE'] ?? 0) - (hourBefore['PSHARE'] ?? 0) }, { PLIKE: 1, PSHARE: 1 });
      });

      it('numbers lines as the sender counts them: blank lines and CRLF endings included', async () => {
        const body = '\n\n' + line(9, { y: 2 }) + '\n   \n' + line(9) + '\n\t\n' + line(9, { p: -1 }) + '\n\n';
        assertErrors(await ingest(body, { accepted: 1, rejected: 2 }), [[3, /^y: /], [7, /^p: /]]);
        const crlf = [line(9), '', line(9, { y: 3 }), line(9), '{'].join('\r\n');
        assertErrors(await ingest(crlf, { accepted: 2, rejected: 2 }), [[3, /^y: /], [5, /not valid JSON/]]);
        const noFinalNewline = [line(9), line(9, { w: 0 })].join('\n');
        assertErrors(await ingest(noFinalNewline, { accepted: 1, rejected: 1 }), [[2, /^w: /]]);
        assert.deepEqual(await counts(9), { [`${FEED}/PLIKE`]: 4 });
      });

      it('lists at most 100 errors and counts the rest as omitted', async () => {
        const lines: string[] = [];
        for (let i = 0; i < 155; i++) lines.push(i % 31 === 0 ? line(10) : line(10, { p: 2 + i }));
        // Good lines sit at 1, 32, 63, 94, 125: 150 bad lines, of which the first 100 are listed.
        const answer = await ingest(ndjson(lines), { accepted: 5, rejected: 150 });
        assert.equal(answer.errors.length, 100);
        assert.equal(answer.errorsOmitted, 50);
        const badLines = lines.map((_, i) => i + 1).filter((n) => (n - 1) % 31 !== 0);
        assert.deepEqual(answer.errors.map((e) => e.line), badLines.slice(0, 100));
        for (const error of answer.errors) assert.match(error.message, new RegExp(`^p: .*\\[0, 1\\]`));
        assert.deepEqual(await counts(10), { [`${FEED}/PLIKE`]: 5 });

        // Exactly 100 errors: all listed, none omitted.
        const hundred = await ingest(ndjson(Array.from({ length: 100 }, () => line(10, { y: 5 }))), { accepted: 0, rejected: 100 });
        assert.equal(hundred.errors.length, 100);
        assert.equal('errorsOmitted' in hundred, false, JSON.stringify(Object.keys(hundred)));
      });

      it('rejects the other team’s events for a member token, and takes any model from an ingest token', async () => {
        const body = ndjson([line(11), line(11, { model: REELS }), line(11, { task: 'PCOMMENT' }), line(11, { model: REELS, task: 'PSHARE' })]);
        const member = await ingest(body, { accepted: 2, rejected: 2 }, { token: tokens.feedMember });
        assertErrors(member, [
          [2, /belongs to team 'reels-ranking'/, /own team/],
          [4, /belongs to team 'reels-ranking'/],
        ]);
        await ingest(body, { accepted: 4, rejected: 0 }, { token: tokens.ingest });
        const columnar = await ingest(
          JSON.stringify([
            { model: FEED, task: 'PLIKE', p: [0.1, 0.2], y: [0, 1], ts: at(11) },
            { model: REELS, task: 'PLIKE', p: [0.1, 0.2, 0.3], y: [0, 1, 0], ts: at(11) },
          ]),
          { accepted: 2, rejected: 3 },
          { token: tokens.feedMember, contentType: 'application/json' },
        );
        assertErrors(columnar, [[3, /reels-ranking/], [4, /reels-ranking/], [5, /reels-ranking/]]);
        assert.deepEqual(await counts(11), { [`${FEED}/PLIKE`]: 4, [`${FEED}/PCOMMENT`]: 2, [`${REELS}/PLIKE`]: 1, [`${REELS}/PSHARE`]: 1 });
      });
    });

    describe('columnar batches', () => {
      const json = { contentType: 'application/json' };

      it('numbers bad values by event position across the batches of an array', async () => {
        const body = JSON.stringify([
          { model: FEED, task: 'PLIKE', p: [0.1, 1.5, 0.3], y: [0, 1, 1], ts: at(12) },
          {
            model: FEED,
            task: 'PCOMMENT',
            p: [0.2, 0.4, 0.6, 0.8, 0.5, '0.5', null],
            y: [1, 2, 0, 1, 0, 1, 1],
            ts: [at(12), at(12), 'noon', at(12), new Date(at(12)).toISOString(), at(12), at(12)],
            w: [1, 1, 1, 0, 2, 1, 1],
          },
          { model: 'ig_feed_main_mtml:v7', task: 'PLIKE', p: [0.5, 0.5], y: [1, 1], ts: [at(12), at(12, 20)] },
          { model: FEED, task: 'PLIKE', p: [0.5, 0.5, 0.5], y: [true, 1, 1], ts: [at(12), NOW - 2 * 60 * MIN, at(12)] },
        ]);
        const answer = await ingest(body, { accepted: 5, rejected: 10 }, json);
        assertErrors(answer, [
          [2, /^\[0\]\.p\[1\]: /, /\[0, 1\]/],
          [5, /^\[1\]\.y\[1\]: /, /0 or 1/],
          [6, /^\[1\]\.ts\[2\]: /, /"noon"/],
          [7, /^\[1\]\.w\[3\]: /, /positive weight/],
          [9, /^\[1\]\.p\[5\]: /],
          [10, /^\[1\]\.p\[6\]: /],
          [11, /ig_feed_main_mtml:v7' is not registered/],
          [12, /ig_feed_main_mtml:v7' is not registered/],
          [13, /^\[3\]\.y\[0\]: /],
          [14, /lateness/],
        ]);
        assert.deepEqual(await minute(12), {
          [`${FEED}/PLIKE`]: { count: 3, weight: 3, positives: 2 },
          [`${FEED}/PCOMMENT`]: { count: 2, weight: 3, positives: 1 },
        });
      });

      it('numbers a single batch from 1 and takes one ts for all its events', async () => {
        const answer = await ingest(JSON.stringify({ model: REELS, task: 'PSHARE', p: [0.5, -0.5, 0.5], y: [0, 0, 1], ts: at(13), w: [1, 1, 4] }), { accepted: 2, rejected: 1 }, json);
        assertErrors(answer, [[2, /^\(body\)\.p\[1\]: /]]);
        assert.deepEqual(await minute(13), { [`${REELS}/PSHARE`]: { count: 2, weight: 5, positives: 4 } });
        // A batch whose one ts is too late rejects every event, each with its position.
        const late = await ingest(JSON.stringify({ model: REELS, task: 'PSHARE', p: [0.5, 0.5], y: [0, 1], ts: NOW - 90 * MIN }), { accepted: 0, rejected: 2 }, json);
        assertErrors(late, [[1, /90 min old/], [2, /90 min old/]]);
      });

      const shapeCases: Array<{ name: string; body: unknown; paths: string[]; detail?: RegExp }> = [
        {
          name: 'a later batch whose y is shorter than p',
          body: [
            { model: FEED, task: 'PLIKE', p: [0.1, 0.2], y: [0, 1], ts: at(14) },
            { model: FEED, task: 'PLIKE', p: [0.1, 0.2, 0.3], y: [0, 1], ts: at(14) },
          ],
          paths: ['[1].y'],
          detail: /has 2 entries but p has 3/,
        },
        {
          name: 'ts and w of the wrong length',
          body: [
            { model: FEED, task: 'PLIKE', p: [0.1], y: [0], ts: at(14) },
            { model: FEED, task: 'PLIKE', p: [0.1, 0.2], y: [0, 1], ts: [at(14)], w: [1, 1, 1] },
          ],
          paths: ['[1].ts', '[1].w'],
        },
        {
          name: 'an unknown field',
          body: [
            { model: FEED, task: 'PLIKE', p: [0.1], y: [0], ts: at(14) },
            { modle: FEED, task: 'PLIKE', p: [0.1], y: [0], ts: at(14) },
          ],
          paths: ['[1].modle', '[1].model'],
          detail: /unknown field 'modle'.*did you mean 'model'/,
        },
        {
          name: 'missing columns',
          body: [{ model: FEED, task: 'PLIKE', p: [0.1], y: [0], ts: at(14) }, { model: FEED, task: 'PLIKE' }],
          paths: ['[1].p', '[1].y', '[1].ts'],
        },
        { name: 'p that is not an array', body: { model: FEED, task: 'PLIKE', p: 0.5, y: [1], ts: at(14) }, paths: ['(body).p'] },
        { name: 'a ts that is neither a number nor an array', body: { model: FEED, task: 'PLIKE', p: [0.5], y: [1], ts: 'now' }, paths: ['(body).ts'] },
        { name: 'a batch that is not an object', body: [{ model: FEED, task: 'PLIKE', p: [0.1], y: [0], ts: at(14) }, [1, 2]], paths: ['[1]'] },
        { name: 'a body that is a number', body: 42, paths: ['(body)'] },
      ];
      for (const c of shapeCases) {
        it(`refuses the whole body, storing nothing, for ${c.name}`, async () => {
          const response = await assertNothingStored(() => post(JSON.stringify(c.body), json));
          assertError(response, { status: 400, code: 'invalid_input', message: /columnar batch/, paths: c.paths, ...(c.detail ? { detailMessage: c.detail } : {}) });
        });
      }

      it('refuses bad JSON and an empty array, storing nothing', async () => {
        const bad = await assertNothingStored(() => post('[{"model": "ig_feed_main_mtml:v1", "task": "PLIKE", "p": [0.1], "y": [0], "ts": 1}, {', json));
        assertError(bad, { status: 400, code: 'invalid_input', message: /not valid JSON/, paths: ['(body)'] });
        const empty = await assertNothingStored(() => post('[]', json));
        assertError(empty, { status: 400, code: 'invalid_input', message: /empty array/ });
        const blank = await assertNothingStored(() => post('  \n', json));
        assertError(blank, { status: 400, code: 'invalid_input', message: /empty/ });
      });
    });

    describe('whole-body problems', () => {
      it('reads gzip bodies, NDJSON and columnar, with the same line numbers', async () => {
        const body = ndjson([line(15), '', line(15, { y: 7 }), line(15, { task: 'PCOMMENT' })]);
        assertErrors(await ingest(gzipSync(body), { accepted: 2, rejected: 1 }, { headers: { 'content-encoding': 'gzip' } }), [[3, /^y: /]]);
        const columnar = JSON.stringify([{ model: REELS, task: 'PLIKE', p: [0.2, 0.3], y: [1, 0], ts: at(15) }, { model: REELS, task: 'PSHARE', p: [0.2, 3], y: [1, 0], ts: at(15) }]);
        assertErrors(await ingest(gzipSync(columnar), { accepted: 3, rejected: 1 }, { contentType: 'application/json', headers: { 'content-encoding': 'GZIP' } }), [[4, /^\[1\]\.p\[1\]: /]]);
        assert.deepEqual(await counts(15), { [`${FEED}/PLIKE`]: 1, [`${FEED}/PCOMMENT`]: 1, [`${REELS}/PLIKE`]: 2, [`${REELS}/PSHARE`]: 1 });
      });

      it('refuses a body that does not decompress, and encodings it does not read', async () => {
        const zipped = gzipSync(ndjson([line(16), line(16)]));
        const cases: Array<[string, Buffer | string, Record<string, string>, RegExp]> = [
          ['truncated gzip', zipped.subarray(0, zipped.length - 12), { 'content-encoding': 'gzip' }, /does not decompress/],
          ['plain text marked gzip', ndjson([line(16)]), { 'content-encoding': 'gzip' }, /does not decompress/],
          ['brotli', zipped, { 'content-encoding': 'br' }, /Content-Encoding 'br' is not supported/],
          ['deflate', zipped, { 'content-encoding': 'deflate' }, /Content-Encoding 'deflate' is not supported/],
        ];
        for (const [name, body, headers, message] of cases) {
          const response = await assertNothingStored(() => post(body, { headers }));
          assert.equal(response.status, 400, `${name}: ${JSON.stringify(response.body)}`);
          assertError(response, { status: 400, code: 'invalid_input', message });
        }
        assert.deepEqual(await counts(16), {});
      });

      it('refuses a Content-Type it does not read, or none', async () => {
        const body = ndjson([line(17)]);
        for (const type of ['text/csv', 'application/xml', 'multipart/form-data; boundary=x', 'application/jsonx']) {
          const response = await assertNothingStored(() => post(body, { contentType: type }));
          assertError(response, { status: 400, code: 'invalid_input', message: [new RegExp(`Content-Type '${type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`), /application\/x-ndjson/, /application\/json/] });
        }
        const none = await assertNothingStored(() => post(body, { contentType: null }));
        assertError(none, { status: 400, code: 'invalid_input', message: /Content-Type 'none'/ });
        // NDJSON sent as JSON is refused whole, not read as a columnar batch.
        const asJson = await assertNothingStored(() => post(ndjson([line(17), line(17)]), { contentType: 'application/json' }));
        assertError(asJson, { status: 400, code: 'invalid_input', message: /not valid JSON/ });
        assert.deepEqual(await counts(17), {});
      });

      it('refuses with 413, storing nothing, a gzip body that inflates past 32 MiB', async () => {
        const filler = Buffer.alloc(33 * 1024 * 1024, ' \n');
        // A real event first: refusing the body must drop it too.
        const bomb = gzipSync(Buffer.concat([Buffer.from(line(18) + '\n'), filler]), { level: 9 });
        assert.ok(bomb.length < 200 * 1024, `the bomb is small on the wire (${bomb.length} bytes)`);
        const response = await assertNothingStored(() => post(bomb, { headers: { 'content-encoding': 'gzip' } }));
        assertError(response, { status: 413, code: 'payload_too_large', message: /larger than 33554432 bytes/ });
        // Just under the bound is read.
        const fits = gzipSync(Buffer.concat([Buffer.from(line(18) + '\n'), Buffer.alloc(31 * 1024 * 1024, ' \n')]));
        await ingest(fits, { accepted: 1, rejected: 0 }, { headers: { 'content-encoding': 'gzip' } });
        assert.deepEqual(await counts(18), { [`${FEED}/PLIKE`]: 1 });
      });

      it('refuses with 413 a plain body over 32 MiB', async () => {
        const big = Buffer.alloc(32 * 1024 * 1024 + 16, ' \n');
        const response = await assertNothingStored(() => post(big));
        assertError(response, { status: 413, code: 'payload_too_large' });
      });
    });

    describe('tokens', () => {
      it('answers 401 without a token or with an unknown one, and 403 to a viewer, storing nothing', async () => {
        const body = ndjson([line(19)]);
        const none = await assertNothingStored(() => post(body, { token: null }));
        assertError(none, { status: 401, code: 'unauthorized', message: /needs a token/ });
        assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
        const unknown = await assertNothingStored(() => post(body, { token: 'mf_not-a-real-token-0000000000000000' }));
        assertError(unknown, { status: 401, code: 'unauthorized', message: /unknown or revoked/ });
        const basic = await assertNothingStored(() => post(body, { token: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } }));
        assertError(basic, { status: 401, code: 'unauthorized', message: /Bearer/ });
        const viewer = await assertNothingStored(() => post(body, { token: tokens.viewer }));
        assertError(viewer, { status: 403, code: 'forbidden', message: [/'watcher' is a viewer/, /ingest token/] });
        assert.deepEqual(await counts(19), {});
      });
    });

    describe('Idempotency-Key', () => {
      it('replays the first answer to a retry with the same key and body, counting nothing again', async () => {
        const body = ndjson([line(20), line(20, { p: 9 }), line(20, { model: REELS, task: 'PSHARE' })]);
        const headers = { 'idempotency-key': 'batch-20-a' };
        const first = await post(body, { headers, token: tokens.ingest });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.headers.get('idempotent-replayed'), null);
        assert.deepEqual({ accepted: first.body.accepted, rejected: first.body.rejected }, { accepted: 2, rejected: 1 });
        const second = await post(body, { headers, token: tokens.ingest });
        assert.equal(second.status, 200, JSON.stringify(second.body));
        assert.equal(second.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(second.body, first.body);
        // Compressed, it is still the same batch.
        const third = await post(gzipSync(body), { headers: { ...headers, 'content-encoding': 'gzip' }, token: tokens.ingest });
        assert.equal(third.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(third.body, first.body);
        assert.deepEqual(await counts(20), { [`${FEED}/PLIKE`]: 1, [`${REELS}/PSHARE`]: 1 });
        // Without a key, the same body is a new batch.
        await ingest(body, { accepted: 2, rejected: 1 }, { token: tokens.ingest });
        assert.deepEqual(await counts(20), { [`${FEED}/PLIKE`]: 2, [`${REELS}/PSHARE`]: 2 });
      });

      it('counts once when the same key and body arrive five times at once', async () => {
        const body = ndjson([line(21, { w: 2 }), line(21, { task: 'PCOMMENT' }), line(21, { y: 9 })]);
        const headers = { 'idempotency-key': 'concurrent-21' };
        const responses = await Promise.all(Array.from({ length: 5 }, () => post(body, { headers, token: tokens.ingest })));
        for (const r of responses) {
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.deepEqual(r.body, { accepted: 2, rejected: 1, errors: [{ line: 3, message: r.body.errors[0].message }] });
          assert.match(r.body.errors[0]!.message, /^y: /);
        }
        assert.equal(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 4, 'one answer is the original, four are replays');
        assert.deepEqual(await minute(21), {
          [`${FEED}/PLIKE`]: { count: 1, weight: 2, positives: 2 },
          [`${FEED}/PCOMMENT`]: { count: 1, weight: 1, positives: 1 },
        });
      });

      it('refuses a key reused with a different body (409), adding nothing', async () => {
        const headers = { 'idempotency-key': 'reused-22' };
        await ingest(ndjson([line(22)]), { accepted: 1, rejected: 0 }, { headers, token: tokens.ingest });
        const reused = await assertNothingStored(() => post(ndjson([line(22), line(22)]), { headers, token: tokens.ingest }));
        assertError(reused, { status: 409, code: 'conflict', message: [/Idempotency-Key 'reused-22'/, /different body/, /'logger'/] });
        assert.equal(reused.headers.get('idempotent-replayed'), null);
        // Refused whole as another format, the body differs too.
        const columnar = await assertNothingStored(() => post(JSON.stringify({ model: FEED, task: 'PLIKE', p: [0.25], y: [1], ts: at(22) }), { headers, token: tokens.ingest, contentType: 'application/json' }));
        assertError(columnar, { status: 409, code: 'conflict' });
        assert.deepEqual(await counts(22), { [`${FEED}/PLIKE`]: 1 });
      });

      it('keeps keys per token: the same key from two tokens counts twice', async () => {
        const body = ndjson([line(23), line(23, { model: REELS })]);
        const headers = { 'idempotency-key': 'shared-key-23' };
        const a = await post(body, { headers, token: tokens.ingest });
        const b = await post(body, { headers, token: tokens.ingest2 });
        for (const r of [a, b]) {
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.equal(r.headers.get('idempotent-replayed'), null);
          assert.equal(r.body.accepted, 2);
        }
        // And each token's own retry is a replay.
        const retry = await post(body, { headers, token: tokens.ingest2 });
        assert.equal(retry.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(await counts(23), { [`${FEED}/PLIKE`]: 2, [`${REELS}/PLIKE`]: 2 });
      });

      it('does not use up a key on a request refused whole', async () => {
        const headers = { 'idempotency-key': 'refused-first-24' };
        const body = ndjson([line(24)]);
        const refused = await post(body, { headers, contentType: 'text/csv' });
        assertError(refused, { status: 400, code: 'invalid_input' });
        const bomb = await post(gzipSync(Buffer.alloc(33 * 1024 * 1024, ' ')), { headers: { ...headers, 'content-encoding': 'gzip' } });
        assertError(bomb, { status: 413, code: 'payload_too_large' });
        const ok = await post(body, { headers });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.headers.get('idempotent-replayed'), null);
        assert.equal(ok.body.accepted, 1);
        assert.deepEqual(await counts(24), { [`${FEED}/PLIKE`]: 1 });
      });

      it('refuses keys that are too long, empty of meaning or not ASCII, storing nothing', async () => {
        const body = ndjson([line(25)]);
        for (const key of ['k'.repeat(201), 'x'.repeat(300), 'clé-25', 'two words', 'tab\there']) {
          const response = await assertNothingStored(() => post(body, { headers: { 'idempotency-key': key } }));
          assertError(response, { status: 400, code: 'invalid_input', message: /Idempotency-Key must be 1 to 200 printable ASCII characters/, paths: ['Idempotency-Key'] });
        }
        const longest = await post(body, { headers: { 'idempotency-key': 'k'.repeat(200) } });
        assert.equal(longest.status, 200, JSON.stringify(longest.body));
        assert.equal(longest.body.accepted, 1);
        assert.deepEqual(await counts(25), { [`${FEED}/PLIKE`]: 1 });
      });
    });

    describe('/metrics', () => {
      it('counts rejections by reason and accepted events, and not replays', async () => {
        const events = (labels: string) => metric('modelfleet_ingest_events_total', labels);
        const reasons = ['malformed', 'bad_value', 'unknown_model', 'unknown_task', 'forbidden', 'too_late', 'in_future'] as const;
        const read = async () => {
          const out: Record<string, number> = { accepted: await events('outcome="accepted",reason=""') };
          for (const reason of reasons) out[reason] = await events(`outcome="rejected",reason="${reason}"`);
          out['replayed'] = await metric('modelfleet_ingest_requests_total', 'format="ndjson",replayed="true"');
          out['columnar'] = await metric('modelfleet_ingest_requests_total', 'format="columnar",replayed="false"');
          return out;
        };
        const before = await read();
        const body = ndjson([
          line(26),
          '{oops',
          line(26, { p: 3 }),
          line(26, { y: -1 }),
          line(26, { model: 'ig_feed_main_mtml:v404' }),
          line(26, { model: RETIRED }),
          line(26, { task: 'PSHARE' }),
          line(26, { model: REELS }),
          line(26, { ts: NOW - 61 * MIN }),
          line(26, { ts: NOW - 3 * 60 * MIN }),
          line(26, { ts: NOW - 61 * MIN + 1 }),
          line(26, { ts: NOW + 6 * MIN }),
          line(26, { task: 'PCOMMENT' }),
        ]);
        const headers = { 'idempotency-key': 'metrics-26' };
        await ingest(body, { accepted: 2, rejected: 11 }, { token: tokens.feedMember, headers });
        await ingest(body, { accepted: 2, rejected: 11 }, { token: tokens.feedMember, headers }); // a replay: counted as a request only
        await ingest(JSON.stringify({ model: FEED, task: 'PLIKE', p: [0.5, 0.5, 0.5], y: [1, 0, 1], ts: [at(26), NOW - 2 * 60 * MIN, NOW + 60 * MIN] }), { accepted: 1, rejected: 2 }, { contentType: 'application/json' });
        await assertNothingStored(() => post('{', { contentType: 'application/json' })); // refused whole: no events counted
        const after = await read();
        const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
        assert.deepEqual(delta, { accepted: 3, malformed: 1, bad_value: 2, unknown_model: 2, unknown_task: 1, forbidden: 1, too_late: 4, in_future: 2, replayed: 1, columnar: 1 });
        assert.deepEqual(await counts(26), { [`${FEED}/PLIKE`]: 2, [`${FEED}/PCOMMENT`]: 1 });
      });
    });
  });
});

const round = (x: number) => Math.round(x * 1e9) / 1e9;
