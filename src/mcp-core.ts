// The transport-independent server: one tool registry, one session manager, one operation runner and
// the dispatcher, plus the lifecycle that ties a transport to a session and the shutdown sequence.
// Nothing here knows about Fastify.
import type { JSONRPCMessage, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { RpcCode, RpcError } from './errors.js';
import { notification, type IncomingMessage } from './jsonrpc.js';
import { Dispatcher, type ServerIdentity } from './protocol/dispatcher.js';
import { OperationRunner, type RunnerLimits } from './operations/runner.js';
import { SessionManager } from './sessions/session-manager.js';
import type { Session, SessionTransport } from './sessions/session.js';
import { ToolRegistry } from './tools/registry.js';
import { ResourceRegistry } from './resources/registry.js';
import { PromptRegistry } from './prompts/registry.js';
import { installCompletions } from './prompts/completions.js';
import { LiveResources } from './resources/live-resources.js';
import type { ToolDefinition } from './tools/define.js';

export interface CoreLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface McpCoreOptions {
  identity: ServerIdentity;
  tools?: Iterable<ToolDefinition<any>>;
  maxSessions: number;
  /** Concurrency limits, queue bound and default tool timeout (defaults: DEFAULT_LIMITS). */
  limits?: Partial<RunnerLimits>;
  logger?: CoreLogger;
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
  readonly identity: ServerIdentity;
  readonly logger: CoreLogger | undefined;
  private shuttingDownFlag = false;

  constructor(options: McpCoreOptions) {
    this.identity = options.identity;
    this.logger = options.logger;
    this.tools = new ToolRegistry();
    if (options.tools) this.tools.registerAll(options.tools);
    this.sessions = new SessionManager({ maxSessions: options.maxSessions });
    this.sessions.onForeignUse = (session, caller) =>
      this.logger?.warn({ session: session.id, owner: session.principal?.subject, caller: caller?.subject }, 'session id used by another principal: answered as unknown');
    this.runner = new OperationRunner({ logger: options.logger, limits: options.limits });
    this.dispatcher = new Dispatcher(this.tools, this.runner, this.identity);
    this.resources.install(this.dispatcher);
    this.prompts.install(this.dispatcher);
    installCompletions(this.dispatcher, this.prompts, this.resources);
    this.live = new LiveResources(this).install();
  }

  get shuttingDown(): boolean {
    return this.shuttingDownFlag;
  }

  /** Route a transport's traffic to a session until the transport closes. */
  connect(session: Session, transport: SessionTransport): void {
    session.attach(transport);
    transport.onmessage = (message) => this.dispatcher.handle(session, message as IncomingMessage);
    transport.onclose = () => this.endSession(session, transport.closeReason ?? 'client disconnected');
    transport.onerror = (err) => this.logger?.debug({ session: session.id, err: err.message }, 'transport error');
    void transport.start();
  }

  /** Abort a session's calls and forget it. */
  endSession(session: Session, why: string): void {
    if (session.closed) return;
    this.runner.abortSession(session, 'disconnected', why);
    session.rejectPending(new Error(why));
    session.detach();
    this.sessions.delete(session);
    this.resources.forget(session);
    this.logger?.debug({ session: session.id, why }, 'session ended');
  }

  /** Send a notification to every session on every transport; returns how many it reached. */
  broadcast(message: JSONRPCMessage): number {
    return this.sessions.broadcast(message);
  }

  /**
   * Send `notifications/message` to every session whose log level lets `level` through (all of them
   * until a client sets one); returns how many it reached. Used by `POST /admin/notify`.
   */
  notifyAll(level: LoggingLevel, data: unknown): number {
    const message = notification('notifications/message', { level, logger: this.identity.name, data });
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
    this.dispatcher.hooks.beforeToolCall = () => {
      throw new RpcError(RpcCode.SHUTTING_DOWN, 'Server shutting down: not accepting new calls; retry on another instance or after restart');
    };
    const inflight = this.runner.size;
    this.broadcast(notification('notifications/message', {
      level: 'warning',
      logger: this.identity.name,
      data: `Server is shutting down; calls in flight get up to ${Math.round(graceMs / 1000)} s to finish.`,
    }));
    this.logger?.info({ sessions: this.sessions.size, inflight, graceMs }, 'shutting down');
    const idle = await this.runner.whenIdle(graceMs);
    if (!idle) {
      const left = this.runner.all();
      this.logger?.warn({ aborted: left.length }, 'grace period over: aborting calls in flight');
      for (const op of left) {
        this.runner.fail(op, 'shutdown', RpcCode.SHUTTING_DOWN, 'Server shutting down: the call was aborted after the grace period');
      }
    }
    // Let the last responses leave before the close frames.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const closing: Promise<void>[] = [];
    for (const session of [...this.sessions.all()]) {
      closing.push(session.closeForShutdown('server shutting down'));
    }
    await Promise.allSettled(closing);
    this.live.close();
  }
}
