// Session records in Redis, so that any node can serve a request of any session.
//
// Shape, and why:
//   - one hash per session (rmcp:s:<id>): a node reads the whole record with one HGETALL and changes
//     single fields with one HSET; `owner` is a plain string so the claim script can compare it, the
//     other fields are JSON so that types (booleans, objects, undefined = no field) round-trip exactly.
//   - every key of a session expires after `ttlMs` (SESSION_TTL, 10 min) unless the session is used:
//     `touch` only marks the id, and once a second one script call per touched session pushes back the
//     expiry of all its keys (record, calls, log). A node that dies leaves nothing behind for long.
//   - `create` and `update` are scripts: `update` must not resurrect a record that was deleted or
//     expired (HSET on a missing key would create half a record), and `create` replaces a record whole.
//   - `claim` is one script: compare the owner, check the owner's liveness key (EXISTS inside Lua, on
//     the key the NodeRegistry heartbeats), set the new owner — atomic, so two nodes racing for a dead
//     node's session cannot both win. The `isAlive` argument is not called: the script does its job
//     (the memory store, a single node, uses it).
//   - calls in flight: `recordCalls` is called often (progress); its changes are merged per call until
//     the next tick and written as one HSET + one HDEL per session, one batch in flight at a time
//     (so a batch cut by a Redis restart is written again before anything newer: no stale progress,
//     no call coming back after its end). `calls()` writes what is pending first (read-your-writes).
//   - writes of one record from this node are applied in the order they were made (a chain per id),
//     even when a Redis restart makes one of them go again.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Redis } from 'ioredis';
import type { CallRecord, ClaimOutcome, SessionPatch, SessionRecord, SessionStore } from '../types.js';
import { defineScript, retrying, type ScriptCall, type StoreLogger } from './connection.js';
import { NODE_KEY_PREFIX, callsKey, sessionKey, sessionKeys } from './keys.js';

/** How long a session's keys live after its last use (SESSION_TTL). */
export const DEFAULT_SESSION_TTL_MS = 10 * 60_000;
/** How often the expiry of touched sessions is pushed back. */
export const TOUCH_INTERVAL_MS = 1_000;

export interface RedisSessionStoreOptions {
  redis: Redis;
  /** Lifetime of a session's keys after its last touch (default 10 min). */
  ttlMs?: number;
  /** How often touched sessions have their expiry pushed back (default 1 s). */
  touchIntervalMs?: number;
  logger?: StoreLogger;
}

