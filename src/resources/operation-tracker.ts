// What `realtime://operations` shows: the calls in flight and a bounded ring of recently finished ones,
// each as a plain JSON view (tool, session prefix, state, progress, rate, ETA, times), plus a cheap
// fingerprint per principal that changes whenever that principal's view does.
//
// The runner has no events, so the tracker samples it: `sync()` adopts calls it has not seen and
// retires those whose state became `done`. It is run on the live-resources tick (≤ 250 ms while calls
// are in flight), on every read, and right after a call starts (see live-resources.ts), so `endedAt` is
// when the tracker noticed, at most one tick late.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Operation } from '../operations/operation.js';
import type { OperationRunner } from '../operations/runner.js';
import { ProgressRate } from '../operations/progress-rate.js';
import { principalKey, type Principal } from '../sessions/principal.js';
import type { TransportKind } from '../sessions/session.js';
import { DEFAULTS } from '../defaults.js';

/** Finished calls kept for `realtime://operations` (oldest dropped first). */
export const DEFAULT_RECENT_OPERATIONS = DEFAULTS.RECENT_OPERATIONS;
/** Enough of a session id to tell sessions apart, not enough to resume or address someone else's. */
const SESSION_PREFIX_CHARS = 8;
/** The viewer key of a principal allowed to see every call. */
export const ALL_OPERATIONS = '*';

export type OperationStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface OperationView {
  tool: string;
  /** The first characters of the session id. */
  session: string;
  transport: TransportKind;
  /** The caller's token subject (`anonymous` without auth). */
  principal: string;
  requestId: RequestId;
  /**
   * `done`: the handler returned or threw (the client got its result or tool error); `failed`: the
   * call was ended by a timeout or shutdown; `cancelled`: by the client or its disconnect.
   */
  state: OperationStatus;
  progress: number | null;
  total: number | null;
  /** Items per second: smoothed while running, the average over the run once ended. */
  rate: number | null;
  etaMs: number | null;
  startedAt: string;
  endedAt: string | null;
  /** Why a failed or cancelled call ended. */
  reason?: string;
}

interface Tracked {
  readonly op: Operation;
  readonly key: string;
  rate: ProgressRate | undefined;
  lastRate: number | undefined;
  lastEtaMs: number | undefined;
}

interface Finished {
  readonly key: string;
  readonly view: OperationView;
}

/** Everything about one principal's calls that a subscriber should hear about when it changes. */
interface Aggregate {
  /** Tracker revision of the last call that appeared, ended or dropped out of the ring. */
  membership: number;
  progress: number;
  total: number;
  running: number;
  /** Calls of this principal active or in the ring; the entry goes when it reaches 0. */
  members: number;
}

/** Viewer key of a principal: the same caller exactly when `samePrincipal` says so. */
export const viewerKeyOf = principalKey;

export class OperationTracker {
  private readonly active = new Map<Operation, Tracked>();
  private readonly recent: Finished[] = [];
  private readonly byKey = new Map<string, Aggregate>();
  private readonly all: Aggregate = { membership: 0, progress: 0, total: 0, running: 0, members: 0 };
  private revision = 0;
  private readonly runner: OperationRunner;
  readonly recentLimit: number;

  constructor(runner: OperationRunner, options: { recentLimit?: number } = {}) {
    this.runner = runner;
    this.recentLimit = options.recentLimit ?? DEFAULT_RECENT_OPERATIONS;
  }

  /** Calls in flight that the tracker knows of. */
  get activeCount(): number {
    return this.active.size;
  }

  /** Start following a call (no-op when already followed or finished). */
  adopt(op: Operation): void {
    if (op.state === 'done' || this.active.has(op)) return;
    const key = viewerKeyOf(op.principal);
    this.active.set(op, { op, key, rate: undefined, lastRate: undefined, lastEtaMs: undefined });
    this.aggregateFor(key).members++;
    this.touch(key);
  }

  /** Adopt new calls, retire finished ones, refresh rates and the per-principal aggregates. */
  sync(): void {
    for (const op of this.runner.all()) this.adopt(op);
    const now = performance.now();
    for (const t of this.active.values()) {
      if (t.op.state === 'done') this.retire(t, now);
      else this.measure(t, now);
    }
    this.aggregate();
  }

