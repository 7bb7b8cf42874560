// The scale-out topology of issue #11 without Docker: a real redis-server on a free loopback port, two
// real server processes (plugins/server.ts, as `npm start` runs it, through tsx) sharing it with
// STORE=redis, and a real nginx in front, round robin, running the shipped deploy/nginx.conf with only
// its `listen` line and its upstream `server` line rewritten (one `server` line per node).
//
// Both nodes run with authentication on (HS256, one JWT_SECRET) and the same RESOURCE_URL (the nginx
// address): a token's audience must be valid on whichever node nginx picks. Each node listens on a port
// chosen once, so a node killed with SIGKILL comes back on the same address nginx knows.
//
// Every process dies with the test process: the nodes are killed in close(), nginx too, and
// redis-server has its own guard (redis-server.ts).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, type ChildServer } from './child-server.js';
import { redisServerMissing, startRedisServer, type RedisServer } from './redis-server.js';
import { hsToken, randomSecret } from './tokens.js';
import { freePorts } from './free-port.js';

export const nginxMissing = spawnSync('nginx', ['-v']).error !== undefined;
export { redisServerMissing };

export interface ClusterNode {
  /** 'A' or 'B': the node's place in the upstream list (stays the same across restarts). */
  readonly name: string;
  readonly port: number;
  /** http://127.0.0.1:<port> (direct, not through nginx). */
  readonly url: string;
  readonly wsUrl: string;
  /** The node id of the running process (GET /readyz); a restarted node has a new one. */
  id: string;
  process: ChildServer;
  /** Everything the node's processes printed so far (all incarnations), for failure messages. */
  output(): string;
  readonly alive: boolean;
}

export interface TestCluster {
  readonly redis: RedisServer;
  readonly nodes: readonly [ClusterNode, ClusterNode];
  /** http://127.0.0.1:<nginx port> */
  readonly base: string;
  /** ws://127.0.0.1:<nginx port> */
  readonly wsBase: string;
  /** RESOURCE_URL of both nodes (the audience of every token). */
  readonly resourceUrl: string;
  /** The nginx config in use (the shipped file, rewritten). */
  readonly nginxConfig: string;
  /** A valid token for `subject` (audience: the shared RESOURCE_URL). */
  token(subject: string, scopes?: string[]): Promise<string>;
  /** The node with this id, if it is one of ours. */
  byId(id: string): ClusterNode | undefined;
  /** The other node. */
  other(node: ClusterNode): ClusterNode;
  /** kill -9 the node's process; resolves once it has exited. */
  kill(node: ClusterNode): Promise<void>;
  /** Start the node again, on the same port, with the same settings; resolves once it is ready. */
  restart(node: ClusterNode): Promise<void>;
  /** Every node's and nginx's output (failure messages). */
  logs(): string;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Extra settings for both nodes (strings, as in the environment). */
  settings?: Record<string, string>;
}

/** The shipped deploy/nginx.conf. */
export function shippedNginxConfig(): string {
  return readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8');
}

const LISTEN = /^(\s*)listen 80;$/m;
const UPSTREAM = /^(\s*)server 127\.0\.0\.1:8080;$/m;

/**
 * The shipped config with our ports: its `listen` line and its upstream `server` line rewritten (one
 * `server` line per upstream port); fails loudly if either line is gone. Every other line is kept as is.
 */
