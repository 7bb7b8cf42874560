// The event log of a session in Redis, so that a client can resume on any node.
//
// Shape, and why:
//   - `append` is on the per-message path and must return the next sequence number at once: it bumps a
//     local counter per stream (safe: each stream has one writer at a time — a request stream is named
//     after the node that serves it, the session stream "g" is written by the session's owner), pushes
//     the text on the stream's pending batch and into a small local ring, and returns. No Redis call,
//     no promise (measured: under 0.2 µs per call, see bench/redis-log.mjs).
//   - once per loop turn (setImmediate) the factory writes every session's pending batches, all in ONE
//     script call (`APPEND_MANY` below); each (session, stream) batch adds ONE stream entry holding it
//     (`s` stream, `q` first seq, `d` texts joined with "\n" — JSON.stringify never writes a raw
//     newline; a text that has one switches the entry to an `l` list of lengths), records the stream's
//     newest seq (max, never backwards) in rmcp:s:<id>:seq, notes undelivered responses in
//     rmcp:s:<id>:undelivered, and pushes back the expiry of those keys. One batch per log is in flight
//     at a time: batches reach Redis in order, a batch cut off by a Redis restart is written again
//     before anything newer, and meanwhile the next batch grows (fewer, larger writes under load).
//   - bounded like the memory ring, by messages and bytes, not by entries: an entry holds a tick's
//     worth of messages (hundreds in a progress flood), so MAXLEN on entries would keep hundreds of
//     times too much. The script numbers entries by the session's running message count (entry id
//     `<m>-0`, m = messages logged so far, kept in the seq hash as `#m`) and trims with
//     `MINID <m - maxEvents + 1>`: exactly the entries holding the newest maxEvents messages survive
//     (the oldest one whole). The byte bound (maxBytes) is applied from this node's own entries (their
//     ids and sizes are known here): it passes the id of the oldest entry to keep.
//   - responses trimmed before anyone received them are reported as lost, once: the undelivered hash
//     holds `<stream>:<seq>` → request id, and `<stream>` → the stream's settled watermark (every seq at
//     or below it was replayed or reported). A replay reports the undelivered responses above
//     max(after, watermark) that it did not find in the log, and raises the watermark in the same
//     script, so two replays never report the same response and a late write of an undelivered mark
//     cannot make a replayed response reappear as lost. (So entries carry no list of their undelivered
//     responses: the hash and the watermark are all a replay needs.)
//   - a resume on the node that wrote the stream is served from the local ring when it holds every
//     event after the client's position (the common case: a WebSocket or SSE reconnect to the same
//     node): no Redis read. Otherwise `replay` writes what is pending, reads the log (XRANGE) and the
//     stream's newest seq in one MULTI, keeps this stream's events after the position in order
//     (duplicates from a retried write dropped), and settles the lost responses.
//   - `open()` loads the newest seq of every stream (a node continuing a session another node wrote).
//     `close()` deletes the session's log keys (fire and forget).
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Redis } from 'ioredis';
import { DEFAULTS } from '../../defaults.js';
import type { EventLog, EventLogFactory, ReplayResult } from '../../outbox/event-log.js';
import { defineScript, defineVariadicScript, retrying, type ScriptCall, type StoreLogger } from './connection.js';
import { logKey, seqKey, undeliveredKey } from './keys.js';
import { DEFAULT_SESSION_TTL_MS } from './session-store.js';

export interface RedisEventLogOptions {
  redis: Redis;
  /** Most events kept per session (EVENT_BUFFER_EVENTS); 0 keeps none (numbers still count). */
  maxEvents?: number;
  /** Most bytes of kept events per session (EVENT_BUFFER_BYTES, UTF-16 code units); the newest entry is always kept. */
  maxBytes?: number;
  /** Lifetime of the log keys after the last write (SESSION_TTL; the session store's touch extends it too). */
  sessionTtlMs?: number;
  /** Events kept in this node's ring per session for resumes that need no Redis read (default 256, at most maxEvents). */
  ringEvents?: number;
  /** Bytes kept in that ring per session (default 1 MiB; the newest event is always kept). */
  ringBytes?: number;
  /**
   * When pending batches are written: after this loop turn's I/O (`setImmediate`, the default) or at the
   * end of the current callback (`nextTick`). setImmediate gathers every socket read of a loop turn into
   * one batch per stream; nextTick buys no latency, since ioredis sends auto-pipelined commands from a
   * setImmediate anyway. Measured (bench/redis-log.mjs, 100k progress messages): setImmediate made
   * 27–34 writes against nextTick's 37–55, with less CPU per message in both Node and Redis.
   */
  flushOn?: 'nextTick' | 'setImmediate';
  logger?: StoreLogger;
}

