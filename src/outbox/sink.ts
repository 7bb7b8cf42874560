// What a transport gives the outbox to write to: one open connection or response stream. A sink only
// frames and writes; numbering, replay, ordering and backpressure are the outbox's.
import type { OutMessage } from './messages.js';

export interface OutboxSink {
  /**
   * Write one message of `stream` (`seq`: its number on that stream, for the event id). `message` is
   * the typed message, or undefined for an event replayed from the log.
   */
  write(stream: string, seq: number, text: string, message: OutMessage | undefined): void;
  /** Bytes queued for the client and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** Resolves once the queued bytes have drained, or the sink closed. */
  whenDrained(): Promise<void>;
  /**
   * True when the client may handle progress that arrives in the same read as a call's result after
   * the result (the SDK clients on WebSocket and legacy SSE): results then wait for an ordering barrier.
   */
  readonly needsOrderingBarrier: boolean;
  /**
   * The barrier's round trip on this connection, when it has one of its own that every client answers
   * (WebSocket: a ping frame and its pong). Without it the outbox asks the client with a JSON-RPC `ping`.
   * Resolves when answered; rejects on timeout or close.
   */
  barrierPing?(): Promise<void>;
  /**
   * True when the sink would write `message` as a whole reply that carries no event id (a Streamable
   * HTTP POST still undecided, answered with one JSON body): no client can ask for it again, so the
   * outbox writes it without recording it in the event log (with a shared log: no Redis write for a
   * quick call's answer).
   */
  writesWhole?(message: OutMessage): boolean;
  /** The stream is complete (a request stream whose response was written): end it. */
  end(): void;
  /** The client stayed over the high-water mark too long: drop the connection (the session may resume). */
  dropSlowClient(): void;
}
