// The stdio bridge behind `realtime-mcp connect`: a local MCP server on stdin/stdout (what Claude
// Desktop, Claude Code and Cursor launch) that relays every message, both ways, to one remote server
// over a resumable transport. It relays at the JSON-RPC level (no second protocol engine in between),
// so requests, results, progress, cancellation, logs, resource updates and server→client requests all
// pass unchanged, with their ids.
//
// What it adds:
//   - Resume: the upstream transport reconnects with backoff and resumes the session, so a running call
//     survives a network drop; the host sees nothing but a pause.
//   - A fresh session when the old one is gone (server restarted, resume window passed): the bridge
//     replays the host's initialize and subscriptions itself, answers the host's requests that were in
//     flight with an error (their outcome is unknown), and tells the host with a log message.
//   - Progress before results, for hosts built on the SDK client: it handles notifications a microtask
//     late but a response at once, and forgets the call's progress handler then, so a final progress
//     read from the pipe together with the result is lost. Before relaying a response that follows
//     progress, the bridge sends the host a `ping` and waits for its answer (hosts answer requests in
//     order after the notifications before them): one round trip per result, only after progress.
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionError, errorMessage } from './errors.js';
import type { Logger } from './log.js';
import type { ResumableTransport } from './transports/index.js';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { DEFAULTS } from '../defaults.js';

/** The ids of the bridge's own requests (to the host and upstream): never seen by the other side. */
const OWN_ID_PREFIX = 'realtime-mcp-bridge:';
/** A host that does not answer a barrier ping within this releases the result anyway (as the server does). */
const BARRIER_TIMEOUT_MS = DEFAULTS.ORDERING_BARRIER_TIMEOUT_MS;
/** After this many unanswered barrier pings in a row, stop sending them. */
const BARRIER_GIVE_UP = 3;

type Message = JSONRPCMessage & { id?: RequestId; method?: string; params?: Record<string, unknown>; result?: unknown; error?: unknown };

export interface BridgeOptions {
  /** A new upstream transport (one per session). */
  upstream: () => ResumableTransport;
  /** The host side (stdio). */
  downstream: Transport;
  log: Logger;
  /** Delays between attempts to open a fresh session after the old one was lost. */
  backoff: BackoffOptions;
}

export class StdioBridge {
  private upstream: ResumableTransport | undefined;
  private readonly downstream: Transport;
  private readonly log: Logger;
  private readonly o: BridgeOptions;
  /** Host messages waiting for an upstream session. */
  private pendingUp: Message[] = [];
  private upstreamReady = false;
  /** Host requests relayed upstream and not answered yet (id → method). */
  private readonly inFlight = new Map<RequestId, string>();
  private initialize: Message | undefined;
  private initialized = false;
  private readonly subscriptions = new Set<string>();
  private ownId = 0;
  private stopped = false;
  private finished: (code: number) => void = () => {};
  readonly done: Promise<number>;

  // Barrier toward the host.
  private toHost: Message[] = [];
  private holding = false;
  private progressSinceBarrier = 0;
  private barrierWaiter: { id: string; resolve: () => void } | undefined;
  private barrierTimeouts = 0;
  private barriersOn = true;

  constructor(o: BridgeOptions) {
    this.o = o;
    this.downstream = o.downstream;
    this.log = o.log;
    this.done = new Promise((resolve) => (this.finished = resolve));
  }

  /** Start relaying. Rejects (auth, bad URL) when the first upstream connection fails for good. */
  async start(): Promise<void> {
    this.downstream.onmessage = (m) => this.fromHost(m as Message);
    this.downstream.onerror = (err) => this.log.warn(`stdio: ${errorMessage(err)}`);
    this.downstream.onclose = () => void this.stop(0);
    await this.downstream.start();
    await this.openUpstream(false);
  }

