// Command line of the load generator: `--key value`, `--key=value`, `--flag`, `--no-flag`.
const FLAGS = new Set(['json', 'verify', 'gc-signal', 'stateless', 'help']);

export const USAGE = `usage: node bench/loadgen/main.mjs <echo|progress|idle> --transport ws|sse|streamable --url URL [options]
  --pid P[,P...]        server process(es): RSS and CPU% from /proc (summed)
  --watch-cpus C[,C]    also report how busy these CPUs were (all processes) and their steal time
  --json                print the result as one JSON line on stdout (a summary always goes to stderr)
  --label L             copied into the result
  --token T             Authorization: Bearer T on every upgrade / request
  --protocol-version V  initialize.protocolVersion (default 2025-11-25; sse: 2024-11-05)
  --stateless           streamable only: MCP 2026-07-28 stateless requests (no initialize, no session)
  --timeout S           wait this long for calls still in flight at the end (default 30)
echo:     --connections N (1) --pipeline W (1) --duration S (8) --warmup S (2) --message-bytes B (100)
          --tool NAME (echo) --no-verify
progress: --count N (100000) --delay-ms MS (0) --connections N (1) --repeat R (1) --warmup-count N (1000)
          --tool NAME (process_batch)
idle:     --sessions N (2000) --open-concurrency K (64) --settle S (2) --settle-after-close S (0.5) --gc-signal`;

export function parseOptions(argv) {
  const raw = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { raw._.push(a); continue; }
    let key = a.slice(2);
    let value;
    const eq = key.indexOf('=');
    if (eq >= 0) { value = key.slice(eq + 1); key = key.slice(0, eq); }
    if (key.startsWith('no-') && FLAGS.has(key.slice(3))) { raw[key.slice(3)] = false; continue; }
    if (FLAGS.has(key)) { raw[key] = value === undefined ? true : value !== 'false'; continue; }
    if (value === undefined) value = argv[++i];
    if (value === undefined) throw new Error(`missing value for --${key}`);
    raw[key] = value;
  }
  const scenario = raw._[0];
  const num = (k, d) => (raw[k] === undefined ? d : Number(raw[k]));
  const transport = raw.transport ?? 'ws';
  const headers = raw.token ? { authorization: `Bearer ${raw.token}` } : {};
  const o = {
    help: raw.help === true, scenario, transport, url: raw.url, label: raw.label, json: raw.json === true,
    pids: String(raw.pid ?? '').split(',').filter(Boolean).map(Number),
    watchCpus: String(raw['watch-cpus'] ?? '').split(',').filter(Boolean),
    headers, subprotocol: raw.subprotocol ?? 'mcp', stateless: raw.stateless === true,
    protocolVersion: raw['protocol-version'] ?? (transport === 'sse' ? '2024-11-05' : '2025-11-25'),
    timeout: num('timeout', 30), openConcurrency: num('open-concurrency', scenario === 'idle' ? 64 : 32),
    connections: num('connections', 1), pipeline: num('pipeline', 1),
    duration: num('duration', 8), warmup: num('warmup', 2), messageBytes: num('message-bytes', 100),
    tool: raw.tool ?? 'echo', verify: raw.verify !== false,
    count: num('count', 100_000), delayMs: num('delay-ms', 0), repeat: num('repeat', 1), warmupCount: num('warmup-count', 1000),
    progressTool: raw.tool ?? 'process_batch',
    sessions: num('sessions', 2000), settle: num('settle', 2), settleAfterClose: num('settle-after-close', 0.5), gcSignal: raw['gc-signal'] === true,
  };
  if (o.stateless && transport !== 'streamable') throw new Error('--stateless is for --transport streamable');
  return o;
}
