// What the three client transports share (each is an SDK `Transport`): the callbacks, the lifecycle
// state, in-order delivery of what they receive, and how they give up for good.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionError } from '../errors.js';
import { OrderedDelivery } from './ordered-delivery.js';
import { resolveOptions, type ClientTransportOptions, type ResolvedOptions } from './options.js';

export type State = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

export abstract class ClientTransportBase {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Why the transport gave up, when it did (the caller maps it to exit code 3). */
  fatalError: ConnectionError | undefined;

  protected readonly o: ResolvedOptions;
  protected state: State;
  /** Aborted by close() and fail(): ends every wait, request and retry loop. */
  protected readonly stopped = new AbortController();
  protected readonly delivery = new OrderedDelivery((m) => this.onmessage?.(m));

  constructor(options: ClientTransportOptions, initial: State) {
    this.o = resolveOptions(options);
    this.state = initial;
  }

  /** Drop the connection's resources at once; called by fail(), which reports afterwards. */
  protected abstract teardown(): void;

  protected get ended(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  /** What a send after the end rejects with: why we gave up, if we did. */
  protected closedError(): ConnectionError {
    return this.fatalError ?? new ConnectionError('the connection is closed', { kind: 'closed' });
  }

  /** Give up for good: report the error, then close (after what was already received is delivered). */
  protected fail(error: ConnectionError): void {
    if (this.ended) return;
    this.state = 'closing';
    this.fatalError = error;
    this.stopped.abort();
    this.teardown();
    setImmediate(() => {
      this.state = 'closed';
      this.onerror?.(error);
      this.onclose?.();
    });
  }

  /** A received JSON-RPC message; one that is not JSON is reported (onerror, as `complaint`) and skipped. */
  protected parse(text: string, complaint: string): JSONRPCMessage | undefined {
    try {
      return JSON.parse(text) as JSONRPCMessage;
    } catch {
      this.onerror?.(new Error(complaint));
      return undefined;
    }
  }
}
