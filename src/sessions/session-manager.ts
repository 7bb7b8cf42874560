// The one registry of live sessions, shared by every transport.
import { randomUUID } from 'node:crypto';
import { TRANSPORT_KINDS, type Session, type SessionCounts, type TransportKind } from './session.js';
import { samePrincipal, type Principal } from './principal.js';

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  readonly maxSessions: number;
  private readonly counts: SessionCounts = {
    byTransport: Object.fromEntries(TRANSPORT_KINDS.map((k) => [k, 0])) as Record<TransportKind, number>,
    detached: 0,
  };

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

  /** Register a new session (McpCore.createSession builds it). */
  add(session: Session): void {
    if (this.sessions.get(session.id) === session) return;
    this.sessions.set(session.id, session);
    this.counts.byTransport[session.transportKind]++;
    if (session.detached) this.counts.detached++;
    session.counts = this.counts;
  }

  private untrack(session: Session): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.counts.byTransport[session.transportKind]--;
    if (session.detached) this.counts.detached--;
    session.counts = undefined;
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

  /** Stop holding a session that lives on (another node took it over). */
  remove(session: Session): void {
    this.untrack(session);
  }

  /** Forget the session; the caller has already aborted its operations. */
  delete(session: Session): void {
    session.closed = true;
    this.untrack(session);
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Open sessions by transport, and how many of them wait detached for their client to resume them (kept as sessions come and go: no pass over them). */
  count(): { byTransport: Record<TransportKind, number>; detached: number } {
    return { byTransport: { ...this.counts.byTransport }, detached: this.counts.detached };
  }
}