export const DEFAULT_RING_EVENTS = 256;
export const DEFAULT_RING_BYTES = 1024 * 1024;
/** A batch Redis keeps refusing (not a connection problem) is dropped after this many tries. */
const MAX_WRITE_ATTEMPTS = 10;

// One batch: keys log, seq, undelivered of its session; a[1] stream, [2] first seq of the batch (0: no
// events, only undelivered marks or a raised seq), [3] last seq, [4] texts, [5] their lengths ('' when
// joined with "\n"), [6] max events, [7] lowest entry id to keep for the byte bound (0: none), [8] ttl ms,
// [9..] undelivered field/value pairs. Returns the entry's id number m (0 when nothing was added).
const APPEND_BATCH = `
local function appendBatch(klog, kseq, kund, a)
  local stream = a[1]
  local first = tonumber(a[2])
  local last = tonumber(a[3])
  local maxEvents = tonumber(a[6])
  local cur = tonumber(redis.call('HGET', kseq, stream) or '0')
  if last > cur then redis.call('HSET', kseq, stream, last) end
  local m = 0
  if first > 0 and maxEvents > 0 then
    local n = last - first + 1
    m = redis.call('HINCRBY', kseq, '#m', n)
    local fields = {'s', stream, 'q', a[2], 'd', a[4]}
    if a[5] ~= '' then fields[7] = 'l'; fields[8] = a[5] end
    local minid = math.max(m - maxEvents + 1, tonumber(a[7]), 0)
    local added = redis.pcall('XADD', klog, 'MINID', minid, m .. '-0', unpack(fields))
    if type(added) == 'table' and added.err then
      -- The counter is behind the log (the seq hash was lost, the log was not): go on after its top entry.
      local top = redis.call('XREVRANGE', klog, '+', '-', 'COUNT', 1)
      local topm = 0
      if top[1] then topm = tonumber(string.match(top[1][1], '^%d+')) end
      m = topm + n
      redis.call('HSET', kseq, '#m', m)
      minid = math.max(m - maxEvents + 1, tonumber(a[7]), 0)
      redis.call('XADD', klog, 'MINID', minid, m .. '-0', unpack(fields))
    end
    redis.call('PEXPIRE', klog, a[8])
  end
  if #a >= 9 then
    redis.call('HSET', kund, unpack(a, 9))
    redis.call('PEXPIRE', kund, a[8])
  end
  redis.call('PEXPIRE', kseq, a[8])
  return m
end
`;

// KEYS[1] log, KEYS[2] seq, KEYS[3] undelivered; ARGV the batch (above).
const APPEND = `${APPEND_BATCH}
return appendBatch(KEYS[1], KEYS[2], KEYS[3], ARGV)`;

// Several batches, of any sessions, in one script call: KEYS three per batch as above; ARGV[1] the
// number of batches, then per batch its argument count followed by its arguments. Returns each m, or
// -1 for a batch Redis refused (a key of the wrong type, say): that one alone is written again on its
// own, the others are in (a script is not rolled back, so failing the whole call would write them twice).
const APPEND_MANY = `${APPEND_BATCH}
local out = {}
local pos = 2
for i = 1, tonumber(ARGV[1]) do
  local argc = tonumber(ARGV[pos])
  local a = {}
  for j = 1, argc do a[j] = ARGV[pos + j] end
  pos = pos + argc + 1
  local ok, m = pcall(appendBatch, KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i], a)
  if ok then out[i] = m else out[i] = -1 end
end
return out`;
/** A shared call carries at most this many arguments (more batches wait for the next call, a bigger batch goes alone). */
const MAX_ARGS_PER_CALL = 10_000;
/** What APPEND_MANY answers for a batch it could not write. */
export const BATCH_REFUSED = -1;

