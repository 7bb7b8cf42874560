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
import { ConnectionError } from '../errors.js';
import { ClientTransportBase } from './base.js';
import { connectWithRetries, reconnectWithBackoff } from './reconnecting.js';
import { postWithRetries } from './post-retry.js';
import { SseParser, readSse } from './sse-parser.js';
import { IdleWatchdog, idleMinMs } from './idle-watchdog.js';
import { httpFailure, networkReason } from './http-failure.js';
import { HttpClient, type HttpResponse } from './http-client.js';
import { authHeaders, requestTimeoutMs, type ClientTransportOptions } from './options.js';

export class ResumableLegacySseTransport extends ClientTransportBase implements Transport {
  /**
   * The server's session id (from the 101 / the endpoint event). Deliberately not the SDK's
   * `Transport.sessionId`: the SDK Client skips initialize on a transport that already has one.
   */
  serverSessionId: string | undefined;

  private readonly url: URL;
  private endpoint: URL | undefined;
  private lastEventId: string | undefined;
  private stream: AbortController | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly http: HttpClient;

  constructor(url: string | URL, options: ClientTransportOptions = {}) {
    super(options, 'idle');
    this.url = new URL(url);
    this.http = new HttpClient(this.url);
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('ResumableLegacySseTransport already started');
    this.state = 'connecting';
    try {
      await connectWithRetries(() => this.openStream(false), this.o, this.stopped.signal);
      this.state = 'open';
    } catch (err) {
      this.state = 'closed';
      this.fatalError = err as ConnectionError;
      this.stream?.abort();
      throw err;
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
        const message = this.parse(event.data, 'ignored an SSE event whose data is not JSON');
        if (message !== undefined) this.delivery.push(message);
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
    const reopen = async () => {
      await this.openStream(true);
      if (this.state === 'reconnecting') this.state = 'open';
    };
    const outcome = await reconnectWithBackoff(reopen, why, this.o, this.stopped.signal);
    if (outcome.type === 'failed') this.fail(outcome.error);
  }

  send(message: JSONRPCMessage): Promise<void> {
    const sent = this.chain.then(() => this.post(message));
    this.chain = sent.catch(() => {});
    return sent;
  }

  /** POST one message, retried as post-retry.ts explains; an answer marked retryable (429, 5xx) too. */
  private async post(message: JSONRPCMessage): Promise<void> {
    if (this.ended || this.endpoint === undefined) throw this.closedError();
    const body = JSON.stringify(message);
    const postOnce = async () => {
      const endpoint = this.endpoint!; // the latest endpoint event's (a resume names it again)
      const res = await this.http.request(endpoint, {
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
        { url: String(endpoint), hadToken: this.o.token !== undefined, resumingSession: res.status === 404 ? this.serverSessionId : undefined },
      );
      if (e.kind === 'session-lost' || e.kind === 'auth' || e.kind === 'forbidden') this.fail(e);
      throw e;
    };
    await postWithRetries(postOnce, {
      http: this.http,
      isRequest: 'method' in message && 'id' in message,
      attempts: this.o.backoff.maxAttempts,
      backoff: this.o.backoff,
      signal: this.stopped.signal,
      closedError: () => this.closedError(),
      failedTo: `could not send to ${this.endpoint.pathname}`,
      log: this.o.log.debug,
    });
  }

  /** End the stream (the server ends the session after its idle timeout: legacy SSE has no DELETE). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.state = 'closed';
    this.stopped.abort();
    this.delivery.stop();
    this.http.close();
    this.onclose?.();
  }

  protected override teardown(): void {
    this.http.close();
  }
}
