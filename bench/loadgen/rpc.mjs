// The JSON-RPC side of one MCP session, independent of the transport: request ids and their callbacks,
// answers to requests the server sends us (ping → {} promptly: the server may hold a result behind it),
// and progress notifications routed to the call that asked for them by its integer progressToken.
// The transport gives us every JSON text it receives (`receive`) and sends what we hand it (`send`).
import { isProgress, plainResultId, readProgress } from './text-match.mjs';

export class RpcError extends Error {
  constructor(error) {
    super(`JSON-RPC error ${error?.code}: ${error?.message}`);
    this.rpc = error;
  }
}

let nextToken = 1;
/** A progress token unique in this process (integers keep the fast path allocation-free). */
export const newProgressToken = () => nextToken++;

export class RpcPeer {
  /**
   * @param {(text: string, id?: number, method?: string, name?: string) => void} send  writes one JSON-RPC
   *   message (throws when it cannot). id, method and name are given for our requests only: HTTP
   *   transports fail that id when its POST fails, and stateless Streamable HTTP puts method and tool
   *   name in headers.
   */
  constructor(send) {
    this.send = send;
    this.lastId = 0;
    /** id -> (err, raw, msg) => void; raw is the text when matched without parsing, msg when parsed. */
    this.pending = new Map();
    /** progressToken -> (progress: number) => void */
    this.progress = new Map();
    this.scratch = { token: 0, progress: 0 };
    this.errors = 0;
    this.errorSamples = [];
    this.serverRequests = 0;
    this.strayProgress = 0;
  }

  /** Sends a request whose params are already JSON; returns its id. name: the tool, for tools/call. */
  request(method, paramsJson, cb, name) {
    const id = ++this.lastId;
    this.pending.set(id, cb);
    try {
      this.send(`{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${paramsJson}}`, id, method, name);
    } catch (e) {
      this.fail(id, e);
    }
    return id;
  }

  /** Promise form for the rare, non-hot requests (initialize, ping): resolves with the parsed message. */
  call(method, params = {}) {
    return new Promise((resolve, reject) => {
      this.request(method, JSON.stringify(params), (err, raw, msg) => (err ? reject(err) : resolve(msg ?? JSON.parse(raw))));
    });
  }

  notify(method, params) {
    try {
      this.send(JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }));
    } catch (e) {
      this.noteError(e);
    }
  }

  watchProgress(token, onProgress) { this.progress.set(token, onProgress); }
  unwatchProgress(token) { this.progress.delete(token); }

  /** One JSON text from the server. */
  receive(text) {
    if (isProgress(text)) {
      if (readProgress(text, this.scratch)) { this.deliverProgress(this.scratch.token, this.scratch.progress); return; }
    } else {
      const id = plainResultId(text);
      if (id >= 0) {
        const cb = this.pending.get(id);
        if (cb !== undefined) { this.pending.delete(id); cb(null, text, undefined); return; }
      }
    }
    let msg;
    try { msg = JSON.parse(text); } catch (e) { this.noteError(new Error(`unparsable message: ${text.slice(0, 120)}`)); return; }
    this.dispatch(msg);
  }

  dispatch(msg) {
    if (Array.isArray(msg)) { for (const m of msg) this.dispatch(m); return; }
    if (msg === null || typeof msg !== 'object') { this.noteError(new Error('not a JSON-RPC message')); return; }
    if (typeof msg.method === 'string') {
      if (msg.id !== undefined && msg.id !== null) this.answerServerRequest(msg);
      else if (msg.method === 'notifications/progress') this.deliverProgress(msg.params?.progressToken, msg.params?.progress);
      return; // other notifications (logs, list changes) are not measured
    }
    const cb = this.pending.get(msg.id);
    if (cb === undefined) return;
    this.pending.delete(msg.id);
    cb(msg.error !== undefined ? new RpcError(msg.error) : null, undefined, msg);
  }

  deliverProgress(token, progress) {
    const h = this.progress.get(token);
    if (h !== undefined) h(progress);
    else this.strayProgress++;
  }

  /** ping → {} (the server may be holding a result behind this ping); anything else → method not found. */
  answerServerRequest(msg) {
    this.serverRequests++;
    const id = JSON.stringify(msg.id);
    try {
      this.send(msg.method === 'ping'
        ? `{"jsonrpc":"2.0","id":${id},"result":{}}`
        : `{"jsonrpc":"2.0","id":${id},"error":{"code":-32601,"message":"Method not found"}}`);
    } catch (e) {
      this.noteError(e);
    }
  }

  /** Fails one pending request (transport error on its own HTTP request). */
  fail(id, err) {
    const cb = this.pending.get(id);
    if (cb === undefined) return;
    this.pending.delete(id);
    cb(err, undefined, undefined);
  }

  /** Fails every pending request (connection gone). */
  failAll(err) {
    const cbs = [...this.pending.values()];
    this.pending.clear();
    for (const cb of cbs) cb(err, undefined, undefined);
  }

  noteError(err) {
    this.errors++;
    if (this.errorSamples.length < 5) this.errorSamples.push(String(err?.message ?? err).slice(0, 300));
  }
}
