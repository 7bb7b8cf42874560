// The legacy HTTP+SSE transport (MCP 2024-11-05) for the CLI and the bridge, as an SDK `Transport`,
// with the EventSource-style resume the server supports.
//
// GET <url> opens the session's event stream; its first event, `endpoint`, names the URL to POST our
// messages to (with `?sessionId=`). Every later event has an id. When the stream breaks we reconnect
// with backoff and send `Last-Event-ID: <last id received>`: the server re-attaches the same session
// (its endpoint event names the same sessionId) and replays every event after that id, once, in order.
// If the endpoint names another session, ours is gone: that is final (kind `session-lost`). POSTs go
// one at a time, in order; they do not need the stream, so they carry on while it reconnects.
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionError, errorMessage } from '../errors.js';
import { backoffDelay, sleep } from '../backoff.js';
import { OrderedDelivery } from './ordered-delivery.js';
import { SseParser, readSse } from './sse-parser.js';
import { IdleWatchdog, idleMinMs } from './idle-watchdog.js';
import { httpFailure, networkReason, nothingSent } from './http-failure.js';
import { HttpClient, type HttpResponse } from './http-client.js';
import { authHeaders, requestTimeoutMs, resolveOptions, type ClientTransportOptions, type ResolvedOptions } from './options.js';

type State = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

export class ResumableLegacySseTransport implements Transport {
  /**
   * The server's session id (from the 101 / the endpoint event). Deliberately not the SDK's
   * `Transport.sessionId`: the SDK Client skips initialize on a transport that already has one.
   */
  serverSessionId: string | undefined;
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  fatalError: ConnectionError | undefined;

  private readonly url: URL;
  private readonly o: ResolvedOptions;
  private endpoint: URL | undefined;
  private lastEventId: string | undefined;
  private state: State = 'idle';
  private readonly stopped = new AbortController();
  private stream: AbortController | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly delivery = new OrderedDelivery((m) => this.onmessage?.(m));
  private readonly http: HttpClient;

  constructor(url: string | URL, options: ClientTransportOptions = {}) {
    this.url = new URL(url);
    this.o = resolveOptions(options);
    this.http = new HttpClient(this.url);
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('ResumableLegacySseTransport already started');
    this.state = 'connecting';
    for (let attempt = 1; ; attempt++) {
      try {
        await this.openStream(false);
        this.state = 'open';
        return;
      } catch (err) {
        const e = asConnectionError(err);
        if (!e.retryable || attempt >= this.o.connectAttempts || this.stopped.signal.aborted) {
          this.state = 'closed';
          this.fatalError = e;
          this.stream?.abort();
          throw e;
        }
        const delay = Math.max(e.retryAfterMs ?? 0, backoffDelay(attempt, this.o.backoff));
        this.o.log.warn(`${e.message}; retrying in ${(delay / 1000).toFixed(1)} s`);
        if (!(await sleep(delay, this.stopped.signal))) throw e;
      }
    }
  }

