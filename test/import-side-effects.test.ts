// Importing the package (plugins/index.ts) has no side effects: it loads no configuration (a `.env` in
// the working directory stays unread) and no native image library (sharp). Registering the plugin, even
// with the built-in tools, does not load them either; only converting an image loads sharp.
//
// Each case runs in a fresh Node process (through tsx, cwd = a temp dir with a `.env` setting a marker)
// that reports what it loaded, seen three independent ways:
//   - an ESM loader hook (registered with --import after tsx) records every resolved URL: this is the one
//     that sees sharp's own modules, because the package loads sharp with `import('sharp')`, which picks
//     sharp's ESM build (dist/*.mjs) — those never appear in require.cache;
//   - require.cache (via createRequire): sharp's ESM build loads its native binding with require(), so
//     `@img/sharp-<platform>/…/sharp-<platform>.node` shows up there;
//   - /proc/self/maps: libvips is mapped into the process once the binding is loaded.
// The positive controls (import('sharp') itself, and a real process_images conversion) prove that each
// detector sees sharp when it is loaded, and that the marker is picked up when the config is loaded.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const MARKER = 'REALTIME_MCP_IMPORT_TEST_MARKER';

/** Absolute URLs for the child (its cwd is a temp dir, so bare specifiers would not resolve there). */
const urls = {
  tsx: import.meta.resolve('tsx'),
  pkg: pathToFileURL(join(root, 'plugins/index.ts')).href,
  sharp: import.meta.resolve('sharp'),
  fastify: import.meta.resolve('fastify'),
  sdkClient: import.meta.resolve('@modelcontextprotocol/sdk/client/index.js'),
  sdkStreamable: import.meta.resolve('@modelcontextprotocol/sdk/client/streamableHttp.js'),
};

/** A 1×1 PNG. */
const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

const HOOKS = `
import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(out, result.url + '\\n');
  return result;
}
`;
const REGISTER = `
import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url), { data: { out: process.env.RESOLVED_URLS_FILE } });
`;

/** The end of every child script: report what the process has loaded. */
const REPORT = `
import { createRequire as __createRequire } from 'node:module';
import { readFileSync as __read, existsSync as __exists } from 'node:fs';
const __maps = __exists('/proc/self/maps') ? __read('/proc/self/maps', 'utf8') : undefined;
process.stdout.write('REPORT ' + JSON.stringify({
  marker: process.env.${MARKER} ?? null,
  requireCache: Object.keys(__createRequire(import.meta.url).cache),
  libvipsMapped: __maps === undefined ? null : /libvips/.test(__maps),
  extra: globalThis.__extra ?? null,
}) + '\\n');
`;

const serveAndCall = (tools: string, call: string) => `
const m = await import(${JSON.stringify(urls.pkg)});
const { default: Fastify } = await import(${JSON.stringify(urls.fastify)});
const { Client } = await import(${JSON.stringify(urls.sdkClient)});
const { StreamableHTTPClientTransport } = await import(${JSON.stringify(urls.sdkStreamable)});
const app = Fastify();
await app.register(m.realtimeMcp, { ${tools}, auth: { mode: 'none' } });
await app.listen({ host: '127.0.0.1', port: 0 });
const client = new Client({ name: 'side-effects', version: '0' });
await client.connect(new StreamableHTTPClientTransport(new URL('http://127.0.0.1:' + app.server.address().port + '/mcp')));
const tools = (await client.listTools()).tools.map((t) => t.name);
globalThis.__extra = { tools, call: ${call} };
await client.close();
await app.close();
`;

const CASES = {
  /** The package entry, and nothing else. */
  import: `
const m = await import(${JSON.stringify(urls.pkg)});
globalThis.__extra = { exports: ['realtimeMcp', 'defineTool', 'createProcessImagesTool', 'buildApp', 'loadConfig'].filter((k) => typeof m[k] === 'function') };
`,
  /** The plugin registered with the built-in tools (process_images among them), listening, tools listed. */
  register: serveAndCall('builtinTools: true', 'null'),
  /** Positive control (config): loadConfig() reads the .env of the working directory. */
  config: `
const m = await import(${JSON.stringify(urls.pkg)});
m.loadConfig();
`,
  /** Positive control (sharp): import it directly. */
  sharp: `
const sharp = (await import(${JSON.stringify(urls.sharp)})).default;
globalThis.__extra = { version: sharp.versions?.vips ?? null };
`,
  /** Positive control (sharp): a real process_images conversion through the plugin. */
  convert: serveAndCall(
    "tools: [m.createProcessImagesTool({ dataDir: process.cwd() + '/data', concurrency: 1 })]",
    "(await client.callTool({ name: 'process_images', arguments: { inputDir: 'in', outputDir: 'out', width: 1, format: 'webp' } })).structuredContent",
  ),
} as const;