// KEYS[1] undelivered. ARGV[1] stream, [2] the client's last seq, [3] the newest seq the replay saw,
// [4] new watermark, [5] ttl ms. Returns {seq, request id JSON, …}: the stream's undelivered responses in
// (max(after, watermark), newest seen], raises the watermark and forgets the fields at or below it.
const SETTLE = `
local stream = ARGV[1]
local w = tonumber(redis.call('HGET', KEYS[1], stream) or '0')
local from = math.max(w, tonumber(ARGV[2]))
local seen = tonumber(ARGV[3])
local nw = tonumber(ARGV[4])
local prefix = stream .. ':'
local out, stale = {}, {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, #prefix) == prefix then
    local s = tonumber(string.sub(f, #prefix + 1))
    if s then
      if s > from and s <= seen then out[#out + 1] = s; out[#out + 1] = all[i + 1] end
      if s <= nw then stale[#stale + 1] = f end
    end
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
if nw > w then
  redis.call('HSET', KEYS[1], stream, nw)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return out`;

interface StreamState {
  readonly name: string;
  /** The newest sequence number given out (or loaded by open()). */
  seq: number;
  /** Texts not written yet, from seq `pendingFirst` on. */
  pending: string[];
  pendingFirst: number;
  pendingBytes: number;
  /** Undelivered marks not written yet: field, value, field, value, … */
  pendingUndelivered: string[] | undefined;
  /** Some response on this stream was recorded undelivered by this node (a local replay settles them). */
  hadUndelivered: boolean;
  /** This node appended to the stream: its counter is the stream's, and its ring may answer replays. */
  writer: boolean;
  /** `seq` was raised by advance() and not written yet (a batch with no events carries it). */
  seqPending: boolean;
  /** A request stream that got its response: forgotten here once its batch has left (see complete()). */
  completed: boolean;
}

interface Batch {
  stream: StreamState;
  args: Array<string | number>;
  bytes: number;
}

