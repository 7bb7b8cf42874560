// A session served over WebSocket, across connections: frames in (the message budget, JSON-RPC parsing,
// a `session/resume` handover), and what happens when a connection closes. A close the client means
// (1000, or a close frame without a code) ends the session; a dropped connection (1006, a slow client cut
// off, anything else) keeps it — and its calls running — for the resume window, during which a new
// connection can take it over (resume.ts). What goes out is the outbox's business; the connection
// (connection.ts) frames and writes it.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { CloseCode, Errors, RpcError } from '../../errors.js';
import { toCloseFrame } from '../../protocol/render-error.js';
import { errorResponse, parseMessage, type IncomingMessage } from '../../jsonrpc.js';
import type { MessageRateLimiter, MessageVerdict } from '../../limits/message-rate-limiter.js';
import { SESSION_STREAM } from '../../outbox/event-log.js';
import { errorMessage } from '../../outbox/messages.js';
import type { Session, SessionBinding } from '../../sessions/session.js';
import type { WebSocketConnection } from './connection.js';
import { SESSION_RESUME_METHOD, handOver, type Resumable } from './resume.js';
import { ModernSocket } from './modern-socket.js';
import type { ModernServer } from '../../protocol/modern/server.js';

/**
 * Frames a client may pipeline behind `session/resume` while the handover is decided (one node: a tick;
 * several: up to HANDOVER_TIMEOUT_MS). More than this, or more bytes, is abuse: close 1008.
 */
const MAX_FRAMES_BEHIND_RESUME = 256;
const MAX_BYTES_BEHIND_RESUME = 4 * 1024 * 1024;

/** Close codes a client sends when it means to end the session (1005: a close frame without a code). */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.NORMAL, 1005]);

/** What the transport needs from the server core. */
export interface SessionHost {
  receive(session: Session, message: IncomingMessage): void;
  endSession(session: Session, why: string): void;
}

export interface WebSocketSessionOptions {
  /** Per-session message budget (HTTP rate limits cannot see frames); none = unlimited. */
  messageLimit?: MessageRateLimiter;
  /** How long a dropped session waits for its client (RESUME_WINDOW_MS); 0 = it ends with its connection. */
  resumeWindowMs: number;
  /** For `session/resume` on a fresh connection: the caller's resumable session with this id, if any. */
  findResumable?: (sessionId: string) => Promise<Resumable | undefined>;
  /** Counts resumes (metrics). */
  onResume?: (outcome: 'ok' | 'expired') => void;
  /** Serve a socket whose first request claims MCP 2026-07-28 by those rules (modern-socket.ts). */
  modern?: ModernServer;
}

export class WebSocketSessionTransport implements SessionBinding, Resumable {
  readonly session: Session;
  private readonly host: SessionHost;
  private readonly options: WebSocketSessionOptions;
  private connection: WebSocketConnection | undefined;
  private framesSeen = 0;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Set when the server closes for good (shutdown, abuse, close()): that close ends the session. */
  private endOnClose: string | undefined;
  private ended = false;
  /**
   * MCP 2026-07-28 on this socket: set by a `server/discover` probe (which decides nothing) or by a first
   * request that claims the revision in its _meta (which makes the socket `modern` for good).
   */
  private modernSocket: ModernSocket | undefined;
  private era: 'legacy' | 'modern' | undefined;

  /** Serve `session`; `connection` is a new session's first connection (its first message may be `session/resume`). */
  constructor(session: Session, host: SessionHost, options: WebSocketSessionOptions, connection?: WebSocketConnection) {
    this.session = session;
    this.host = host;
    this.options = options;
    session.binding = this;
    if (connection !== undefined) {
      this.attach(connection, 0);
      this.framesSeen = 0;
    }
  }

  /** Serve the session over `connection` (a new session, or a resume after frame `afterSeq`). */
  attach(connection: WebSocketConnection, afterSeq: number): void {
    if (this.ended) {
      connection.close(CloseCode.POLICY_VIOLATION, 'session not found: it ended; start a new session');
      return;
    }
    const previous = this.connection;
    if (previous !== undefined && previous !== connection) {
      previous.listen(undefined);
      this.session.outbox.detach(previous);
      this.dropModernSocket();
      previous.close(CloseCode.NORMAL, 'session resumed on another connection');
    }
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.session.detached = false;
    this.connection = connection;
    this.framesSeen = 1; // a resumed connection cannot hand itself over again
    connection.listen({ onText: (text) => this.onText(connection, text), onClose: (code) => this.onClose(connection, code) });
    this.session.outbox.attach(SESSION_STREAM, connection, afterSeq);
  }