// KEYS[1] record; ARGV[1] ttl ms; ARGV[2..] field, value pairs. Replaces the record.
const CREATE = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// KEYS[1] record; ARGV[1] ttl ms, ARGV[2] number of pairs to set, then the pairs, then fields to delete.
// Changes nothing when the record is gone.
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n)) end
if #ARGV > 2 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + 2 * n)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// KEYS[1] record; ARGV[1] claiming node, ARGV[2] expected owner ('' for none), ARGV[3] liveness key
// prefix, ARGV[4] ttl ms. Returns nil (no record), {0, owner} (owner alive) or {1, previous owner}.
// The liveness key is derived from the owner inside the script: standalone Redis only (not Cluster).
const CLAIM = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return false end
if owner ~= ARGV[1] and owner ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. owner) == 1 then
  return {0, owner}
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, owner}`;

// KEYS: every key of a session; ARGV[1] ttl ms. PEXPIRE on a missing key does nothing.
const TOUCH = `
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1`;

/** Fields stored as JSON (the rest: id, kind, owner, createdAt, initialized are plain). */
const JSON_FIELDS = ['principal', 'protocolVersion', 'clientInfo', 'clientCapabilities', 'logLevel', 'subscriptions'] as const;

function encodeField(field: string, value: unknown): string {
  if (field === 'owner' || field === 'id' || field === 'kind') return String(value);
  if (field === 'initialized') return value ? '1' : '0';
  if (field === 'createdAt') return String(value);
  return JSON.stringify(value);
}

function decodeRecord(h: Record<string, string>): SessionRecord | undefined {
  if (h.id === undefined || h.owner === undefined) return undefined;
  const json = (f: (typeof JSON_FIELDS)[number]) => (h[f] === undefined ? undefined : JSON.parse(h[f]!));
  return {
    id: h.id,
    kind: h.kind as SessionRecord['kind'],
    principal: json('principal'),
    protocolVersion: json('protocolVersion'),
    clientInfo: json('clientInfo'),
    clientCapabilities: json('clientCapabilities'),
    logLevel: json('logLevel'),
    initialized: h.initialized === '1',
    subscriptions: json('subscriptions') ?? [],
    owner: h.owner,
    createdAt: Number(h.createdAt),
  };
}

export class RedisSessionStore implements SessionStore {
  readonly ttlMs: number;
  private readonly redis: Redis;
  private readonly logger: StoreLogger | undefined;
  private readonly touchIntervalMs: number;
  private readonly scripts: { create: ScriptCall; update: ScriptCall; claim: ScriptCall; touch: ScriptCall };
  /** The last write of each record from this node, so the next one goes after it. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private touched = new Set<string>();
  private touchTimer: NodeJS.Timeout | undefined;
  /** Call changes not written yet: session → (JSON request id → JSON record, or undefined to remove). */
  private callsPending = new Map<string, Map<string, string | undefined>>();
  private callsInFlight: Promise<void> | undefined;
  private callsScheduled = false;
  private closed = false;

  constructor(options: RedisSessionStoreOptions) {
    this.redis = options.redis;
    this.ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.touchIntervalMs = options.touchIntervalMs ?? TOUCH_INTERVAL_MS;
    this.logger = options.logger;
    this.scripts = {
      create: defineScript(this.redis, 'rmcpSessionCreate', 1, CREATE),
      update: defineScript(this.redis, 'rmcpSessionUpdate', 1, UPDATE),
      claim: defineScript(this.redis, 'rmcpSessionClaim', 1, CLAIM),
      touch: defineScript(this.redis, 'rmcpSessionTouch', 5, TOUCH),
    };
  }

  create(record: SessionRecord): Promise<void> {
    const args: Array<string | number> = [this.ttlMs];
    for (const [field, value] of Object.entries(record)) if (value !== undefined) args.push(field, encodeField(field, value));
    return this.inOrder(record.id, () => this.scripts.create([sessionKey(record.id)], args)).then(() => undefined);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const h = await retrying(this.redis, () => this.redis.hgetall(sessionKey(id)));
    return decodeRecord(h);
  }

  update(id: string, patch: SessionPatch): Promise<void> {
    const set: string[] = [];
    const del: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) del.push(field);
      else set.push(field, encodeField(field, value));
    }
    if (set.length === 0 && del.length === 0) return Promise.resolve();
    return this.inOrder(id, () => this.scripts.update([sessionKey(id)], [this.ttlMs, set.length / 2, ...set, ...del])).then(() => undefined);
  }

  touch(id: string): void {
    if (this.closed) return;
    this.touched.add(id);
    this.touchTimer ??= setTimeout(() => this.flushTouches(), this.touchIntervalMs).unref();
  }

  async delete(id: string): Promise<void> {
    this.touched.delete(id);
    this.callsPending.delete(id);
    if (this.callsInFlight !== undefined) await this.callsInFlight; // a batch in flight must not bring the calls back
    await this.inOrder(id, () => this.redis.del(...sessionKeys(id)));
  }

  async claim(id: string, node: string, _isAlive: (node: string) => Promise<boolean>, expectedOwner?: string): Promise<ClaimOutcome> {
    const result = (await this.inOrder(id, () => this.scripts.claim([sessionKey(id)], [node, expectedOwner ?? '', NODE_KEY_PREFIX, this.ttlMs]))) as
      | [number, string]
      | null;
    if (result === null) return undefined;
    return result[0] === 1 ? { claimed: true, previousOwner: result[1] } : { claimed: false, owner: result[1] };
  }

  recordCalls(sessionId: string, calls: Map<RequestId, CallRecord | undefined>): void {
    if (this.closed || calls.size === 0) return;
    let pending = this.callsPending.get(sessionId);
    if (pending === undefined) this.callsPending.set(sessionId, (pending = new Map()));
    for (const [requestId, call] of calls) pending.set(JSON.stringify(requestId), call === undefined ? undefined : JSON.stringify(call));
    this.scheduleCalls();
  }

  async calls(sessionId: string): Promise<CallRecord[]> {
    if (this.callsPending.has(sessionId) || this.callsInFlight !== undefined) await this.drainCalls();
    const h = await retrying(this.redis, () => this.redis.hgetall(callsKey(sessionId)));
    return Object.values(h).map((v) => JSON.parse(v) as CallRecord);
  }

  /** Write what is pending now (touches and calls) and stop the timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    const touches = this.flushTouches();
    await Promise.all([touches, this.drainCalls(), ...this.chains.values()].map((p) => p.catch(() => {})));
    this.closed = true;
  }

  /** Stop without writing anything more (a simulated crash). */
  abandon(): void {
    this.closed = true;
    clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    this.touched.clear();
    this.callsPending.clear();
  }

  /** Runs `op` after the previous write of the same record from this node, retrying a cut-off command. */
  private inOrder<T>(id: string, op: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(id);
    const run = () => retrying(this.redis, op);
    const next = previous === undefined ? run() : previous.then(run, run);
    const tail = next.catch(() => {});
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return next;
  }

  private flushTouches(): Promise<void> {
    this.touchTimer = undefined;
    const ids = this.touched;
    if (ids.size === 0) return Promise.resolve();
    this.touched = new Set();
    const writes = [...ids].map((id) =>
      retrying(this.redis, () => this.scripts.touch(sessionKeys(id), [this.ttlMs])).catch((err) => this.logger?.warn({ err, sessionId: id }, 'could not refresh a session expiry in Redis')),
    );
    return Promise.all(writes).then(() => undefined);
  }

  /** Writes the pending call changes on the next tick (or once the batch in flight is written). */
  private scheduleCalls(): void {
    if (this.callsScheduled || this.callsInFlight !== undefined || this.closed) return;
    this.callsScheduled = true;
    setImmediate(() => {
      this.callsScheduled = false;
      void this.drainCalls();
    });
  }

  /** Writes the pending call changes, one batch at a time; resolves once what was pending when called is written. */
  private async drainCalls(): Promise<void> {
    while (this.callsInFlight !== undefined) await this.callsInFlight;
    if (this.callsPending.size === 0) return;
    const batch = this.callsPending;
    this.callsPending = new Map();
    this.callsInFlight = this.writeCalls(batch).finally(() => {
      this.callsInFlight = undefined;
      if (this.callsPending.size > 0) this.scheduleCalls();
    });
    await this.callsInFlight;
  }

  private async writeCalls(batch: Map<string, Map<string, string | undefined>>): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const [sessionId, changes] of batch) {
      const key = callsKey(sessionId);
      const set: string[] = [];
      const del: string[] = [];
      for (const [field, value] of changes) {
        if (value === undefined) del.push(field);
        else set.push(field, value);
      }
      if (set.length > 0) writes.push(retrying(this.redis, () => this.redis.hset(key, ...set)));
      if (del.length > 0) writes.push(retrying(this.redis, () => this.redis.hdel(key, ...del)));
      if (set.length > 0) writes.push(retrying(this.redis, () => this.redis.pexpire(key, this.ttlMs)));
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) if (r.status === 'rejected') this.logger?.error({ err: r.reason }, 'could not record calls in Redis');
  }
}