  private async openUpstream(replay: boolean): Promise<void> {
    const upstream = this.o.upstream();
    this.upstream = upstream;
    upstream.onmessage = (m) => {
      if (this.upstream === upstream) this.fromServer(m as Message);
    };
    upstream.onerror = (err) => {
      if (this.upstream === upstream) this.log.debug(`upstream: ${errorMessage(err)}`);
    };
    upstream.onclose = () => {
      if (this.upstream === upstream) void this.upstreamClosed(upstream);
    };
    await upstream.start();
    if (replay) await this.replaySession(upstream);
    if (this.stopped || this.upstream !== upstream) {
      await upstream.close();
      return;
    }
    this.upstreamReady = true;
    const queued = this.pendingUp;
    this.pendingUp = [];
    for (const m of queued) this.relayUp(m);
    this.log.info(`connected upstream${upstream.serverSessionId ? ` (session ${upstream.serverSessionId.slice(0, 8)}…)` : ''}`);
  }

  /** A fresh session takes the place of a lost one: initialize as the host did, resubscribe. */
  private async replaySession(upstream: ResumableTransport): Promise<void> {
    if (this.initialize === undefined) return;
    const init = { ...this.initialize, id: this.nextOwnId() } as Message;
    const answer = this.awaitOwn(init.id!);
    await upstream.send(init as JSONRPCMessage);
    await answer;
    if (this.initialized) await upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    for (const uri of this.subscriptions) {
      const id = this.nextOwnId();
      const sub = this.awaitOwn(id);
      await upstream.send({ jsonrpc: '2.0', id, method: 'resources/subscribe', params: { uri } });
      await sub.catch((err) => this.log.warn(`could not resubscribe to ${uri}: ${errorMessage(err)}`));
    }
  }

  private readonly ownWaiters = new Map<RequestId, { resolve: (m: Message) => void; reject: (e: Error) => void }>();

