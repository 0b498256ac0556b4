/**
 * A lean HTTP/1.1 client for the load generator: keep-alive sockets to one http:// origin, each
 * request encoded to bytes once and written as they are, answers parsed only as far as needed to find
 * their end. See "Written by hand, and why" in docs/decisions.md: a general client's per-request work
 * (header validation, request objects, streams) made the generator cost more than the trivial
 * servers it must outrun.
 *
 * It speaks the part of undici's `Dispatcher.dispatch(options, handler)` that the generator uses:
 * `onRequestStart` when the request goes out on a socket (or is dropped if aborted then),
 * `onResponseStart` with the status, `onResponseEnd`, `onResponseError`; the controller's `abort`
 * destroys the request's socket, so an answer that comes late cannot be taken for the next one's.
 */
import { connect, type Socket } from 'node:net';
import type { Dispatcher } from 'undici';

/** What the generator needs of a transport; undici's Pool is one too. */
export interface Transport {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  destroy(): Promise<void>;
}

export interface RawHttpOptions {
  /** Most sockets open at once; null: one per request in flight. */
  connections: number | null;
  /** A socket not connected after this long fails its request. */
  connectTimeoutMs: number;
}

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestStart']>>[0];

/** A network error with the code the generator's error descriptions show. */
const failure = (code: string, message: string): Error => Object.assign(new Error(message), { code });

class Pending implements Controller {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  conn: Connection | null = null;
  constructor(
    readonly owner: RawHttpDispatcher,
    readonly bytes: Buffer,
    readonly handler: Dispatcher.DispatchHandler,
  ) {}
  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    // Only a request on a socket has more to clean up; one still queued is dropped when its turn comes.
    if (this.conn) this.owner.abortOnSocket(this.conn, this, reason);
  }
  pause(): void {}
  resume(): void {}
}

const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  UntilClose,
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** One keep-alive socket and the parse state of the answer it is reading. */
class Connection {
  readonly socket: Socket;
  connected = false;
  current: Pending | null = null;
  state = State.Head;
  /** Bytes of a head (or chunk-size line) that arrived split over reads. */
  partial: Buffer | null = null;
  /** Body bytes left: of a Content-Length body or of the current chunk. */
  remaining = 0;
  keepAlive = true;
  status = 0;
  noBody = false;
  constructor(socket: Socket) {
    this.socket = socket;
  }
}

export class RawHttpDispatcher implements Transport {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private queue: Pending[] = [];
  private head = 0;
  private closed = false;
  /** Encoded requests, per dispatch options object: the generator prepares each recorded request's options once. */
  private readonly encoded = new WeakMap<Dispatcher.DispatchOptions, Buffer>();

  constructor(
    origin: string,
    private readonly options: RawHttpOptions,
  ) {
    const url = new URL(origin);
    if (url.protocol !== 'http:') throw new Error(`the raw transport speaks plain http only, not ${url.protocol}`);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
  }

