// The Prometheus metrics of one server (one prom-client Registry per McpCore, never the global one, so
// several servers in one process do not mix). Nothing here runs per message: traffic is counted in plain
// numbers (telemetry.ts) and read when scraped; per-call figures (counts, durations, queue waits) go into
// plain numbers and PlainHistogram series kept per tool and outcome. A scrape costs the same with 5 or 5,000
// sessions: session counts are kept as sessions come and go.
//
// Process metrics are our own small set instead of prom-client's collectDefaultMetrics, which on every
// scrape lists /proc/self/fd and every active handle: one entry per open socket.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import { PlainHistogram, type HistogramSeries } from './plain-histogram.js';
import type { OperationRunner } from '../operations/runner.js';
import type { SessionManager } from '../sessions/session-manager.js';
import { TRANSPORT_KINDS } from '../sessions/session.js';
import type { Telemetry, TransportCounters } from './telemetry.js';

/** Sampling step of the event-loop delay histogram (what prom-client's default metrics use is 10 ms). */
const EVENT_LOOP_RESOLUTION_MS = 20;
/** Call durations from a few milliseconds (echo) to the length of a big batch job. */
const CALL_SECONDS = [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 1800];
const WAIT_SECONDS = [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120];

export interface MetricsSources {
  sessions: SessionManager;
  runner: OperationRunner;
  telemetry: Telemetry;
}

export interface ServerMetrics {
  readonly registry: Registry;
  /** The exposition text of every metric. */
  scrape(): Promise<string>;
  /** Stop sampling the event loop. */
  close(): void;
}

/** The families, with one line each (the README lists the same). */
export const METRIC_FAMILIES: Readonly<Record<string, string>> = {
  realtime_mcp_sessions: 'Open MCP sessions by transport (detached ones included).',
  realtime_mcp_sessions_detached: 'Sessions whose connection dropped and that wait for their client to resume them.',
  realtime_mcp_calls_running: 'Tool calls whose handler is running.',
  realtime_mcp_calls_queued: 'Tool calls waiting for a concurrency slot.',
  realtime_mcp_tool_calls_total: 'Tool calls admitted (after scope checks and argument validation; running or queued), by tool.',
  realtime_mcp_tool_call_duration_seconds: 'Time from a call\'s start (after any queue wait) to its end, by tool and outcome (ok, tool_error, error, cancelled, disconnected, timeout, shutdown).',
  realtime_mcp_queue_wait_seconds: 'Time a queued call waited for a concurrency slot.',
  realtime_mcp_messages_total: 'JSON-RPC messages by transport and direction (in: from clients; out: to clients, written or kept for a resume).',
  realtime_mcp_progress_notifications_total: 'Progress notifications by transport and outcome (sent; coalesced: replaced by a newer one while the client was slow).',
  realtime_mcp_log_messages_dropped_total: 'Log messages dropped while a client could not keep up, by transport.',
  realtime_mcp_backpressure_episodes_total: 'Times a connection went over SEND_HIGH_WATER_BYTES, by transport.',
  realtime_mcp_slow_client_disconnects_total: 'Connections cut for staying over SEND_HIGH_WATER_BYTES past SLOW_CLIENT_TIMEOUT_MS, by transport.',
  realtime_mcp_resumes_total: 'Resumes of a session on a new connection, by outcome (ok; expired: the session was gone).',
  realtime_mcp_results_lost_total: 'Results a resume could no longer deliver (answered with -32031), by transport.',
  realtime_mcp_auth_failures_total: 'Requests refused at the door, by reason (no_token, malformed, invalid_token, expired, wrong_audience, insufficient_scope, jwks_unavailable, origin, host).',
  realtime_mcp_rejections_total: 'Requests refused by a limit, by limit (rate_limit, connection_limit, session_limit, ws_message_limit, queue_full).',
  nodejs_eventloop_lag_mean_seconds: 'Mean event-loop delay since the previous scrape, in seconds.',
  nodejs_eventloop_lag_p99_seconds: '99th percentile of the event-loop delay since the previous scrape, in seconds.',
  nodejs_eventloop_lag_max_seconds: 'Largest event-loop delay since the previous scrape, in seconds.',
  process_start_time_seconds: 'Start time of the process since the Unix epoch, in seconds.',
  process_resident_memory_bytes: 'Resident memory size in bytes.',
  nodejs_heap_size_used_bytes: 'V8 heap in use, in bytes.',
  process_cpu_seconds_total: 'User and system CPU time spent, in seconds.',
};

const help = (name: string): string => METRIC_FAMILIES[name]!;

