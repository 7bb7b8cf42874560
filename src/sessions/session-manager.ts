// The one registry of live sessions, shared by every transport.
import { randomUUID } from 'node:crypto';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { Session, type TransportKind } from './session.js';
import { samePrincipal, type Principal } from './principal.js';

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  readonly maxSessions: number;

  constructor(options: { maxSessions: number }) {
    this.maxSessions = options.maxSessions;
  }

  /** A fresh unguessable session id (visible ASCII, as Mcp-Session-Id requires). */
  newId(): string {
    return randomUUID();
  }

  get size(): number {
    return this.sessions.size;
  }

  get full(): boolean {
    return this.sessions.size >= this.maxSessions;
  }

  create(kind: TransportKind, principal: Principal | undefined, id: string = this.newId()): Session {
    const session = new Session(id, kind, principal);
    this.sessions.set(id, session);
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /**
   * The session with this id if it belongs to `principal`; otherwise undefined, exactly as for an
   * unknown id, so a caller cannot learn that another principal's session exists.
   */
  getOwned(id: string, principal: Principal | undefined): Session | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (samePrincipal(session.principal, principal)) return session;
    this.onForeignUse?.(session, principal);
    return undefined;
  }

  /** Called when a principal uses a session id that belongs to another (for the security log). */
  onForeignUse: ((session: Session, caller: Principal | undefined) => void) | undefined;

  /** Forget the session; the caller has already aborted its operations. */
  delete(session: Session): void {
    session.closed = true;
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  countByTransport(): Record<TransportKind, number> {
    const counts: Record<TransportKind, number> = { ws: 0, sse: 0, streamable: 0 };
    for (const s of this.sessions.values()) counts[s.transportKind]++;
    return counts;
  }

  /** Send a notification to every session on every transport. */
  broadcast(message: JSONRPCMessage): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (!s.closed) {
        s.send(message);
        n++;
      }
    }
    return n;
  }
}
