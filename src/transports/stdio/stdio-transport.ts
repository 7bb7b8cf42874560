// MCP over stdio: one session per process, newline-delimited JSON-RPC on stdin and stdout (the MCP
// stdio transport). Nothing else may be written to stdout; logs go to stderr. The session ends when
// stdin ends.
import type { Readable, Writable } from 'node:stream';
import { parseMessage } from '../../jsonrpc.js';
import { Errors } from '../../errors.js';
import { SESSION_STREAM } from '../../outbox/event-log.js';
import { errorMessage, type OutMessage } from '../../outbox/messages.js';
import type { OutboxSink } from '../../outbox/sink.js';
import type { Session, SessionBinding } from '../../sessions/session.js';
import { whenDrained } from '../drain.js';
import type { SessionHost } from '../websocket/session-transport.js';

export interface StdioOptions {
  /** A line longer than this is refused (MAX_PAYLOAD_BYTES, the bound of one WebSocket frame or HTTP body). */
  maxLineBytes: number;
}

export class StdioTransport implements SessionBinding, OutboxSink {
  /** The SDK's stdio client handles every line of one read in one go: results wait for the barrier. */
  readonly needsOrderingBarrier = true;
  readonly session: Session;
  private readonly host: SessionHost;
  private readonly input: Readable;
  private readonly output: Writable & { writableNeedDrain: boolean };
  private readonly maxLineBytes: number;
  private pending = '';
  /** True while the rest of a refused (over-long) line is still arriving. */
  private discarding = false;
  private ended = false;
  /** Resolves when the session has ended (stdin closed, or close()). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(session: Session, host: SessionHost, input: Readable, output: Writable & { writableNeedDrain: boolean }, options: StdioOptions) {
    this.session = session;
    this.host = host;
    this.input = input;
    this.output = output;
    this.maxLineBytes = options.maxLineBytes;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    session.binding = this;
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => this.onData(chunk));
    input.on('end', () => this.finish('stdin closed'));
    input.on('error', () => this.finish('stdin error'));
    output.on('error', () => this.finish('stdout closed'));
    session.outbox.attach(SESSION_STREAM, this);
  }

  private onData(chunk: string): void {
    const text = this.pending + chunk;
    this.pending = '';
    let start = 0;
    for (let newline = text.indexOf('\n', start); newline !== -1; newline = text.indexOf('\n', start)) {
      const line = text.slice(start, newline);
      start = newline + 1;
      if (this.discarding) {
        this.discarding = false; // the tail of a refused line: dropped, not parsed as a line of its own
        continue;
      }
      if (this.tooLong(line)) {
        this.refuseLine();
        continue;
      }
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.trim() !== '') this.onLine(trimmed);
    }
    const rest = text.slice(start);
    if (this.discarding) return; // still inside a refused line
    if (this.tooLong(rest)) {
      this.refuseLine();
      this.discarding = true;
      return;
    }
    this.pending = rest;
  }

  /** Over the limit, in bytes (UTF-8), counted only when the characters alone could be. */
  private tooLong(text: string): boolean {
    return text.length > this.maxLineBytes || (text.length * 3 > this.maxLineBytes && Buffer.byteLength(text) > this.maxLineBytes);
  }

  private refuseLine(): void {
    this.session.send(errorMessage({ jsonrpc: '2.0', id: null, error: { code: Errors.PAYLOAD_TOO_LARGE.rpc, message: `Invalid Request: message larger than ${this.maxLineBytes} bytes` } }));
  }

  private onLine(line: string): void {
    if (this.ended) return;
    const parsed = parseMessage(line);
    if (!parsed.ok) return this.session.send(errorMessage(parsed.response));
    this.host.receive(this.session, parsed.message);
  }

  write(_stream: string, _seq: number, text: string, _message: OutMessage | undefined): void {
    if (!this.ended) this.output.write(`${text}\n`);
  }

  get bufferedAmount(): number {
    return this.output.writableLength;
  }

  whenDrained(): Promise<void> {
    return whenDrained(this.output);
  }

  /** The session stream of stdio never completes on its own. */
  end(): void {}

  private finish(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.input.pause();
    this.session.outbox.detach(this);
    this.host.endSession(this.session, why);
    this.resolveDone();
  }

  dropSlowClient(): void {
    // The host is not reading our stdout: nothing to reconnect; keep waiting (calls are paused by checkpoint()).
  }

  async close(reason: string): Promise<void> {
    this.finish(reason);
  }

  shutdown(reason: string): Promise<void> {
    return this.close(reason);
  }
}
