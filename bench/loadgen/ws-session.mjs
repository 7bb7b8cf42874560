// MCP over WebSocket: one socket per session, subprotocol `mcp`, one JSON-RPC message per text frame.
// Client-side costs kept low on purpose: frames written in one tick leave in one writev (cork until
// nextTick), an all-zero mask (ws then skips the XOR; the server's unmasking costs the same), no UTF-8
// validation of what the server sends, no permessage-deflate.
import WebSocket from 'ws';
import { RpcPeer } from './rpc.mjs';
import { initialize } from './handshake.mjs';

const zeroMask = (mask) => { mask[0] = 0; mask[1] = 0; mask[2] = 0; mask[3] = 0; };

export class WsSession {
  constructor(o) {
    this.o = o;
    this.rpc = new RpcPeer((text) => this.write(text));
    this.ws = null;
    this.corked = false;
    this.closed = false;
    this.uncork = () => { this.corked = false; this.ws?._socket?.uncork(); };
  }

  async open() {
    const o = this.o;
    const ws = new WebSocket(o.url, o.subprotocol ? [o.subprotocol] : undefined, {
      headers: o.headers,
      perMessageDeflate: false,
      skipUTF8Validation: true,
      generateMask: zeroMask,
      maxPayload: 512 * 2 ** 20,
      handshakeTimeout: 30_000,
    });
    this.ws = ws;
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`)));
    });
    ws.on('error', (e) => this.rpc.noteError(e));
    ws.on('message', (data) => this.rpc.receive(data.toString()));
    ws.on('close', (code) => {
      this.closed = true;
      this.rpc.failAll(new Error(`WebSocket closed (${code})`));
    });
    this.init = await initialize(this.rpc, o.protocolVersion);
  }

  write(text) {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) throw new Error('WebSocket not open');
    if (!this.corked && ws._socket) {
      this.corked = true;
      ws._socket.cork();
      process.nextTick(this.uncork);
    }
    ws.send(text);
  }

  async close() {
    this.closed = true;
    const ws = this.ws;
    if (!ws || ws.readyState >= WebSocket.CLOSING) return;
    await new Promise((resolve) => {
      ws.once('close', resolve);
      ws.close(1000);
      setTimeout(() => { ws.terminate(); resolve(); }, 2000).unref();
    });
  }
}
