// MCP Streamable HTTP. Two ways to use it:
//   sessionful (2025-11-25): initialize → Mcp-Session-Id; each message is a POST whose answer is JSON or
//     an SSE stream (progress first, then the result); our answers to server requests are POSTed (202);
//     optionally a GET SSE stream per session (idle sessions keep one open); DELETE at the end.
//   stateless (2026-07-28): no initialize and no session; every request carries
//     _meta {io.modelcontextprotocol/protocolVersion, io.modelcontextprotocol/clientCapabilities} and the
//     headers MCP-Protocol-Version, Mcp-Method and Mcp-Name.
import { RpcPeer } from './rpc.mjs';
import { initialize } from './handshake.mjs';
import { PostHandler, StreamHandler } from './http.mjs';
import { PostSink } from './post-sink.mjs';

export const STATELESS_VERSION = '2026-07-28';
/** What every stateless request carries in params._meta. */
export const STATELESS_META = {
  'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
};

export class StreamableSession {
  constructor(o, pools) {
    this.o = o;
    this.pools = pools;
    const u = new URL(o.url);
    this.path = u.pathname + u.search;
    this.stateless = o.stateless === true;
    this.extraMeta = this.stateless ? STATELESS_META : undefined;
    this.sessionId = null;
    this.closed = false;
    this.stream = null;
    this.rpc = new RpcPeer((text, id, method, name) => this.post(text, id, method, name));
    this.headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...o.headers };
    if (this.stateless) this.headers['mcp-protocol-version'] = STATELESS_VERSION;
    this.statelessHeaders = new Map(); // "method name" -> headers
    this.captureSessionId = (h) => {
      const sid = h['mcp-session-id'];
      if (typeof sid === 'string' && this.sessionId === null) this.sessionId = sid;
    };
  }

  get streamOpen() { return this.stream?.open === true; }

  async open({ getStream = false } = {}) {
    if (this.stateless) return;
    this.init = await initialize(this.rpc, this.o.protocolVersion, (result) => {
      if (this.sessionId === null) throw new Error('initialize answered without Mcp-Session-Id');
      this.headers = { ...this.headers, 'mcp-session-id': this.sessionId, 'mcp-protocol-version': result?.protocolVersion ?? this.o.protocolVersion };
    });
    if (getStream) await this.openStream();
  }

  async openStream() {
    const stream = new StreamHandler((type, data) => { if (type === 'message') this.rpc.receive(data); },
      (err) => { if (!this.closed) this.rpc.noteError(err); });
    this.stream = stream;
    const headers = { ...this.headers, accept: 'text/event-stream' };
    delete headers['content-type'];
    this.pools.streams.dispatch({ path: this.path, method: 'GET', headers }, stream);
    await stream.ready;
  }

  headersFor(method, name) {
    if (!this.stateless || method === undefined) return this.headers;
    const key = name === undefined ? method : `${method} ${name}`;
    let h = this.statelessHeaders.get(key);
    if (h === undefined) {
      h = { ...this.headers, 'mcp-method': method };
      if (name !== undefined) h['mcp-name'] = name;
      this.statelessHeaders.set(key, h);
    }
    return h;
  }

  post(text, id, method, name) {
    if (this.closed) throw new Error('session closed');
    const sink = new PostSink(this.rpc, id, id !== undefined, this.sessionId === null && !this.stateless ? this.captureSessionId : undefined);
    this.pools.posts.dispatch({ path: this.path, method: 'POST', headers: this.headersFor(method, name), body: text }, new PostHandler(sink));
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.stream?.abort();
    if (this.sessionId === null) return;
    const headers = { ...this.headers };
    delete headers['content-type'];
    await new Promise((resolve) => {
      this.pools.posts.dispatch({ path: this.path, method: 'DELETE', headers }, new PostHandler({ onText() {}, onEnd: resolve }));
    });
  }
}