/** The batches of one log waiting to leave with the turn's other logs (FlushScheduler.submit). */
interface Submitted {
  keys: readonly string[];
  batches: Batch[];
  resolve: (entryIds: number[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Shared by every log of one factory: one scheduled flush per tick for all dirty logs, whose batches
 * then leave in ONE script call (APPEND_MANY), not one per session stream. Measured: the Node side of a
 * script call (ioredis's command, its reply, the promises) and Redis's own per-call overhead cost about
 * as much as the batch's contents, and under WebSocket echo 32×8 a turn flushes many sessions at once.
 * It also knows which logs have writes in flight (not which logs exist: an idle log is referenced by
 * its session only).
 */
class FlushScheduler {
  private dirty: RedisEventLog[] = [];
  private scheduled = false;
  readonly writing = new Set<RedisEventLog>();
  private submitted: Submitted[] = [];

  constructor(
    private readonly on: 'nextTick' | 'setImmediate',
    private readonly redis: Redis,
    private readonly appendMany: ScriptCall,
    private readonly logger: StoreLogger | undefined,
  ) {}

  /**
   * Writes `batches` (of the log whose keys are `keys`) together with what every other log submits in
   * this turn. Resolves with each batch's entry id number (0: nothing added; BATCH_REFUSED: Redis
   * refused that batch); rejects when the call failed for good (the log then writes its batches one by one).
   */
  submit(keys: readonly string[], batches: Batch[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      // The scheduler's run() flushes every dirty log synchronously: they are all in before this runs.
      if (this.submitted.length === 0) queueMicrotask(this.sendSubmitted);
      this.submitted.push({ keys, batches, resolve, reject });
    });
  }

  /** Sends what was submitted, in calls of at most MAX_ARGS_PER_CALL arguments. */
  private readonly sendSubmitted = (): void => {
    const all = this.submitted;
    this.submitted = [];
    let chunk: Submitted[] = [];
    let size = 0;
    for (const g of all) {
      let argc = 0;
      for (const batch of g.batches) argc += 4 + batch.args.length;
      if (chunk.length > 0 && size + argc > MAX_ARGS_PER_CALL) {
        this.send(chunk);
        chunk = [];
        size = 0;
      }
      chunk.push(g);
      size += argc;
    }
    if (chunk.length > 0) this.send(chunk);
  };

  private send(group: Submitted[]): void {
    const keys: string[] = [];
    const args: Array<string | number> = [0];
    // Loops, not spreads: a batch can carry thousands of undelivered marks (a spread that large throws).
    for (const g of group) {
      for (const batch of g.batches) {
        for (const key of g.keys) keys.push(key);
        args.push(batch.args.length);
        for (const arg of batch.args) args.push(arg);
      }
    }
    args[0] = keys.length / 3;
    retrying(this.redis, () => this.appendMany(keys, args)).then(
      (reply) => {
        const ids = reply as Array<number | string>;
        let i = 0;
        for (const g of group) g.resolve(g.batches.map(() => Number(ids[i++] ?? 0)));
      },
      (err: unknown) => {
        this.logger?.error({ err, sessions: group.length }, 'could not write events to the Redis log in one call; each session retries on its own');
        for (const g of group) g.reject(err);
      },
    );
  }

  add(log: RedisEventLog): void {
    this.dirty.push(log);
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.on === 'nextTick') process.nextTick(this.run);
    else setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const logs = this.dirty;
    this.dirty = [];
    for (const log of logs) log.flush();
  };

  /**
   * Resolves once every log that had something to write has written it. Flushes the dirty logs now
   * instead of waiting for the tick, and only ever awaits writes in flight (real I/O): a loop of
   * resolved promises here would starve the very tick it waits for.
   */
  async flushed(): Promise<void> {
    for (;;) {
      if (this.dirty.length > 0) this.run();
      if (this.writing.size === 0) return;
      await Promise.all([...this.writing].map((log) => log.flushed()));
    }
  }
}

interface Shared {
  redis: Redis;
  append: ScriptCall;
  settle: ScriptCall;
  scheduler: FlushScheduler;
  logger: StoreLogger | undefined;
  maxEvents: number;
  maxBytes: number;
  ttlMs: number;
  ringEvents: number;
  ringBytes: number;
  /** Pending events per stream above which the oldest are dropped (twice the bound: trimming is amortized). */
  pendingLimit: number;
}

export class RedisEventLog implements EventLog {
  readonly sessionId: string;
  private readonly shared: Shared;
  private readonly keys: [string, string, string];
  private readonly streams = new Map<string, StreamState>();
  /** The local ring: the newest events this node appended (parallel arrays, allocated as they fill). */
  private readonly ringStream: StreamState[] = [];
  private readonly ringSeq: number[] = [];
  private readonly ringText: Array<string | undefined> = [];
  private ringHead = 0;
  private ringSize = 0;
  private ringBytes = 0;
  /** Queued for the next flush. */
  private dirty = false;
  private inFlight: Promise<void> | undefined;
  /** This node's entries still inside the byte bound, oldest first (their ids and sizes), and their total. */
  private readonly entries: Array<{ m: number; bytes: number }> = [];
  private entriesBytes = 0;
  /** The lowest entry id the byte bound keeps (0: the bound was never reached). */
  private minIdForBytes = 0;
  private closed = false;

  constructor(sessionId: string, shared: Shared) {
    this.sessionId = sessionId;
    this.shared = shared;
    this.keys = [logKey(sessionId), seqKey(sessionId), undeliveredKey(sessionId)];
  }

  append(stream: string, text: string, undeliveredResponse?: RequestId): number {
    const st = this.streams.get(stream) ?? this.addStream(stream);
    const seq = ++st.seq;
    st.writer = true;
    if (this.closed) return seq;
    if (st.pending.length === 0) st.pendingFirst = seq;
    st.pending.push(text);
    st.pendingBytes += text.length;
    // Bounded while a write is stuck (Redis away): amortized, the check is two comparisons.
    if (st.pending.length > this.shared.pendingLimit || st.pendingBytes > 2 * this.shared.maxBytes) this.trimPending(st);
    if (undeliveredResponse !== undefined) {
      (st.pendingUndelivered ??= []).push(`${stream}:${seq}`, JSON.stringify(undeliveredResponse));
      st.hadUndelivered = true;
    }
    if (this.shared.ringEvents > 0) this.ringPush(st, seq, text);
    if (!this.dirty) {
      this.dirty = true;
      this.shared.scheduler.add(this);
    }
    return seq;
  }

  lastSeq(stream: string): number {
    return this.streams.get(stream)?.seq ?? 0;
  }

  /**
   * A request stream got its response. Its state here goes once its events are on their way to Redis
   * (a replay then reads them there), so a long session does not keep one entry per request it ever
   * served, nor walk them all on every flush. Kept while a response on it waits undelivered: a local
   * replay settles those.
   */
  complete(stream: string): void {
    const st = this.streams.get(stream);
    if (st === undefined || st.hadUndelivered) return;
    if (st.pending.length === 0 && st.pendingUndelivered === undefined && !st.seqPending) this.streams.delete(stream);
    else st.completed = true;
  }

  advance(stream: string, seq: number): void {
    const st = this.streams.get(stream) ?? this.addStream(stream);
    // Pending events are numbered from pendingFirst on, one after the other: a gap cannot go in a batch.
    if (seq <= st.seq || this.closed || st.pending.length > 0) return;
    st.seq = seq;
    st.writer = true;
    st.seqPending = true;
    if (!this.dirty) {
      this.dirty = true;
      this.shared.scheduler.add(this);
    }
  }

  replay(stream: string, afterSeq: number): ReplayResult | Promise<ReplayResult> {
    if (this.closed) return { events: [], lostResponses: [] };
    const st = this.streams.get(stream);
    if (st?.writer) {
      // This node writes the stream, and everything after the client's position is in the ring (or there
      // is nothing after it): nothing was lost, no Redis read. What the client has or gets now is
      // settled: no later replay reports it as lost. (A stream another node writes is always read from
      // Redis: this node's idea of its newest seq may be old.)
      const events = afterSeq >= st.seq ? [] : this.ringEvents(st, afterSeq);
      if (events.length === Math.max(0, st.seq - afterSeq)) {
        if (st.hadUndelivered) {
          this.settle(stream, afterSeq, st.seq).catch((err) => this.shared.logger?.warn({ err, sessionId: this.sessionId }, 'could not settle replayed responses in Redis'));
        }
        return { events, lostResponses: [] };
      }
    }
    return this.replayFromRedis(stream, afterSeq);
  }

  async open(): Promise<void> {
    const { redis } = this.shared;
    const seqs = await retrying(redis, () => redis.hgetall(this.keys[1]));
    for (const [field, value] of Object.entries(seqs)) {
      if (field.startsWith('#')) continue;
      const st = this.streams.get(field) ?? this.addStream(field);
      st.seq = Math.max(st.seq, Number(value));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const st of this.streams.values()) {
      st.pending = [];
      st.pendingUndelivered = undefined;
    }
    this.ringStream.length = this.ringSeq.length = this.ringText.length = 0;
    this.ringHead = this.ringSize = this.ringBytes = 0;
    const { redis, logger } = this.shared;
    const del = () => retrying(redis, () => redis.del(...this.keys));
    const failed = (err: unknown) => logger?.warn({ err, sessionId: this.sessionId }, 'could not delete a session log in Redis');
    // After the batch in flight, so that it cannot bring the keys back.
    if (this.inFlight === undefined) del().catch(failed);
    else void this.inFlight.then(del).catch(failed);
  }

  /** This node stops using the log (the session lives on at another node): write what is pending, keep the keys. */
  release(): void {
    if (this.closed) return;
    void this.flushed().finally(() => {
      this.closed = true;
      this.ringStream.length = this.ringSeq.length = this.ringText.length = 0;
      this.ringHead = this.ringSize = this.ringBytes = 0;
    });
  }

  async peek(stream: string): Promise<ReplayResult['events']> {
    await this.flushed();
    const { redis } = this.shared;
    const entries = (await retrying(redis, () => redis.xrange(this.keys[0], '-', '+'))) as Array<[string, string[]]>;
    return decodeEvents(entries, stream, 0);
  }

  /** Resolves once everything appended so far is in Redis (replay does this before reading). */
  async flushed(): Promise<void> {
    for (;;) {
      if (this.inFlight !== undefined) {
        await this.inFlight;
        continue;
      }
      if (this.closed || !this.hasPending()) return;
      this.flush();
    }
  }

  /** Writes the pending batches (called once per tick by the scheduler); one write in flight at a time. */
  flush(): void {
    this.dirty = false;
    if (this.inFlight !== undefined || this.closed) return; // the write in flight schedules the next one
    const batches: Batch[] = [];
    for (const st of this.streams.values()) {
      if (st.pending.length === 0 && st.pendingUndelivered === undefined && !st.seqPending) continue;
      batches.push(this.takeBatch(st));
      if (st.completed && !st.hadUndelivered) this.streams.delete(st.name); // the batch carries what it had
    }
    if (batches.length === 0) return;
    this.shared.scheduler.writing.add(this);
    this.inFlight = this.write(batches).finally(() => {
      this.inFlight = undefined;
      this.shared.scheduler.writing.delete(this);
      if (!this.dirty && !this.closed && this.hasPending()) {
        this.dirty = true;
        this.shared.scheduler.add(this);
      }
    });
  }

  private addStream(name: string): StreamState {
    const st: StreamState = { name, seq: 0, pending: [], pendingFirst: 0, pendingBytes: 0, pendingUndelivered: undefined, hadUndelivered: false, writer: false, seqPending: false, completed: false };
    this.streams.set(name, st);
    return st;
  }

  private hasPending(): boolean {
    for (const st of this.streams.values()) if (st.pending.length > 0 || st.pendingUndelivered !== undefined || st.seqPending) return true;
    return false;
  }

  private ringPush(st: StreamState, seq: number, text: string): void {
    const capacity = this.shared.ringEvents;
    if (this.ringSize === capacity) this.ringEvict();
    const slot = (this.ringHead + this.ringSize) % capacity;
    this.ringStream[slot] = st;
    this.ringSeq[slot] = seq;
    this.ringText[slot] = text;
    this.ringSize++;
    this.ringBytes += text.length;
    while (this.ringBytes > this.shared.ringBytes && this.ringSize > 1) this.ringEvict();
  }

  private ringEvict(): void {
    const slot = this.ringHead;
    this.ringBytes -= this.ringText[slot]!.length;
    this.ringText[slot] = undefined;
    this.ringHead = (slot + 1) % this.shared.ringEvents;
    this.ringSize--;
  }

  /** The ring's events of `st` after `afterSeq`, oldest first. */
  private ringEvents(st: StreamState, afterSeq: number): ReplayResult['events'] {
    const events: ReplayResult['events'] = [];
    const capacity = this.shared.ringEvents;
    for (let i = 0; i < this.ringSize; i++) {
      const slot = (this.ringHead + i) % capacity;
      if (this.ringStream[slot] !== st) continue;
      const seq = this.ringSeq[slot]!;
      if (seq > afterSeq) events.push({ seq, text: this.ringText[slot]! });
    }
    return events;
  }

  /** Takes a stream's pending events and marks as one script call's arguments. */
  private takeBatch(st: StreamState): Batch {
    const { maxEvents, maxBytes, ttlMs } = this.shared;
    const last = st.seq;
    if (st.pending.length > maxEvents || st.pendingBytes > maxBytes) this.trimPending(st);
    const texts = st.pending;
    const first = st.pendingFirst;
    const bytes = st.pendingBytes;
    let data = '';
    let lengths = '';
    if (maxEvents > 0 && texts.length > 0) {
      let newline = false;
      for (const t of texts) if (t.includes('\n')) newline = true;
      data = texts.join(newline ? '' : '\n');
      if (newline) lengths = texts.map((t) => t.length).join(',');
    }
    const args: Array<string | number> = [st.name, maxEvents > 0 && texts.length > 0 ? first : 0, last, data, lengths, maxEvents, this.minIdForBytes, ttlMs];
    if (st.pendingUndelivered !== undefined) args.push(...st.pendingUndelivered);
    st.pending = [];
    st.pendingBytes = 0;
    st.pendingUndelivered = undefined;
    st.seqPending = false; // `last` carries it
    return { stream: st, args, bytes };
  }

  /**
   * Keeps only the newest maxEvents / maxBytes of a stream's pending events: older ones would be trimmed
   * at once, so they need not travel, nor pile up while Redis is away. Their undelivered marks stay.
   */
  private trimPending(st: StreamState): void {
    const { maxEvents, maxBytes } = this.shared;
    const texts = st.pending;
    let from = Math.max(0, texts.length - Math.max(maxEvents, 1));
    let kept = 0;
    for (let i = from; i < texts.length; i++) kept += texts[i]!.length;
    while (kept > maxBytes && from < texts.length - 1) kept -= texts[from++]!.length;
    if (from === 0) return;
    st.pending = texts.slice(from);
    st.pendingFirst += from;
    st.pendingBytes = kept;
  }

  private async write(batches: Batch[]): Promise<void> {
    const { redis, append, logger, scheduler } = this.shared;
    let refused = batches;
    try {
      const entryIds = await scheduler.submit(this.keys, batches);
      refused = [];
      for (let i = 0; i < batches.length; i++) {
        const m = entryIds[i]!;
        if (m === BATCH_REFUSED) refused.push(batches[i]!);
        else if (m > 0) this.noteEntry(m, batches[i]!.bytes);
      }
      if (refused.length === 0) return;
    } catch {
      // The shared call failed as a whole (the scheduler said so, once): each batch on its own now.
      // Some may be in already: written again, they are harmless (replay drops duplicate seqs).
      if (this.closed || redis.status === 'end') return;
    }
    await Promise.all(
      refused.map(async (batch) => {
        for (let attempt = 1; ; attempt++) {
          try {
            const m = Number(await retrying(redis, () => append(this.keys, batch.args)));
            if (m > 0) this.noteEntry(m, batch.bytes);
            return;
          } catch (err) {
            // A batch already written is harmless twice (duplicates are dropped on replay); a closed log stops.
            if (this.closed || redis.status === 'end') return;
            logger?.error({ err, sessionId: this.sessionId, stream: batch.stream.name }, 'could not write events to the Redis log; retrying');
            if (attempt >= MAX_WRITE_ATTEMPTS) return;
            await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2_000)));
          }
        }
      }),
    );
  }

  /** Remembers an entry this node wrote, for the byte bound. */
  private noteEntry(m: number, bytes: number): void {
    const { maxEvents, maxBytes } = this.shared;
    this.entries.push({ m, bytes });
    this.entriesBytes += bytes;
    // Entries past the count bound are trimmed by it anyway.
    while (this.entries.length > 1 && this.entries[0]!.m <= m - maxEvents) this.entriesBytes -= this.entries.shift()!.bytes;
    let trimmed = false;
    while (this.entries.length > 1 && this.entriesBytes > maxBytes) {
      this.entriesBytes -= this.entries.shift()!.bytes;
      trimmed = true;
    }
    if (trimmed) this.minIdForBytes = this.entries[0]!.m;
  }

  private settle(stream: string, afterSeq: number, seen: number): Promise<Array<string | number>> {
    const { redis, settle, ttlMs } = this.shared;
    return retrying(redis, () => settle([this.keys[2]], [stream, afterSeq, seen, Math.max(afterSeq, seen), ttlMs])) as Promise<Array<string | number>>;
  }

  private async replayFromRedis(stream: string, afterSeq: number): Promise<ReplayResult> {
    await this.flushed();
    const { redis } = this.shared;
    const [logKeyName, seqKeyName] = this.keys;
    const results = await retrying(redis, () => redis.multi().xrange(logKeyName, '-', '+').hget(seqKeyName, stream).exec());
    if (results === null) throw new Error('the replay read was aborted');
    const [[err1, entries], [err2, newest]] = results as [[Error | null, Array<[string, string[]]>], [Error | null, string | null]];
    if (err1) throw err1;
    if (err2) throw err2;
    const events = decodeEvents(entries, stream, afterSeq);
    const seen = Math.max(Number(newest ?? 0), events.length > 0 ? events[events.length - 1]!.seq : 0);
    const st = this.streams.get(stream);
    if (st !== undefined && !st.writer && seen > st.seq) st.seq = seen; // what another node wrote since open()
    const candidates = await this.settle(stream, afterSeq, seen);
    const lostResponses: RequestId[] = [];
    if (candidates.length > 0) {
      const replayed = new Set(events.map((e) => e.seq));
      for (let i = 0; i < candidates.length; i += 2) {
        if (!replayed.has(Number(candidates[i]))) lostResponses.push(JSON.parse(String(candidates[i + 1])) as RequestId);
      }
    }
    return { events, lostResponses };
  }
}

