// MCP Streamable HTTP (2025-11-25) for the CLI and the bridge, as an SDK `Transport`, with resume.
//
// Each message is one POST. A request is answered with JSON, or with an SSE stream that carries the
// call's progress and logs and ends with its response. Every SSE event has an id (2025-11-25 servers
// send a priming event with an id first). When such a stream breaks before the response, we resume it
// with `GET <url>` + `Mcp-Session-Id` + `Last-Event-ID: <last id on that stream>`: the server replays
// that stream's events after the id, once, in order, and the rest (up to the response) follows live.
// The session's own stream (GET, for notifications not tied to a request, e.g. resource updates) is
// reopened the same way. A 404 means the session is gone: final (kind `session-lost`). POSTs leave one
// at a time, in order (each waits for the previous one's response headers, not for its whole stream).
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionError, errorMessage } from '../errors.js';
import { ClientTransportBase } from './base.js';
import { reconnectWithBackoff } from './reconnecting.js';
import { postWithRetries } from './post-retry.js';
import { SseParser, readSse } from './sse-parser.js';
import { IdleWatchdog, idleMinMs } from './idle-watchdog.js';
import { httpFailure, networkReason } from './http-failure.js';
import { authHeaders, localError, requestTimeoutMs, type ClientTransportOptions } from './options.js';
import { HttpClient, type HttpResponse } from './http-client.js';

/** One SSE stream we read: a request's response stream, or the session's standalone stream. */
interface StreamState {
  /** The request this stream answers; undefined for the standalone stream. */
  requestId: RequestId | undefined;
  lastEventId: string | undefined;
  answered: boolean;
}

export class ResumableStreamableHttpTransport extends ClientTransportBase implements Transport {
  sessionId: string | undefined;

  private readonly url: URL;
  private protocolVersion: string | undefined;
  private initializeId: RequestId | undefined;
  private chain: Promise<void> = Promise.resolve();
  private standalone: StreamState | undefined;
  private readonly http: HttpClient;

  constructor(url: string | URL, options: ClientTransportOptions = {}) {
    super(options, 'open'); // no connection to open first: each message is its own request
    this.url = new URL(url);
    this.http = new HttpClient(this.url);
  }

  private get(extra: Record<string, string>, signal: AbortSignal): Promise<HttpResponse> {
    return this.http.request(this.url, { method: 'GET', headers: this.headers(extra), signal, headerTimeoutMs: requestTimeoutMs(this.o) });
  }

  /** Nothing to open yet: the session starts with the initialize POST. */
  async start(): Promise<void> {}

