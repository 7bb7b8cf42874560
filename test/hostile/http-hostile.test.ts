// Hostile input at the HTTP layer: raw bytes on a TCP socket (malformed upgrades, oversized headers,
// smuggling, slow and half-open upgrades) and abusive requests to the HTTP transports (/mcp,
// /mcp/messages). Each row asserts the status; after each the server answers and a well-behaved
// client completes a call.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startHostile, type Hostile } from './harness.js';

/** Write raw bytes and resolve with the status code of the first response line (0 if the socket closed without one). */
function rawStatus(port: number, bytes: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('close', () => resolve(0));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const upgrade = (extra: string, path = '/mcp/ws', method = 'GET') =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${extra}\r\n`;

describe('hostile input at the HTTP layer', () => {
  let h: Hostile;
  let auth: string;
  before(async () => {
    h = await startHostile();
    auth = `Authorization: Bearer ${h.token}\r\n`;
  });
  after(() => h.close());

  const rows: Array<{ name: string; bytes: () => string | Buffer; status: number }> = [
    { name: 'bytes that are not HTTP', bytes: () => 'HELLO THERE\r\n\r\n', status: 400 },
    { name: 'binary garbage', bytes: () => Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]), status: 400 },
    { name: 'upgrade without a token', bytes: () => upgrade(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`), status: 401 },
    { name: 'upgrade with the token in the query string', bytes: () => upgrade(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`, `/mcp/ws?access_token=${h.token}`), status: 401 },
    { name: 'upgrade with two bearer subprotocols', bytes: () => upgrade(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Protocol: mcp, bearer.${h.token}, bearer.${h.token}\r\n`), status: 401 },
    { name: 'upgrade without Sec-WebSocket-Key', bytes: () => upgrade(`${auth}Sec-WebSocket-Version: 13\r\n`), status: 400 },
    { name: 'upgrade with an invalid key', bytes: () => upgrade(`${auth}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: abc\r\n`), status: 400 },
    { name: 'upgrade with version 7 (unsupported)', bytes: () => upgrade(`${auth}Sec-WebSocket-Version: 7\r\nSec-WebSocket-Key: ${KEY}\r\n`), status: 400 },
    { name: 'upgrade from a foreign Origin', bytes: () => upgrade(`${auth}Origin: https://evil.example\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`), status: 403 },
    { name: 'upgrade with a rebinding Host', bytes: () => upgrade(`${auth}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`).replace('Host: 127.0.0.1', 'Host: evil.example'), status: 403 },
    { name: 'valid upgrade (control row)', bytes: () => upgrade(`${auth}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Protocol: mcp\r\n`), status: 101 },
    { name: 'upgrade offering 500 subprotocols', bytes: () => upgrade(`${auth}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Protocol: ${Array.from({ length: 500 }, (_, i) => `p${i}`).join(', ')}, mcp\r\n`), status: 101 },
    { name: 'upgrade by POST', bytes: () => upgrade(`${auth}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`, '/mcp/ws', 'POST'), status: 404 },
    { name: '20 KB header', bytes: () => `GET /mcp/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431 },
    { name: '20 KB URL', bytes: () => `GET /mcp/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, status: 431 },
    { name: 'Content-Length with Transfer-Encoding (smuggling)', bytes: () => `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400 },
    { name: 'negative Content-Length', bytes: () => `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Length: -1\r\n\r\n`, status: 400 },
    { name: 'no Host header', bytes: () => `GET /mcp/ws HTTP/1.1\r\n${auth}\r\n`, status: 400 },
    // The HTTP transports
    { name: 'POST /mcp without a body', bytes: () => `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 0\r\n\r\n`, status: 400 },
    { name: 'POST /mcp as text/plain', bytes: () => httpPost('/mcp', 'text/plain', '{"jsonrpc":"2.0","id":1,"method":"ping"}', auth), status: 415 },
    { name: 'POST /mcp with invalid JSON', bytes: () => httpPost('/mcp', 'application/json', '{', auth), status: 400 },
    { name: 'POST /mcp with a JSON number', bytes: () => httpPost('/mcp', 'application/json', '42', auth), status: 400 },
    { name: 'POST /mcp with a batch', bytes: () => httpPost('/mcp', 'application/json', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', auth), status: 400 },
    { name: 'POST /mcp with a body over MAX_PAYLOAD_BYTES', bytes: () => httpPost('/mcp', 'application/json', `{"x":"${'a'.repeat(4 * 1024 * 1024)}"}`, auth), status: 413 },
    { name: 'POST /mcp with an unknown session id', bytes: () => httpPost('/mcp', 'application/json', '{"jsonrpc":"2.0","id":1,"method":"ping"}', `${auth}Mcp-Session-Id: nope\r\n`), status: 404 },
    { name: 'POST /mcp/messages without a sessionId', bytes: () => httpPost('/mcp/messages', 'application/json', '{"jsonrpc":"2.0","id":1,"method":"ping"}', auth), status: 404 },
    { name: 'POST /mcp/messages with an array sessionId', bytes: () => httpPost('/mcp/messages?sessionId=a&sessionId=b', 'application/json', '{"jsonrpc":"2.0","id":1,"method":"ping"}', auth), status: 404 },
  ];

  for (const row of rows) {
    test(`${row.name} → ${row.status}`, async () => {
      assert.equal(await rawStatus(h.server.port, row.bytes()), row.status);
      await h.assertUndisturbed(row.name);
    });
  }

  test('a slow upgrade (headers trickling in) blocks nobody and completes', async () => {
    const socket = connect(h.server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const request = upgrade(`${auth}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Protocol: mcp\r\n`);
    const status = readStatus(socket);
    socket.write(request.slice(0, 40));
    await h.assertUndisturbed('slow upgrade, half sent');
    socket.write(request.slice(40));
    assert.equal(await status, 101);
    socket.destroy();
    await h.assertUndisturbed('slow upgrade');
  });

  test('a half-open connection (FIN after the upgrade, no close frame) is closed by the server', async () => {
    const socket = connect(h.server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const status = readStatus(socket);
    socket.write(upgrade(`${auth}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Protocol: mcp\r\n`));
    assert.equal(await status, 101);
    const closed = new Promise((r) => socket.once('close', r));
    socket.end();
    await closed;
    await h.assertUndisturbed('half-open');
  });
});

function httpPost(path: string, type: string, body: string, extra: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Type: ${type}\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function readStatus(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) {
        socket.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    socket.on('data', onData);
  });
}