/** The events of `stream` after `afterSeq` in the log's entries, in order, each once. */
export function decodeEvents(entries: Array<[string, string[]]>, stream: string, afterSeq: number): ReplayResult['events'] {
  const events: ReplayResult['events'] = [];
  let sorted = true;
  for (const [, fields] of entries) {
    let s: string | undefined, q: string | undefined, d: string | undefined, l: string | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const f = fields[i];
      if (f === 's') s = fields[i + 1];
      else if (f === 'q') q = fields[i + 1];
      else if (f === 'd') d = fields[i + 1];
      else if (f === 'l') l = fields[i + 1];
    }
    if (s !== stream || q === undefined || d === undefined) continue;
    const first = Number(q);
    const texts = l === undefined ? d.split('\n') : splitByLengths(d, l);
    if (first + texts.length - 1 <= afterSeq) continue;
    for (let i = 0; i < texts.length; i++) {
      const seq = first + i;
      if (seq <= afterSeq) continue;
      if (events.length > 0 && seq <= events[events.length - 1]!.seq) sorted = false;
      events.push({ seq, text: texts[i]! });
    }
  }
  if (sorted) return events;
  // A batch written twice, or out of order after a restart: sort and keep each seq once.
  events.sort((a, b) => a.seq - b.seq);
  return events.filter((e, i) => i === 0 || e.seq !== events[i - 1]!.seq);
}

