// One snapshot of what the server is doing, for `realtime://server/stats` and `GET /metrics`: sessions per
// transport (and how many wait detached for a resume), calls running and queued, uptime and memory.
// Cheap on purpose: one pass over the sessions, counters the runner already keeps, and process.memoryUsage.rss().
import type { SessionManager } from '../sessions/session-manager.js';
import type { TransportKind } from '../sessions/session.js';
import type { OperationRunner } from '../operations/runner.js';

export interface ServerStats {
  sessions: Record<TransportKind, number> & {
    total: number;
    /** Sessions whose connection dropped and that wait for their client to resume them (a WebSocket within its resume window). */
    detached: number;
  };
  calls: {
    running: number;
    queued: number;
    /** Sessions with at least one call waiting. */
    queuedSessions: number;
  };
  startedAt: string;
  uptimeMs: number;
  memory: { rssBytes: number };
}

export interface StatsSources {
  sessions: SessionManager;
  runner: OperationRunner;
  /** Date.now() when the server started. */
  startedAtMs: number;
}

export function collectServerStats({ sessions, runner, startedAtMs }: StatsSources): ServerStats {
  const { byTransport, detached } = sessions.count();
  let total = 0;
  for (const n of Object.values(byTransport)) total += n;
  return {
    sessions: { ...byTransport, total, detached },
    calls: { running: runner.running, queued: runner.queued, queuedSessions: runner.queuedSessions },
    startedAt: new Date(startedAtMs).toISOString(),
    uptimeMs: Date.now() - startedAtMs,
    memory: { rssBytes: process.memoryUsage.rss() },
  };
}

/**
 * What a subscriber to the stats resource is told about: everything but the clock and memory, which
 * change all the time (they are read fresh on every resources/read).
 */
export function statsFingerprint(stats: ServerStats): string {
  const { sessions: s, calls: c } = stats;
  return `${s.ws}/${s.sse}/${s.streamable}/${s.stdio}/${s.detached}|${c.running}/${c.queued}`;
}