  private onText(connection: WebSocketConnection, text: string): void {
    const verdict = this.options.messageLimit?.check();
    if (verdict !== undefined && !verdict.allowed) return this.refuseOverLimit(connection, text, verdict);
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      if (this.era === 'modern') return this.modernSocket!.sendError(parsed.response.id ?? undefined, new RpcError(parsed.response.error.code, parsed.response.error.message));
      return this.session.send(errorMessage(parsed.response));
    }
    const m = parsed.message as { method?: string; id?: RequestId; params?: Record<string, unknown> };
    if (++this.framesSeen === 1 && m.method === SESSION_RESUME_METHOD && m.id !== undefined && this.options.findResumable) {
      // Frames sent right behind session/resume (pipelined) wait until the handover is decided, then go to
      // whichever session the connection serves (its listener by then); a client that floods meanwhile is cut off.
      let queued: string[] | undefined = [];
      let queuedBytes = 0;
      const hold = (t: string) => {
        if (queued === undefined) return;
        queuedBytes += t.length;
        if (queued.length >= MAX_FRAMES_BEHIND_RESUME || queuedBytes > MAX_BYTES_BEHIND_RESUME) {
          queued = undefined;
          this.endOnClose = 'too many messages before session/resume was answered';
          connection.close(CloseCode.POLICY_VIOLATION, this.endOnClose);
          return;
        }
        queued.push(t);
      };
      connection.listen({ onText: hold, onClose: (c) => this.onClose(connection, c) });
      void handOver(this.session, connection, m.id, m.params ?? {}, this.options.findResumable, () => this.release(connection), this.options.onResume).then((moved) => {
        const pending = queued;
        queued = undefined;
        if (pending === undefined || !connection.open) return; // cut off above, or gone meanwhile
        if (!moved && this.connection === connection) connection.listen({ onText: (t) => this.onText(connection, t), onClose: (c) => this.onClose(connection, c) });
        connection.redeliver(pending);
      });
      return;
    }
    if (this.era === undefined && this.options.modern !== undefined && ModernSocket.claims(parsed.message)) {
      this.modernSocket ??= new ModernSocket(this.options.modern, connection, this.session.principal);
      if (m.method !== 'server/discover') this.era = 'modern';
    } else if (this.era === undefined && 'method' in parsed.message) {
      this.era = 'legacy';
    }
    if (this.era === 'modern' || (this.era === undefined && this.modernSocket !== undefined)) return this.modernSocket!.receive(parsed.message);
    this.host.receive(this.session, parsed.message);
  }

  /** Over the message budget: requests get -32029 (other messages are dropped); persistent abuse → 1008. */
  private refuseOverLimit(connection: WebSocketConnection, text: string, verdict: Extract<MessageVerdict, { allowed: false }>): void {
    if (verdict.close) {
      const frame = toCloseFrame(new RpcError(Errors.RATE_LIMITED, 'message rate limit exceeded repeatedly'));
      this.endOnClose = frame.reason;
      connection.close(frame.code, frame.reason);
      return;
    }
    const parsed = parseMessage(text);
    if (parsed.ok && 'method' in parsed.message && 'id' in parsed.message) {
      const { retryAfterMs } = verdict;
      this.session.send(errorMessage(errorResponse(parsed.message.id, Errors.RATE_LIMITED.rpc,
        `Rate limited: too many messages on this connection; retry in ${retryAfterMs} ms`, { retryAfterMs })));
    }
  }

  /** A fresh session hands its connection to a resumed one, and ends without closing it. */
  private release(connection: WebSocketConnection): void {
    connection.listen(undefined);
    this.session.outbox.detach(connection);
    this.connection = undefined;
    this.end('connection moved to a resumed session');
  }

  private onClose(connection: WebSocketConnection, code: number): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    this.session.outbox.detach(connection);
    this.modernSocket?.close();
    if (this.ended) return;
    // A 2026-07-28 socket is no session to resume: its close cancels its calls and ends it.
    if (this.era === 'modern') return this.end(this.endOnClose ?? 'client closed the connection');
    const why = this.endOnClose ?? (FINAL_CLOSE_CODES.has(code) ? 'client closed the session' : undefined);
    if (why !== undefined || this.options.resumeWindowMs === 0) {
      this.end(why ?? connection.closedByServer ?? 'client disconnected');
      return;
    }
    // Dropped without a goodbye: keep the session (and its calls) for the resume window.
    this.session.detached = true;
    this.resumeTimer = setTimeout(() => this.end('client gone: resume window expired'), this.options.resumeWindowMs);
    this.resumeTimer.unref();
  }

  /** Close with 1000 (or `code`); the session ends with it. */
  async close(reason: string, code: number = CloseCode.NORMAL): Promise<void> {
    this.endOnClose = reason || 'closed by the server';
    const connection = this.connection;
    if (connection === undefined) return this.end(this.endOnClose);
    connection.close(code, reason);
  }

  shutdown(reason: string): Promise<void> {
    return this.close(reason, CloseCode.GOING_AWAY);
  }

  /** Drop the connection without a close handshake, as a dead network would; the session may resume. */
  terminate(reason = 'terminated by the server'): void {
    this.connection?.terminate(reason);
  }

  /** Another node serves the session's connection now: let go of ours without ending the session. */
  async handOver(): Promise<void> {
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.session.detached = false;
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    connection.listen(undefined);
    this.session.outbox.detach(connection);
    this.dropModernSocket();
    connection.close(CloseCode.NORMAL, 'session resumed on another server node');
  }

  /** The connection that spoke 2026-07-28 is no longer ours: its calls and subscriptions end with it. */
  private dropModernSocket(): void {
    if (this.modernSocket === undefined) return;
    this.modernSocket.close();
    this.modernSocket = undefined;
    if (this.era === 'modern') this.era = undefined; // the next connection decides again; a legacy session stays legacy
  }

  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.dropModernSocket();
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.session.detached = false;
    this.host.endSession(this.session, why);
  }
}
