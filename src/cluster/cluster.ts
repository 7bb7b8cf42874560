// Sessions across nodes (STORE=redis). Each node serves the requests it receives; only what must reach a
// stream held open on another node crosses the store.
//
//   - Every session has a record in the SessionStore: its client's negotiated state and its *owner*, the
//     node that holds (or last held) its own stream: the WebSocket, the legacy SSE stream, the
//     Streamable HTTP GET stream. The owner numbers and writes that stream and its event log.
//   - A request for a session owned elsewhere (a Streamable HTTP or legacy SSE POST that the load
//     balancer sent here) runs here, on a *replica*: a local Session built from the record. Messages
//     about the request go on this node's own response stream (Streamable HTTP); messages for the
//     session stream (legacy SSE answers, notifications) are forwarded to the owner over the bus.
//   - A client that reconnects its stream here (a WebSocket resume, an SSE reconnect, a GET) makes this
//     node the owner: claimed atomically once the old owner is dead, or handed over by it when alive.
//     Calls that were running on a dead node get an explicit error, with their last progress.
//   - Calls in flight are recorded per session with their node (and progress, every live tick), so a
//     cancel that lands on another node reaches the call, and a lost node's calls can be named.
//   - Broadcasts go to every node, each delivering to the sessions it owns.
// With the in-memory stores (one node) all of this reduces to local lookups: `enabled` is false.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Errors, retryLater } from '../errors.js';
import { errorResponse } from '../jsonrpc.js';
import { errorMessage, type OutMessage } from '../outbox/messages.js';
import { SESSION_STREAM } from '../outbox/event-log.js';
import type { Operation } from '../operations/operation.js';
import type { OperationRunner } from '../operations/runner.js';
import { samePrincipal, type Principal } from '../sessions/principal.js';
import type { Session } from '../sessions/session.js';
import type { SessionManager } from '../sessions/session-manager.js';
import type { BusMessage, CallRecord, SessionPatch, SessionRecord, Stores } from '../stores/types.js';
import { OwnerForwarder } from './forwarder.js';
import { DEFAULTS } from '../defaults.js';

/** How long a handover may take before the claimer gives up (the old owner is alive but silent). */
const HANDOVER_TIMEOUT_MS = 3_000;
/** During a handover, how often the owner's liveness is checked (a dead owner never answers). */
const OWNER_WATCH_MS = 100;
/** A replica with no call in flight is dropped after this long without a request. */
const REPLICA_IDLE_MS = 60_000;
/** How often running calls' progress is written to the store (the live-resources tick). */
const PROGRESS_RECORD_MS = DEFAULTS.LIVE_TICK_MS;
/** Retry-After for a session caught in a handover or a store that is away: short, the next try may land elsewhere. */
const RETRY_SOON_MS = 1_000;
/**
 * Session-stream messages no node could deliver (a handover that failed half-way: the old owner let go,
 * the claim did not complete) wait at most this long, and this many per session, for a node to own it.
 */
const PARKED_TTL_MS = 30_000;
const PARKED_MAX_MESSAGES = 10_000;

/** What the cluster needs from the core. */
export interface ClusterHost {
  readonly sessions: SessionManager;
  readonly runner: OperationRunner;
  logger?: { debug(o: object, m: string): void; warn(o: object, m: string): void };
  /** A Session object for an existing session (no record written), owned here or a replica. */
  materialize(record: SessionRecord): Session;
  /** End a session that this node owns. */
  endSession(session: Session, why: string): void;
  /** Deliver `notifications/message` to the sessions this node owns; returns how many. */
  notifyLocal(level: string, data: unknown): number;
  /** Apply a record change made on another node to a local session (log level, subscriptions). */
  applyPatch(session: Session, patch: SessionPatch): void;
}

