// permessage-deflate on /mcp/ws. WS_COMPRESSION=true: a client offering the extension gets it, calls
// work, and a compressible message really travels compressed (fewer bytes on the socket than in the
// message); a client not offering it is served uncompressed. Default (false): never negotiated.
// The cost is measured by bench/compression.mjs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';

interface Opened {
  ws: WebSocket;
  upgrade: IncomingMessage;
  socket: Socket;
}

async function open(url: string, perMessageDeflate: boolean): Promise<Opened> {
  const ws = new WebSocket(url, ['mcp'], { perMessageDeflate });
  let upgrade: IncomingMessage | undefined;
  ws.once('upgrade', (res) => (upgrade = res));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, upgrade: upgrade!, socket: upgrade!.socket as Socket };
}

let nextId = 1;

/** Sends one echo call of `message`; resolves with the answer and the bytes read and written meanwhile. */
async function echoBytes(o: Opened, message: string): Promise<{ text: string; read: number; written: number }> {
  const read0 = o.socket.bytesRead;
  const written0 = o.socket.bytesWritten;
  const id = nextId++;
  const answer = new Promise<any>((resolve) => {
    const onMessage = (data: Buffer) => {
      const m = JSON.parse(String(data));
      if (m.id !== id) return;
      o.ws.off('message', onMessage);
      resolve(m);
    };
    o.ws.on('message', onMessage);
  });
  o.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message } } }));
  const m = await answer;
  return { text: m.result.content[0].text, read: o.socket.bytesRead - read0, written: o.socket.bytesWritten - written0 };
}

async function initialize(o: Opened): Promise<void> {
  o.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'compression', version: '0' } } }));
  await new Promise((resolve) => o.ws.once('message', resolve));
  o.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
}

const COMPRESSIBLE = 'the quick brown fox jumps over the lazy dog; '.repeat(1500); // ~66 KiB

describe('WS_COMPRESSION=true', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { WS_COMPRESSION: true } });
  });
  after(() => server.close());

  test('a client offering permessage-deflate gets it; a compressible echo travels compressed both ways', async () => {
    const o = await open(server.wsUrl, true);
    try {
      assert.match(o.ws.extensions, /permessage-deflate/);
      assert.match(String(o.upgrade.headers['sec-websocket-extensions']), /permessage-deflate/);
      await initialize(o);
      const r = await echoBytes(o, COMPRESSIBLE);
      assert.equal(r.text, COMPRESSIBLE);
      assert.ok(r.read < COMPRESSIBLE.length / 10, `server → client ${r.read} bytes for a ${COMPRESSIBLE.length}-byte message`);
      assert.ok(r.written < COMPRESSIBLE.length / 10, `client → server ${r.written} bytes`);
      // Short messages work too (ws compresses them as well: its 1 KiB threshold only applies without context takeover).
      assert.equal((await echoBytes(o, 'short')).text, 'short');
    } finally {
      o.ws.close();
    }
  });

  test('the SDK client (offering it, as ws does by default) lists tools and calls with progress', async () => {
    installWebSocketGlobal();
    const client = await connectSdkClient(server.wsUrl, 'compression-sdk');
    try {
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'echo'));
      const progress: number[] = [];
      const result = await client.callTool({ name: 'process_batch', arguments: { count: 5, delayMs: 2 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
      assert.deepEqual(progress, [1, 2, 3, 4, 5]);
      assert.match((result.content as Array<{ text: string }>)[0]!.text, /5/);
      const echo = await client.callTool({ name: 'echo', arguments: { message: COMPRESSIBLE } });
      assert.equal((echo.content as Array<{ text: string }>)[0]!.text, COMPRESSIBLE);
    } finally {
      await client.close();
    }
  });

  test('a client that does not offer it is served uncompressed', async () => {
    const o = await open(server.wsUrl, false);
    try {
      assert.equal(o.ws.extensions, '');
      await initialize(o);
      const r = await echoBytes(o, COMPRESSIBLE);
      assert.equal(r.text, COMPRESSIBLE);
      assert.ok(r.read > COMPRESSIBLE.length, `${r.read} bytes read`);
    } finally {
      o.ws.close();
    }
  });
});

describe('WS_COMPRESSION default (false)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('permessage-deflate is not negotiated even when offered; messages go uncompressed', async () => {
    const o = await open(server.wsUrl, true);
    try {
      assert.equal(o.ws.extensions, '');
      assert.equal(o.upgrade.headers['sec-websocket-extensions'], undefined);
      await initialize(o);
      const r = await echoBytes(o, COMPRESSIBLE);
      assert.equal(r.text, COMPRESSIBLE);
      assert.ok(r.read > COMPRESSIBLE.length && r.written > COMPRESSIBLE.length, `${r.read} read, ${r.written} written`);
    } finally {
      o.ws.close();
    }
  });
});
