// Messages for the session stream of a session owned by another node (its calls run here): batched per
// tick into one bus message per (owner, session), so a burst of progress costs one publish per tick.
import type { OutMessage } from '../outbox/messages.js';
import type { BusMessage } from '../stores/types.js';

export class OwnerForwarder {
  /** owner → session → messages queued this tick. */
  private readonly pending = new Map<string, Map<string, OutMessage[]>>();
  private scheduled = false;

  constructor(private readonly publish: (owner: string, message: BusMessage) => void) {}

  send(owner: string, sessionId: string, message: OutMessage): void {
    let bySession = this.pending.get(owner);
    if (bySession === undefined) this.pending.set(owner, (bySession = new Map()));
    let messages = bySession.get(sessionId);
    if (messages === undefined) bySession.set(sessionId, (messages = []));
    messages.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    for (const [owner, bySession] of this.pending) {
      for (const [session, messages] of bySession) this.publish(owner, { type: 'out', session, messages });
    }
    this.pending.clear();
  }
}
