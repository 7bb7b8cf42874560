// The transport-independent server: one tool registry, one session manager, one operation runner and
// the dispatcher, the event log every session's outbox records into, and the lifecycle around them
// (sessions opened by transports, messages in, graceful shutdown). Nothing here knows about Fastify.
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { Errors, retryLater } from './errors.js';
import { DEFAULTS } from './defaults.js';
import type { IncomingMessage } from './jsonrpc.js';
import { Dispatcher, type ServerIdentity } from './protocol/dispatcher.js';
import { OperationRunner, type RunnerLimits } from './operations/runner.js';
import { SessionManager } from './sessions/session-manager.js';
import { Session, type TransportKind } from './sessions/session.js';
import type { Principal } from './sessions/principal.js';
import { ToolRegistry } from './tools/registry.js';
import { ResourceRegistry } from './resources/registry.js';
import { PromptRegistry } from './prompts/registry.js';
import { installCompletions } from './prompts/completions.js';
import { LiveResources } from './resources/live-resources.js';
import type { ToolDefinition } from './tools/define.js';
import { Outbox } from './outbox/outbox.js';
import { logMessage, notificationMessage } from './outbox/messages.js';
import { Cluster } from './cluster/cluster.js';
import { ClusterLive } from './resources/cluster-live.js';
import { createMemoryStores } from './stores/memory/memory-stores.js';
import type { SessionPatch, SessionRecord, Stores } from './stores/types.js';
import { Telemetry } from './metrics/telemetry.js';
import { ModernServer } from './protocol/modern/server.js';

export interface CoreLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface McpCoreOptions {
  identity: ServerIdentity;
  tools?: Iterable<ToolDefinition<any>>;
  /** Most sessions open at once (MAX_SESSIONS). */
  maxSessions?: number;
  /** Concurrency limits, queue bound and default tool timeout (defaults: DEFAULT_LIMITS). */
  limits?: Partial<RunnerLimits>;
  /** Where sessions, their event logs and cluster state live (default: in memory, one node). */
  stores?: Stores;
  /** Backpressure and ordering (SEND_HIGH_WATER_BYTES, SLOW_CLIENT_TIMEOUT_MS, ORDERING_BARRIER_TIMEOUT_MS). */
  outbox?: { highWaterBytes?: number; slowClientTimeoutMs?: number; barrierTimeoutMs?: number };
  logger?: CoreLogger;
  /** MRTR_SECRET: signs the requestState of 2026-07-28 input-required results (default: a random key per process). */
  mrtrSecret?: string;
}

export class McpCore {
  readonly tools: ToolRegistry;
  readonly sessions: SessionManager;
  readonly runner: OperationRunner;
  readonly dispatcher: Dispatcher;
  /** Resources, templates and subscriptions (resources/*); the capability is announced once one is added. */
  readonly resources = new ResourceRegistry();
  /** Prompts (prompts/*) and their argument completions (completion/complete). */
  readonly prompts = new PromptRegistry();
  /** `realtime://operations` and `realtime://server/stats`, with throttled update notifications. */
  readonly live: LiveResources;
  /** MCP 2026-07-28: stateless requests, server/discover, subscriptions/listen, input-required results. */
  readonly modern: ModernServer;
  readonly identity: ServerIdentity;
  readonly logger: CoreLogger | undefined;
  readonly stores: Stores;
  /** What the server counts as it works (GET /metrics reads it). */
  readonly telemetry = new Telemetry();
  /** Sessions across nodes (a no-op layer with the in-memory stores). */
  readonly cluster: Cluster;
  private readonly outboxOptions: Required<NonNullable<McpCoreOptions['outbox']>>;
  /** Sessions being ended by their client's DELETE (until their transport has closed). */
  private readonly deleting = new WeakSet<Session>();
  private shuttingDownFlag = false;

