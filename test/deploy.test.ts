// The deployment files, checked without Docker (no engine on this machine or in CI): docker-compose.yml
// must describe the topology test/cluster.test.ts runs for real (Redis, two replicas with STORE=redis,
// nginx round robin with the shipped deploy/nginx.conf), with settings the server knows; the Dockerfile
// must build in stages, run as a non-root user, check /healthz and start the file the build makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configDocs } from '../src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string | string[] };
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services ?? {};
const settings = new Set(configDocs().map((d) => d.name));
const nginxConf = read('deploy/nginx.conf');

/** A service's environment as name → value (either compose spelling). */
function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

/** The names a service depends on, with their conditions. */
function dependsOn(service: Service): Record<string, string | undefined> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v?.condition]));
}

const commandText = (service: Service) => (Array.isArray(service.command) ? service.command.join(' ') : service.command ?? '');

test('docker-compose.yml runs redis, mcp and nginx', () => {
  assert.deepEqual(Object.keys(services).sort(), ['mcp', 'nginx', 'redis']);
});

test('redis: a health check (the app replicas wait for it), and a restart keeps the sessions', () => {
  const redis = services.redis!;
  assert.match(redis.image ?? '', /^redis:(\d+)/);
  assert.ok(Number(/^redis:(\d+)/.exec(redis.image!)![1]) >= 7, 'Redis 7 or later (shutdown-on-sigterm)');
  assert.match(JSON.stringify(redis.healthcheck?.test ?? ''), /redis-cli.*ping/);
  // A restart must not lose session records and logs (test/cluster.test.ts restarts Redis under traffic):
  // a snapshot on SIGTERM (or an append-only file), on a volume that outlives the container.
  const command = commandText(redis);
  assert.ok(/--shutdown-on-sigterm save/.test(command) || /--appendonly yes/.test(command), `Redis keeps its data across a restart: ${command}`);
  assert.ok((redis.volumes ?? []).some((v) => v.endsWith(':/data')), 'its data directory /data is a volume');
});

test('mcp: two replicas built from the Dockerfile, STORE=redis on the redis service, started once Redis is healthy', () => {
  const mcp = services.mcp!;
  assert.ok(mcp.build !== undefined, 'built from this repository');
  assert.equal(mcp.deploy?.replicas, 2);
  const env = environment(mcp);
  assert.equal(env.STORE, 'redis');
  const redisUrl = new URL(env.REDIS_URL!);
  assert.equal(redisUrl.protocol, 'redis:');
  assert.equal(redisUrl.hostname, 'redis', 'REDIS_URL names the redis service');
  assert.equal(redisUrl.port || '6379', '6379');
  assert.equal(dependsOn(mcp).redis, 'service_healthy');
  // Reachable by nginx in the compose network, and never without authentication there.
  assert.equal(env.HOST, '0.0.0.0');
  assert.equal(env.AUTH_MODE ?? 'jwt', 'jwt');
  assert.ok(env.JWT_SECRET !== undefined || env.JWKS_URL !== undefined, 'a token verifier is configured');
  // Both replicas accept the same tokens: one audience (RESOURCE_URL or JWT_AUDIENCE), not each replica's own address.
  assert.ok(env.RESOURCE_URL !== undefined || env.JWT_AUDIENCE !== undefined, 'one RESOURCE_URL (token audience) for every replica');
});

test('every environment variable the compose file sets is a setting the server knows', () => {
  for (const [name, service] of Object.entries(services)) {
    if (name !== 'mcp') continue; // redis and nginx images have their own
    for (const variable of Object.keys(environment(service))) assert.ok(settings.has(variable), `${name}: ${variable} is not a setting (src/config.ts)`);
  }
  // The Dockerfile's ENV too.
  for (const match of read('Dockerfile').matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of match[1]!.split(/\s+/)) {
      const name = pair.split('=')[0]!;
      if (name === 'NODE_ENV') continue; // Node's, not ours
      assert.ok(settings.has(name), `Dockerfile ENV ${name} is not a setting`);
    }
  }
});