  /** Active calls (running, then queued) followed by recent ones, newest first; `key` ALL_OPERATIONS = everyone's. */
  view(key: string): OperationView[] {
    const running: OperationView[] = [];
    const queued: OperationView[] = [];
    for (const t of this.active.values()) {
      if (key !== ALL_OPERATIONS && t.key !== key) continue;
      (t.op.state === 'queued' ? queued : running).push(activeView(t));
    }
    const out = [...running, ...queued];
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const f = this.recent[i]!;
      if (key === ALL_OPERATIONS || f.key === key) out.push(f.view);
    }
    return out;
  }

  /** Every call (active, then recent) with the viewer key of its principal (for the cluster view). */
  keyed(): Array<{ key: string; view: OperationView }> {
    const out: Array<{ key: string; view: OperationView }> = [];
    for (const t of this.active.values()) out.push({ key: t.key, view: activeView(t) });
    for (let i = this.recent.length - 1; i >= 0; i--) out.push({ key: this.recent[i]!.key, view: this.recent[i]!.view });
    return out;
  }

  /** Changes whenever `view(key)` would show a call appear, start, progress, end or drop out. */
  fingerprint(key: string): string {
    const a = key === ALL_OPERATIONS ? this.all : this.byKey.get(key);
    return a === undefined ? 'none' : `${a.membership}|${a.running}|${a.progress}|${a.total}`;
  }

  private retire(t: Tracked, now: number): void {
    this.active.delete(t.op);
    this.recent.push({ key: t.key, view: endedView(t.op, now) });
    this.touch(t.key);
    if (this.recent.length > this.recentLimit) {
      const dropped = this.recent.shift()!;
      const a = this.aggregateFor(dropped.key);
      this.touch(dropped.key);
      if (--a.members === 0) this.byKey.delete(dropped.key);
    }
  }

  /** Feed the call's last progress to its own rate meter (the runner's is private and needs a progress token). */
  private measure(t: Tracked, now: number): void {
    const { op } = t;
    if (op.state !== 'running' || op.lastProgress === undefined) return;
    const snap = (t.rate ??= new ProgressRate(op.startedAt)).update(op.lastProgress, op.lastTotal, now);
    t.lastRate = snap.rate;
    t.lastEtaMs = snap.etaMs;
  }

  private aggregate(): void {
    for (const a of [this.all, ...this.byKey.values()]) a.progress = a.total = a.running = 0;
    for (const { op, key } of this.active.values()) {
      addTo(this.all, op);
      addTo(this.byKey.get(key)!, op);
    }
  }

  private touch(key: string): void {
    this.revision++;
    this.all.membership = this.revision;
    this.aggregateFor(key).membership = this.revision;
  }

  private aggregateFor(key: string): Aggregate {
    let a = this.byKey.get(key);
    if (a === undefined) this.byKey.set(key, (a = { membership: 0, progress: 0, total: 0, running: 0, members: 0 }));
    return a;
  }
}

function addTo(a: Aggregate, op: Operation): void {
  a.progress += op.lastProgress ?? 0;
  a.total += op.lastTotal ?? 0;
  if (op.state === 'running') a.running++;
}

function baseView(op: Operation): Omit<OperationView, 'state' | 'rate' | 'etaMs' | 'endedAt'> {
  return {
    tool: op.tool.definition.name,
    session: op.session.id.slice(0, SESSION_PREFIX_CHARS),
    transport: op.session.transportKind,
    principal: op.principal?.subject ?? 'anonymous',
    requestId: op.requestId,
    progress: op.lastProgress ?? null,
    total: op.lastTotal ?? null,
    startedAt: new Date(performance.timeOrigin + op.startedAt).toISOString(),
  };
}

function activeView(t: Tracked): OperationView {
  const running = t.op.state === 'running';
  return {
    ...baseView(t.op),
    state: running ? 'running' : 'queued',
    rate: running && t.lastRate !== undefined ? round2(t.lastRate) : null,
    etaMs: running ? (t.lastEtaMs ?? null) : null,
    endedAt: null,
  };
}

function endedView(op: Operation, now: number): OperationView {
  const why = op.abortReason;
  const state: OperationStatus = why?.kind === 'cancelled' || why?.kind === 'disconnected' ? 'cancelled' : why !== undefined || op.failed ? 'failed' : 'done';
  now = op.endedAt ?? now;
  const elapsedMs = now - op.startedAt;
  const rate = op.lastProgress !== undefined && elapsedMs > 0 ? round2((op.lastProgress * 1000) / elapsedMs) : null;
  const view: OperationView = { ...baseView(op), state, rate, etaMs: null, endedAt: new Date(performance.timeOrigin + now).toISOString() };
  if (why !== undefined) view.reason = why.message;
  return view;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