  constructor(options: McpCoreOptions) {
    this.identity = options.identity;
    this.logger = options.logger;
    this.tools = new ToolRegistry();
    if (options.tools) this.tools.registerAll(options.tools);
    this.sessions = new SessionManager({ maxSessions: options.maxSessions ?? DEFAULTS.MAX_SESSIONS });
    this.sessions.onForeignUse = (session, caller) =>
      this.logger?.warn({ session: session.id, owner: session.principal?.subject, caller: caller?.subject }, 'session id used by another principal: answered as unknown');
    this.stores = options.stores ?? createMemoryStores();
    this.outboxOptions = {
      highWaterBytes: options.outbox?.highWaterBytes ?? DEFAULTS.SEND_HIGH_WATER_BYTES,
      slowClientTimeoutMs: options.outbox?.slowClientTimeoutMs ?? DEFAULTS.SLOW_CLIENT_TIMEOUT_MS,
      barrierTimeoutMs: options.outbox?.barrierTimeoutMs ?? DEFAULTS.ORDERING_BARRIER_TIMEOUT_MS,
    };
    this.runner = new OperationRunner({ logger: options.logger, limits: options.limits, onQueueFull: () => this.telemetry.rejections.queue_full++ });
    this.dispatcher = new Dispatcher(this.tools, this.runner, this.identity);
    this.resources.install(this.dispatcher);
    this.prompts.install(this.dispatcher);
    installCompletions(this.dispatcher, this.prompts, this.resources);
    this.live = new LiveResources(this).install();
    this.cluster = new Cluster(this.stores, {
      sessions: this.sessions,
      runner: this.runner,
      logger: this.logger,
      materialize: (record) => this.materialize(record),
      endSession: (session, why) => this.endSession(session, why),
      notifyLocal: (level, data) => this.notifyLocal(level as LoggingLevel, data),
      applyPatch: (session, patch) => this.applyPatch(session, patch),
    });
    if (this.cluster.enabled) this.live.useCluster(new ClusterLive(this.stores.nodes.id, this.stores.cluster));
    // State a client changes is stored before the answer leaves, so its next request may land on any node.
    this.dispatcher.onSessionChange = (session, patch) => this.cluster.persist(session, patch);
    // MCP 2026-07-28: stateless requests and subscriptions/listen, beside the sessions above.
    this.modern = new ModernServer(this, {
      mrtrSecret: options.mrtrSecret,
      outbox: { highWaterBytes: this.outboxOptions.highWaterBytes, slowClientTimeoutMs: this.outboxOptions.slowClientTimeoutMs, loggerName: this.identity.name },
    });
    if (this.cluster.enabled) {
      this.dispatcher.cancelElsewhere = (session, requestId, reason, silent) => this.cluster.cancelElsewhere(session, requestId, reason, silent);
      this.dispatcher.responseElsewhere = (session, id, result, error) => this.cluster.responseElsewhere(session, id, result, error);
      this.resources.onSubscriptionsChange = (session, uris) => this.cluster.persist(session, { subscriptions: uris });
    }
  }

  private started: Promise<void> | undefined;

  /** Connect to the stores' bus, before serving (once; later calls return the same promise). */
  start(): Promise<void> {
    return (this.started ??= this.cluster.start());
  }

  /** The node this core runs as (one id per process). */
  get nodeId(): string {
    return this.stores.nodes.id;
  }

  get shuttingDown(): boolean {
    return this.shuttingDownFlag;
  }

  /**
   * May a new session start here? Throws (503 + Retry-After) when the server holds MAX_SESSIONS or the
   * session store is unreachable (a new session's record needs it). Transports call it before they
   * commit to anything: an upgrade, a stream.
   */
  admitSession(): void {
    if (this.sessions.full) {
      this.telemetry.rejections.session_limit++;
      throw retryLater(Errors.TOO_MANY_SESSIONS, 'Too many sessions on this server; try again later', DEFAULTS.RETRY_AFTER_S * 1000);
    }
    this.cluster.assertStore();
  }

  /**
   * A new session for a transport to serve (it sets `session.binding`). Its record is stored for other
   * nodes (`session.registered` resolves once they can read it).
   */
  createSession(kind: TransportKind, principal: Principal | undefined, id: string = this.sessions.newId()): Session {
    this.cluster.assertStore();
    const session = this.newSession(id, kind, principal);
    this.sessions.add(session);
    session.registered = this.cluster.register(session).catch((err: Error) => {
      this.logger?.warn({ session: id, err: err.message }, 'could not store the session record');
    });
    return session;
  }

  /** The session `id` if `principal` may use it: local, or (several nodes) served here from its record. */
  findSession(id: string, principal: Principal | undefined): Promise<Session | undefined> {
    return this.cluster.find(id, principal);
  }

  /** The session `id`, owned by this node from now on (its client reconnects its stream here). */
  ownSession(id: string, principal: Principal | undefined): Promise<Session | undefined> {
    return this.cluster.own(id, principal);
  }

  /** A request of the session arrived (keeps its record alive across nodes). */
  touch(session: Session): void {
    this.cluster.touch(session);
  }

  private newSession(id: string, kind: TransportKind, principal: Principal | undefined): Session {
    const { highWaterBytes, slowClientTimeoutMs, barrierTimeoutMs } = this.outboxOptions;
    const session = new Session(id, kind, principal, (s) => new Outbox(this.stores.eventLogs.create(id), {
      highWaterBytes,
      slowClientTimeoutMs,
      loggerName: this.identity.name,
      streamPrefix: this.cluster?.enabled ? `${this.stores.nodes.id}-` : '',
      counters: this.telemetry.transports[kind],
      // Any answer, an error included, means the client handled what came before the ping.
      ping: () => s.request('ping', undefined, { timeoutMs: barrierTimeoutMs }).catch((err: { code?: unknown }) => {
        if (typeof err?.code !== 'number') throw err;
      }),
    }));
    // Several nodes: ids of requests to the client name this node, so an answer POSTed elsewhere comes back here.
    if (this.cluster?.enabled) session.requestIdPrefix = `${this.stores.nodes.id}:`;
    return session;
  }

