// Hand received messages to the SDK `Protocol` strictly in arrival order, in a way it cannot reorder.
//
// The SDK's Protocol runs notification handlers a microtask late (`Promise.resolve().then(handler)`)
// but handles a response at once, and removes the call's progress handler when it does. If the last
// `notifications/progress` and the result are handed over in the same turn, the progress is dropped.
// So: a response that follows a notification waits for the next macrotask (setImmediate), by which
// time every earlier notification handler has run. Everything behind it waits too, to keep order.

import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export class OrderedDelivery {
  private queue: JSONRPCMessage[] = [];
  private head = 0;
  private notificationsSinceYield = 0;
  private waiting = false;
  private draining = false;
  private stopped = false;

  constructor(private readonly deliver: (message: JSONRPCMessage) => void) {}

  push(message: JSONRPCMessage): void {
    if (this.stopped) return;
    this.queue.push(message);
    if (!this.waiting && !this.draining) this.drain();
  }

  /** Drop whatever is still queued (the transport closed). */
  stop(): void {
    this.stopped = true;
    this.queue = [];
    this.head = 0;
  }

  private drain(): void {
    this.draining = true;
    try {
      while (this.head < this.queue.length && !this.stopped) {
        const message = this.queue[this.head]!;
        const isNotification = 'method' in message && !('id' in message);
        const isResponse = !('method' in message);
        if (isResponse && this.notificationsSinceYield > 0) {
          this.notificationsSinceYield = 0;
          this.waiting = true;
          setImmediate(() => {
            this.waiting = false;
            this.drain();
          });
          return;
        }
        this.head++;
        if (isNotification) this.notificationsSinceYield++;
        this.deliver(message);
      }
      this.queue = [];
      this.head = 0;
    } finally {
      this.draining = false;
    }
  }
}
