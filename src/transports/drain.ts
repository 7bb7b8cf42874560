// Waiting for a Node writable (socket or HTTP response) to take more data: shared by every transport.
import type { EventEmitter } from 'node:events';

const RESOLVED = Promise.resolve();

/** Resolves once `stream` has drained, or closed; at once when it needs no drain. */
export function whenDrained(stream: (EventEmitter & { writableNeedDrain: boolean }) | undefined): Promise<void> {
  if (stream === undefined || !stream.writableNeedDrain) return RESOLVED;
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
