/**
 * One `beforeExit` listener for every open logger, so a process that creates many loggers does not
 * collect listeners (and node's leak warning). `beforeExit` fires when the event loop runs dry; a
 * flush started there keeps the process alive until it is delivered, then the event fires again
 * with nothing left to send and the process exits.
 */
const flushers = new Set<() => void>();

function onBeforeExit(): void {
  for (const flush of flushers) flush();
}

/** Calls `flush` when the process is about to exit on its own; returns the undo. */
export function flushBeforeExit(flush: () => void): () => void {
  if (flushers.size === 0) process.on('beforeExit', onBeforeExit);
  flushers.add(flush);
  return () => {
    flushers.delete(flush);
    if (flushers.size === 0) process.off('beforeExit', onBeforeExit);
  };
}