export function createServerMetrics({ sessions, runner, telemetry }: MetricsSources): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'realtime_mcp_sessions', help: help('realtime_mcp_sessions'), labelNames: ['transport'], registers,
    collect() {
      const { byTransport } = sessions.count();
      for (const transport of TRANSPORT_KINDS) this.set({ transport }, byTransport[transport]);
    },
  });
  new Gauge({ name: 'realtime_mcp_sessions_detached', help: help('realtime_mcp_sessions_detached'), registers, collect() { this.set(sessions.count().detached); } });
  new Gauge({ name: 'realtime_mcp_calls_running', help: help('realtime_mcp_calls_running'), registers, collect() { this.set(runner.running); } });
  new Gauge({ name: 'realtime_mcp_calls_queued', help: help('realtime_mcp_calls_queued'), registers, collect() { this.set(runner.queued); } });

  // Per call: plain numbers and histogram series looked up once per tool (and outcome) and kept;
  // prom-client's own observe()/inc() would hash the labels on every call.
  const admitted = new Map<string, { n: number }>();
  new Counter({
    name: 'realtime_mcp_tool_calls_total', help: help('realtime_mcp_tool_calls_total'), labelNames: ['tool'], registers,
    collect() {
      this.reset();
      for (const [tool, c] of admitted) this.inc({ tool }, c.n);
    },
  });
  const durations = new PlainHistogram('realtime_mcp_tool_call_duration_seconds', help('realtime_mcp_tool_call_duration_seconds'), CALL_SECONDS, registry);
  const waits = new PlainHistogram('realtime_mcp_queue_wait_seconds', help('realtime_mcp_queue_wait_seconds'), WAIT_SECONDS, registry).seriesFor();
  const ended = new Map<string, Map<string, HistogramSeries>>();
  runner.hooks.add('onCallAdmitted', (op) => {
    const tool = op.tool.definition.name;
    let c = admitted.get(tool);
    if (c === undefined) admitted.set(tool, (c = { n: 0 }));
    c.n++;
  });
  runner.hooks.add('onCallStarted', (op) => waits.observe((op.startedAt - op.admittedAt) / 1000));
  runner.hooks.add('onCallEnded', (op) => {
    const tool = op.tool.definition.name;
    const outcome = op.outcome ?? 'ok';
    let byOutcome = ended.get(tool);
    if (byOutcome === undefined) ended.set(tool, (byOutcome = new Map()));
    let series = byOutcome.get(outcome);
    if (series === undefined) byOutcome.set(outcome, (series = durations.seriesFor({ tool, outcome })));
    series.observe(((op.endedAt ?? performance.now()) - op.startedAt) / 1000);
  });

  // Traffic, from plain counters.
  const perTransport = (name: string, labelNames: string[], read: (c: TransportCounters, transport: string, set: (labels: Record<string, string>, v: number) => void) => void) =>
    new Counter({
      name, help: help(name), labelNames, registers,
      collect() {
        this.reset();
        for (const transport of TRANSPORT_KINDS) read(telemetry.transports[transport], transport, (labels, v) => this.inc(labels, v));
      },
    });
  perTransport('realtime_mcp_messages_total', ['transport', 'direction'], (c, transport, set) => {
    set({ transport, direction: 'in' }, c.messagesIn);
    set({ transport, direction: 'out' }, c.messagesOut);
  });
  perTransport('realtime_mcp_progress_notifications_total', ['transport', 'outcome'], (c, transport, set) => {
    set({ transport, outcome: 'sent' }, c.progressSent);
    set({ transport, outcome: 'coalesced' }, c.progressCoalesced);
  });
  perTransport('realtime_mcp_log_messages_dropped_total', ['transport'], (c, transport, set) => set({ transport }, c.logsDropped));
  perTransport('realtime_mcp_backpressure_episodes_total', ['transport'], (c, transport, set) => set({ transport }, c.backpressureEpisodes));
  perTransport('realtime_mcp_slow_client_disconnects_total', ['transport'], (c, transport, set) => set({ transport }, c.slowClientDisconnects));
  perTransport('realtime_mcp_results_lost_total', ['transport'], (c, transport, set) => set({ transport }, c.resultsLost));
  const byKey = (name: string, label: string, values: Record<string, number>) =>
    new Counter({
      name, help: help(name), labelNames: [label], registers,
      collect() {
        this.reset();
        for (const [key, v] of Object.entries(values)) this.inc({ [label]: key }, v);
      },
    });
  byKey('realtime_mcp_resumes_total', 'outcome', telemetry.resumes);
  byKey('realtime_mcp_auth_failures_total', 'reason', telemetry.authFailures);
  byKey('realtime_mcp_rejections_total', 'limit', telemetry.rejections);

  const loop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  loop.enable();
  addProcessMetrics(registers, loop);

  return {
    registry,
    async scrape() {
      const text = await registry.metrics();
      loop.reset(); // the event-loop figures cover the time since the previous scrape
      return text;
    },
    close: () => loop.disable(),
  };
}

function addProcessMetrics(registers: Registry[], loop: IntervalHistogram): void {
  const startSeconds = Math.round(performance.timeOrigin / 1000);
  new Gauge({ name: 'process_start_time_seconds', help: help('process_start_time_seconds'), registers, collect() { this.set(startSeconds); } });
  new Gauge({ name: 'process_resident_memory_bytes', help: help('process_resident_memory_bytes'), registers, collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({ name: 'nodejs_heap_size_used_bytes', help: help('nodejs_heap_size_used_bytes'), registers, collect() { this.set(process.memoryUsage().heapUsed); } });
  new Counter({
    name: 'process_cpu_seconds_total', help: help('process_cpu_seconds_total'), registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  // Event-loop delay since the previous scrape (scrape() resets the histogram).
  const lag = (name: string, read: (h: IntervalHistogram) => number) =>
    new Gauge({ name, help: help(name), registers, collect() { this.set(loop.count > 0 ? read(loop) / 1e9 : 0); } });
  lag('nodejs_eventloop_lag_mean_seconds', (h) => h.mean);
  lag('nodejs_eventloop_lag_p99_seconds', (h) => h.percentile(99));
  lag('nodejs_eventloop_lag_max_seconds', (h) => h.max);
}
