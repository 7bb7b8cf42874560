// The stores behind the core: small interfaces with an in-memory implementation (the default: one node,
// nothing to run) and a Redis one (STORE=redis: several nodes behind a load balancer). The core talks
// only to these; which one is in use is decided once, at startup (stores/index.ts).
//
//   SessionStore   session records every node can read: who owns the session, what its client
//                  negotiated, which node holds its stream, which calls run where (and how far they got)
//   EventLog       what each session sent, for replay on any node (outbox/event-log.ts)
//   Bus            messages between nodes: to one node, or to all
//   NodeRegistry   this node's id and liveness; whether another node is alive
//   ClusterView    each node's live snapshot (sessions, calls), for realtime://server/stats and operations
// (HTTP rate-limit counters live in @fastify/rate-limit's own store: memory, or Redis with STORE=redis.)
import type { ClientCapabilities, Implementation, LoggingLevel, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { EventLogFactory } from '../outbox/event-log.js';
import type { Principal } from '../sessions/principal.js';
import type { TransportKind } from '../sessions/session.js';

/** What every node needs to serve a request of a session it did not create. */
export interface SessionRecord {
  id: string;
  kind: TransportKind;
  principal: Principal | undefined;
  protocolVersion: string | undefined;
  clientInfo: Implementation | undefined;
  clientCapabilities: ClientCapabilities | undefined;
  logLevel: LoggingLevel | undefined;
  initialized: boolean;
  /** Resource URIs the session is subscribed to. */
  subscriptions: string[];
  /** The node that holds the session's own stream (WebSocket, legacy SSE stream, Streamable GET stream), or last held it. */
  owner: string;
  /** Date.now() when the session was created. */
  createdAt: number;
}

/** The changeable part of a record. */
export type SessionPatch = Partial<Pick<SessionRecord, 'protocolVersion' | 'clientInfo' | 'clientCapabilities' | 'logLevel' | 'initialized' | 'subscriptions' | 'owner'>>;

/** A call in flight, as other nodes see it. */
export interface CallRecord {
  requestId: RequestId;
  /** The node the call runs on. */
  node: string;
  tool: string;
  /** The last progress the handler reported (null before any), as of the node's last record (every 250 ms). */
  lastProgress: number | null;
  total: number | null;
  /** The call's progress token, if it has one: its progress notifications in the session's log carry it. */
  progressToken?: string | number;
}

export type ClaimOutcome =
  /** This node owns the session now. */
  | { claimed: true; previousOwner: string }
  /** Another node owns it and is alive: ask it to hand over (Bus), then claim again. */
  | { claimed: false; owner: string }
  /** No such session (ended, expired). */
  | undefined;

export interface SessionStore {
  /** Store a new session's record; resolves once any node can read it. */
  create(record: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Change fields of a record; resolves once any node reads the new values. */
  update(id: string, patch: SessionPatch): Promise<void>;
  /** The session is in use: keep its record (and its log) from expiring. Cheap; may be batched. */
  touch(id: string): void;
  /** The session ended: forget its record, calls and log. */
  delete(id: string): Promise<void>;
  /**
   * Make `node` the owner, atomically, if the session's owner is `node` already, or is no longer alive
   * (per `isAlive`), or is `expectedOwner` (a handover it agreed to).
   */
  claim(id: string, node: string, isAlive: (node: string) => Promise<boolean>, expectedOwner?: string): Promise<ClaimOutcome>;
  /** Calls started, progressed or ended (batched by the caller): `undefined` removes a call. */
  recordCalls(sessionId: string, calls: Map<RequestId, CallRecord | undefined>): void;
  /** The calls in flight of a session, on every node. */
  calls(sessionId: string): Promise<CallRecord[]>;
}

/** A message between nodes. `type` names what it is; the rest is its payload (JSON-serializable). */
export interface BusMessage {
  type: string;
  [field: string]: unknown;
}

export interface Bus {
  /** Deliver to one node (`to`: its id) or to every node, this one included (`to`: '*'). Fire and forget. */
  publish(to: string, message: BusMessage): void;
  /** Receive what is published to this node or to all. Resolves once subscribed. */
  listen(handler: (message: BusMessage) => void): Promise<void>;
}

export interface NodeRegistry {
  /** This node's id (short, random per process). */
  readonly id: string;
  /** Whether a node (this one included) is alive. */
  isAlive(node: string): Promise<boolean>;
  /** Every node alive now. */
  alive(): Promise<string[]>;
}

/** One node's live state, as `realtime://server/stats` and `realtime://operations` show it for the cluster. */
export interface NodeSnapshot {
  node: string;
  /** Date.now() of the snapshot. */
  at: number;
  stats: unknown;
  operations: unknown[];
}

export interface ClusterView {
  /** Publish this node's snapshot (replacing its previous one). */
  publish(snapshot: NodeSnapshot): void;
  /** The snapshots of every live node, this one included. */
  read(): Promise<NodeSnapshot[]>;
}

/** Everything the core gets from the store layer. */
export interface Stores {
  readonly kind: 'memory' | 'redis';
  readonly sessions: SessionStore;
  readonly eventLogs: EventLogFactory;
  readonly bus: Bus;
  readonly nodes: NodeRegistry;
  readonly cluster: ClusterView;
  /** True while the backing service answers (always true in memory). /readyz reports it. */
  readonly healthy: boolean;
  /** The Redis client (STORE=redis), for @fastify/rate-limit's shared counters. */
  readonly redis?: unknown;
  /** Stop timers and connections. */
  close(): Promise<void>;
}
