import assert from 'node:assert/strict';
import type { ApiResponse, TestServer } from './harness.js';

/**
 * Assertions shared by the bad-input and invariant suites: the error shape every failure must have,
 * and proof that a failed write left the stored data as it was.
 */

export interface ErrorExpectation {
  status: number;
  code: string;
  /** Every pattern must match the message. */
  message?: RegExp | RegExp[];
  /** Paths that must appear among the details (each detail must also have a non-empty message). */
  paths?: string[];
  /** Patterns each matched by the message of the detail at `paths[0]`, or of any detail when no path is given. */
  detailMessage?: RegExp | RegExp[];
}

const asList = (value: RegExp | RegExp[] | undefined): RegExp[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Asserts `{"error": {"code","message","details":[{"path","message"}]}}` with the expected status, code, paths and wording. */
export function assertError(response: ApiResponse, expected: ErrorExpectation): { code: string; message: string; details: Array<{ path: string; message: string }> } {
  const shown = JSON.stringify(response.body);
  assert.equal(response.status, expected.status, `status: ${shown}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/, 'errors are JSON');
  assert.ok(response.body && typeof response.body === 'object', `body: ${shown}`);
  assert.deepEqual(Object.keys(response.body), ['error'], `only an error member: ${shown}`);
  const error = response.body.error;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'details', 'message'], `error members: ${shown}`);
  assert.equal(error.code, expected.code, `code: ${shown}`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length >= 15, `a message that explains: ${shown}`);
  assert.ok(Array.isArray(error.details), `details is an array: ${shown}`);
  for (const detail of error.details) {
    assert.deepEqual(Object.keys(detail).sort(), ['message', 'path'], `detail members: ${shown}`);
    assert.equal(typeof detail.path, 'string');
    assert.ok(detail.path.length > 0, `detail path: ${shown}`);
    assert.equal(typeof detail.message, 'string');
    assert.ok(detail.message.length > 0, `detail message: ${shown}`);
  }
  for (const pattern of asList(expected.message)) assert.match(error.message, pattern, `message: ${shown}`);
  const paths = error.details.map((d: { path: string }) => d.path);
  for (const path of expected.paths ?? []) assert.ok(paths.includes(path), `expected a detail at '${path}', got [${paths.join(', ')}]: ${shown}`);
  const detailPatterns = asList(expected.detailMessage);
  if (detailPatterns.length) {
    const candidates = expected.paths?.length ? error.details.filter((d: { path: string }) => d.path === expected.paths![0]) : error.details;
    for (const pattern of detailPatterns) {
      assert.ok(
        candidates.some((d: { message: string }) => pattern.test(d.message)),
        `expected a detail${expected.paths?.length ? ` at '${expected.paths[0]}'` : ''} matching ${pattern}: ${shown}`,
      );
    }
  }
  return error;
}

export type Collection = 'teams' | 'model-types' | 'models';

/** What a reader sees of one entry: enough to tell whether a write touched it. */
export interface EntrySnapshot {
  status: number;
  etag: string | null;
  body: unknown;
  historyStatus: number;
  history: unknown[];
}

export async function snapshotEntry(server: TestServer, collection: Collection, key: string): Promise<EntrySnapshot> {
  const path = `/${collection}/${encodeURIComponent(key)}`;
  const read = await server.call('GET', path);
  const history = await server.call('GET', `${path}/history`);
  return {
    status: read.status,
    etag: read.headers.get('etag'),
    body: read.body,
    historyStatus: history.status,
    history: history.status === 200 ? history.body.items : [],
  };
}

/** The sequence number of the newest change in the ledger: unchanged means nothing at all was written. */
export async function lastChangeSeq(server: TestServer): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await server.call('GET', `/changes?after=${after}&limit=1000`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    if (page.body.items.length === 0) return after;
    after = page.body.lastSeq;
  }
}

/**
 * Runs a write that must fail and asserts that the named entries read exactly as before (version,
 * body, ETag, history) and that the ledger gained no change at all.
 */
export async function assertUntouched<T>(
  server: TestServer,
  entries: Array<[Collection, string]>,
  write: () => Promise<T>,
): Promise<T> {
  const before = await Promise.all(entries.map(([collection, key]) => snapshotEntry(server, collection, key)));
  const seqBefore = await lastChangeSeq(server);
  const result = await write();
  const after = await Promise.all(entries.map(([collection, key]) => snapshotEntry(server, collection, key)));
  for (const [index, [collection, key]] of entries.entries()) {
    const was = before[index]!;
    const now = after[index]!;
    assert.equal(now.status, was.status, `${collection}/${key}: read status changed`);
    assert.equal(now.etag, was.etag, `${collection}/${key}: ETag changed`);
    assert.deepEqual(now.body, was.body, `${collection}/${key}: body changed`);
    assert.equal(now.historyStatus, was.historyStatus, `${collection}/${key}: history status changed`);
    assert.equal(now.history.length, was.history.length, `${collection}/${key}: history grew`);
    if (was.status === 200) assert.equal((now.body as { version: number }).version, (was.body as { version: number }).version);
  }
  assert.equal(await lastChangeSeq(server), seqBefore, 'the change ledger gained a change from a failed write');
  return result;
}

/** Asserts that an entry was never written: no read, no history. */
export async function assertAbsent(server: TestServer, collection: Collection, key: string): Promise<void> {
  const snapshot = await snapshotEntry(server, collection, key);
  assert.equal(snapshot.status, 404, `${collection}/${key} exists after a failed create`);
  assert.equal(snapshot.historyStatus, 404, `${collection}/${key} has history after a failed create`);
}

/** Runs a create that must fail and asserts that it left nothing behind, not even a change record. */
export async function assertNothingCreated<T>(server: TestServer, collection: Collection, key: string, write: () => Promise<T>, alsoUntouched: Array<[Collection, string]> = []): Promise<T> {
  await assertAbsent(server, collection, key);
  const result = await assertUntouched(server, alsoUntouched, write);
  await assertAbsent(server, collection, key);
  return result;
}

/** A raw request, for what the harness client does not send: streamed bodies, odd headers, bodies with no Content-Type. */
export async function rawCall(
  server: TestServer,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: RequestInit['body']; duplex?: 'half' },
): Promise<ApiResponse> {
  const response = await fetch(`${server.url}/api/v1${path}`, { method, ...init } as RequestInit);
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: response.status, body, headers: response.headers };
}
