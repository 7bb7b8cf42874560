// Starting the servers under test: ours (the built entry, configured by environment) and the anchors
// in bench/anchors/ (`--port P`, print `READY <port>`). Both pinned to the server CPU.
import { join } from 'node:path';
import { startProcess } from './processes.mjs';

/**
 * Servers listen on port 0 (the kernel picks a free port: no race with other processes) and say which:
 * ours prints `realtime-mcp listening on http://host:port` (Fastify's own log says `listening at`),
 * anchors (and maybe a future entry) `READY <port>`.
 */
const READY = /(?:listening (?:on|at) |^READY )(?:https?:\/\/\S+:)?(\d+)/m;
const portOf = (proc) => Number(proc.match[1]);

const logName = (name) => `server-${name.replace(/[^\w.-]+/g, '_')}.log`;

/**
 * Our server. opts: { name, gc (node --expose-gc + REALTIME_MCP_GC_SIGNAL=1), env (more variables),
 * nodeFlags, cpu }. Returns { name, port, pid, pids(), stop() }.
 */
export async function startOurs(cfg, opts = {}) {
  const name = opts.name ?? 'realtime-mcp';
  const proc = await startProcess({
    name,
    argv: [process.execPath, ...(opts.gc ? ['--expose-gc'] : []), ...(opts.nodeFlags ?? []), cfg.serverEntry],
    cpu: opts.cpu ?? cfg.serverCpu, cwd: cfg.root,
    env: { ...cfg.ourEnv(0), ...(opts.gc ? { REALTIME_MCP_GC_SIGNAL: '1' } : {}), ...opts.env },
    ready: READY, logFile: join(cfg.outDir, logName(name)),
  });
  return { name, port: portOf(proc), pid: proc.pid, pids: () => [proc.pid], stop: proc.stop, process: proc };
}

/** An anchor of bench/anchors/ (spec: { file, args }). */
export async function startAnchor(cfg, name, spec, opts = {}) {
  const proc = await startProcess({
    name,
    argv: [process.execPath, ...(opts.gc ? ['--expose-gc'] : []), ...(opts.nodeFlags ?? []), join(cfg.root, spec.file), ...spec.args, '--port', '0'],
    cpu: opts.cpu ?? cfg.serverCpu, cwd: cfg.root, env: {}, ready: READY, logFile: join(cfg.outDir, logName(name)),
  });
  return { name, port: portOf(proc), pid: proc.pid, pids: () => [proc.pid], stop: proc.stop, process: proc };
}
