// idle: memory per open, idle session. Two warm sessions first (lazily loaded server code is then in the
// baseline), a forced GC (SIGUSR2 with --gc-signal: the server runs gc() on it) and an RSS reading; then
// `sessions` sessions opened `openConcurrency` at a time; after `settle` seconds RSS is read again
// without and with a forced GC. KiB/session = RSS growth ÷ sessions. HTTP sessions keep a GET SSE
// stream open (legacy SSE always has one; Streamable opens GET /mcp). A sample of 20 is pinged at
// the end to show the sessions were alive; then all are closed and RSS is read once more.
import { sessionFactory } from './sessions.mjs';
import { openMany, closeMany, sessionErrors, sleep } from './open-many.mjs';
import { memoryOf, round } from './proc.mjs';

function forceGc(o) {
  if (!o.gcSignal) return 0;
  for (const pid of o.pids) { try { process.kill(pid, 'SIGUSR2'); } catch { /* gone */ } }
  return 500; // give the GC time to finish before reading RSS
}

export async function runIdle(o) {
  const factory = sessionFactory(o, o.openConcurrency);
  const openOptions = { getStream: true };
  const warm = await openMany(factory, 2, 2, openOptions);
  if (!warm.sessions.length) { await factory.destroy(); throw new Error(`no session opened: ${warm.errorSamples.join('; ')}`); }
  await Promise.all(warm.sessions.map((s) => s.rpc.call('ping').catch(() => {})));
  await sleep(forceGc(o) + o.settle * 1000);
  const before = memoryOf(o.pids);

  const t0 = performance.now();
  const opened = await openMany(factory, o.sessions, o.openConcurrency, openOptions);
  const openSecs = (performance.now() - t0) / 1000;
  const { sessions } = opened;
  await sleep(o.settle * 1000);
  const noGc = memoryOf(o.pids);
  await sleep(forceGc(o));
  const after = memoryOf(o.pids);

  const step = Math.max(1, Math.floor(sessions.length / 20));
  const sample = sessions.filter((_, i) => i % step === 0).slice(0, 20);
  let pingOk = 0;
  await Promise.all(sample.map((s) => s.rpc.call('ping').then(() => { pingOk++; }, () => {})));
  const alive = sessions.filter((s) => !s.closed && s.streamOpen !== false).length;
  const sessErr = sessionErrors(sessions);

  await closeMany([...sessions, ...warm.sessions]);
  await sleep(o.settleAfterClose * 1000);
  await sleep(forceGc(o));
  const closed = memoryOf(o.pids);
  await factory.destroy();
  const per = (a, b) => (a && b && sessions.length ? Math.round((b.rss - a.rss) / sessions.length) : null);
  return {
    scenario: 'idle', sessions: sessions.length, sessions_failed: opened.failed, open_concurrency: o.openConcurrency,
    open_s: round(openSecs), sessions_per_s: round(sessions.length / openSecs),
    rss_before: before?.rss ?? null, rss_after_nogc: noGc?.rss ?? null, rss_after: after?.rss ?? null,
    rss_after_close: closed?.rss ?? null, hwm: after?.hwm ?? null,
    bytes_per_session: per(before, after), bytes_per_session_nogc: per(before, noGc),
    ping_sample: sample.length, ping_ok: pingOk, alive_at_end: alive,
    errors: sessErr.n, error_samples: [...opened.errorSamples, ...sessErr.samples].slice(0, 5),
  };
}
