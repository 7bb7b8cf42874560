// How `call` shows a running call: a live bar on a terminal (cli-progress), one plain line per update
// when stderr is not a terminal, or one JSON object per line on stdout with --json. Progress and
// diagnostics go to stderr in the human modes, so stdout carries only the result (pipe-friendly).
import cliProgress from 'cli-progress';
import type { CliIO } from './cli-env.js';
// Pure formatting and the sliding window, shared with the server so the bar reads like its messages.
import { ProgressRate, formatCount, formatEta as etaText, formatRate as rateText } from '../operations/progress-rate.js';

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
  /** Items per second (the server's, from `_meta.rate`, else estimated here). */
  rate?: number;
  etaMs?: number;
  /** What is counted (`_meta.unit`, e.g. "images"): `350 images/s`. */
  unit?: string;
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

/** Client-side rate and ETA for servers that send no `_meta.rate`: the server's sliding window, run here. */
export class RateEstimator {
  private readonly window = new ProgressRate(performance.now());

  update(progress: number, total: number | undefined, now = performance.now()): { rate?: number; etaMs?: number } {
    const { rate, etaMs } = this.window.update(progress, total, now);
    return { rate, etaMs };
  }
}

/**
 * The part of a progress message that is not already shown: drops the count ("4,200/10,000", "4200")
 * and the rate and ETA segments realtime-mcp appends ("4,200/10,000 · batch 42 · 350 images/s · ETA 16 s"
 * → "batch 42").
 */
export function messageText(update: ProgressUpdate): string {
  if (!update.message) return '';
  const counts = new Set([counted(update), `${update.progress}/${update.total}`, `${update.progress}`, formatCount(update.progress)]);
  return update.message
    .split(' · ')
    .filter((part) => !counts.has(part.trim()) && !isOurRate(part.trim(), update.unit) && !/^ETA\b/.test(part.trim()))
    .join(' · ');
}

/** `350/s` or `350 images/s` in the call's own unit; a tool's other rates (`12 MB/s`) are its text. */
function isOurRate(part: string, unit: string | undefined): boolean {
  const m = /^[\d.,]+(?: (\S+))?\/s$/.exec(part);
  return m !== null && (m[1] === undefined || m[1] === unit);
}

/** `4,200/10,000`, or `4,200` without a total. */
function counted(u: ProgressUpdate): string {
  return u.total !== undefined ? `${formatCount(u.progress)}/${formatCount(u.total)}` : formatCount(u.progress);
}

/** `350 images/s`, `12.5/s`; `–/s` until there is a rate. */
export function formatRate(rate: number | undefined, unit?: string): string {
  if (rate === undefined || !Number.isFinite(rate)) return unit === undefined ? '–/s' : `– ${unit}/s`;
  return rateText(rate, unit);
}

/** `ETA 16 s`, `ETA 2 min 5 s`; `ETA –` until there is one. */
export function formatEta(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? 'ETA –' : etaText(ms);
}

function percent(u: ProgressUpdate): number | undefined {
  return u.total !== undefined && u.total > 0 ? Math.min(100, Math.floor((u.progress / u.total) * 100)) : undefined;
}

/** One line per update: `progress 4,200/10,000 42% · 350 images/s · ETA 16 s · batch 42`. */
export function progressLine(u: ProgressUpdate): string {
  const pct = percent(u);
  const parts = [`progress ${counted(u)}${pct !== undefined ? ` ${pct}%` : ''}`];
  if (u.rate !== undefined) parts.push(formatRate(u.rate, u.unit));
  if (u.etaMs !== undefined) parts.push(formatEta(u.etaMs));
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

/** A live bar on the terminal: `process_images  42% ████████░░░░ 4,200/10,000 · 350 images/s · ETA 16 s · batch 42`. */
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
        return `${payload.label} ${pct} ${bar} ${payload.counts} · ${payload.rate} · ${payload.eta}${payload.text ? ` · ${payload.text}` : ''}`;
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
      counts: counted(u),
      rate: formatRate(u.rate, u.unit),
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
