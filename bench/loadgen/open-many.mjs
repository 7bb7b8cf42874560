// Opening many sessions with a bounded number of handshakes in flight, and closing them again.

/** Runs fn over items, at most `limit` at once. */
export async function eachLimited(items, limit, fn) {
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; await fn(items[i], i); } };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Opens n sessions, `concurrency` at a time; returns { sessions, failed, errorSamples }. */
export async function openMany(factory, n, concurrency, openOptions) {
  const sessions = [];
  const errorSamples = [];
  let failed = 0;
  await eachLimited(Array.from({ length: n }, (_, i) => i), concurrency, async () => {
    const s = factory.create();
    try {
      await s.open(openOptions);
      sessions.push(s);
    } catch (e) {
      failed++;
      if (errorSamples.length < 5) errorSamples.push(String(e?.message ?? e).slice(0, 300));
      await s.close().catch(() => {});
    }
  });
  return { sessions, failed, errorSamples };
}

export const closeMany = (sessions, concurrency = 64) => eachLimited(sessions, concurrency, (s) => s.close().catch(() => {}));

/** JSON-RPC-level errors and samples gathered by the sessions' RpcPeers. */
export function sessionErrors(sessions) {
  let n = 0;
  const samples = [];
  for (const s of sessions) {
    n += s.rpc.errors;
    for (const e of s.rpc.errorSamples) if (samples.length < 5) samples.push(e);
  }
  return { n, samples };
}

export const serverRequests = (sessions) => sessions.reduce((a, s) => a + s.rpc.serverRequests, 0);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