  /** The session id (Mcp-Session-Id), once initialize has been answered. */
  get serverSessionId(): string | undefined {
    return this.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...authHeaders(this.o), ...extra };
    if (this.sessionId !== undefined) h['Mcp-Session-Id'] = this.sessionId;
    if (this.protocolVersion !== undefined) h['MCP-Protocol-Version'] = this.protocolVersion;
    return h;
  }

  send(message: JSONRPCMessage): Promise<void> {
    const sent = this.chain.then(() => this.post(message));
    this.chain = sent.catch(() => {});
    return sent;
  }

  private async post(message: JSONRPCMessage): Promise<void> {
    if (this.state !== 'open') throw this.closedError();
    const m = message as { method?: string; id?: RequestId };
    const isRequest = m.method !== undefined && m.id !== undefined;
    if (m.method === 'initialize') this.initializeId = m.id;
    const body = JSON.stringify(message);
    const abort = new AbortController();
    const postOnce = () =>
      this.http.request(this.url, {
        method: 'POST',
        headers: this.headers({ 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }),
        body,
        signal: AbortSignal.any([abort.signal, this.stopped.signal]),
        headerTimeoutMs: requestTimeoutMs(this.o),
      });
    // Network failures only: an HTTP error answer is dealt with below.
    const res = await postWithRetries(postOnce, {
      http: this.http,
      isRequest,
      // Until the session exists, this POST is the connection (start() opens nothing).
      attempts: this.sessionId === undefined ? this.o.connectAttempts : this.o.backoff.maxAttempts,
      backoff: this.o.backoff,
      signal: this.stopped.signal,
      closedError: () => this.closedError(),
      failedTo: `cannot reach ${this.url}`,
      log: this.o.log.warn,
    });
    const sid = res.header('mcp-session-id');
    if (sid !== undefined && this.sessionId === undefined) this.sessionId = sid;
    if (res.status === 202) {
      res.discard();
      if (m.method === 'notifications/initialized') void this.openStandalone();
      return;
    }
    if (res.status < 200 || res.status >= 300) {
      const text = await res.text().catch(() => '');
      const e = httpFailure(
        { status: res.status, header: res.header, body: text },
        { url: String(this.url), hadToken: this.o.token !== undefined, resumingSession: res.status === 404 ? this.sessionId : undefined },
      );
      if (e.kind === 'session-lost' || ((e.kind === 'auth' || e.kind === 'forbidden') && this.sessionId !== undefined)) this.fail(e);
      throw e;
    }
    const type = res.header('content-type') ?? '';
    if (type.includes('text/event-stream')) {
      void this.readStream(res, { requestId: isRequest ? m.id : undefined, lastEventId: undefined, answered: false }, abort);
      return;
    }
    const text = await res.text();
    if (text.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConnectionError(`the server answered with invalid JSON (${text.slice(0, 80)})`, { kind: 'http' });
    }
    for (const one of Array.isArray(parsed) ? parsed : [parsed]) this.receive(one as JSONRPCMessage);
  }

  private receive(message: JSONRPCMessage): void {
    const r = message as { id?: RequestId; result?: { protocolVersion?: unknown } };
    if (r.id !== undefined && r.id === this.initializeId && typeof r.result?.protocolVersion === 'string') {
      // The bridge relays initialize without the SDK's Client: learn the version here too.
      this.protocolVersion ??= r.result.protocolVersion;
    }
    this.delivery.push(message);
  }

  /** Read one SSE response to its end; resume it if it broke (or ended) before its response came. */
  private async readStream(res: HttpResponse, stream: StreamState, abort: AbortController): Promise<void> {
    const parser = new SseParser();
    const watchdog = new IdleWatchdog(() => {
      this.o.log.warn('a stream went silent: resuming it');
      abort.abort();
    }, idleMinMs(this.o.heartbeatMs));
    parser.oncomment = () => watchdog.keepalive();
    parser.onevent = (event) => {
      if (event.id !== undefined) stream.lastEventId = event.id;
      if (event.data === '') return; // priming event: only an id
      const message = this.parse(event.data, 'ignored an SSE event whose data is not JSON');
      if (message === undefined) return;
      const r = message as { id?: RequestId; method?: string };
      if (stream.requestId !== undefined && r.method === undefined && r.id === stream.requestId) stream.answered = true;
      this.receive(message);
    };
    let why = 'the server ended the stream';
    try {
      await readSse(res.body, parser, () => watchdog.activity());
    } catch (err) {
      this.http.reset(); // the pooled connections to this server are suspect too
      why = abort.signal.aborted && !this.stopped.signal.aborted ? 'the stream went silent' : networkReason(err);
    } finally {
      watchdog.stop();
    }
    if (this.state !== 'open') return;
    if (stream.requestId !== undefined && stream.answered) return;
    await this.resume(stream, why);
  }

  /** GET + Last-Event-ID until the stream is back (or we must give up). */
  private async resume(stream: StreamState, why: string): Promise<void> {
    const isStandalone = stream.requestId === undefined;
    if (!isStandalone && stream.lastEventId === undefined) {
      this.receive(localError(stream.requestId!, `the response stream broke (${why}) before the server sent an event id to resume from`));
      return;
    }
    // The standalone stream carries no call: it is resumed quietly.
    const onstatus = isStandalone ? () => {} : this.o.onstatus;
    const outcome = await reconnectWithBackoff(() => this.reopen(stream), why, { backoff: this.o.backoff, onstatus }, this.stopped.signal);
    if (outcome.type === 'resumed') return this.readStream(outcome.value.res, stream, outcome.value.abort);
    if (outcome.type === 'stopped') return;
    if (outcome.error.status === 405) {
      // The server cannot resume streams: the answer to this request will never come.
      if (!isStandalone) this.receive(localError(stream.requestId!, `the response stream broke (${why}) and the server does not support resuming it`));
      return;
    }
    this.fail(outcome.error);
  }

  /** One GET + Last-Event-ID for `stream`; a 405 fails with status 405 (the server cannot resume). */
  private async reopen(stream: StreamState): Promise<{ res: HttpResponse; abort: AbortController }> {
    const abort = new AbortController();
    let res: HttpResponse;
    try {
      const extra: Record<string, string> = { Accept: 'text/event-stream' };
      if (stream.lastEventId !== undefined) extra['Last-Event-ID'] = stream.lastEventId;
      res = await this.get(extra, AbortSignal.any([abort.signal, this.stopped.signal]));
    } catch (err) {
      if (this.state === 'open') this.http.reset();
      throw new ConnectionError(networkReason(err), { kind: 'network', retryable: true, cause: err });
    }
    if (res.status === 200 && (res.header('content-type') ?? '').includes('text/event-stream')) return { res, abort };
    const text = await res.text().catch(() => '');
    if (res.status === 405) throw new ConnectionError('the server does not support resuming streams', { kind: 'http', status: 405 });
    throw httpFailure(
      { status: res.status, header: res.header, body: text },
      { url: String(this.url), hadToken: this.o.token !== undefined, resumingSession: res.status === 404 ? this.sessionId : undefined },
    );
  }

  /** The session's standalone stream (server notifications not tied to a request). */
  private async openStandalone(): Promise<void> {
    if (this.standalone !== undefined || this.state !== 'open') return;
    const stream: StreamState = { requestId: undefined, lastEventId: undefined, answered: false };
    this.standalone = stream;
    const abort = new AbortController();
    let res: HttpResponse;
    try {
      res = await this.get({ Accept: 'text/event-stream' }, AbortSignal.any([abort.signal, this.stopped.signal]));
    } catch (err) {
      if (this.state === 'open') await this.resume(stream, networkReason(err));
      return;
    }
    if (res.status !== 200) {
      res.discard();
      this.o.log.debug(`no standalone stream (HTTP ${res.status}): server notifications come only with responses`);
      return;
    }
    await this.readStream(res, stream, abort);
  }

  /** Stop reading and end the session (DELETE). */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.stopped.abort();
    this.delivery.stop();
    if (this.sessionId !== undefined) {
      try {
        const res = await this.http.request(this.url, { method: 'DELETE', headers: this.headers({}), signal: AbortSignal.timeout(2000) });
        res.discard();
      } catch (err) {
        this.o.log.debug(`DELETE of the session failed: ${errorMessage(err)}`);
      }
    }
    this.http.close();
    this.state = 'closed';
    this.onclose?.();
  }

  protected override teardown(): void {
    this.http.close();
  }
}
