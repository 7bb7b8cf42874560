// Micro-benchmark of the event log: the Redis log (STORE=redis) against the memory ring (STORE=memory),
// on the path a progress flood takes. Prints numbers; asserts nothing about time.
//
//   node --import tsx bench/redis-log.mjs [--messages 100000] [--rounds 3]
//
// Starts its own redis-server on a free loopback port (test/helpers/redis-server.ts), or uses REDIS_URL
// when set. For each store it appends `--messages` progress notifications (~180 bytes of JSON each) to
// one session's stream "g" as fast as it can, yielding to the event loop (setImmediate) every 2 ms as
// the server's process_batch tool does, then waits until the Redis log has everything (durable).
//
//   append       µs per append() call alone, with the texts built beforehand (the per-message cost
//                the outbox pays; the target is ~1 µs)
//   msgs/s       messages per second of the whole loop: JSON.stringify + append, yields included,
//                until the last message is in Redis
//   cpu µs/msg   this process's CPU (user + system) per message, ioredis included
//   flush        JS time inside the per-tick flush (building the batch and its command), per call and
//                per message; `writes` is the number of script calls (one per turn: every session's batches together)
//   redis µs/msg redis-server's CPU per message
//
// Variants: memory; redis with the flush after the loop turn's I/O (setImmediate, the default) and at
// the end of the current callback (nextTick). The median of the rounds is printed.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { MemoryEventLogFactory } from '../src/outbox/memory-event-log.ts';
import { RedisEventLogFactory } from '../src/stores/redis/event-log.ts';
import { redisOptions } from '../src/stores/redis/connection.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.messages);
const ROUNDS = Number(values.rounds);
const SLICE_MS = 2;

const server = process.env.REDIS_URL ? undefined : await startRedisServer();
const url = process.env.REDIS_URL ?? server.url;
const redis = new Redis(url, redisOptions('commands', 'bench'));
await new Promise((resolve, reject) => { redis.once('ready', resolve); redis.once('error', reject); });

function progressText(i) {
  return JSON.stringify({
    jsonrpc: '2.0',
    method: 'notifications/progress',
    params: { progressToken: 'process-batch-7f3a', progress: i, total: N, message: `processed item ${i} of ${N} (batch 1/1)` },
  });
}

const yieldToLoop = () => new Promise((r) => setImmediate(r));

/** append() alone: texts built beforehand, timed per slice, yields excluded. */
async function appendCost(log) {
  const texts = Array.from({ length: N }, (_, i) => progressText(i));
  let inAppend = 0;
  for (let i = 0; i < N; ) {
    const t0 = performance.now();
    const end = Math.min(N, i + 4096);
    for (; i < end; i++) log.append('g', texts[i]);
    inAppend += performance.now() - t0;
    await yieldToLoop();
  }
  if (log.flushed) await log.flushed();
  return (inAppend * 1000) / N;
}

/** The flood as process_batch sends it: stringify + append, a yield every 2 ms, until durable. */
async function flood(log) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  while (i < N) {
    const sliceEnd = performance.now() + SLICE_MS;
    do {
      log.append('g', progressText(i));
      i++;
    } while (i < N && ((i & 31) !== 0 || performance.now() < sliceEnd));
    await yieldToLoop();
  }
  if (log.flushed) await log.flushed();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: (N / ms) * 1000, cpuPerMsg: (cpu.user + cpu.system) / N };
}

async function redisStats() {
  const info = (await redis.info('cpu')) + (await redis.info('commandstats'));
  const num = (re) => Number(re.exec(info)?.[1] ?? 0);
  return { cpu: num(/used_cpu_user:([\d.]+)/) + num(/used_cpu_sys:([\d.]+)/), scripts: num(/cmdstat_evalsha:calls=(\d+)/) + num(/cmdstat_eval:calls=(\d+)/) };
}

/** Times the per-tick flush of one log (the scheduler calls log.flush()). */
function timeFlushes(log) {
  const timing = { ms: 0, calls: 0 };
  const flush = log.flush.bind(log);
  log.flush = () => {
    const t0 = performance.now();
    flush();
    timing.ms += performance.now() - t0;
    timing.calls++;
  };
  return timing;
}

const variants = {
  memory: () => new MemoryEventLogFactory({ maxEvents: 1000 }),
  'redis (nextTick)': () => new RedisEventLogFactory({ redis, maxEvents: 1000, flushOn: 'nextTick' }),
  'redis (setImmediate)': () => new RedisEventLogFactory({ redis, maxEvents: 1000, flushOn: 'setImmediate' }),
};

const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
let session = 0;
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, make] of Object.entries(variants)) {
    const factory = make();
    const costLog = factory.create(`bench-${process.pid}-${++session}`);
    const append = await appendCost(costLog);
    costLog.close();
    const log = factory.create(`bench-${process.pid}-${++session}`);
    const flushTiming = log.flush ? timeFlushes(log) : undefined;
    const before = name === 'memory' ? undefined : await redisStats();
    global.gc?.();
    const { rate, cpuPerMsg } = await flood(log);
    const after = before === undefined ? undefined : await redisStats();
    const writes = after ? after.scripts - before.scripts : 0;
    if (after) {
      // Check that it is all there: the same count, in order.
      const other = factory.create(log.sessionId);
      await other.open();
      if (other.lastSeq('g') !== N) throw new Error(`redis log has ${other.lastSeq('g')} of ${N}`);
    }
    log.close();
    results[name].push({
      append,
      rate,
      cpuPerMsg,
      flushPerCallUs: flushTiming && flushTiming.calls ? (flushTiming.ms * 1000) / flushTiming.calls : 0,
      flushPerMsgUs: flushTiming ? (flushTiming.ms * 1000) / N : 0,
      writes,
      batch: writes ? N / writes : 0,
      redisPerMsgUs: after ? ((after.cpu - before.cpu) * 1e6) / N : 0,
    });
    process.stderr.write(`round ${round} ${name}: ${Math.round(rate).toLocaleString('en')} msgs/s\n`);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, d = 2) => x.toFixed(d);
const memRate = median(results.memory.map((r) => r.rate));
console.log(`\nevent log, ${N.toLocaleString('en')} progress messages of ~${progressText(N - 1).length} bytes, one session, yield every ${SLICE_MS} ms; median of ${ROUNDS} rounds; Node ${process.version}\n`);
console.log('| store | append µs/msg | msgs/s (until durable) | × memory | cpu µs/msg | flush µs/call | flush µs/msg | writes | msgs/write | redis µs/msg |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [name, rs] of Object.entries(results)) {
  const m = (k) => median(rs.map((r) => r[k]));
  const redisCol = (v, d) => (name === 'memory' ? '–' : fmt(v, d));
  console.log(`| ${name} | ${fmt(m('append'), 3)} | ${Math.round(m('rate')).toLocaleString('en')} | ${fmt(m('rate') / memRate)} | ${fmt(m('cpuPerMsg'))} | ${redisCol(m('flushPerCallUs'), 1)} | ${redisCol(m('flushPerMsgUs'), 3)} | ${name === 'memory' ? '–' : m('writes')} | ${redisCol(m('batch'), 0)} | ${redisCol(m('redisPerMsgUs'), 3)} |`);
}

await redis.quit();
await server?.stop();
