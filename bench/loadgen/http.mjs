// HTTP plumbing for the two HTTP transports, on undici's low-level dispatch API (no fetch, no
// Response/stream objects per request): a keep-alive pool for POSTs, a pool of long-lived GET streams,
// and one handler that reads a POST's answer whether it is JSON, an SSE stream or an empty 202.
import { Pool } from 'undici';
import { SseParser } from './sse-parser.mjs';

/** Keep-alive pool, HTTP/1.1 without pipelining: `connections` requests in flight at most. */
export function postPool(origin, connections) {
  return new Pool(origin, {
    connections: Math.max(1, connections),
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
  });
}

/** One connection per open GET stream, as many as needed. */
export function streamPool(origin) {
  return new Pool(origin, { connections: null, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 0, keepAliveTimeout: 600_000 });
}

const textOf = (chunks) => (chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString());

/**
 * Handler for a POST carrying one JSON-RPC message. sink: { onText(text), onHeaders?(headers),
 * onEnd(err) } — onEnd(undefined) when the response ended normally, onEnd(Error) for an HTTP error
 * status or a transport error. A 2xx application/json body or each SSE `message` event goes to
 * onText; other bodies (a 202's "Accepted") are dropped.
 */
export class PostHandler {
  constructor(sink) {
    this.sink = sink;
    this.status = 0;
    this.sse = null;
    this.chunks = null;
    this.json = false;
  }
  onRequestStart() {}
  onResponseStart(_controller, status, headers) {
    this.status = status;
    if (this.sink.onHeaders !== undefined) this.sink.onHeaders(headers);
    const type = headers['content-type'];
    if (status < 300 && typeof type === 'string' && type.startsWith('text/event-stream')) {
      const sink = this.sink;
      this.sse = new SseParser((event, data) => { if (event === 'message') sink.onText(data); });
    } else {
      this.chunks = [];
      this.json = typeof type === 'string' && type.startsWith('application/json');
    }
  }
  onResponseData(_controller, chunk) {
    if (this.sse !== null) this.sse.push(chunk);
    else this.chunks.push(chunk);
  }
  onResponseEnd() {
    if (this.status >= 300) {
      this.sink.onEnd(new Error(`HTTP ${this.status}: ${textOf(this.chunks).slice(0, 200)}`));
      return;
    }
    if (this.json && this.chunks.length > 0) this.sink.onText(textOf(this.chunks)); // not a 202's 'Accepted'
    this.sink.onEnd(undefined);
  }
  onResponseError(_controller, err) { this.sink.onEnd(err); }
}

/**
 * Handler for a long-lived GET SSE stream: every event goes to onEvent(type, data). `ready` resolves
 * with the headers on a 200 and rejects otherwise; `abort()` closes the stream.
 */
export class StreamHandler {
  constructor(onEvent, onClosed) {
    this.parser = new SseParser(onEvent);
    this.onClosed = onClosed;
    this.controller = null;
    this.open = false;
    this.ready = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject; });
    this.ready.catch(() => {});
  }
  onRequestStart(controller) { this.controller = controller; }
  onResponseStart(_controller, status, headers) {
    if (status !== 200) { this.reject(new Error(`GET stream: HTTP ${status}`)); return; }
    this.open = true;
    this.resolve(headers);
  }
  onResponseData(_controller, chunk) { this.parser.push(chunk); }
  onResponseEnd() { this.closed(new Error('GET stream ended')); }
  onResponseError(_controller, err) { this.closed(err); }
  closed(err) {
    const wasOpen = this.open;
    this.open = false;
    this.reject(err);
    if (wasOpen) this.onClosed(err);
  }
  abort() {
    if (this.controller !== null && !this.controller.aborted) this.controller.abort(new Error('closed by client'));
  }
}
