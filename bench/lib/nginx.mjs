// A real nginx in front of several server processes (round robin, upstream keep-alive, no buffering of
// SSE), from a generated config in a temporary prefix: `nginx -p <tmp> -c nginx.conf -g 'daemon off;'`.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childPids, onPath, startProcess, withFreePort } from './processes.mjs';

export const nginxAvailable = () => onPath('nginx');

export function nginxConfig({ listenPort, upstreamPorts }) {
  return `worker_processes 1;
pid nginx.pid;
error_log logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path tmp/client_body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream realtime_mcp {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 512;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${listenPort};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://realtime_mcp;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
`;
}

/** Starts nginx on a free port in front of upstreamPorts; returns { port, pids, stop }. */
export async function startNginx({ upstreamPorts, cpu, logDir, logName = 'nginx.log' }) {
  const prefix = mkdtempSync(join(tmpdir(), 'realtime-mcp-bench-nginx-'));
  chmodSync(prefix, 0o755); // workers run as an unprivileged user when the master is root
  for (const d of ['logs', 'tmp']) mkdirSync(join(prefix, d));
  let port;
  const proc = await withFreePort(async (p) => {
    port = p;
    writeFileSync(join(prefix, 'nginx.conf'), nginxConfig({ listenPort: p, upstreamPorts }));
    return startProcess({
      name: 'nginx', argv: ['nginx', '-p', prefix, '-c', 'nginx.conf', '-g', 'daemon off;'], cpu,
      logFile: join(logDir, logName), readyPort: p, timeoutMs: 10_000,
    });
  }).catch((e) => { rmSync(prefix, { recursive: true, force: true }); throw e; });
  return {
    port,
    pids: () => [proc.pid, ...childPids(proc.pid)],
    stop: async () => {
      await proc.stop(); // SIGTERM: fast shutdown of master and workers
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
