// Legacy MCP HTTP+SSE (2024-11-05): GET the SSE stream, wait for its `endpoint` event, then POST each
// message to that endpoint (202, empty); everything the server says — results, progress, its own
// requests such as ping — arrives on the stream. Our answers to its requests are POSTed like the rest.
import { RpcPeer } from './rpc.mjs';
import { initialize } from './handshake.mjs';
import { PostHandler, StreamHandler } from './http.mjs';
import { PostSink } from './post-sink.mjs';

export class SseSession {
  /** pools: { posts: undici Pool, streams: undici Pool } common to all sessions of a run. */
  constructor(o, pools) {
    this.o = o;
    this.pools = pools;
    this.url = new URL(o.url);
    this.endpoint = null;
    this.closed = false;
    this.rpc = new RpcPeer((text, id) => this.post(text, id));
    this.postHeaders = { 'content-type': 'application/json', ...o.headers };
    this.stream = null;
  }

  get streamOpen() { return this.stream?.open === true; }

  async open() {
    let gotEndpoint;
    const endpoint = new Promise((resolve) => { gotEndpoint = resolve; });
    const stream = new StreamHandler((type, data) => {
      if (type === 'message') this.rpc.receive(data);
      else if (type === 'endpoint') {
        const u = new URL(data.trim(), this.url);
        this.endpoint = u.pathname + u.search;
        gotEndpoint();
      }
    }, (err) => {
      if (!this.closed) this.rpc.noteError(err);
      this.rpc.failAll(new Error('SSE stream closed'));
    });
    this.stream = stream;
    this.pools.streams.dispatch({
      path: this.url.pathname + this.url.search, method: 'GET', headers: { accept: 'text/event-stream', ...this.o.headers },
    }, stream);
    await stream.ready;
    await withTimeout(endpoint, 30_000, 'no endpoint event on the SSE stream');
    this.init = await initialize(this.rpc, this.o.protocolVersion);
  }

  post(text, id) {
    if (this.endpoint === null || this.closed) throw new Error('session not open');
    // The answer comes on the stream; a body on the POST (not in the spec) would be read all the same.
    this.pools.posts.dispatch({ path: this.endpoint, method: 'POST', headers: this.postHeaders, body: text },
      new PostHandler(new PostSink(this.rpc, id, false)));
  }

  async close() {
    this.closed = true;
    this.stream?.abort();
  }
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, reject) => { t = setTimeout(() => reject(new Error(what)), ms); })]).finally(() => clearTimeout(t));
}