export class Cluster {
  readonly node: string;
  readonly enabled: boolean;
  private readonly stores: Stores;
  private readonly host: ClusterHost;
  private readonly replicas = new Map<string, { session: Session; owner: string; lastUsed: number }>();
  private readonly forwarder: OwnerForwarder;
  /** Claims waiting for the old owner's "released". */
  private readonly handovers = new Map<string, () => void>();
  /**
   * Sessions this node is claiming: what other nodes forward for their session stream meanwhile waits
   * here (the old owner forwards from the moment it lets go, before the claim completes).
   */
  private readonly claiming = new Map<string, OutMessage[]>();
  /**
   * Session-stream messages that reached this node after they had been passed on once and that it cannot
   * deliver: kept for whichever node owns the session next (see PARKED_TTL_MS). Passing them on again
   * could bounce them between two nodes that each think the other owns the session.
   */
  private readonly parked = new Map<string, { messages: OutMessage[]; since: number }>();
  /** Sessions another node ended (it deleted the record and told everyone): only the local copy ends. */
  private readonly endedElsewhere = new Set<string>();
  /**
   * Calls whose record is to be written (per session), flushed once per tick: the operation (its record
   * is made at the flush, with its progress then), or null for a call that ended and whose record goes.
   */
  private readonly pendingCalls = new Map<string, Map<RequestId, Operation | null>>();
  private callFlushScheduled = false;
  private progressTimer: NodeJS.Timeout | undefined;
  private replicaTimer: NodeJS.Timeout | undefined;

  constructor(stores: Stores, host: ClusterHost) {
    this.stores = stores;
    this.host = host;
    this.node = stores.nodes.id;
    this.enabled = stores.kind !== 'memory';
    this.forwarder = new OwnerForwarder((owner, message) => stores.bus.publish(owner, message));
  }

  /** Listen to the bus and follow the runner (several nodes only). */
  async start(): Promise<void> {
    await this.stores.bus.listen((m) => this.onBus(m));
    if (!this.enabled) return;
    const { runner } = this.host;
    runner.hooks.add('onCallAdmitted', (op) => this.recordCall(op));
    runner.hooks.add('onCallEnded', (op) => this.recordCallEnded(op));
    this.progressTimer = setInterval(() => this.recordProgress(), PROGRESS_RECORD_MS);
    this.progressTimer.unref();
    this.replicaTimer = setInterval(() => this.dropIdleReplicas(), REPLICA_IDLE_MS / 4);
    this.replicaTimer.unref();
  }

  stop(): void {
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    if (this.replicaTimer !== undefined) clearInterval(this.replicaTimer);
  }

  /** Store a new session's record (this node owns it). Resolves once every node can read it. */
  register(session: Session): Promise<void> {
    return this.stores.sessions.create(recordOf(session, this.node));
  }

  /** A change of the session's state made here: store it, and tell other nodes' copies. */
  async persist(session: Session, patch: SessionPatch): Promise<void> {
    await this.stores.sessions.update(session.id, patch);
    if (this.enabled) this.stores.bus.publish('*', { type: 'changed', session: session.id, patch, from: this.node });
  }

  /** The session is in use (a request arrived): keep its record alive. */
  touch(session: Session): void {
    if (!this.enabled) return;
    this.stores.sessions.touch(session.id);
    const replica = this.replicas.get(session.id);
    if (replica !== undefined) replica.lastUsed = Date.now();
  }

  /**
   * The session with this id if `principal` may use it: the local one, or (several nodes) a replica
   * built from its record. Undefined, exactly as for an unknown id, when it is another principal's.
   */
  async find(id: string, principal: Principal | undefined): Promise<Session | undefined> {
    const local = this.host.sessions.getOwned(id, principal) ?? this.ownedReplica(id, principal);
    if (local !== undefined || !this.enabled) return local;
    if (this.host.sessions.get(id) !== undefined) return undefined; // local, but another principal's
    this.assertStore();
    const record = await this.stores.sessions.get(id);
    if (record === undefined || !samePrincipal(record.principal, principal)) return undefined;
    return this.replicaOf(record);
  }

