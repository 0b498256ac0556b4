/**
 * A worker thread of the load generator: it sends its slice of each step over connections of its own
 * and answers with histograms the generator merges. See `LoadGenerator` in loadGenerator.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SliceSender, type FromWorker, type ToWorker, type WorkerSetup } from './loadGenerator.js';
import type { ReplayRequest } from './recording.js';

const setup = workerData as WorkerSetup;
// Buffers arrive as plain Uint8Arrays after the structured clone; both transports want Buffers.
const requests: ReplayRequest[] = setup.requests.map((r) => ({ ...r, body: r.body ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) : null }));
const sender = new SliceSender(setup.config, requests);
const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    void sender.close().then(() => {
      send({ type: 'closed' });
      port.close();
    });
    return;
  }
  void sender.run(message.plan, (progress) => send({ type: 'progress', id: message.id, progress })).then((result) => send({ type: 'result', id: message.id, result }));
});
