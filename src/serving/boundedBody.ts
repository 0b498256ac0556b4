import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body of at most `max` bytes. A larger one (declared up front, or found while
 * reading) calls `tooLarge` once, with the declared size when there was one, and never `done`; the
 * caller answers 413 and closes the connection, so an unread rest cannot be taken for the next request.
 */
export function readBoundedBody(req: IncomingMessage, max: number, done: (body: Buffer) => void, tooLarge: (declaredBytes: number | null) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > max) {
    req.resume();
    tooLarge(declared);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
    else {
      refused = true;
      chunks.length = 0;
      tooLarge(null);
    }
  });
  req.on('end', () => {
    if (!refused) done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
}