  /**
   * Make this node the owner of the session (its client reconnects its stream here): the local owned
   * session, or a claimed one. Undefined when there is no such session for `principal`.
   */
  async own(id: string, principal: Principal | undefined): Promise<Session | undefined> {
    const local = this.host.sessions.getOwned(id, principal);
    if (local !== undefined || !this.enabled) return local;
    this.assertStore();
    const record = await this.stores.sessions.get(id);
    if (record === undefined || !samePrincipal(record.principal, principal)) return undefined;
    const waiting = this.claiming.get(id) ?? this.unpark(id);
    this.claiming.set(id, waiting);
    try {
      return await this.claim(id, record);
    } finally {
      // A claim that failed: what was forwarded meanwhile goes on to whoever owns the session (once).
      if (this.claiming.get(id) === waiting) {
        this.claiming.delete(id);
        const messages = waiting.splice(0);
        if (messages.length > 0) {
          void this.stores.sessions.get(id).then(
            (r) => (r !== undefined && r.owner !== this.node ? this.passOn(r.owner, id, messages) : this.park(id, messages)),
            () => this.park(id, messages),
          );
        }
      }
    }
  }

  private async claim(id: string, recorded: SessionRecord): Promise<Session | undefined> {
    let record = recorded;
    const isAlive = (n: string) => this.stores.nodes.isAlive(n);
    let outcome = await this.stores.sessions.claim(id, this.node, isAlive);
    let handedOver = false;
    if (outcome !== undefined && !outcome.claimed) {
      // The owner looks alive: ask it to let go (it flushes its log and forwards from now on), then claim.
      // A node that was just killed still looks alive until its liveness key expires (NODE_TTL_MS): its
      // "released" never comes, so the wait also ends once it is seen dead, and the claim takes the session.
      const owner = outcome.owner;
      handedOver = await this.requestHandover(id, owner);
      outcome = await this.stores.sessions.claim(id, this.node, isAlive, handedOver ? owner : undefined);
      if (outcome !== undefined && !outcome.claimed) {
        throw retryLater(Errors.SESSION_BUSY, 'The server node holding this session did not hand it over in time; retry shortly', RETRY_SOON_MS);
      }
    }
    if (outcome === undefined) return undefined;
    record = (await this.stores.sessions.get(id)) ?? record;
    const replica = this.replicas.get(id);
    this.replicas.delete(id);
    const session = replica?.session ?? this.host.materialize(record);
    // Nothing is numbered on the session stream before the log's numbers are loaded; after a lost node,
    // nothing until the client's stream attaches (it may hold frames that node never stored).
    session.outbox.beginTakeover();
    await session.outbox.openLog();
    session.outbox.endTakeover(!handedOver && outcome.previousOwner !== this.node);
    this.host.sessions.add(session);
    // What was forwarded while claiming goes first, in the order it came, before anything that arrives now.
    const waiting = this.claiming.get(id);
    this.claiming.delete(id);
    for (const message of waiting?.splice(0) ?? []) session.send(message);
    // Every node learns the new owner: replicas forward there, and a previous owner that only looked
    // dead (paused, cut off) lets go instead of writing the session stream too.
    this.stores.bus.publish('*', { type: 'changed', session: id, patch: { owner: this.node }, from: this.node });
    await this.reportLostCalls(session, outcome.previousOwner);
    this.host.logger?.debug({ session: id, from: outcome.previousOwner }, 'session claimed');
    return session;
  }

  /** A new session needs the store (its record): refuse clearly while it is unreachable, rather than hang. */
  assertStore(): void {
    if (!this.stores.healthy) {
      throw retryLater(Errors.STORE_UNAVAILABLE, `The session store (${this.stores.kind}) is unreachable; retry shortly (or on another node)`, RETRY_SOON_MS);
    }
  }

  /** A cancel for a call this node does not run: tell the node that runs it. */
  async cancelElsewhere(session: Session, requestId: RequestId, reason: string, silent: boolean): Promise<boolean> {
    if (!this.enabled) return false;
    const call = (await this.stores.sessions.calls(session.id)).find((c) => c.requestId === requestId);
    if (call === undefined || call.node === this.node) return false;
    this.stores.bus.publish(call.node, { type: 'cancel', session: session.id, requestId, reason, silent });
    return true;
  }

