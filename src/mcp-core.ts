// The transport-independent server: one tool registry, one session manager, one operation runner and
// the dispatcher, the event log every session's outbox records into, and the lifecycle around them
// (sessions opened by transports, messages in, graceful shutdown). Nothing here knows about Fastify.
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { Errors } from './errors.js';
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
import type { EventLogFactory } from './outbox/event-log.js';
import { MemoryEventLogFactory } from './outbox/memory-event-log.js';
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
  /** Where sessions record what they send, for resume (default: in memory, EVENT_BUFFER_* defaults). */
  eventLogs?: EventLogFactory;
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
  private readonly eventLogs: EventLogFactory;
  private readonly outboxOptions: Required<NonNullable<McpCoreOptions['outbox']>>;
  private shuttingDownFlag = false;

  constructor(options: McpCoreOptions) {
    this.identity = options.identity;
    this.logger = options.logger;
    this.tools = new ToolRegistry();
    if (options.tools) this.tools.registerAll(options.tools);
    this.sessions = new SessionManager({ maxSessions: options.maxSessions ?? DEFAULTS.MAX_SESSIONS });
    this.sessions.onForeignUse = (session, caller) =>
      this.logger?.warn({ session: session.id, owner: session.principal?.subject, caller: caller?.subject }, 'session id used by another principal: answered as unknown');
    this.eventLogs = options.eventLogs ?? new MemoryEventLogFactory();
    this.outboxOptions = {
      highWaterBytes: options.outbox?.highWaterBytes ?? DEFAULTS.SEND_HIGH_WATER_BYTES,
      slowClientTimeoutMs: options.outbox?.slowClientTimeoutMs ?? DEFAULTS.SLOW_CLIENT_TIMEOUT_MS,
      barrierTimeoutMs: options.outbox?.barrierTimeoutMs ?? DEFAULTS.ORDERING_BARRIER_TIMEOUT_MS,
    };
    this.runner = new OperationRunner({ logger: options.logger, limits: options.limits });
    this.dispatcher = new Dispatcher(this.tools, this.runner, this.identity);
    this.resources.install(this.dispatcher);
    this.prompts.install(this.dispatcher);
    installCompletions(this.dispatcher, this.prompts, this.resources);
    this.live = new LiveResources(this).install();
    this.modern = new ModernServer(this, {
      mrtrSecret: options.mrtrSecret,
      outbox: { highWaterBytes: this.outboxOptions.highWaterBytes, slowClientTimeoutMs: this.outboxOptions.slowClientTimeoutMs, loggerName: this.identity.name },
    });
  }

  get shuttingDown(): boolean {
    return this.shuttingDownFlag;
  }

  /** A new session for a transport to serve (it sets `session.binding`). */
  createSession(kind: TransportKind, principal: Principal | undefined, id: string = this.sessions.newId()): Session {
    const { highWaterBytes, slowClientTimeoutMs, barrierTimeoutMs } = this.outboxOptions;
    const session = new Session(id, kind, principal, (s) => new Outbox(this.eventLogs.create(id), {
      highWaterBytes,
      slowClientTimeoutMs,
      loggerName: this.identity.name,
      // Any answer, an error included, means the client handled what came before the ping.
      ping: () => s.request('ping', undefined, { timeoutMs: barrierTimeoutMs }).catch((err: { code?: unknown }) => {
        if (typeof err?.code !== 'number') throw err;
      }),
    }));
    this.sessions.add(session);
    return session;
  }

  /** One structurally valid message from a session's client. */
  receive(session: Session, message: IncomingMessage): void {
    if (session.closed) return;
    this.dispatcher.handle(session, message);
  }

  /** Abort a session's calls and forget it (its transport has closed). */
  endSession(session: Session, why: string): void {
    if (session.closed) return;
    this.runner.abortSession(session, 'disconnected', why);
    session.rejectPending(new Error(why));
    this.sessions.delete(session);
    session.outbox.close();
    this.resources.forget(session);
    this.logger?.debug({ session: session.id, why }, 'session ended');
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
   * Send `notifications/message` to every session whose log level lets `level` through (all of them
   * until a client sets one); returns how many it reached. Used by `POST /admin/notify`.
   */
  notifyAll(level: LoggingLevel, data: unknown): number {
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
    this.notifyAll('warning', `Server is shutting down; calls in flight get up to ${Math.round(graceMs / 1000)} s to finish.`);
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
  }
}
