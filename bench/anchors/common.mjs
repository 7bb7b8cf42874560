// What every anchor server shares: `--port P [--host H]`, the `READY <port>` line the bench waits for,
// a full GC on SIGUSR2 when started with --expose-gc (idle memory readings), a clean exit on SIGTERM
// (so `node --cpu-prof` writes its profile), and the yield rule of process_batch.
import { setImmediate as nextTurn } from 'node:timers/promises';

export function anchorOptions(argv = process.argv.slice(2)) {
  const value = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d; };
  return { port: Number(value('port', 0)), host: value('host', '127.0.0.1'), flag: (k) => argv.includes(`--${k}`) };
}

export function installProcessHooks() {
  process.on('SIGUSR2', () => { if (typeof globalThis.gc === 'function') { globalThis.gc(); globalThis.gc(); } });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
}

/** Listens and prints `READY <port>` once listening. */
export function listen(server, { port, host }) {
  server.listen(port, host, () => process.stdout.write(`READY ${server.address().port}\n`));
}

export const SERVER_INFO = { name: 'realtime-mcp-bench-anchor', version: '1.0.0' };

/** process_batch yields to the event loop (setImmediate) once this many ms of work have run. */
export const YIELD_EVERY_MS = 2;

/** Returns a function to call once per item: it resolves at once, or after a yield when the slice is used up. */
export function yielder() {
  let since = performance.now();
  return () => {
    const now = performance.now();
    if (now - since < YIELD_EVERY_MS) return undefined;
    return nextTurn().then(() => { since = performance.now(); });
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
