// The Prometheus metrics of one server (one prom-client Registry per McpCore, never the global one, so
// several servers in one process do not mix). Gauges are read from the core when scraped; the tool-call
// counter counts through the runner's onCallAdmitted hook.
//
// Process metrics are our own small set instead of prom-client's collectDefaultMetrics, which on every
// scrape lists /proc/self/fd and every active handle: one entry per open socket, 10,000 with 10,000 clients.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { OperationRunner } from '../operations/runner.js';
import type { SessionManager } from '../sessions/session-manager.js';
import { TRANSPORT_KINDS } from '../sessions/session.js';

/** Sampling step of the event-loop delay histogram (what prom-client's default metrics use is 10 ms). */
const EVENT_LOOP_RESOLUTION_MS = 20;
export interface MetricsSources {
  sessions: SessionManager;
  runner: OperationRunner;
}

export interface ServerMetrics {
  readonly registry: Registry;
  /** The exposition text of every metric. */
  scrape(): Promise<string>;
  /** Stop sampling the event loop. */
  close(): void;
}

export function createServerMetrics({ sessions, runner }: MetricsSources): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'realtime_mcp_sessions',
    help: 'Open MCP sessions by transport (detached ones included).',
    labelNames: ['transport'],
    registers,
    collect() {
      const { byTransport } = sessions.count();
      for (const transport of TRANSPORT_KINDS) this.set({ transport }, byTransport[transport]);
    },
  });
  new Gauge({
    name: 'realtime_mcp_sessions_detached',
    help: 'Sessions whose connection dropped and that wait for their client to resume them.',
    registers,
    collect() {
      this.set(sessions.count().detached);
    },
  });
  new Gauge({ name: 'realtime_mcp_calls_running', help: 'Tool calls whose handler is running.', registers, collect() { this.set(runner.running); } });
  new Gauge({ name: 'realtime_mcp_calls_queued', help: 'Tool calls waiting for a concurrency slot.', registers, collect() { this.set(runner.queued); } });

  const toolCalls = new Counter({
    name: 'realtime_mcp_tool_calls_total',
    help: 'Tool calls admitted (after scope checks and argument validation; running or queued), by tool.',
    labelNames: ['tool'],
    registers,
  });
  // One child counter per tool, looked up once: `inc({ tool })` would hash the labels on every call.
  const perTool = new Map<string, { inc(): void }>();
  runner.hooks.add('onCallAdmitted', (op) => {
    const toolName = op.tool.definition.name;
    let child = perTool.get(toolName);
    if (child === undefined) perTool.set(toolName, (child = toolCalls.labels({ tool: toolName })));
    child.inc();
  });

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
  new Gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since the Unix epoch, in seconds.', registers, collect() { this.set(startSeconds); } });
  new Gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', registers, collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({
    name: 'nodejs_heap_size_used_bytes',
    help: 'V8 heap in use, in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent, in seconds.',
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  // Event-loop delay since the previous scrape (scrape() resets the histogram).
  const lag = (name: string, what: string, read: (h: IntervalHistogram) => number) =>
    new Gauge({ name, help: `${what} event-loop delay since the previous scrape, in seconds.`, registers, collect() { this.set(loop.count > 0 ? read(loop) / 1e9 : 0); } });
  lag('nodejs_eventloop_lag_mean_seconds', 'Mean', (h) => h.mean);
  lag('nodejs_eventloop_lag_p99_seconds', '99th percentile of the', (h) => h.percentile(99));
  lag('nodejs_eventloop_lag_max_seconds', 'Largest', (h) => h.max);
}
