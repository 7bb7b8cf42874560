// echo: a closed loop of tools/call echo {message}: `pipeline` calls in flight on each of `connections`
// sessions, each answered call immediately replaced by the next. Warm-up, then `duration` seconds
// measured: successful calls/s and send→result latency percentiles.
import { sessionFactory, toolParams } from './sessions.mjs';
import { openMany, closeMany, sessionErrors, serverRequests, sleep } from './open-many.mjs';
import { Latencies } from './latency.mjs';
import { cpuMeter, memoryOf, round } from './proc.mjs';

/** A message of `bytes` printable ASCII characters (no quote, no backslash: it is matched raw). */
export function payload(bytes) {
  const unit = 'realtime-mcp bench payload 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ. ';
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

/** One in-flight slot: its callback is bound once, so a call allocates no closure on our side. */
class Slot {
  constructor(run, session, params) {
    this.run = run;
    this.session = session;
    this.params = params;
    this.sentAt = 0;
    this.done = (err, raw, msg) => run.answered(this, err, raw, msg);
  }
  send() {
    this.sentAt = performance.now();
    this.run.inflight++;
    this.session.rpc.request('tools/call', this.params, this.done, this.run.tool);
  }
}

class EchoRun {
  constructor(o, message) {
    this.o = o;
    this.tool = o.tool;
    this.message = message;
    this.verify = o.verify !== false;
    this.measuring = false;
    this.running = true;
    this.ok = 0;
    this.errors = 0;
    this.errorSamples = [];
    this.inflight = 0;
    this.latencies = new Latencies(1 << 18);
  }
  fail(text) {
    this.errors++;
    if (this.errorSamples.length < 5) this.errorSamples.push(String(text).slice(0, 300));
  }
  answered(slot, err, raw, msg) {
    this.inflight--;
    if (this.measuring) {
      if (err) this.fail(err.message);
      else if (raw !== undefined) {
        if (raw.includes('"isError":true')) this.fail(`isError: ${raw.slice(0, 200)}`);
        else if (this.verify && !raw.includes(this.message)) this.fail(`echo mismatch: ${raw.slice(0, 200)}`);
        else { this.ok++; this.latencies.add(performance.now() - slot.sentAt); }
      } else if (msg?.result?.isError) this.fail(`isError: ${JSON.stringify(msg.result).slice(0, 200)}`);
      else if (this.verify && msg?.result?.content?.[0]?.text !== this.message) this.fail('echo mismatch');
      else { this.ok++; this.latencies.add(performance.now() - slot.sentAt); }
    }
    if (!this.running || slot.session.closed) return;
    if (err) setTimeout(() => slot.send(), 10); // no hot loop against a failing server
    else slot.send();
  }
}

export async function runEcho(o) {
  const factory = sessionFactory(o, o.connections * o.pipeline);
  const opened = await openMany(factory, o.connections, o.openConcurrency, {});
  const { sessions } = opened;
  if (!sessions.length) { await factory.destroy(); throw new Error(`no session opened: ${opened.errorSamples.join('; ')}`); }
  const message = payload(o.messageBytes);
  const run = new EchoRun(o, message);
  for (const s of sessions) {
    const params = toolParams(s, o.tool, { message });
    for (let w = 0; w < o.pipeline; w++) new Slot(run, s, params).send();
  }
  await sleep(o.warmup * 1000);
  const errors0 = sessionErrors(sessions).n;
  const t0 = performance.now();
  const cpu = cpuMeter(o.pids, o.watchCpus);
  run.measuring = true;
  await sleep(o.duration * 1000);
  run.measuring = false;
  const usage = cpu();
  const secs = (performance.now() - t0) / 1000;
  const mem = memoryOf(o.pids);
  run.running = false;
  const deadline = performance.now() + o.timeout * 1000;
  while (run.inflight > 0 && performance.now() < deadline) await sleep(20);
  const sessErr = sessionErrors(sessions);
  const pings = serverRequests(sessions);
  await closeMany(sessions);
  await factory.destroy();
  return {
    scenario: 'echo', connections: sessions.length, connections_failed: opened.failed, pipeline: o.pipeline,
    message_bytes: message.length, warmup_s: o.warmup, duration_s: round(secs),
    calls: run.ok, calls_per_s: round(run.ok / secs), errors: run.errors + sessErr.n - errors0,
    unanswered_at_end: run.inflight, server_requests_answered: pings,
    latency_ms: run.latencies.summary(),
    server_rss_bytes: mem?.rss ?? null, server_hwm_bytes: mem?.hwm ?? null, ...usage,
    error_samples: [...opened.errorSamples, ...run.errorSamples, ...sessErr.samples].slice(0, 5),
  };
}