  /** The request as bytes on the wire: request line, Host, the headers, Content-Length, body. */
  encode(options: Dispatcher.DispatchOptions): Buffer {
    const cached = this.encoded.get(options);
    if (cached) return cached;
    const body = options.body == null ? null : typeof options.body === 'string' ? Buffer.from(options.body) : Buffer.isBuffer(options.body) ? options.body : options.body instanceof Uint8Array ? Buffer.from(options.body) : null;
    if (options.body != null && !body) throw new Error('the raw transport sends string or byte bodies only');
    let head = `${options.method} ${options.path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
    const headers = options.headers ?? {};
    const entries: Array<[string, unknown]> = Array.isArray(headers) ? pairs(headers as string[]) : Object.entries(headers as Record<string, unknown>);
    for (const [name, value] of entries) {
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      if (lower === 'host' || lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding') continue;
      for (const v of Array.isArray(value) ? value : [value]) {
        const text = String(v);
        if (/[\r\n]/.test(name) || /[\r\n]/.test(text)) throw new Error(`header ${name} holds a line break`);
        head += `${name}: ${text}\r\n`;
      }
    }
    const needsLength = body !== null || options.method === 'POST' || options.method === 'PUT' || options.method === 'PATCH';
    if (needsLength) head += `content-length: ${body?.length ?? 0}\r\n`;
    head += '\r\n';
    const bytes = body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
    this.encoded.set(options, bytes);
    return bytes;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    let bytes: Buffer;
    try {
      bytes = this.encode(options);
    } catch (error) {
      const pending = new Pending(this, Buffer.alloc(0), handler);
      queueMicrotask(() => handler.onResponseError?.(pending, error as Error));
      return false;
    }
    const pending = new Pending(this, bytes, handler);
    if (this.closed) {
      queueMicrotask(() => handler.onResponseError?.(pending, failure('UND_ERR_DESTROYED', 'the transport is closed')));
      return false;
    }
    const conn = this.idle.pop();
    if (conn) this.send(conn, pending);
    else if (this.options.connections === null || this.all.size < this.options.connections) this.open(pending);
    else this.queue.push(pending);
    return true;
  }

  private open(first: Pending): void {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const conn = new Connection(socket);
    this.all.add(conn);
    // Assigned now, started on connect: its wire time starts when it can actually go out.
    conn.current = first;
    const connectTimer = setTimeout(() => socket.destroy(failure('UND_ERR_CONNECT_TIMEOUT', `not connected within ${this.options.connectTimeoutMs} ms`)), this.options.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      conn.connected = true;
      const pending = conn.current;
      conn.current = null;
      if (pending) this.send(conn, pending);
      else this.release(conn);
    });
    socket.on('data', (data: Buffer) => this.onData(conn, data));
    let error: Error | null = null;
    socket.on('error', (e) => (error = e));
    // The server ended the connection: no new request may be written on it, though 'close' comes later.
    socket.once('end', () => {
      const at = this.idle.indexOf(conn);
      if (at >= 0) this.idle.splice(at, 1);
    });
    socket.once('close', () => {
      clearTimeout(connectTimer);
      this.onClose(conn, error);
    });
  }

  /** Puts a request on a connected socket, or drops it if it was aborted while it waited. */
  private send(conn: Connection, pending: Pending): void {
    pending.handler.onRequestStart?.(pending, {});
    if (pending.aborted) {
      pending.handler.onResponseError?.(pending, pending.reason!);
      return this.release(conn);
    }
    pending.conn = conn;
    conn.current = pending;
    conn.state = State.Head;
    conn.socket.write(pending.bytes);
  }

  /** A socket is free: the next waiting request goes out on it now, not at the generator's next tick. */
  private release(conn: Connection): void {
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Pending;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (next.aborted) {
        next.handler.onResponseError?.(next, next.reason!);
        continue;
      }
      return this.send(conn, next);
    }
    this.idle.push(conn);
  }

  private finish(conn: Connection): void {
    const pending = conn.current!;
    conn.current = null;
    pending.conn = null;
    conn.state = State.Head;
    if (!conn.keepAlive) conn.socket.destroy();
    pending.handler.onResponseEnd?.(pending, {});
    if (conn.keepAlive && !conn.socket.destroyed) this.release(conn);
  }

  private fail(conn: Connection, error: Error): void {
    conn.socket.destroy();
    const pending = conn.current;
    conn.current = null;
    if (pending) {
      pending.conn = null;
      pending.handler.onResponseError?.(pending, error);
    }
  }

  abortOnSocket(conn: Connection, pending: Pending, reason: Error): void {
    if (conn.current !== pending) return;
    conn.current = null;
    pending.conn = null;
    // The answer may still come: only a new socket is sure not to hand it to the next request.
    conn.socket.destroy();
    pending.handler.onResponseError?.(pending, reason);
  }

  private onClose(conn: Connection, error: Error | null): void {
    this.all.delete(conn);
    const at = this.idle.indexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
    const pending = conn.current;
    conn.current = null;
    if (pending) {
      pending.conn = null;
      if (conn.state === State.UntilClose && !error) pending.handler.onResponseEnd?.(pending, {});
      else pending.handler.onResponseError?.(pending, error ?? failure('UND_ERR_SOCKET', 'other side closed'));
    }
    // Requests waiting for a socket get a new one in place of this.
    if (!this.closed) {
      while (this.head < this.queue.length && (this.options.connections === null || this.all.size < this.options.connections)) {
        const next = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as Pending;
        if (next.aborted) next.handler.onResponseError?.(next, next.reason!);
        else this.open(next);
      }
    }
  }

  private onData(conn: Connection, data: Buffer): void {
    let at = 0;
    const end = data.length;
    while (at < end) {
      if (!conn.current) {
        // Bytes no request asked for: the connection can no longer be trusted.
        conn.socket.destroy();
        return;
      }
      switch (conn.state) {
        case State.Head: {
          let buffer = data;
          let from = at;
          if (conn.partial) {
            buffer = Buffer.concat([conn.partial, data.subarray(at)]);
            from = 0;
          }
          // Searching from 3 bytes before the new data finds a CRLFCRLF split over reads.
          const found = buffer.indexOf(CRLFCRLF, conn.partial ? Math.max(0, conn.partial.length - 3) : from);
          if (found < 0) {
            if (buffer.length - from > 64 * 1024) return this.fail(conn, failure('UND_ERR_HEADERS_OVERFLOW', 'response head over 64 KiB'));
            conn.partial = Buffer.from(buffer.subarray(from));
            return;
          }
          const headEnd = found + 4;
          const consumed = conn.partial ? headEnd - conn.partial.length : headEnd - at;
          if (!this.parseHead(conn, buffer.toString('latin1', from, found))) return this.fail(conn, failure('UND_ERR_SOCKET', 'malformed response head'));
          conn.partial = null;
          at += consumed;
          if (conn.status < 200) {
            conn.state = State.Head; // 1xx: an interim answer, the real one follows
            continue;
          }
          conn.current.handler.onResponseStart?.(conn.current, conn.status, {}, '');
          if (!conn.current) return; // aborted in the callback
          if ((conn.state as State) === State.Body && conn.remaining === 0) this.finish(conn);
          break;
        }
        case State.Body: {
          const take = Math.min(conn.remaining, end - at);
          conn.remaining -= take;
          at += take;
          if (conn.remaining === 0) this.finish(conn);
          break;
        }
        case State.ChunkSize: {
          const newline = data.indexOf(10, at);
          if (newline < 0) {
            conn.partial = conn.partial ? Buffer.concat([conn.partial, data.subarray(at)]) : Buffer.from(data.subarray(at));
            if (conn.partial.length > 1024) return this.fail(conn, failure('UND_ERR_SOCKET', 'malformed chunk size'));
            return;
          }
          const line = (conn.partial ? conn.partial.toString('latin1') : '') + data.toString('latin1', at, newline);
          conn.partial = null;
          at = newline + 1;
          const size = parseInt(line, 16);
          if (!Number.isFinite(size) || size < 0) return this.fail(conn, failure('UND_ERR_SOCKET', 'malformed chunk size'));
          if (size === 0) conn.state = State.Trailer;
          else {
            conn.remaining = size;
            conn.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const take = Math.min(conn.remaining, end - at);
          conn.remaining -= take;
          at += take;
          if (conn.remaining === 0) {
            conn.remaining = 2;
            conn.state = State.ChunkDataEnd;
          }
          break;
        }
        case State.ChunkDataEnd: {
          const take = Math.min(conn.remaining, end - at);
          conn.remaining -= take;
          at += take;
          if (conn.remaining === 0) conn.state = State.ChunkSize;
          break;
        }
        case State.Trailer: {
          // Trailer lines, then an empty line; usually just the empty line.
          const newline = data.indexOf(10, at);
          if (newline < 0) {
            conn.partial = conn.partial ? Buffer.concat([conn.partial, data.subarray(at)]) : Buffer.from(data.subarray(at));
            return;
          }
          const empty = (conn.partial ? conn.partial.length : 0) + (newline - at) <= 1;
          conn.partial = null;
          at = newline + 1;
          if (empty) this.finish(conn);
          break;
        }
        case State.UntilClose:
          return; // the body ends when the socket does
      }
    }
  }

  /** Reads status and the headers that say where the body ends; sets the body state. */
  private parseHead(conn: Connection, head: string): boolean {
    if (!head.startsWith('HTTP/1.')) return false;
    const status = +head.slice(9, 12);
    if (!(status >= 100 && status < 1000)) return false;
    conn.status = status;
    const http10 = head.charCodeAt(7) === 48; // HTTP/1.0
    let length = -1;
    let chunked = false;
    let close = http10;
    let lineStart = head.indexOf('\r\n');
    while (lineStart >= 0) {
      const next = head.indexOf('\r\n', lineStart + 2);
      const line = head.slice(lineStart + 2, next < 0 ? head.length : next);
      lineStart = next;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === 'content-length') length = +line.slice(colon + 1).trim();
      else if (name === 'transfer-encoding') chunked = /chunked\s*$/i.test(line.slice(colon + 1));
      else if (name === 'connection') {
        const value = line.slice(colon + 1).trim().toLowerCase();
        if (value === 'close') close = true;
        else if (http10 && value === 'keep-alive') close = false;
      }
    }
    conn.keepAlive = !close;
    if (status < 200) return true;
    const bytes = conn.current!.bytes;
    const toHead = bytes[0] === 72 && bytes[1] === 69 && bytes[2] === 65 && bytes[3] === 68 && bytes[4] === 32; // "HEAD "
    if (status === 204 || status === 304 || toHead) {
      conn.state = State.Body;
      conn.remaining = 0;
    } else if (chunked) conn.state = State.ChunkSize;
    else if (length >= 0) {
      if (!Number.isSafeInteger(length)) return false;
      conn.state = State.Body;
      conn.remaining = length;
    } else {
      conn.state = State.UntilClose;
      conn.keepAlive = false;
    }
    return true;
  }

  async destroy(): Promise<void> {
    this.closed = true;
    const closing = [...this.all].map((conn) => new Promise<void>((resolve) => (conn.socket.destroyed ? resolve() : (conn.socket.once('close', () => resolve()), conn.socket.destroy()))));
    while (this.head < this.queue.length) {
      const next = this.queue[this.head++]!;
      next.handler.onResponseError?.(next, next.reason ?? failure('UND_ERR_DESTROYED', 'the transport is closed'));
    }
    this.queue = [];
    this.head = 0;
    await Promise.all(closing);
  }
}

function pairs(flat: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
