import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { runLoadStep } from './loadGenerator.js';
import { RawHttpDispatcher } from './rawHttpDispatcher.js';

interface Outcome {
  status: number;
  error: (Error & { code?: string }) | null;
  started: boolean;
}

/** Dispatches one request and waits for its end or error, as the generator's handler sees them. */
function send(dispatcher: RawHttpDispatcher, options: Partial<Dispatcher.DispatchOptions> = {}, onStart?: (controller: { abort(e: Error): void }) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { status: 0, error: null, started: false };
    dispatcher.dispatch({ method: 'GET', path: '/', headers: {}, ...options } as Dispatcher.DispatchOptions, {
      onRequestStart(controller) {
        outcome.started = true;
        onStart?.(controller);
      },
      onResponseStart(_c, status) {
        outcome.status = status;
      },
      onResponseEnd() {
        resolve(outcome);
      },
      onResponseError(_c, error) {
        outcome.error = error;
        resolve(outcome);
      },
    });
  });
}

/** What a raw server saw: each request's head and body, and how many connections it accepted. */
interface Seen {
  heads: string[];
  bodies: Buffer[];
  connections: number;
}

/**
 * A node:net server that reads whole requests (Content-Length bodies) and answers each with what
 * `answer` writes, byte for byte: responses can be split, malformed or followed by a close at will.
 */
