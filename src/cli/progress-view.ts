// How `call` shows a running call: a live bar on a terminal (cli-progress), one plain line per update
// when stderr is not a terminal, or one JSON object per line on stdout with --json. Progress and
// diagnostics go to stderr in the human modes, so stdout carries only the result (pipe-friendly).
import cliProgress from 'cli-progress';
import type { CliIO } from './cli-env.js';

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
  /** Items per second (the server's, from `_meta.rate`, else estimated here). */
  rate?: number;
  etaMs?: number;
}

export interface CallView {
  progress(update: ProgressUpdate): void;
  /** A server log message (`notifications/message`). */
  log(level: string, text: string): void;
  /** Connection status (reconnecting, resumed). */
  status(text: string, event?: Record<string, unknown>): void;
  /** Take the bar off the screen before the outcome is printed. */
  stop(): void;
  /** Machine-readable event (only --json prints it). */
  event(e: Record<string, unknown>): void;
}

export type ViewMode = 'tty' | 'lines' | 'json';

export function viewMode(io: CliIO, json: boolean): ViewMode {
  if (json) return 'json';
  return io.stderr.isTTY ? 'tty' : 'lines';
}

export function createView(mode: ViewMode, io: CliIO, label: string): CallView {
  if (mode === 'json') return new JsonView(io);
  if (mode === 'lines') return new LineView(io);
  return new BarView(io, label);
}

/** Client-side rate for servers that send no `_meta.rate`: a smoothed items/s. */
export class RateEstimator {
  private last: { t: number; p: number } | undefined;
  private rate: number | undefined;
  private readonly started = performance.now();

  update(progress: number, total: number | undefined, now = performance.now()): { rate?: number; etaMs?: number } {
    if (this.last === undefined) {
      const elapsed = (now - this.started) / 1000;
      if (elapsed > 0) this.rate = progress / elapsed;
    } else if (now > this.last.t) {
      const instant = ((progress - this.last.p) * 1000) / (now - this.last.t);
      this.rate = this.rate === undefined ? instant : 0.8 * this.rate + 0.2 * instant;
    }
    this.last = { t: now, p: progress };
    const etaMs = this.rate !== undefined && this.rate > 0 && total !== undefined && total >= progress ? Math.round(((total - progress) / this.rate) * 1000) : undefined;
    return { rate: this.rate, etaMs };
  }
}

/**
 * The part of a progress message that is not already shown: drops "N/M" or "N" and the rate/ETA
 * segments realtime-mcp appends ("batch 3 · 350/s · ETA 16 s" → "batch 3").
 */
export function messageText(update: ProgressUpdate): string {
  if (!update.message) return '';
  const counts = new Set([`${update.progress}/${update.total}`, `${update.progress}`]);
  return update.message
    .split(' · ')
    .filter((part) => !counts.has(part.trim()) && !/^[\d.,]+\s*(k|M)?\/s$/.test(part.trim()) && !/^ETA\b/.test(part.trim()))
    .join(' · ');
}

export function formatRate(rate: number | undefined): string {
  if (rate === undefined || !Number.isFinite(rate)) return '–/s';
  return rate >= 100 ? `${Math.round(rate)}/s` : `${rate.toFixed(1)}/s`;
}

export function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function percent(u: ProgressUpdate): number | undefined {
  return u.total !== undefined && u.total > 0 ? Math.min(100, Math.floor((u.progress / u.total) * 100)) : undefined;
}

/** One line per update: `progress 21/50 42% · 24.3/s · ETA 2 s · batch 3`. */
export function progressLine(u: ProgressUpdate): string {
  const pct = percent(u);
  const parts = [`progress ${u.progress}${u.total !== undefined ? `/${u.total}` : ''}${pct !== undefined ? ` ${pct}%` : ''}`];
  if (u.rate !== undefined) parts.push(formatRate(u.rate));
  if (u.etaMs !== undefined) parts.push(`ETA ${formatEta(u.etaMs)}`);
  const text = messageText(u);
  if (text) parts.push(text);
  return parts.join(' · ');
}

