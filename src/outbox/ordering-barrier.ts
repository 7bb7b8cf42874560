// "A call's progress reaches the client before its result", the one ordering policy.
//
// The official TypeScript SDK clients (v1 and v2) run notification handlers a microtask late but handle a
// response at once, and then drop the call's progress handler: progress parsed in the same read as the
// result is lost (shared/notes/tips.md). Those clients answer a request from the server only after the
// notifications queued before it, so a server→client `ping` request is a spec-legal barrier: a result
// that follows progress waits until the client has answered a ping sent after that progress. Other
// results wait behind it too, so results keep their order.
//
// Cost: one round trip per call that reported progress (none for calls without progress). A client that
// lets a barrier ping time out does not answer requests; it gets no more barriers (its results go out
// at once, as they would without this policy).
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { OutMessage } from './messages.js';

export class OrderingBarrier {
  /** Calls whose progress reached a barrier-needing sink since the current barrier's ping was sent. */
  private readonly progressed = new Set<RequestId>();
  private held: OutMessage[] = [];
  /** Incremented for each barrier; a ping answer for an older one (after a flush) is ignored. */
  private generation = 0;
  private pending = false;
  private disabled = false;

  constructor(
    /** Send a ping request to the client; resolves when it answers (result or error), rejects on timeout or close. */
    private readonly ping: () => Promise<unknown>,
    /** Send a held response now. */
    private readonly release: (response: OutMessage) => void,
  ) {}

  /** A call's progress went out on a sink whose client needs the barrier. */
  noteProgress(requestId: RequestId): void {
    if (!this.disabled) this.progressed.add(requestId);
  }

  /** Whether `response` must wait; if so it is held and released in order later. */
  hold(response: OutMessage): boolean {
    if (this.pending) {
      this.held.push(response);
      return true;
    }
    if (!this.progressed.has(response.requestId!)) return false;
    this.held.push(response);
    this.start();
    return true;
  }

  /** Send everything held, without waiting (the client's connection went away, or the server shuts down). */
  flush(): void {
    this.generation++;
    this.pending = false;
    this.progressed.clear();
    const held = this.held;
    this.held = [];
    for (const response of held) this.release(response);
  }

  private start(): void {
    this.pending = true;
    this.progressed.clear(); // the ping goes out after every progress written so far
    const generation = ++this.generation;
    this.ping().then(
      () => this.settle(generation, true),
      () => this.settle(generation, false),
    );
  }

  private settle(generation: number, answered: boolean): void {
    if (generation !== this.generation || !this.pending) return;
    this.pending = false;
    if (!answered) {
      this.disabled = true;
      this.progressed.clear();
    }
    const held = this.held;
    this.held = [];
    for (let i = 0; i < held.length; i++) {
      const response = held[i]!;
      if (this.progressed.has(response.requestId!)) {
        // This call reported progress after the ping went out: another barrier for it and the rest.
        this.held = held.slice(i);
        this.start();
        return;
      }
      this.release(response);
    }
  }
}