export function renderNginxConfig(conf: string, listenPort: number, upstreamPorts: readonly number[]): string {
  assert.match(conf, LISTEN, 'deploy/nginx.conf: `listen 80;` line not found');
  assert.match(conf, UPSTREAM, 'deploy/nginx.conf: upstream `server 127.0.0.1:8080;` line not found');
  return conf
    .replace(LISTEN, `$1listen 127.0.0.1:${listenPort};`)
    .replace(UPSTREAM, (_m, indent: string) => upstreamPorts.map((p) => `${indent}server 127.0.0.1:${p};`).join('\n'));
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const redis = await startRedisServer();
  const [nginxPort, portA, portB] = await freePorts(3);
  const base = `http://127.0.0.1:${nginxPort}`;
  const resourceUrl = `${base}/mcp`;
  const secret = randomSecret();
  const settings: Record<string, string> = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    STORE: 'redis',
    REDIS_URL: redis.url,
    AUTH_MODE: 'jwt',
    JWT_SECRET: secret,
    RESOURCE_URL: resourceUrl,
    // nginx is on this machine: X-Forwarded-For from loopback decides request.ip.
    TRUSTED_PROXIES: '127.0.0.1',
    ...options.settings,
  };

  const outputs = new Map<string, string[]>();
  const nodes: ClusterNode[] = [];
  const make = (name: string, port: number): ClusterNode => {
    const past: string[] = [];
    outputs.set(name, past);
    const node: ClusterNode = {
      name,
      port,
      url: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}/mcp/ws`,
      id: '',
      process: undefined as unknown as ChildServer,
      output: () => [...past, describe(node.process)].join('\n'),
      get alive() {
        return node.process !== undefined && node.process.child.exitCode === null && node.process.child.signalCode === null;
      },
    };
    return node;
  };
  const launch = async (node: ClusterNode) => {
    node.process = spawnServer({ ...settings, PORT: String(node.port) });
    node.id = await whenReady(node);
  };
  nodes.push(make('A', portA), make('B', portB));

  let nginx: ChildProcess | undefined;
  let nginxLog = '';
  const prefix = mkdtempSync(join(tmpdir(), 'realtime-mcp-cluster-'));
  const stopAll = async () => {
    await Promise.all(nodes.map(async (n) => {
      if (n.process === undefined) return;
      if (n.alive) n.process.child.kill('SIGKILL');
      await n.process.exited;
    }));
    if (nginx !== undefined && nginx.exitCode === null && nginx.signalCode === null) {
      const exited = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGTERM');
      await exited;
    }
    await redis.stop();
    rmSync(prefix, { recursive: true, force: true });
  };

  try {
    await Promise.all(nodes.map(launch));
    for (const dir of ['logs', 'tmp']) mkdirSync(join(prefix, dir));
    chmodSync(join(prefix, 'tmp'), 0o777); // workers run unprivileged when the master is root
    const nginxConfig = renderNginxConfig(shippedNginxConfig(), nginxPort, [portA, portB]);
    const confPath = join(prefix, 'nginx.conf');
    writeFileSync(confPath, nginxConfig);
    nginx = spawn('nginx', ['-p', prefix, '-c', confPath, '-e', join(prefix, 'logs', 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stderr!.setEncoding('utf8').on('data', (d: string) => (nginxLog += d));
    await waitForHttp(`${base}/healthz`, () => nginxLog);

    const cluster: TestCluster = {
      redis,
      nodes: nodes as [ClusterNode, ClusterNode],
      base,
      wsBase: base.replace(/^http/, 'ws'),
      resourceUrl,
      nginxConfig,
      token: (subject, scopes = []) => hsToken(secret, { audience: resourceUrl, claims: { sub: subject, scope: scopes.join(' ') } }),
      byId: (id) => nodes.find((n) => n.id === id),
      other: (node) => (node === nodes[0] ? nodes[1]! : nodes[0]!),
      async kill(node) {
        if (!node.alive) return;
        node.process.child.kill('SIGKILL');
        await node.process.exited;
      },
      async restart(node) {
        if (node.alive) await cluster.kill(node);
        outputs.get(node.name)!.push(describe(node.process));
        await launch(node);
      },
      logs: () => [...nodes.map((n) => `--- node ${n.name} (${n.id}) ---\n${n.output()}`), `--- nginx ---\n${nginxLog}${readNginxErrors(prefix)}`, `--- redis ---\n${redis.output}`].join('\n'),
      close: stopAll,
    };
    return cluster;
  } catch (err) {
    const logs = nodes.map((n) => `--- node ${n.name} ---\n${n.process ? describe(n.process) : ''}`).join('\n');
    await stopAll().catch(() => {});
    throw new Error(`the cluster did not start: ${(err as Error).message}\n${logs}\n--- nginx ---\n${nginxLog}`);
  }
}

function describe(server: ChildServer | undefined): string {
  if (server === undefined) return '';
  const { stdout, stderr } = server.output();
  return `${stdout}${stderr}`;
}

function readNginxErrors(prefix: string): string {
  try {
    return readFileSync(join(prefix, 'logs', 'error.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Resolves with the node's id once it answers /readyz (the banner alone does not say Redis is reachable). */
async function whenReady(node: ClusterNode): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!node.alive) throw new Error(`node ${node.name} exited before it was ready:\n${describe(node.process)}`);
    try {
      const res = await fetch(`${node.url}/readyz`);
      if (res.status === 200) return ((await res.json()) as { node: string }).node;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`node ${node.name} was not ready within 30 s:\n${describe(node.process)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForHttp(url: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nothing answered 200 at ${url}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `check` until it returns a value other than undefined/false (or throws past the deadline). */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message ?? last}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