function splitByLengths(data: string, lengths: string): string[] {
  const texts: string[] = [];
  let at = 0;
  for (const n of lengths.split(',')) {
    const len = Number(n);
    texts.push(data.slice(at, at + len));
    at += len;
  }
  return texts;
}

export interface RedisEventLogFactoryOptions extends RedisEventLogOptions {}

export class RedisEventLogFactory implements EventLogFactory {
  private readonly shared: Shared;

  constructor(options: RedisEventLogFactoryOptions) {
    const maxEvents = options.maxEvents ?? DEFAULTS.EVENT_BUFFER_EVENTS;
    const redis = options.redis;
    this.shared = {
      redis,
      append: defineScript(redis, 'rmcpLogAppend', 3, APPEND),
      settle: defineScript(redis, 'rmcpLogSettle', 1, SETTLE),
      scheduler: new FlushScheduler(options.flushOn ?? 'setImmediate', redis, defineVariadicScript(redis, 'rmcpLogAppendMany', APPEND_MANY), options.logger),
      logger: options.logger,
      maxEvents,
      maxBytes: options.maxBytes ?? DEFAULTS.EVENT_BUFFER_BYTES,
      ttlMs: options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
      ringEvents: Math.min(options.ringEvents ?? DEFAULT_RING_EVENTS, maxEvents),
      ringBytes: options.ringBytes ?? DEFAULT_RING_BYTES,
      pendingLimit: 2 * Math.max(maxEvents, 1) + 64,
    };
  }

  create(sessionId: string): RedisEventLog {
    return new RedisEventLog(sessionId, this.shared);
  }

  /** Resolves once everything appended to any log of this factory is in Redis (graceful shutdown). */
  flushed(): Promise<void> {
    return this.shared.scheduler.flushed();
  }
}
