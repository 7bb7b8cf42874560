// progress: tools/call process_batch {count, delayMs} with a progressToken, after one unmeasured
// warm-up call. notifications/s = progress notifications received ÷ time from request to result;
// lost = count − notifications received before the result (those after it are counted apart).
import { sessionFactory, toolParams } from './sessions.mjs';
import { newProgressToken } from './rpc.mjs';
import { openMany, closeMany, sessionErrors, serverRequests, sleep } from './open-many.mjs';
import { cpuMeter, memoryOf, round } from './proc.mjs';

/**
 * One call on one session. Returns { result, settled }: result resolves when the result is in;
 * settled when late notifications had 200 ms more to show up (then r.notifications_after_result is set).
 */
function oneCall(o, session, count) {
  let settle;
  const settled = new Promise((resolve) => { settle = resolve; });
  const result = new Promise((resolve) => {
    const token = newProgressToken();
    let received = 0, afterResult = 0, outOfOrder = 0, last = 0, firstAt = null, done = false;
    session.rpc.watchProgress(token, (p) => {
      if (done) { afterResult++; return; }
      if (firstAt === null) firstAt = performance.now();
      received++;
      if (p <= last) outOfOrder++;
      last = p;
    });
    const params = toolParams(session, o.progressTool, { count, delayMs: o.delayMs }, token);
    const t0 = performance.now();
    session.rpc.request('tools/call', params, (err, raw, msg) => {
      const t1 = performance.now();
      done = true;
      const isError = err ? false : raw !== undefined ? raw.includes('"isError":true') : msg?.result?.isError === true;
      const r = {
        ok: !err && !isError, error: err ? err.message : isError ? `isError: ${(raw ?? JSON.stringify(msg)).slice(0, 200)}` : undefined,
        notifications: received, out_of_order: outOfOrder,
        time_to_first_ms: firstAt === null ? null : round(firstAt - t0),
        time_to_result_ms: round(t1 - t0),
        notifications_per_s: round(received / ((t1 - t0) / 1000)),
      };
      resolve(r);
      sleep(200).then(() => {
        session.rpc.unwatchProgress(token);
        r.notifications_after_result = afterResult;
        settle();
      });
    }, o.progressTool);
  });
  return { result, settled };
}

async function callAll(o, sessions, count) {
  const calls = sessions.map((s) => oneCall(o, s, count));
  const results = await Promise.all(calls.map((c) => c.result));
  return { results, settled: Promise.all(calls.map((c) => c.settled)) };
}

const median = (xs) => { const s = xs.filter((x) => x != null).sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : null; };

export async function runProgress(o) {
  const factory = sessionFactory(o, o.connections * 2);
  const opened = await openMany(factory, o.connections, o.openConcurrency, {});
  const { sessions } = opened;
  if (!sessions.length) { await factory.destroy(); throw new Error(`no session opened: ${opened.errorSamples.join('; ')}`); }
  if (o.warmupCount > 0) await (await callAll(o, sessions, o.warmupCount)).settled;
  const mem0 = memoryOf(o.pids);
  const runs = [];
  for (let r = 0; r < o.repeat; r++) {
    const cpu = cpuMeter(o.pids, o.watchCpus);
    const t0 = performance.now();
    const { results: calls, settled } = await callAll(o, sessions, o.count);
    const usage = cpu();
    const wall = performance.now() - t0;
    await settled;
    const total = calls.reduce((a, c) => a + c.notifications, 0);
    const slowest = Math.max(...calls.map((c) => c.time_to_result_ms));
    runs.push({
      wall_ms: round(wall), total_notifications: total,
      aggregate_notifications_per_s: round(total / (slowest / 1000)), per_session: calls, ...usage,
    });
  }
  const mem1 = memoryOf(o.pids);
  const sessErr = sessionErrors(sessions);
  const pings = serverRequests(sessions);
  await closeMany(sessions);
  await factory.destroy();
  const per = runs.flatMap((r) => r.per_session);
  return {
    scenario: 'progress', connections: sessions.length, connections_failed: opened.failed,
    count: o.count, delay_ms: o.delayMs, repeat: o.repeat,
    notifications_per_s: median(runs.map((r) => r.aggregate_notifications_per_s)),
    time_to_first_ms: median(runs.map((r) => (r.per_session.some((c) => c.time_to_first_ms === null) ? null : Math.max(...r.per_session.map((c) => c.time_to_first_ms))))),
    time_to_result_ms: median(runs.map((r) => Math.max(...r.per_session.map((c) => c.time_to_result_ms)))),
    lost_notifications: runs.reduce((a, r) => a + o.count * sessions.length - r.total_notifications, 0),
    notifications_after_result: per.reduce((a, c) => a + c.notifications_after_result, 0),
    out_of_order: per.reduce((a, c) => a + c.out_of_order, 0),
    errors: per.filter((c) => !c.ok).length + sessErr.n, server_requests_answered: pings,
    server_cpu_pct: median(runs.map((r) => r.server_cpu_pct)), client_cpu_pct: median(runs.map((r) => r.client_cpu_pct)),
    cpus: runs[0]?.cpus,
    server_rss_before: mem0?.rss ?? null, server_rss_after: mem1?.rss ?? null, server_hwm_bytes: mem1?.hwm ?? null,
    runs, error_samples: [...opened.errorSamples, ...per.map((c) => c.error).filter(Boolean), ...sessErr.samples].slice(0, 5),
  };
}