type CaseName = keyof typeof CASES;

interface Report {
  marker: string | null;
  requireCache: string[];
  libvipsMapped: boolean | null;
  extra: any;
  resolvedUrls: string[];
}

let dir: string;

function runCase(name: CaseName): Promise<Report> {
  const out = join(dir, `resolved-${name}.txt`);
  writeFileSync(out, '');
  const env: NodeJS.ProcessEnv = { ...process.env, RESOLVED_URLS_FILE: out };
  delete env[MARKER];
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', urls.tsx, '--import', './register.mjs', '--input-type=module', '-e', CASES[name] + REPORT], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
      if (code !== 0 || line === undefined) return reject(new Error(`case ${name} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({ ...JSON.parse(line.slice('REPORT '.length)), resolvedUrls: readFileSync(out, 'utf8').split('\n').filter(Boolean) });
    });
  });
}

/** What each detector says about sharp. */
function sharpSeen(r: Report) {
  return {
    loaderHook: r.resolvedUrls.some((u) => /\/node_modules\/sharp\//.test(u)),
    requireCache: r.requireCache.some((k) => /[\\/]node_modules[\\/](sharp|@img[\\/]sharp-[^\\/]+)[\\/]/.test(k)),
    libvipsMapped: r.libvipsMapped,
  };
}

describe('importing the package has no side effects', () => {
  const reports = new Map<CaseName, Report>();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'realtime-mcp-import-'));
    writeFileSync(join(dir, '.env'), `${MARKER}=from-dotenv\nPORT=1\n`);
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    writeFileSync(join(dir, 'register.mjs'), REGISTER);
    mkdirSync(join(dir, 'data', 'in'), { recursive: true });
    writeFileSync(join(dir, 'data', 'in', 'dot.png'), PNG_1X1);
    const names = Object.keys(CASES) as CaseName[];
    const results = await Promise.all(names.map((n) => runCase(n)));
    names.forEach((n, i) => reports.set(n, results[i]!));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the detectors work: import("sharp") is seen by the loader hook, require.cache and /proc/self/maps', () => {
    const r = reports.get('sharp')!;
    assert.equal(typeof r.extra.version, 'string');
    const seen = sharpSeen(r);
    assert.equal(seen.loaderHook, true, 'loader hook');
    assert.equal(seen.requireCache, true, 'require.cache (the native binding)');
    if (existsSync('/proc/self/maps')) assert.equal(seen.libvipsMapped, true, '/proc/self/maps');
    // sharp's own modules come from its ESM build, which require.cache never lists: a check of
    // require.cache for "/sharp/" alone would have missed it.
    assert.equal(r.requireCache.some((k) => k.includes('/node_modules/sharp/')), false);
  });

  test('the detectors work: a process_images conversion loads sharp; the .env marker is read by loadConfig()', () => {
    const convert = reports.get('convert')!;
    assert.equal(convert.extra.call.success, 1, JSON.stringify(convert.extra.call));
    assert.ok(existsSync(join(dir, 'data', 'out', 'dot.webp')));
    assert.deepEqual(sharpSeen(convert), { loaderHook: true, requireCache: true, libvipsMapped: existsSync('/proc/self/maps') ? true : null });
    assert.equal(convert.marker, null, 'the plugin never reads the environment');
    assert.equal(reports.get('config')!.marker, 'from-dotenv');
  });

  test('import of plugins/index.ts: no config loaded (the .env marker is not in process.env), no sharp', () => {
    const r = reports.get('import')!;
    assert.deepEqual(r.extra.exports, ['realtimeMcp', 'defineTool', 'createProcessImagesTool', 'buildApp', 'loadConfig']);
    assert.equal(r.marker, null);
    assert.deepEqual(sharpSeen(r), { loaderHook: false, requireCache: false, libvipsMapped: existsSync('/proc/self/maps') ? false : null });
    // The hook did see the package itself, so it was active for this import.
    assert.ok(r.resolvedUrls.some((u) => u.endsWith('/plugins/index.ts')));
  });

  test('registering the plugin with the built-in tools and listing them: still no config, no sharp', () => {
    const r = reports.get('register')!;
    assert.ok(r.extra.tools.includes('process_images'), r.extra.tools.join(','));
    assert.equal(r.marker, null);
    assert.deepEqual(sharpSeen(r), { loaderHook: false, requireCache: false, libvipsMapped: existsSync('/proc/self/maps') ? false : null });
  });
});