class LineView implements CallView {
  constructor(private readonly io: CliIO) {}
  progress(u: ProgressUpdate): void {
    this.io.stderr.write(`${progressLine(u)}\n`);
  }
  log(level: string, text: string): void {
    this.io.stderr.write(`[${level}] ${text}\n`);
  }
  status(text: string): void {
    this.io.stderr.write(`realtime-mcp: ${text}\n`);
  }
  stop(): void {}
  event(): void {}
}

class JsonView implements CallView {
  constructor(private readonly io: CliIO) {}
  private line(o: Record<string, unknown>): void {
    this.io.stdout.write(`${JSON.stringify(o)}\n`);
  }
  progress(u: ProgressUpdate): void {
    const o: Record<string, unknown> = { type: 'progress', progress: u.progress };
    if (u.total !== undefined) o.total = u.total;
    const pct = percent(u);
    if (pct !== undefined) o.percent = pct;
    if (u.message !== undefined) o.message = u.message;
    if (u.rate !== undefined) o.rate = Math.round(u.rate * 100) / 100;
    if (u.etaMs !== undefined) o.etaMs = u.etaMs;
    this.line(o);
  }
  log(level: string, text: string): void {
    this.line({ type: 'log', level, data: text });
  }
  status(_text: string, event?: Record<string, unknown>): void {
    if (event) this.line({ type: 'connection', ...event });
  }
  stop(): void {}
  event(e: Record<string, unknown>): void {
    this.line(e);
  }
}

/** A live bar on the terminal: ` 42% |████████░░░░| 21/50 · 24.3/s · ETA 2 s · batch 3`. */
class BarView implements CallView {
  private readonly multi: cliProgress.MultiBar;
  private bar: cliProgress.SingleBar | undefined;
  private total: number | undefined;

  constructor(
    private readonly io: CliIO,
    private readonly label: string,
  ) {
    this.multi = new cliProgress.MultiBar({
      stream: io.stderr,
      format: (options, params, payload: { counts: string; rate: string; eta: string; text: string; label: string }) => {
        const bar = cliProgress.Format.BarFormat(params.progress, options);
        const pct = this.total !== undefined ? `${String(Math.floor(params.progress * 100)).padStart(3)}%` : '   …';
        return `${payload.label} ${pct} ${bar} ${payload.counts} · ${payload.rate} · ETA ${payload.eta}${payload.text ? ` · ${payload.text}` : ''}`;
      },
      barsize: 30,
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      clearOnComplete: false,
      gracefulExit: false, // our SIGINT handler cancels the call; the bar is stopped before anything is printed
      linewrap: false,
      fps: 12,
      forceRedraw: true,
      emptyOnZero: true,
    });
  }

  progress(u: ProgressUpdate): void {
    const payload = {
      label: this.label,
      counts: u.total !== undefined ? `${u.progress}/${u.total}` : `${u.progress}`,
      rate: formatRate(u.rate),
      eta: formatEta(u.etaMs),
      text: messageText(u),
    };
    this.total = u.total;
    const total = u.total ?? 0;
    if (this.bar === undefined) this.bar = this.multi.create(total, u.progress, payload);
    else {
      if (total !== this.bar.getTotal()) this.bar.setTotal(total);
      this.bar.update(u.progress, payload);
    }
  }

  log(level: string, text: string): void {
    this.above(`[${level}] ${text}\n`);
  }

  status(text: string): void {
    this.above(`realtime-mcp: ${text}\n`);
  }

  /** A line above the bar (or plainly, while there is no bar yet). */
  private above(line: string): void {
    if (this.bar === undefined) this.io.stderr.write(line);
    else this.multi.log(line);
  }

  stop(): void {
    if (this.bar === undefined) return;
    this.multi.update(); // flush lines logged since the last frame
    this.multi.stop();
    this.bar = undefined;
  }

  event(): void {}
}