  /**
   * A client's answer to a request another node sent it (a ping of the ordering barrier, a sampling or
   * elicitation request), POSTed here by the load balancer: pass it to that node. Request ids to clients
   * start with the sending node's id (`<node>:s1`). False when the id names no other node.
   */
  responseElsewhere(session: Session, id: RequestId, result: unknown, error: { code: number; message: string; data?: unknown } | undefined): boolean {
    if (!this.enabled || typeof id !== 'string') return false;
    const colon = id.indexOf(':');
    const node = colon > 0 ? id.slice(0, colon) : undefined;
    if (node === undefined || node === this.node) return false;
    this.stores.bus.publish(node, { type: 'response', session: session.id, id, result, error });
    return true;
  }

  /** Send `notifications/message` to every session of the cluster; returns how many sessions here got it. */
  notifyAll(level: string, data: unknown): number {
    if (!this.enabled) return this.host.notifyLocal(level, data);
    this.stores.bus.publish('*', { type: 'notify', level, data });
    return this.host.notifyLocal(level, data);
  }

  /**
   * The session ended (on the node that owns it, or by DELETE anywhere): forget it everywhere. `explicit`:
   * the client ended it (DELETE), whichever node holds it.
   */
  ended(session: Session, explicit = false): void {
    const replica = this.replicas.get(session.id);
    if (replica !== undefined && replica.session === session) this.replicas.delete(session.id);
    if (!this.enabled) {
      void this.stores.sessions.delete(session.id);
      return;
    }
    if (this.endedElsewhere.delete(session.id)) return; // the node that ended it deleted it and told everyone
    void this.endEverywhere(session.id, explicit).catch((err: Error) => this.host.logger?.warn({ session: session.id, err: err.message }, 'could not delete the session record'));
  }

  /**
   * Delete the session's record and tell every node, unless another node owns it now (this node lost it
   * without noticing, e.g. while paused past its liveness): then only the copy here ended.
   */
  private async endEverywhere(id: string, explicit: boolean): Promise<void> {
    const record = explicit ? undefined : await this.stores.sessions.get(id);
    if (record !== undefined && record.owner !== this.node && !this.replicas.has(id)) {
      const alive = await this.stores.nodes.isAlive(record.owner);
      if (alive) return;
    }
    await this.stores.sessions.delete(id);
    this.stores.bus.publish('*', { type: 'ended', session: id, from: this.node });
  }

  /** True when the session is a replica here (another node owns its stream). */
  isReplica(session: Session): boolean {
    return this.replicas.get(session.id)?.session === session;
  }

  /** Drop a local replica (its transport found it idle); the session lives on at its owner. */
  dropReplica(session: Session): void {
    if (this.replicas.get(session.id)?.session !== session) return;
    this.replicas.delete(session.id);
    this.host.runner.abortSession(session, 'disconnected', 'replica dropped');
    session.outbox.close(false); // the session lives on at its owner: its log stays
  }

  private ownedReplica(id: string, principal: Principal | undefined): Session | undefined {
    const replica = this.replicas.get(id);
    return replica !== undefined && samePrincipal(replica.session.principal, principal) ? replica.session : undefined;
  }

  private replicaOf(record: SessionRecord): Session {
    const existing = this.replicas.get(record.id);
    if (existing !== undefined) return existing.session;
    const session = this.host.materialize(record);
    const entry = { session, owner: record.owner, lastUsed: Date.now() };
    session.outbox.forwardTo((message) => this.forwarder.send(entry.owner, session.id, message));
    this.replicas.set(record.id, entry);
    return session;
  }