async function rawServer(answer: (socket: Socket, head: string, body: Buffer, index: number) => void): Promise<{ url: string; seen: Seen; server: Server }> {
  const seen: Seen = { heads: [], bodies: [], connections: 0 };
  const server = createServer((socket) => {
    seen.connections += 1;
    socket.setNoDelay(true);
    let buffered = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.toString('latin1', 0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length);
        buffered = buffered.subarray(end + 4 + length);
        seen.heads.push(head);
        seen.bodies.push(Buffer.from(body));
        answer(socket, head, body, seen.heads.length - 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const servers: Server[] = [];
const dispatchers: RawHttpDispatcher[] = [];
after(async () => {
  await Promise.all(dispatchers.map((d) => d.destroy()));
  for (const server of servers) server.close();
});

const dispatcherFor = (url: string, connections: number | null = 4) => {
  const d = new RawHttpDispatcher(url, { connections, connectTimeoutMs: 2000 });
  dispatchers.push(d);
  return d;
};

/** Writes the pieces one by one with a pause between, so they arrive as separate reads. */
async function writeApart(socket: Socket, pieces: Array<string | Buffer>): Promise<void> {
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

describe('raw HTTP/1.1 transport', () => {
  test('encodes the request once: line, host, headers, content-length, body', async () => {
    const { url, seen } = await rawServer((socket) => socket.write(OK));
    const d = dispatcherFor(url);
    const options = { method: 'POST', path: '/v1/x?q=1', headers: { 'content-type': 'application/json', 'x-n': '1' }, body: Buffer.from('{"a":1}') } as Dispatcher.DispatchOptions;
    assert.equal(d.encode(options), d.encode(options), 'the same bytes object, cached per options');
    for (let i = 0; i < 3; i++) assert.equal((await send(d, options)).status, 200);
    const host = new URL(url).host;
    assert.equal(seen.heads[0], `POST /v1/x?q=1 HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\nx-n: 1\r\ncontent-length: 7`);
    assert.equal(seen.bodies[2]!.toString(), '{"a":1}');
  });

  test('reuses one keep-alive connection for requests one after another', async () => {
    const { url, seen } = await rawServer((socket) => socket.write(OK));
    const d = dispatcherFor(url, 1);
    for (let i = 0; i < 50; i++) assert.equal((await send(d)).status, 200);
    assert.equal(seen.connections, 1);
  });

  test('queues requests beyond its connections and sends each as soon as one frees', async () => {
    const { url, seen } = await rawServer((socket) => setTimeout(() => socket.write(OK), 5));
    const d = dispatcherFor(url, 2);
    const started = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => send(d)));
    assert.ok(outcomes.every((o) => o.status === 200 && !o.error));
    assert.equal(seen.connections, 2);
    // 10 rounds of ~5 ms on 2 connections: no waiting for a timer between them.
    assert.ok(performance.now() - started < 500);
  });

  test('reads answers split into many reads: head, Content-Length body, chunked body', async () => {
    let n = 0;
    const { url } = await rawServer((socket) => {
      const plain = 'HTTP/1.1 201 Created\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world';
      const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
      const text = n++ % 2 ? chunked : plain;
      // Every byte apart: CRLFCRLF, chunk sizes and chunk ends all split across reads.
      void writeApart(socket, [...text]);
    });
    const d = dispatcherFor(url, 1);
    assert.equal((await send(d)).status, 201);
    assert.equal((await send(d)).status, 200);
    assert.equal((await send(d)).status, 201, 'the connection is still in step after split answers');
  });

  test('reads answers coalesced into one read: interim 100, many chunks, trailers', async () => {
    const { url, seen } = await rawServer((socket) => {
      const chunks = Array.from({ length: 200 }, (_, i) => `${(i + 1).toString(16)}\r\n${'x'.repeat(i + 1)}\r\n`).join('');
      socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${chunks}0\r\nx-trailer: 1\r\n\r\n`);
    });
    const d = dispatcherFor(url, 1);
    for (let i = 0; i < 3; i++) assert.deepEqual(await send(d), { status: 200, error: null, started: true });
    assert.equal(seen.connections, 1);
  });

  test('skips big bodies, either framing, and sends big request bodies whole', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 97);
    let n = 0;
    const { url, seen } = await rawServer((socket) => {
      if (n++ % 2 === 0) {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n`);
        socket.write(big);
      } else {
        socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
        for (let i = 0; i < 8; i++) socket.write(`100000\r\n${big.toString('latin1', 0, 0x100000)}\r\n`);
        socket.write('0\r\n\r\n');
      }
    });
    const d = dispatcherFor(url, 1);
    const body = Buffer.alloc(3 * 1024 * 1024, 98);
    for (let i = 0; i < 4; i++) assert.equal((await send(d, { method: 'POST', body })).status, 200);
    assert.equal(seen.bodies[3]!.length, body.length);
    assert.ok(seen.bodies[3]!.equals(body));
    assert.equal(seen.connections, 1);
  });

  test('reconnects when the server says connection: close, or closes an idle connection', async () => {
    const { url, seen } = await rawServer((socket, _head, _body, index) => {
      if (index % 3 === 0) socket.end('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok');
      else if (index % 3 === 1) socket.end(OK);
      else socket.write(OK);
    });
    const d = dispatcherFor(url, 1);
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(await send(d), { status: 200, error: null, started: true });
      await new Promise((resolve) => setTimeout(resolve, 10)); // lets an idle close arrive first
    }
    assert.equal(seen.connections, 5);
  });

  test('a body that ends with the connection (no length) ends the answer', async () => {
    const { url } = await rawServer((socket) => socket.end('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
    const d = dispatcherFor(url, 1);
    assert.equal((await send(d)).status, 200);
    assert.equal((await send(d)).status, 200);
  });

  test('a connection closed before the whole answer is a connection error; the next request gets a new one', async () => {
    const { url } = await rawServer((socket, _h, _b, index) => {
      if (index === 0) socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      else if (index === 1) socket.destroy();
      else socket.write(OK);
    });
    const d = dispatcherFor(url, 1);
    assert.equal((await send(d)).error?.code, 'UND_ERR_SOCKET');
    assert.match(String((await send(d)).error?.code), /UND_ERR_SOCKET|ECONNRESET/);
    assert.equal((await send(d)).status, 200);
  });

  test('a refused connection fails its request with ECONNREFUSED, the waiting ones too', async () => {
    const { server, url } = await rawServer(() => {});
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const d = dispatcherFor(url, 1);
    const outcomes = await Promise.all([send(d), send(d), send(d)]);
    for (const o of outcomes) assert.equal(o.error?.code, 'ECONNREFUSED');
  });

  test('aborting a request in flight destroys its socket and frees the slot for the next', async () => {
    const { url, seen } = await rawServer((socket, head) => {
      if (!head.startsWith('GET /slow')) socket.write(OK);
    });
    const d = dispatcherFor(url, 1);
    let controller: { abort(e: Error): void } | null = null;
    const slow = send(d, { path: '/slow' }, (c) => (controller = c));
    const next = send(d); // waits for the only connection
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller!.abort(new Error('no answer within 20 ms'));
    assert.equal((await slow).error?.message, 'no answer within 20 ms');
    assert.equal((await next).status, 200);
    assert.equal(seen.connections, 2, 'the aborted request socket is not reused');
  });

  test('a request aborted while it waited for a socket is never written', async () => {
    const { url, seen } = await rawServer((socket) => setTimeout(() => socket.write(OK), 20));
    const d = dispatcherFor(url, 1);
    const first = send(d);
    const dropped = send(d, { path: '/dropped' }, (c) => c.abort(new Error('timed out before it was sent')));
    assert.equal((await first).status, 200);
    assert.equal((await dropped).error?.message, 'timed out before it was sent');
    assert.equal((await send(d)).status, 200);
    assert.deepEqual(
      seen.heads.map((h) => h.split(' ')[1]),
      ['/', '/'],
    );
  });

  test('through the generator: statuses by class, refused connections as connection errors', async () => {
    const http = createHttpServer((req, res) => {
      const status = req.url!.startsWith('/bad') ? 404 : req.url!.startsWith('/boom') ? 500 : req.url!.startsWith('/moved') ? 302 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('x'.repeat(status === 200 ? 100_000 : 10)); // node:http chunks a big body
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const target = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const requests = ['/ok', '/bad', '/boom', '/moved'].map((path) => ({ method: 'GET' as const, path, headers: {}, body: null, ts: null }));
      const m = await runLoadStep({ target, requests, transport: 'raw', connections: 4 }, { rate: 400, warmupMs: 0, durationMs: 500 });
      assert.equal(m.scheduled, 200);
      assert.deepEqual(m.errorsByClass, { http_3xx: 50, http_4xx: 50, http_5xx: 50, timeout: 0, connection: 0, overload: 0 });
      assert.equal(Math.round(m.achievedQps), 100);

      const closed = target.replace(/:\d+$/, ':1');
      const refused = await runLoadStep({ target: closed, requests, transport: 'raw' }, { rate: 100, warmupMs: 0, durationMs: 200 });
      assert.equal(refused.errorsByClass.connection, refused.scheduled);
      assert.match(refused.errorSamples[0]!, /ECONNREFUSED/);
    } finally {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  test('through the generator: a request past its timeout is a timeout, and its connection is replaced', async () => {
    const { url, seen } = await rawServer((socket, head) => {
      if (!head.startsWith('GET /slow')) socket.write(OK);
    });
    const requests = ['/slow', '/ok', '/ok', '/ok'].map((path) => ({ method: 'GET' as const, path, headers: {}, body: null, ts: null }));
    const m = await runLoadStep({ target: url, requests, transport: 'raw', connections: 1, timeoutMs: 100 }, { rate: 40, warmupMs: 0, durationMs: 500 });
    assert.equal(m.scheduled, 20);
    assert.equal(m.errorsByClass.timeout, 5);
    assert.equal(m.errors, 5);
    assert.ok(seen.connections >= 5, `a new connection after each timeout (${seen.connections})`);
  });
});
