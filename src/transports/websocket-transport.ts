// The server side of MCP over WebSocket, as an SDK `Transport`: one JSON-RPC message per text frame.
// One transport object serves a session for its whole life, across sockets:
//   - Frames written in one event-loop turn leave in one `writev` (corked until the next tick): one
//     syscall per frame was 58% of a raw ws server's CPU (shared/notes/performance-anchors.md).
//   - Every frame gets the next event id of the session (1, 2, 3, … — the n-th frame the session sent)
//     and the last EVENT_BUFFER_EVENTS are kept. When the socket drops without a close frame, calls keep
//     running for RESUME_WINDOW_MS and a new socket can take the session over (`attachSocket`): it gets
//     the frames after its Last-Event-ID exactly once, in order, then live traffic.
//   - Backpressure: over the high-water mark progress is coalesced to the newest per call and log
//     messages are counted, never queued without bound; results and errors are never dropped.
//     A client stuck over the mark for SLOW_CLIENT_TIMEOUT_MS is disconnected (and may resume).
//   - A call's result waits for a ping/pong after its last progress frame, so the client has handled that
//     progress first (the SDK client handles notifications a microtask late but responses at once).
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import type { TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { CloseCode, RpcCode } from '../errors.js';
import { errorResponse, parseMessage } from '../jsonrpc.js';
import type { MessageRateLimiter, MessageVerdict } from '../limits/message-rate-limiter.js';
import { EventBuffer } from '../sessions/event-buffer.js';
import { whenDrained } from './drain.js';
import type { SessionTransport } from '../sessions/session.js';

const OPEN = 1;
const CLOSED = 3;
const RESOLVED = Promise.resolve();
/** The one stream of a WebSocket session in its event buffer. */
const STREAM = 'w';
/** A client that never answers the barrier ping (autoPong off) delays a result by at most this. */
const BARRIER_TIMEOUT_MS = 100;
/** Close codes a client sends when it means to end the session; anything else (1006: no close frame) may resume. */
const FINAL_CLOSE_CODES = new Set([CloseCode.NORMAL, 1005]);

export interface WebSocketTransportOptions {
  sessionId: string;
  /** Passed to every onmessage as `extra` (request headers, auth info). */
  extra?: MessageExtraInfo;
  /** Per-session message budget (HTTP rate limits cannot see frames); none = unlimited. */
  messageLimit?: MessageRateLimiter;
  /** How long a dropped session waits for its client; 0 = it ends with its socket. */
  resumeWindowMs?: number;
  /** Frames kept for resume. */
  bufferEvents?: number;
  /** Most bytes of kept frames. */
  bufferBytes?: number;
  /** Queued bytes above which the client counts as slow. */
  highWaterBytes?: number;
  /** How long a client may stay slow before it is disconnected. */
  slowClientTimeoutMs?: number;
  /**
   * A fresh connection whose first message is `session/resume` asks to take over another session;
   * returns that session's transport if the caller may (same principal, session alive), else undefined.
   */
  findResumable?: (sessionId: string) => WebSocketServerTransport | undefined;
}

/** What a resume was asked to continue after: a bare frame number or this session's full event id. */
export function parseLastEventId(value: string | undefined, events: EventBuffer | undefined): number | undefined {
  if (value === undefined || value === '') return 0;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  return events?.parse(value)?.seq;
}

export class WebSocketServerTransport implements SessionTransport {
  readonly sessionId: string;
  readonly ordersProgressBeforeResult = true;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  closeReason: string | undefined;

  private ws: WebSocket | undefined;
  private readonly extra: MessageExtraInfo | undefined;
  private readonly messageLimit: MessageRateLimiter | undefined;
  private readonly resumeWindowMs: number;
  private readonly highWaterBytes: number;
  private readonly slowClientTimeoutMs: number;
  private readonly findResumable: WebSocketTransportOptions['findResumable'];
  /** Sent frames kept for resume; undefined when resume is off. */
  readonly events: EventBuffer | undefined;
  /** The request each kept event answered (undefined for other events), slot for slot with `events`. */
  private responseIds: Array<RequestId | undefined> | undefined;
  /** Results evicted from the buffer while the client was away: named with -32031 when it resumes. */
  private lostWhileAway: Array<{ seq: number; id: RequestId }> = [];
  private framesSeen = 0;
  private corked = false;
  private ended = false;
  private resumeTimer: NodeJS.Timeout | undefined;

  // Backpressure.
  private congestedSince: number | undefined;
  private slowTimer: NodeJS.Timeout | undefined;
  /** The newest progress per call, waiting for the client to catch up (or come back). */
  private readonly pendingProgress = new Map<RequestId | string, JSONRPCMessage>();
  private droppedLogs = 0;

  // Ordering barrier.
  /** Calls whose progress went out on the current socket since their last barrier. */
  private readonly progressed = new Set<RequestId>();
  /** Responses waiting for the barrier's pong. */
  private held: Array<{ text: string; id: RequestId }> = [];
  private barrierPayload: string | undefined;
  private barrierTimer: NodeJS.Timeout | undefined;
  private barrierCount = 0;

  /** Cork the current TCP socket until the next tick; the uncork goes to the socket that was corked. */
  private corkThisTurn(): void {
    if (this.corked) return;
    const socket = this.socket;
    if (socket === undefined) return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      socket.uncork();
      if (this.socket === socket || this.socket === undefined) this.corked = false;
    });
  }
  private readonly onDrain = () => this.catchUp();

  constructor(ws: WebSocket, options: WebSocketTransportOptions) {
    this.ws = ws;
    this.sessionId = options.sessionId;
    this.extra = options.extra;
    this.messageLimit = options.messageLimit;
    this.resumeWindowMs = options.resumeWindowMs ?? 0;
    this.highWaterBytes = options.highWaterBytes ?? 1024 * 1024;
    this.slowClientTimeoutMs = options.slowClientTimeoutMs ?? 30_000;
    this.findResumable = options.findResumable;
    const bufferEvents = options.bufferEvents ?? 0;
    if (this.resumeWindowMs > 0 && bufferEvents > 0) {
      this.events = new EventBuffer(this.sessionId, bufferEvents, options.bufferBytes);
      this.events.onEvict = (seq, slot) => this.onEvicted(seq, slot);
    }
  }

  /** The TCP socket under the WebSocket (ws keeps it private; we need it for cork and drain). */
  private get socket(): Socket | undefined {
    return (this.ws as unknown as { _socket?: Socket } | undefined)?._socket;
  }

  get connected(): boolean {
    return this.ws !== undefined && this.ws.readyState === OPEN;
  }

  async start(): Promise<void> {
    if (this.ws) this.listen(this.ws);
  }

  private listen(ws: WebSocket): void {
    ws.on('message', (data, isBinary) => {
      if (this.ws === ws) this.onFrame(data, isBinary);
    });
    ws.on('close', (code) => {
      if (this.ws === ws) this.onSocketClosed(code);
    });
    ws.on('error', (err) => this.onerror?.(err));
    ws.on('pong', (data) => {
      if (this.ws === ws && this.barrierPayload !== undefined && data.toString() === this.barrierPayload) this.releaseHeld();
    });
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.ws!.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported: send JSON-RPC as text');
      return;
    }
    const verdict = this.messageLimit?.check();
    if (verdict !== undefined && !verdict.allowed) return this.refuseOverLimit(data, verdict);
    const parsed = parseMessage(data.toString());
    if (!parsed.ok) {
      this.write(JSON.stringify(parsed.response));
      return;
    }
    const first = ++this.framesSeen === 1;
    const m = parsed.message as { method?: string; id?: RequestId; params?: Record<string, unknown> };
    if (first && m.method === 'session/resume' && m.id !== undefined && this.findResumable) return this.handOver(m.id, m.params ?? {});
    this.onmessage?.(parsed.message as JSONRPCMessage, this.extra);
  }

  /** Over the message budget: answer requests with -32029 (others are dropped); persistent abuse → 1008. */
  private refuseOverLimit(data: RawData, verdict: Extract<MessageVerdict, { allowed: false }>): void {
    if (verdict.close) {
      this.ws!.close(CloseCode.POLICY_VIOLATION, 'message rate limit exceeded repeatedly');
      return;
    }
    const parsed = parseMessage(data.toString());
    if (parsed.ok && 'method' in parsed.message && 'id' in parsed.message) {
      const { retryAfterMs } = verdict;
      this.write(JSON.stringify(errorResponse(parsed.message.id, RpcCode.RATE_LIMITED, `Rate limited: too many messages on this connection; retry in ${retryAfterMs} ms`, { retryAfterMs })));
    }
  }

  /**
   * `session/resume { sessionId, lastEventId }` as the first message of a fresh connection (for clients
   * that cannot set headers on the upgrade): move this socket to that session. The fresh session this
   * connection was given is then ended.
   */
  private handOver(requestId: RequestId, params: Record<string, unknown>): void {
    const target = typeof params.sessionId === 'string' ? this.findResumable!(params.sessionId) : undefined;
    const last = target ? parseLastEventId(params.lastEventId === undefined ? undefined : String(params.lastEventId), target.events) : undefined;
    if (!target || target === this || last === undefined) {
      this.write(JSON.stringify(errorResponse(requestId, RpcCode.SESSION_NOT_FOUND, 'Session not found: it ended, its resume window passed, or it is not yours; start a new session')));
      return;
    }
    const ws = this.ws!;
    this.ws = undefined; // this (fresh, empty) session lets go of the socket without closing it
    target.attachSocket(ws, last, requestId);
    this.endSession('connection moved to a resumed session');
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const m = message as { method?: string; id?: RequestId; result?: unknown; error?: unknown };
    if (m.method !== undefined) {
      if (m.method === 'notifications/progress') this.sendProgress(message, options?.relatedRequestId);
      else if (m.method === 'notifications/message' && this.slow) this.droppedLogs++;
      else this.write(JSON.stringify(message));
      return RESOLVED;
    }
    if (m.id !== undefined && ('result' in m || 'error' in m)) this.sendResponse(m.id, JSON.stringify(message));
    else this.write(JSON.stringify(message));
    return RESOLVED;
  }

  /**
   * Over the mark: not worth queueing every intermediate value. (While detached nothing is coalesced:
   * every message goes into the bounded event buffer, so a resume gets each one it missed.)
   */
  private get slow(): boolean {
    return this.congestedSince !== undefined;
  }

  private sendProgress(message: JSONRPCMessage, relatedRequestId: RequestId | undefined): void {
    const key = relatedRequestId ?? `token:${String((message as { params?: { progressToken?: unknown } }).params?.progressToken)}`;
    if (this.slow) {
      this.pendingProgress.delete(key); // re-insert: flush order follows the newest update
      this.pendingProgress.set(key, message);
      return;
    }
    if (relatedRequestId !== undefined) this.progressed.add(relatedRequestId);
    this.write(JSON.stringify(message));
  }

  private sendResponse(id: RequestId, text: string): void {
    // The call's newest coalesced progress goes first: progress never arrives after its result.
    const pending = this.pendingProgress.get(id);
    if (pending !== undefined) {
      this.pendingProgress.delete(id);
      this.write(JSON.stringify(pending));
      if (this.connected) this.progressed.add(id);
    }
    if (this.progressed.delete(id) && this.connected) return this.holdForBarrier(text, id);
    if (this.held.length > 0) this.held.push({ text, id }); // keep responses in order behind a pending barrier
    else this.write(text, id);
  }

  /** Send a ping behind the progress frames; the result leaves when the client's pong comes back. */
  private holdForBarrier(text: string, id: RequestId): void {
    this.held.push({ text, id });
    if (this.barrierPayload !== undefined) return;
    this.barrierPayload = `b${++this.barrierCount}`;
    this.ws!.ping(this.barrierPayload);
    this.barrierTimer = setTimeout(() => this.releaseHeld(), BARRIER_TIMEOUT_MS);
  }

  private releaseHeld(): void {
    if (this.barrierTimer !== undefined) clearTimeout(this.barrierTimer);
    this.barrierTimer = undefined;
    this.barrierPayload = undefined;
    const held = this.held;
    this.held = [];
    for (const { text, id } of held) this.write(text, id);
  }

  /** Send (or, detached, only record) one serialized frame; `responseTo` names the request it answers. */
  write(text: string, responseTo?: RequestId): void {
    const events = this.events;
    if (events !== undefined) this.rememberResponse(events.record(STREAM, text), responseTo);
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== OPEN) return;
    this.corkThisTurn();
    ws.send(text);
    if (this.congestedSince === undefined && this.bufferedAmount > this.highWaterBytes) this.becameSlow();
  }

  /** Remember which request a recorded frame answered (slot for slot with the event buffer). */
  private rememberResponse(seq: number, responseTo: RequestId | undefined): void {
    if (responseTo === undefined) return;
    (this.responseIds ??= [])[seq % this.events!.capacity] = responseTo;
  }

  /**
   * A frame left the buffer (by count or by bytes). If it was a result and the client is away, remember
   * it so a resume can say plainly which results it lost; while the client is connected it was there to
   * read it. While away no new calls arrive, so that list is bounded by the calls the session had.
   */
  private onEvicted(seq: number, slot: number): void {
    const ids = this.responseIds;
    const id = ids?.[slot];
    if (id === undefined) return;
    ids![slot] = undefined;
    if (!this.connected) this.lostWhileAway.push({ seq, id });
  }

  get bufferedAmount(): number {
    const ws = this.ws;
    return ws === undefined ? 0 : ws.bufferedAmount; // ws counts its own queue and the socket's buffer
  }

  get congested(): boolean {
    return this.congestedSince !== undefined;
  }

  private becameSlow(): void {
    this.congestedSince = Date.now();
    const socket = this.socket;
    if (socket) socket.once('drain', this.onDrain);
    this.slowTimer = setTimeout(() => {
      // Still not reading: drop the connection (the session stays resumable) so its buffers are freed.
      this.closeReason = 'client too slow';
      this.ws?.terminate();
    }, this.slowClientTimeoutMs);
    this.slowTimer.unref();
  }

  /** The client caught up (or a new socket took over): send what was coalesced meanwhile. */
  private catchUp(): void {
    if (this.slowTimer !== undefined) clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
    this.congestedSince = undefined;
    if (!this.connected) return;
    for (const [key, message] of this.pendingProgress) {
      this.pendingProgress.delete(key);
      if (typeof key !== 'string') this.progressed.add(key);
      this.write(JSON.stringify(message));
      if (this.congestedSince !== undefined) return; // slow again: the rest waits for the next drain
    }
    if (this.droppedLogs > 0) {
      const n = this.droppedLogs;
      this.droppedLogs = 0;
      this.write(JSON.stringify({
        jsonrpc: '2.0',
        method: 'notifications/message',
        params: { level: 'warning', logger: 'realtime-mcp', data: `${n} log message${n === 1 ? ' was' : 's were'} dropped while the connection could not keep up` },
      }));
    }
  }

  whenDrained(): Promise<void> {
    return this.ended ? RESOLVED : whenDrained(this.socket);
  }


  /**
   * A new socket takes over this session: replay what the client missed after `lastSeq`, say plainly
   * which results were lost if the buffer overflowed, then continue live. With `resumeRequestId` (the
   * `session/resume` message form) the answer to that request comes last.
   */
  attachSocket(ws: WebSocket, lastSeq: number, resumeRequestId?: RequestId): void {
    if (this.ended) {
      // The session ended between the upgrade's checks and now: nothing to resume.
      ws.close(CloseCode.POLICY_VIOLATION, 'session not found: it ended; start a new session');
      return;
    }
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.closeReason = undefined;
    // Results held for a barrier on the old socket are recorded now, so the replay below sends them once.
    const previous = this.ws;
    this.ws = undefined;
    this.releaseBarrierOnSocketChange();
    this.corked = false;
    this.ws = ws;
    if (previous !== undefined && previous !== ws && previous.readyState !== CLOSED) {
      previous.close(CloseCode.NORMAL, 'session resumed on another connection');
    }
    this.listen(ws);
    this.framesSeen = 1;
    const events = this.events;
    let replayed = 0;
    if (events) {
      // Take both lists before writing anything: what is written now goes into the same buffer.
      const lost = this.lostWhileAway.filter((e) => e.seq > lastSeq).map((e) => e.id);
      this.lostWhileAway = [];
      const toReplay: string[] = [];
      events.replay(STREAM, Math.max(lastSeq, events.oldestSeq - 1), (_id, text) => toReplay.push(text));
      // Replayed frames keep their original event ids: send them without recording them again.
      for (const text of toReplay) this.writeRaw(text);
      replayed = toReplay.length;
      // Then an error per result that can no longer be delivered: never silence.
      for (const requestId of lost) {
        this.write(JSON.stringify(errorResponse(requestId, RpcCode.RESULT_LOST, 'The result of this request was lost: more messages were sent while you were away than the server keeps (EVENT_BUFFER_EVENTS)')));
      }
    }
    this.catchUp();
    if (resumeRequestId !== undefined) {
      this.write(JSON.stringify({ jsonrpc: '2.0', id: resumeRequestId, result: { sessionId: this.sessionId, resumedAfter: lastSeq, replayed } }));
    }
  }

  /** Write a frame that is already in the event buffer (replay). */
  private writeRaw(text: string): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== OPEN) return;
    this.corkThisTurn();
    ws.send(text);
  }

  /** Frames held for a barrier on the old socket go out now (recorded for the new one). */
  private releaseBarrierOnSocketChange(): void {
    this.progressed.clear();
    if (this.held.length > 0 || this.barrierPayload !== undefined) this.releaseHeld();
  }

  private onSocketClosed(code: number): void {
    this.ws = undefined;
    this.corked = false;
    this.releaseBarrierOnSocketChange();
    // Progress coalesced while the client was slow goes into the buffer now, in order, before anything
    // recorded while it is away (a resume must never see progress go backwards).
    for (const message of this.pendingProgress.values()) this.write(JSON.stringify(message));
    this.pendingProgress.clear();
    if (this.slowTimer !== undefined) clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
    this.congestedSince = undefined;
    if (this.ended) return;
    if (this.events === undefined || FINAL_CLOSE_CODES.has(code as 1000)) {
      this.endSession(code === 1006 ? (this.closeReason ?? 'client disconnected') : 'client closed the session');
      return;
    }
    // Dropped without a goodbye: keep the session (and its calls) for the resume window.
    this.resumeTimer = setTimeout(() => this.endSession('client gone: resume window expired'), this.resumeWindowMs);
    this.resumeTimer.unref();
  }

  /** Close with 1000, or the given code and reason; the session ends with it. */
  async close(code: number = CloseCode.NORMAL, reason = ''): Promise<void> {
    const ws = this.ws;
    if (this.held.length > 0) this.releaseHeld(); // e.g. results finished inside the shutdown grace period
    this.endSession(reason || 'closed by the server');
    if (ws === undefined) return;
    if (ws.readyState === OPEN) ws.close(code, reason);
    else if (ws.readyState !== CLOSED) ws.terminate();
  }

  shutdown(reason: string): Promise<void> {
    return this.close(CloseCode.GOING_AWAY, reason);
  }

  /** Drop the connection without a close handshake (dead peer); the session may still resume. */
  terminate(): void {
    this.ws?.terminate();
  }

  private endSession(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.closeReason ??= reason;
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    if (this.slowTimer !== undefined) clearTimeout(this.slowTimer);
    if (this.barrierTimer !== undefined) clearTimeout(this.barrierTimer);
    this.events?.clear();
    this.responseIds = undefined;
    this.lostWhileAway = [];
    this.pendingProgress.clear();
    this.held = [];
    this.onclose?.();
  }
}