  /**
   * Ask `owner` to release the session; resolves true once it has, false when it is seen dead (its
   * liveness key expired: it will never answer) or after HANDOVER_TIMEOUT_MS.
   */
  private requestHandover(id: string, owner: string): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (released: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(watch);
        if (this.handovers.get(id) === onReleased) this.handovers.delete(id);
        resolve(released);
      };
      const onReleased = () => settle(true);
      const timer = setTimeout(() => settle(false), HANDOVER_TIMEOUT_MS);
      const watch = setInterval(() => {
        this.stores.nodes.isAlive(owner).then((alive) => alive || settle(false), () => {});
      }, OWNER_WATCH_MS);
      this.handovers.set(id, onReleased);
      this.stores.bus.publish(owner, { type: 'release', session: id, to: this.node });
    });
  }

  /**
   * Calls that were running on a node that is gone: an explicit error each, with its last progress. That
   * node recorded progress every PROGRESS_RECORD_MS; the session's log in the store may hold newer
   * progress notifications (written every tick), so the newest of the two is reported.
   */
  private async reportLostCalls(session: Session, previousOwner: string): Promise<void> {
    const calls = await this.stores.sessions.calls(session.id);
    const lost = new Map<RequestId, CallRecord | undefined>();
    const dead: CallRecord[] = [];
    for (const call of calls) {
      if (call.node === this.node || (await this.stores.nodes.isAlive(call.node))) continue;
      dead.push(call);
    }
    const logged = dead.some((c) => c.progressToken !== undefined) ? await this.loggedProgress(session) : undefined;
    for (const call of dead) {
      lost.set(call.requestId, undefined);
      const fromLog = call.progressToken === undefined ? undefined : logged?.get(JSON.stringify(call.progressToken));
      const newer = fromLog !== undefined && (call.lastProgress === null || fromLog.progress > call.lastProgress);
      const lastProgress = newer ? fromLog.progress : call.lastProgress;
      const total = newer ? (fromLog.total ?? call.total) : call.total;
      session.send(errorMessage(errorResponse(call.requestId, Errors.NODE_LOST.rpc,
        `The server node running this call (${call.node}) stopped; the call was lost. Retry it if it is safe to.`,
        { node: call.node, tool: call.tool, lastProgress, total })));
    }
    if (lost.size > 0) this.stores.sessions.recordCalls(session.id, lost);
    if (previousOwner !== this.node) this.host.logger?.debug({ session: session.id, lost: lost.size }, 'lost calls reported');
  }

  /** The newest progress per progress token (JSON) among the session stream's events in the shared log. */
  private async loggedProgress(session: Session): Promise<Map<string, { progress: number; total: number | null }>> {
    const newest = new Map<string, { progress: number; total: number | null }>();
    let events: Array<{ seq: number; text: string }> = [];
    try {
      events = (await session.outbox.peekLog(SESSION_STREAM)) ?? [];
    } catch (err) {
      this.host.logger?.warn({ session: session.id, err: (err as Error).message }, 'could not read the session log for lost calls');
    }
    for (let i = events.length - 1; i >= 0; i--) {
      const text = events[i]!.text;
      if (!text.includes('"notifications/progress"')) continue;
      let params: { progressToken?: unknown; progress?: unknown; total?: unknown } | undefined;
      try {
        params = (JSON.parse(text) as { method?: string; params?: typeof params }).params;
      } catch {
        continue;
      }
      if (params === undefined || typeof params.progress !== 'number') continue;
      const key = JSON.stringify(params.progressToken);
      if (!newest.has(key)) newest.set(key, { progress: params.progress, total: typeof params.total === 'number' ? params.total : null });
    }
    return newest;
  }

  /** Write the call's record (its node, tool and progress) at the next flush. */
  private recordCall(op: Operation): void {
    let calls = this.pendingCalls.get(op.session.id);
    if (calls === undefined) this.pendingCalls.set(op.session.id, (calls = new Map()));
    // A record of an earlier call with this id is still to be deleted: this one's replaces it, so its end must be written.
    if (calls.get(op.requestId) === null) op.recordedInStore = true;
    calls.set(op.requestId, op);
    this.scheduleCallFlush();
  }

  private recordCallEnded(op: Operation): void {
    const calls = this.pendingCalls.get(op.session.id);
    if (!op.recordedInStore) {
      // It ended before its record left this node (a call shorter than a tick, such as echo): nothing
      // to write and nothing to undo, so most short calls cost Redis nothing.
      if (calls?.get(op.requestId) === op) calls.delete(op.requestId);
      return;
    }
    if (calls === undefined) this.pendingCalls.set(op.session.id, new Map([[op.requestId, null]]));
    else calls.set(op.requestId, null);
    this.scheduleCallFlush();
  }

  private scheduleCallFlush(): void {
    if (this.callFlushScheduled) return;
    this.callFlushScheduled = true;
    process.nextTick(() => this.flushCalls());
  }

  private flushCalls(): void {
    this.callFlushScheduled = false;
    for (const [sessionId, calls] of this.pendingCalls) {
      if (calls.size === 0) continue;
      const records = new Map<RequestId, CallRecord | undefined>();
      for (const [requestId, op] of calls) {
        if (op === null) {
          records.set(requestId, undefined);
        } else {
          op.recordedInStore = true;
          records.set(requestId, callRecord(op, this.node));
        }
      }
      this.stores.sessions.recordCalls(sessionId, records);
    }
    this.pendingCalls.clear();
  }

  /** Running calls' progress, so that a node that claims a session after this one is lost can say how far they got. */
  private recordProgress(): void {
    for (const op of this.host.runner.all()) {
      if (op.state !== 'running' || op.lastProgress === op.recordedProgress) continue;
      op.recordedProgress = op.lastProgress;
      this.recordCall(op);
    }
  }

  private dropIdleReplicas(): void {
    const parkedCutoff = Date.now() - PARKED_TTL_MS;
    for (const [id, entry] of this.parked) {
      if (entry.since >= parkedCutoff) continue;
      this.parked.delete(id);
      this.host.logger?.warn({ session: id, dropped: entry.messages.length }, 'no node took this session over: its undelivered messages were dropped');
    }
    const cutoff = Date.now() - REPLICA_IDLE_MS;
    for (const { session, lastUsed } of [...this.replicas.values()]) {
      if (lastUsed < cutoff && session.operations.size === 0 && !session.connected) this.dropReplica(session);
    }
  }

  private onBus(m: BusMessage): void {
    const id = typeof m.session === 'string' ? m.session : undefined;
    switch (m.type) {
      case 'out': {
        // Messages for the session stream of a session this node owns, from a node running its calls.
        if (id === undefined) return;
        const messages = m.messages as OutMessage[];
        const session = this.host.sessions.get(id);
        if (session !== undefined && !session.closed) {
          for (const message of messages) session.send(message);
          return;
        }
        const waiting = this.claiming.get(id);
        if (waiting !== undefined) {
          waiting.push(...messages); // claimed right now: numbered once the claim completes
          return;
        }
        // Sent to a node that no longer owns it (the owner moved meanwhile): pass them on, once.
        const replica = this.replicas.get(id);
        if (m.passedOn !== true && replica !== undefined && replica.owner !== this.node) this.passOn(replica.owner, id, messages);
        else this.park(id, messages);
        return;
      }
      case 'cancel': {
        const session = id === undefined ? undefined : (this.host.sessions.get(id) ?? this.replicas.get(id)?.session);
        const op = session?.operations.get(m.requestId as RequestId);
        if (op !== undefined) this.host.runner.cancel(op, String(m.reason ?? 'cancelled by the client'), { silent: m.silent === true });
        return;
      }
      case 'response': {
        // A client's answer to a request this node sent, received by another node.
        const session = id === undefined ? undefined : (this.host.sessions.get(id) ?? this.replicas.get(id)?.session);
        session?.settleRequest(m.id as RequestId, m.result, m.error as { code: number; message: string; data?: unknown } | undefined);
        return;
      }
      case 'notify':
        if (m.from !== this.node && this.enabled) this.host.notifyLocal(String(m.level), m.data);
        return;
      case 'changed': {
        if (id === undefined || m.from === this.node) return;
        const patch = m.patch as SessionPatch;
        const replica = this.replicas.get(id);
        if (replica !== undefined && typeof patch.owner === 'string') replica.owner = patch.owner;
        if (typeof patch.owner === 'string' && patch.owner !== this.node && this.parked.has(id)) this.passOn(patch.owner, id, this.unpark(id));
        const owned = this.host.sessions.get(id);
        if (owned !== undefined && typeof patch.owner === 'string' && patch.owner !== this.node) {
          void this.letGo(owned, patch.owner); // another node claimed it: this one only thought it still owned it
          return;
        }
        const session = owned ?? replica?.session;
        if (session !== undefined) this.host.applyPatch(session, patch);
        return;
      }
      case 'ended': {
        if (id === undefined || m.from === this.node) return;
        const owned = this.host.sessions.get(id);
        if (owned !== undefined) {
          // Close its connections too (a WebSocket, a GET stream), not only the session object.
          this.endedElsewhere.add(id);
          const close = async () => (owned.binding !== undefined ? owned.binding.close('session ended on another node') : this.host.endSession(owned, 'ended on another node'));
          void close()
            .catch((err: Error) => this.host.logger?.warn({ session: id, err: err.message }, 'could not close a session ended on another node'))
            .finally(() => this.endedElsewhere.delete(id));
        }
        this.parked.delete(id);
        const replica = this.replicas.get(id);
        if (replica !== undefined) this.dropReplica(replica.session);
        return;
      }
      case 'release':
        if (id !== undefined && typeof m.to === 'string') void this.release(id, m.to);
        return;
      case 'released':
        if (id !== undefined) this.handovers.get(id)?.();
        return;
      default:
    }
  }

  /**
   * Another node takes this session's stream over (its client reconnected there): let go of the stream,
   * write out the log, keep the calls running here as a replica that forwards to the new owner.
   */
  private async release(id: string, to: string): Promise<void> {
    const session = this.host.sessions.get(id);
    if (session !== undefined) {
      await this.letGo(session, to);
      // The record names the new owner at once: should "released" be lost or late (the bus is at most
      // once), the claimer's next try takes the session instead of leaving it owned by nobody.
      const moved = await this.stores.sessions.claim(id, to, () => Promise.resolve(true), this.node).catch(() => undefined);
      if (moved?.claimed === true) this.stores.bus.publish('*', { type: 'changed', session: id, patch: { owner: to }, from: this.node });
    }
    if (this.parked.has(id)) this.passOn(to, id, this.unpark(id));
    this.stores.bus.publish(to, { type: 'released', session: id });
  }

  /** Messages for a session stream that reached the wrong node: to `owner`, marked so they are not passed on again. */
  private passOn(owner: string, id: string, messages: OutMessage[]): void {
    if (messages.length > 0) this.stores.bus.publish(owner, { type: 'out', session: id, messages, passedOn: true });
  }

  private park(id: string, messages: OutMessage[]): void {
    let entry = this.parked.get(id);
    if (entry === undefined) this.parked.set(id, (entry = { messages: [], since: Date.now() }));
    const room = PARKED_MAX_MESSAGES - entry.messages.length;
    if (messages.length > room) this.host.logger?.warn({ session: id, dropped: messages.length - Math.max(room, 0) }, 'no node owns this session: messages dropped');
    if (room > 0) entry.messages.push(...messages.slice(0, room));
  }

  private unpark(id: string): OutMessage[] {
    const entry = this.parked.get(id);
    this.parked.delete(id);
    return entry?.messages ?? [];
  }

  /** Stop owning a session (handed over, or claimed by another node): its calls here go on, as a replica's. */
  private async letGo(session: Session, to: string): Promise<void> {
    if (this.host.sessions.get(session.id) !== session) return;
    this.host.sessions.remove(session);
    await session.binding?.handOver?.();
    await session.outbox.flushLog();
    const entry = { session, owner: to, lastUsed: Date.now() };
    session.outbox.forwardTo((message) => this.forwarder.send(entry.owner, session.id, message));
    this.replicas.set(session.id, entry);
  }
}

function recordOf(session: Session, owner: string): SessionRecord {
  return {
    id: session.id,
    kind: session.transportKind,
    principal: session.principal,
    protocolVersion: session.protocolVersion,
    clientInfo: session.clientInfo,
    clientCapabilities: session.clientCapabilities,
    logLevel: session.logLevel,
    initialized: session.initialized,
    subscriptions: [],
    owner,
    createdAt: session.createdAt,
  };
}

function callRecord(op: Operation, node: string): CallRecord {
  const record: CallRecord = { requestId: op.requestId, node, tool: op.tool.definition.name, lastProgress: op.lastProgress ?? null, total: op.lastTotal ?? null };
  if (op.progressToken !== undefined) record.progressToken = op.progressToken;
  return record;
}