  /** A local Session object for a session created elsewhere (its record), not registered anywhere yet. */
  private materialize(record: SessionRecord): Session {
    const session = this.newSession(record.id, record.kind, record.principal);
    this.applyPatch(session, record);
    return session;
  }

  /** Apply stored state to a local session object. */
  private applyPatch(session: Session, patch: SessionPatch): void {
    if ('protocolVersion' in patch) session.protocolVersion = patch.protocolVersion;
    if ('clientInfo' in patch) session.clientInfo = patch.clientInfo;
    if ('clientCapabilities' in patch) session.clientCapabilities = patch.clientCapabilities;
    if ('logLevel' in patch) session.logLevel = patch.logLevel;
    if (patch.initialized !== undefined) session.initialized = patch.initialized;
    if (patch.subscriptions !== undefined) this.resources.restoreSubscriptions(session, patch.subscriptions);
  }

  /** One structurally valid message from a session's client. */
  receive(session: Session, message: IncomingMessage): void {
    if (session.closed) return;
    this.telemetry.transports[session.transportKind].messagesIn++;
    if (this.cluster.enabled) this.cluster.touch(session);
    this.dispatcher.handle(session, message);
  }

  /** Abort a session's calls and forget it (its transport has closed). A replica is only dropped here. */
  endSession(session: Session, why: string): void {
    if (session.closed) return;
    if (this.cluster.isReplica(session)) {
      this.cluster.dropReplica(session);
      return;
    }
    this.runner.abortSession(session, 'disconnected', why);
    session.rejectPending(new Error(why));
    this.sessions.delete(session);
    session.outbox.close();
    this.resources.forget(session);
    this.cluster.ended(session, this.deleting.delete(session));
    this.logger?.debug({ session: session.id, why }, 'session ended');
  }

  /** End a session for good, whichever node serves it (a client's DELETE). */
  deleteSession(session: Session, why: string): void {
    if (this.cluster.isReplica(session)) {
      this.cluster.dropReplica(session);
      this.cluster.ended(session, true); // the owner and every other node end it too
      return;
    }
    this.deleting.add(session); // the client ended it: every node forgets it, whoever claims it meanwhile
    if (session.binding === undefined) return this.endSession(session, why);
    session.binding.close(why).catch((err: Error) => {
      this.logger?.warn({ session: session.id, err: err.message }, 'closing a deleted session failed; ending it here');
      this.endSession(session, why);
    });
  }

  /** Send a notification to every session on every transport; returns how many it reached. */
  broadcast(method: string, params?: Record<string, unknown>): number {
    const message = notificationMessage(method, params);
    let n = 0;
    for (const session of this.sessions.all()) {
      if (session.closed) continue;
      session.send(message);
      n++;
    }
    return n;
  }

  /**
   * Send `notifications/message` to every session of every node whose log level lets `level` through (all
   * of them until a client sets one); returns how many it reached on this node. Used by `POST /admin/notify`.
   */
  notifyAll(level: LoggingLevel, data: unknown): number {
    return this.cluster.notifyAll(level, data);
  }

  /** `notifyAll` for the sessions this node owns. */
  private notifyLocal(level: LoggingLevel, data: unknown): number {
    const message = logMessage({ level, logger: this.identity.name, data });
    let delivered = 0;
    for (const session of this.sessions.all()) {
      if (session.closed || !session.wantsLog(level)) continue;
      session.send(message);
      delivered++;
    }
    return delivered;
  }

  /**
   * Graceful shutdown: warn every session, give calls in flight `graceMs` to finish (their results are
   * delivered), fail the rest with a clear error, then close every transport as "going away".
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.shuttingDownFlag) return;
    this.shuttingDownFlag = true;
    // Calls in flight get the grace period; new ones are refused rather than started and cut off.
    this.dispatcher.refusingCalls = true;
    // 2026-07-28 subscriptions end with their listen result; stateless calls in flight get the grace period below.
    this.modern.shutdown();
    const inflight = this.runner.size;
    this.notifyLocal('warning', `Server is shutting down; calls in flight get up to ${Math.round(graceMs / 1000)} s to finish.`);
    this.logger?.info({ sessions: this.sessions.size, inflight, graceMs }, 'shutting down');
    const idle = await this.runner.whenIdle(graceMs);
    if (!idle) {
      const left = this.runner.all();
      this.logger?.warn({ aborted: left.length }, 'grace period over: aborting calls in flight');
      for (const op of left) {
        this.runner.fail(op, 'shutdown', Errors.SHUTTING_DOWN.rpc, 'Server shutting down: the call was aborted after the grace period');
      }
    }
    // Results waiting for an ordering barrier leave now; then let the last responses leave before the close frames.
    for (const session of this.sessions.all()) session.outbox.flushHeld();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const closing: Promise<void>[] = [];
    for (const session of [...this.sessions.all()]) {
      closing.push(session.binding ? session.binding.shutdown('server shutting down') : Promise.resolve(this.endSession(session, 'server shutting down')));
    }
    await Promise.allSettled(closing);
    this.live.close();
    this.cluster.stop();
  }
}