test('nginx: in front of mcp, running the shipped deploy/nginx.conf with only its upstream rewritten to the mcp service', () => {
  const nginx = services.nginx!;
  assert.ok('mcp' in dependsOn(nginx), 'depends on mcp');
  const mount = (nginx.volumes ?? []).find((v) => v.startsWith('./deploy/nginx.conf:'));
  assert.ok(mount, 'mounts deploy/nginx.conf');
  const mountedAt = mount.split(':')[1]!;
  const command = commandText(nginx);
  assert.ok(command.includes(mountedAt), 'the command reads the mounted file');

  // The sed rewrite must hit a line that exists in the shipped file, exactly once, and point it at the
  // mcp service on the port the replicas listen on.
  const sed = /sed '(s\/(.+?)\/(.+?)\/)'/.exec(command);
  assert.ok(sed, `a sed s/…/…/ rewrite in the command: ${command}`);
  const [, , pattern, replacement] = sed;
  const regex = new RegExp(pattern!.replace(/\\\//g, '/')); // a basic regex without special characters but '.'
  const hits = nginxConf.split('\n').filter((line) => regex.test(line));
  assert.equal(hits.length, 1, `the sed pattern ${pattern} matches one line of deploy/nginx.conf (it matches ${hits.length})`);
  assert.match(hits[0]!, /^\s*server \S+;$/, 'that line is the upstream server line');
  const upstreamBlock = /upstream realtime_mcp \{[^}]*\}/.exec(nginxConf)?.[0] ?? '';
  assert.ok(upstreamBlock.includes(hits[0]!.trim()), 'inside the upstream block');
  const port = environment(services.mcp!).PORT ?? '8080';
  assert.equal(replacement, `server mcp:${port};`, 'rewritten to the mcp service (every replica) on PORT');

  // Published on the port nginx listens on.
  const listen = /^\s*listen (\d+);$/m.exec(nginxConf)?.[1];
  assert.ok(listen, 'deploy/nginx.conf has a `listen <port>;` line');
  assert.ok((nginx.ports ?? []).some((p) => String(p).endsWith(`:${listen}`)), `a published port maps to ${listen}`);
  // The prefix the config's relative paths live under exists, with logs/ and tmp/.
  assert.match(command, /mkdir -p \S+\/logs \S+\/tmp/);
  assert.match(command, /nginx -p \S+ -c \S+/);
});

test('Dockerfile: multi-stage, non-root, a HEALTHCHECK on /healthz, and it starts what the build produces', () => {
  const dockerfile = read('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
  assert.ok(stages.length >= 2, 'at least two stages');
  assert.match(dockerfile, /^COPY --from=\S+ /m, 'the runtime stage copies from the build stage');
  // The runtime stage (the last) runs as a non-root user.
  const runtime = dockerfile.slice(stages.at(-1)!.index);
  const user = /^USER\s+(\S+)/m.exec(runtime)?.[1];
  assert.ok(user !== undefined, 'a USER in the runtime stage');
  assert.ok(!['root', '0', '0:0', 'root:root'].includes(user), `USER ${user} is not root`);
  const healthcheck = /^HEALTHCHECK .*$/m.exec(runtime)?.[0] ?? '';
  assert.match(healthcheck, /\/healthz/, 'HEALTHCHECK asks /healthz');
  assert.match(healthcheck, /:8080\//, 'on the port the image listens on');
  assert.match(runtime, /^ENV .*\bPORT=8080\b/m);
  assert.match(runtime, /^EXPOSE 8080$/m);

  // CMD ["node", "<file>"]: the file `npm run build` writes (tsc: rootDir ".", outDir "dist").
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(runtime);
  assert.ok(cmd, 'an exec-form CMD');
  const [program, file] = JSON.parse(cmd[1]!) as string[];
  assert.equal(program, 'node');
  assert.match(file!, /^dist\//);
  const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
  assert.equal(tsconfig.compilerOptions.outDir, 'dist');
  assert.equal(tsconfig.compilerOptions.rootDir, '.');
  const source = file!.replace(/^dist\//, '').replace(/\.cjs$/, '.cts').replace(/\.js$/, '.ts');
  assert.ok(existsSync(`${root}${source}`), `${file} is compiled from ${source}, which exists`);
  assert.ok(existsSync(`${root}${file}`), `${file} exists after a build (npm ci builds through prepare; else run npm run build)`);
  assert.equal(JSON.parse(read('package.json')).scripts.start, `node ${file}`, 'the same file as `npm start`');
  // The image holds what the entry needs at run time: the compiled code, production modules, the dashboard page.
  for (const path of ['/app/dist', '/app/node_modules', '/app/routes/dashboard']) assert.match(runtime, new RegExp(`^COPY --from=\\S+ \\S+ \\.${path.slice(4)}$`, 'm'), `copies ${path}`);
});

test('.env.example lists every setting', () => {
  const example = read('.env.example');
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  const missing = [...settings].filter((name) => !listed.has(name));
  assert.deepEqual(missing, [], `.env.example lacks ${missing.join(', ')}`);
  // Including the ones the compose file sets (an .env next to it may override them).
  for (const variable of Object.keys(environment(services.mcp!))) assert.ok(listed.has(variable), `.env.example lists ${variable}`);
});