  /** Open (or reopen) the event stream; resolves once its `endpoint` event has arrived. */
  private async openStream(resume: boolean): Promise<void> {
    const abort = new AbortController();
    this.stream = abort;
    const headers: Record<string, string> = { ...authHeaders(this.o), Accept: 'text/event-stream' };
    if (resume && this.lastEventId !== undefined) headers['Last-Event-ID'] = this.lastEventId;
    let res: HttpResponse;
    try {
      res = await this.http.request(this.url, {
        method: 'GET',
        headers,
        signal: AbortSignal.any([abort.signal, this.stopped.signal]),
        headerTimeoutMs: requestTimeoutMs(this.o),
      });
    } catch (err) {
      this.http.reset();
      throw new ConnectionError(`cannot connect to ${this.url}: ${networkReason(err)}`, { kind: 'network', retryable: true, cause: err });
    }
    if (res.status < 200 || res.status >= 300) {
      const body = await res.text().catch(() => '');
      throw httpFailure({ status: res.status, header: res.header, body }, { url: String(this.url), hadToken: this.o.token !== undefined });
    }
    if (!(res.header('content-type') ?? '').includes('text/event-stream')) {
      res.discard();
      throw new ConnectionError(`${this.url} did not answer with an event stream (Content-Type ${res.header('content-type')})`, { kind: 'http' });
    }
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const watchdog = new IdleWatchdog(() => {
        this.o.log.warn('the event stream went silent: reconnecting');
        abort.abort();
      }, idleMinMs(this.o.heartbeatMs));
      const parser = new SseParser();
      parser.oncomment = () => watchdog.keepalive();
      parser.onevent = (event) => {
        if (event.event === 'endpoint') {
          const endpoint = new URL(event.data, this.url);
          const sessionId = endpoint.searchParams.get('sessionId') ?? undefined;
          if (resume && this.serverSessionId !== undefined && sessionId !== this.serverSessionId) {
            reject(new ConnectionError(
              `the server no longer has session ${this.serverSessionId.slice(0, 8)}… (it ended or expired): what it sent while we were away is lost`,
              { kind: 'session-lost' },
            ));
            abort.abort();
            return;
          }
          this.endpoint = endpoint;
          this.serverSessionId = sessionId;
          if (event.id !== undefined) this.lastEventId = event.id;
          ready = true;
          resolve();
          return;
        }
        if (event.id !== undefined) this.lastEventId = event.id;
        if (event.data === '' || event.event !== 'message') return;
        let message: JSONRPCMessage;
        try {
          message = JSON.parse(event.data) as JSONRPCMessage;
        } catch {
          this.onerror?.(new Error('ignored an SSE event whose data is not JSON'));
          return;
        }
        this.delivery.push(message);
      };
      readSse(res.body, parser, () => watchdog.activity()).then(
        () => 'the server ended the event stream',
        (err: unknown) => {
          // A broken or silent stream: the pooled connections to this server are suspect too.
          this.http.reset();
          return abort.signal.aborted && !this.stopped.signal.aborted ? 'the event stream went silent' : networkReason(err);
        },
      ).then((why) => {
        watchdog.stop();
        if (!ready) {
          reject(new ConnectionError(`the event stream from ${this.url} ended before its endpoint event (${why})`, { kind: 'network', retryable: true }));
          return;
        }
        if (this.stream === abort && this.state === 'open') void this.reconnect(why);
      });
    });
  }

  private async reconnect(why: string): Promise<void> {
    this.state = 'reconnecting';
    this.o.onstatus({ type: 'dropped', reason: why });
    let reason = why;
    for (let attempt = 1; attempt <= this.o.backoff.maxAttempts; attempt++) {
      const delay = backoffDelay(attempt, this.o.backoff);
      this.o.onstatus({ type: 'reconnecting', attempt, delayMs: delay, reason });
      if (!(await sleep(delay, this.stopped.signal)) || this.state !== 'reconnecting') return;
      try {
        await this.openStream(true);
        if (this.state !== 'reconnecting') return;
        this.state = 'open';
        this.o.onstatus({ type: 'resumed', attempts: attempt });
        return;
      } catch (err) {
        if (this.state !== 'reconnecting') return;
        const e = asConnectionError(err);
        if (!e.retryable) return this.fail(e);
        reason = e.message;
        if (e.retryAfterMs !== undefined && !(await sleep(e.retryAfterMs, this.stopped.signal))) return;
      }
    }
    this.fail(new ConnectionError(`connection lost and not back after ${this.o.backoff.maxAttempts} attempts (${reason})`, { kind: 'network' }));
  }

  send(message: JSONRPCMessage): Promise<void> {
    const sent = this.chain.then(() => this.post(message));
    this.chain = sent.catch(() => {});
    return sent;
  }

  /**
   * POST one message. Retried with backoff when nothing reached the server, or when the message is not
   * a request (a notification or response sent twice does no harm); a request whose fate is unknown is
   * not sent again (it could run twice): its send fails instead.
   */
  private async post(message: JSONRPCMessage): Promise<void> {
    const body = JSON.stringify(message);
    const isRequest = 'method' in message && 'id' in message;
    for (let attempt = 1; ; attempt++) {
      if (this.state === 'closing' || this.state === 'closed' || this.endpoint === undefined) {
        throw this.fatalError ?? new ConnectionError('the connection is closed', { kind: 'closed' });
      }
      let retry: ConnectionError;
      try {
        const res = await this.http.request(this.endpoint, {
          method: 'POST',
          headers: { ...authHeaders(this.o), 'Content-Type': 'application/json' },
          body,
          signal: this.stopped.signal,
          headerTimeoutMs: requestTimeoutMs(this.o),
        });
        const text = await res.text().catch(() => '');
        if (res.status >= 200 && res.status < 300) return;
        const e = httpFailure(
          { status: res.status, header: res.header, body: text },
          { url: String(this.endpoint), hadToken: this.o.token !== undefined, resumingSession: res.status === 404 ? this.serverSessionId : undefined },
        );
        if (!e.retryable) {
          if (e.kind === 'session-lost' || e.kind === 'auth' || e.kind === 'forbidden') this.fail(e);
          throw e;
        }
        retry = e;
      } catch (err) {
        if (err instanceof ConnectionError) throw err;
        if (this.stopped.signal.aborted) throw this.fatalError ?? new ConnectionError('the connection is closed', { kind: 'closed' });
        this.http.reset();
        const e = new ConnectionError(`could not send to ${this.endpoint.pathname}: ${networkReason(err)}`, { kind: 'network', retryable: true, cause: err });
        if (isRequest && !nothingSent(err)) throw e;
        retry = e;
      }
      if (attempt >= this.o.backoff.maxAttempts) throw retry;
      const delay = Math.max(retry.retryAfterMs ?? 0, backoffDelay(attempt, this.o.backoff));
      this.o.log.debug(`${retry.message}; retrying in ${(delay / 1000).toFixed(1)} s`);
      if (!(await sleep(delay, this.stopped.signal))) throw retry;
    }
  }

  /** End the stream (the server ends the session after its idle timeout: legacy SSE has no DELETE). */
  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closed';
    this.stopped.abort();
    this.delivery.stop();
    this.http.close();
    this.onclose?.();
  }

  private fail(error: ConnectionError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.fatalError = error;
    this.stopped.abort();
    this.http.close();
    setImmediate(() => {
      this.state = 'closed';
      this.onerror?.(error);
      this.onclose?.();
    });
  }
}

function asConnectionError(err: unknown): ConnectionError {
  return err instanceof ConnectionError ? err : new ConnectionError(errorMessage(err), { kind: 'network', retryable: true, cause: err });
}
