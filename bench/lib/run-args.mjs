// The command line of bench/run.mjs, with its defaults (and --quick's).
export const METRICS = ['echo1', 'echo32', 'progress', 'idle'];
export const GROUPS = ['anchors', 'store', 'cluster', 'cluster-pinned', 'stateless'];
const FLAGS = new Set(['profile', 'help', 'default-limits', 'quick', 'force-compare']);

export function parseRunArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    let key = arg.slice(2);
    let value;
    const eq = key.indexOf('=');
    if (eq >= 0) { value = key.slice(eq + 1); key = key.slice(0, eq); }
    if (key.startsWith('no-')) { a[key.slice(3)] = false; continue; }
    if (FLAGS.has(key)) { a[key] = true; continue; }
    if (value === undefined) value = argv[++i];
    if (value === undefined) throw new Error(`missing value for --${key}`);
    a[key] = value;
  }
  return a;
}

const list = (v, d) => String(v ?? d).split(',').map((x) => x.trim()).filter(Boolean);

/** Validated settings; throws with a message naming the bad option. */
export function settings(a, { TRANSPORTS, ANCHORS }) {
  const quick = a.quick === true;
  const num = (k, full, q) => {
    const v = Number(a[k] ?? (quick ? q : full));
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} wants a number`);
    return v;
  };
  const cfg = {
    quick,
    profile: a.profile === true,
    rounds: num('rounds', 3, 1),
    duration: num('duration', 8, 2),
    warmup: num('warmup', 2, 1),
    count: num('count', 100_000, 20_000),
    sessions: num('sessions', 2000, 300),
    settle: num('settle', 2, 1),
    waitQuiet: num('wait-quiet', 0, 0),
    serverCpu: String(a['server-cpu'] ?? 0),
    clientCpu: String(a['client-cpu'] ?? 1),
    metrics: list(a.metrics, METRICS.join(',')),
    transports: list(a.transport, Object.keys(TRANSPORTS).join(',')),
    // Everything by default (a group the machine cannot run is skipped, saying why); --compare picks.
    groups: a.compare === undefined ? GROUPS : list(a.compare, ''),
    forceCompare: a['force-compare'] === true,
    extraAnchors: list(a['extra-anchors'], ''),
    anchor: a.anchor !== false,
    build: a.build !== false,
    defaultLimits: a['default-limits'] === true,
    token: a.token,
    out: a.out,
    serverEntry: a['server-entry'],
    baselineEntry: a['baseline-entry'],
    serverEnv: Object.fromEntries(list(a['server-env'], '').map((kv) => {
      const i = kv.indexOf('=');
      if (i <= 0) throw new Error(`--server-env wants K=V, got ${kv}`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    })),
  };
  for (const m of cfg.metrics) if (!METRICS.includes(m)) throw new Error(`unknown metric ${m} (known: ${METRICS.join(', ')})`);
  for (const t of cfg.transports) if (!TRANSPORTS[t]) throw new Error(`unknown transport ${t} (known: ${Object.keys(TRANSPORTS).join(', ')})`);
  for (const g of cfg.groups) if (!GROUPS.includes(g)) throw new Error(`unknown comparison ${g} (known: ${GROUPS.join(', ')})`);
  for (const x of cfg.extraAnchors) if (!ANCHORS[x]) throw new Error(`unknown anchor ${x} (known: ${Object.keys(ANCHORS).join(', ')})`);
  if (cfg.rounds < 1) throw new Error('--rounds wants at least 1');
  return cfg;
}
