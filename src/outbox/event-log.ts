// The event log of one session: every message the outbox sends is recorded, numbered per stream, so a
// client that lost its connection can say "I have everything up to event N" and get the rest exactly
// once, in order. Bounded: the oldest events go first, and a result that goes before it was delivered
// is remembered, so a resume can say plainly which results were lost instead of leaving a call hanging.
//
// This is the seam of scale-out: the in-memory log (memory-event-log.ts) keeps a ring per session; a
// shared store can keep the same log where any node can replay it. Transports never see it: the outbox
// appends, and replays when a sink attaches with a last event id.
//
// Streams are short names: "g" is the session's own stream (the WebSocket, the legacy SSE stream, the
// Streamable HTTP GET stream); "1", "2", … are Streamable HTTP request streams, one per POSTed request.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';

/** The session's own stream. */
export const SESSION_STREAM = 'g';

export interface ReplayResult {
  /** The kept events of the stream after the given sequence number, oldest first. */
  events: Array<{ seq: number; text: string }>;
  /** Responses on the stream after that number that were evicted before anyone received them. */
  lostResponses: RequestId[];
}

export interface EventLog {
  /**
   * Record one serialized message on `stream`; returns its sequence number on that stream (1, 2, …).
   * `undeliveredResponse` names the request a response answers when no client was there to receive it:
   * if it is evicted before a replay delivers it, replay reports it as lost.
   */
  append(stream: string, text: string, undeliveredResponse?: RequestId): number;
  /** The sequence number of the newest event on `stream` (0 before any). */
  lastSeq(stream: string): number;
  /** The kept events of `stream` after `afterSeq`, and the responses lost after it. */
  replay(stream: string, afterSeq: number): ReplayResult | Promise<ReplayResult>;
  /**
   * Before a node writes the session stream of a session that another node wrote so far (a claim after
   * a node was lost, a handover): load the numbers to continue from. A new session's log needs none.
   */
  open?(): Promise<void>;
  /**
   * A client holds frames of `stream` up to `seq` that the log never stored: the node that sent them died
   * before writing them out (logs that batch writes). Number the next event after `seq`, here and for any
   * node that opens the log later, so the client's count and the log agree again.
   */
  advance?(stream: string, seq: number): void;
  /**
   * The kept events of `stream` as stored for every node, without settling anything (a replay reports
   * lost responses once; this does not count as one). Logs shared between nodes only.
   */
  peek?(stream: string): Promise<ReplayResult['events']>;
  /** Resolves once everything appended so far is stored where other nodes read it (logs that batch writes). */
  flushed?(): Promise<void>;
  /**
   * This node stops using the log, but the session lives on (served by another node): write what is
   * pending, keep what is stored. A shared log keeps its data; an in-memory one has nothing to keep.
   */
  release?(): void;
  /**
   * `stream` (a request's own stream) got its response: nothing more will be appended to it. A log may
   * forget the stream's number once its events have left the log, so that a long session's thousands
   * of request streams do not each leave an entry behind.
   */
  complete?(stream: string): void;
  /** Forget everything (the session ended, for every node). */
  close(): void;
}

/** Makes the event log of each new session (memory, or a shared store). */
export interface EventLogFactory {
  create(sessionId: string): EventLog;
}

/** `<sessionId>.<stream>.<seq>`: unique across the session's streams, and names the session it belongs to. */
export function formatEventId(sessionId: string, stream: string, seq: number): string {
  return `${sessionId}.${stream}.${seq}`;
}

/** The parts of an event id; undefined when it is not one. */
export function parseEventId(id: string): { sessionId: string; stream: string; seq: number } | undefined {
  const last = id.lastIndexOf('.');
  const mid = last > 0 ? id.lastIndexOf('.', last - 1) : -1;
  if (mid <= 0) return undefined;
  const seqText = id.slice(last + 1);
  if (!/^\d{1,15}$/.test(seqText)) return undefined;
  const stream = id.slice(mid + 1, last);
  if (stream === '') return undefined;
  return { sessionId: id.slice(0, mid), stream, seq: Number(seqText) };
}