  /** The upstream answer to one of the bridge's own requests (swallowed, never relayed to the host). */
  private awaitOwn(id: RequestId): Promise<Message> {
    return new Promise((resolve, reject) => {
      this.ownWaiters.set(id, {
        resolve: (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m)),
        reject,
      });
    });
  }

  private nextOwnId(): string {
    return `${OWN_ID_PREFIX}${++this.ownId}`;
  }

  private async upstreamClosed(upstream: ResumableTransport): Promise<void> {
    if (this.stopped) return;
    this.upstreamReady = false;
    for (const w of this.ownWaiters.values()) w.reject(new Error('upstream closed'));
    this.ownWaiters.clear();
    const why = upstream.fatalError ?? new ConnectionError('the upstream connection closed', { kind: 'closed' });
    if (why.kind === 'auth' || why.kind === 'forbidden') {
      this.log.error(why.message);
      return this.stop(3);
    }
    this.log.warn(`${why.message}: opening a new session`);
    // Whatever was in flight on the old session will never be answered.
    for (const [id, method] of this.inFlight) {
      this.sendToHost({ jsonrpc: '2.0', id, error: { code: -32000, message: `The connection to the server was lost and its session could not be resumed (${why.message}); the outcome of this ${method} is unknown.` } } as Message);
    }
    this.inFlight.clear();
    this.sendToHost({
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { level: 'warning', logger: 'realtime-mcp-bridge', data: `Upstream session lost (${why.message}); reconnected with a new session.` },
    } as Message);
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.openUpstream(true);
        return;
      } catch (err) {
        if (err instanceof ConnectionError && (err.kind === 'auth' || err.kind === 'forbidden')) {
          this.log.error(err.message);
          return this.stop(3);
        }
        const delay = backoffDelay(attempt, this.o.backoff);
        this.log.warn(`new session failed (${errorMessage(err)}); retrying in ${(delay / 1000).toFixed(1)} s`);
        await sleep(delay);
      }
    }
  }

  private fromHost(m: Message): void {
    // The host's answer to one of our barrier pings: never relayed.
    if (m.method === undefined && typeof m.id === 'string' && m.id.startsWith(OWN_ID_PREFIX)) {
      if (this.barrierWaiter?.id === m.id) {
        const w = this.barrierWaiter;
        this.barrierWaiter = undefined;
        w.resolve();
      } else {
        this.barrierTimeouts = 0; // a late answer: the host is slow, not deaf
      }
      return;
    }
    if (m.method !== undefined && m.id !== undefined) {
      this.inFlight.set(m.id, m.method);
      if (m.method === 'initialize') this.initialize = m;
      if (m.method === 'resources/subscribe' && typeof m.params?.uri === 'string') this.subscriptions.add(m.params.uri);
      if (m.method === 'resources/unsubscribe' && typeof m.params?.uri === 'string') this.subscriptions.delete(m.params.uri);
    }
    if (m.method === 'notifications/initialized') this.initialized = true;
    if (m.method === 'notifications/cancelled') this.inFlight.delete((m.params as { requestId?: RequestId })?.requestId as RequestId);
    if (!this.upstreamReady) {
      this.pendingUp.push(m);
      return;
    }
    this.relayUp(m);
  }

  private relayUp(m: Message): void {
    const upstream = this.upstream;
    if (upstream === undefined) return;
    upstream.send(m as JSONRPCMessage).catch((err) => {
      if (this.upstream !== upstream || m.method === undefined || m.id === undefined || !this.inFlight.has(m.id)) {
        this.log.debug(`could not relay ${m.method ?? 'a response'}: ${errorMessage(err)}`);
        return;
      }
      // A request that could not be delivered: answer it, or the host waits forever.
      this.inFlight.delete(m.id);
      this.sendToHost({ jsonrpc: '2.0', id: m.id, error: { code: -32000, message: `Could not reach the server: ${errorMessage(err)}` } } as Message);
    });
  }

  private fromServer(m: Message): void {
    if (m.method === undefined && m.id !== undefined) {
      const own = this.ownWaiters.get(m.id);
      if (own !== undefined) {
        this.ownWaiters.delete(m.id);
        own.resolve(m);
        return;
      }
      this.inFlight.delete(m.id);
    }
    this.sendToHost(m);
  }

  /** Relay to the host in order; a response after progress waits for a barrier ping's answer. */
  private sendToHost(m: Message): void {
    if (this.stopped) return;
    this.toHost.push(m);
    if (!this.holding) this.flushToHost();
  }

  private flushToHost(): void {
    while (this.toHost.length > 0) {
      const m = this.toHost[0]!;
      const isResponse = m.method === undefined;
      if (isResponse && this.progressSinceBarrier > 0 && this.barriersOn) {
        this.progressSinceBarrier = 0;
        this.holding = true;
        void this.barrier().then(() => {
          this.holding = false;
          this.flushToHost();
        });
        return;
      }
      this.toHost.shift();
      if (m.method === 'notifications/progress') this.progressSinceBarrier++;
      void this.downstream.send(m as JSONRPCMessage).catch((err) => this.log.debug(`stdout: ${errorMessage(err)}`));
    }
  }

  private barrier(): Promise<void> {
    const id = this.nextOwnId();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.barrierWaiter?.id !== id) return;
        this.barrierWaiter = undefined;
        if (++this.barrierTimeouts >= BARRIER_GIVE_UP) {
          this.barriersOn = false;
          this.log.warn('the host does not answer ping requests: results are no longer held back behind progress');
        }
        resolve();
      }, BARRIER_TIMEOUT_MS);
      this.barrierWaiter = {
        id,
        resolve: () => {
          clearTimeout(timer);
          this.barrierTimeouts = 0;
          resolve();
        },
      };
      void this.downstream.send({ jsonrpc: '2.0', id, method: 'ping' }).catch(() => this.barrierWaiter?.resolve());
    });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** End the bridge: close upstream (the server ends the session and aborts its calls). */
  async stop(code: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const upstream = this.upstream;
    this.upstream = undefined;
    await upstream?.close().catch(() => {});
    this.finished(code);
  }
}
