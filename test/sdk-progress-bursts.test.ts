// Progress that every official SDK client sees: for bursts of 10, 100 and 5,000 progress notifications
// (process_batch, delayMs 0), every notification reaches `onprogress` before the result resolves — the
// last one included — with the SDK v1 client (1.32) on WebSocket, legacy SSE and Streamable HTTP and the
// v2 client (@modelcontextprotocol/client 2.4) on legacy SSE and Streamable HTTP, 20 runs each.
// These clients handle notifications a microtask late but a response at once, dropping the call's
// progress handler; the server's ordering barrier (src/outbox/ordering-barrier.ts) is what makes this hold.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client as ClientV2, SSEClientTransport as SseV2, StreamableHTTPClientTransport as StreamableV2 } from '@modelcontextprotocol/client';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient } from './helpers/sdk-client.js';

const BURSTS = [10, 100, 5000];
const RUNS = 20;

interface Caller {
  call(count: number, onprogress: (p: { progress: number }) => void): Promise<unknown>;
  close(): Promise<void>;
}

async function v1(url: string): Promise<Caller> {
  const client = await connectSdkClient(url, 'burst-v1');
  return {
    call: (count, onprogress) => client.callTool({ name: 'process_batch', arguments: { count, delayMs: 0 } }, undefined, { onprogress, timeout: 60_000 }),
    close: () => client.close(),
  };
}

async function v2(url: string, kind: 'sse' | 'streamable'): Promise<Caller> {
  const client = new ClientV2({ name: 'burst-v2', version: '1.0.0' });
  await client.connect(kind === 'sse' ? new SseV2(new URL(url)) : new StreamableV2(new URL(url)));
  return {
    call: (count, onprogress) => client.callTool({ name: 'process_batch', arguments: { count, delayMs: 0 } }, { onprogress, timeout: 60_000 } as never),
    close: () => client.close(),
  };
}

describe('every progress notification reaches the SDK clients before the result', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const cases: Array<[string, () => Promise<Caller>]> = [
    ['SDK v1, WebSocket', () => v1(server.wsUrl)],
    ['SDK v1, legacy SSE', () => v1(`${server.httpUrl}/mcp/sse`)],
    ['SDK v1, Streamable HTTP', () => v1(`${server.httpUrl}/mcp`)],
    ['SDK v2, legacy SSE', () => v2(`${server.httpUrl}/mcp/sse`, 'sse')],
    ['SDK v2, Streamable HTTP', () => v2(`${server.httpUrl}/mcp`, 'streamable')],
  ];
  for (const [name, connect] of cases) {
    test(`${name}: bursts of ${BURSTS.join(', ')}, ${RUNS} runs each`, async () => {
      const caller = await connect();
      try {
        for (const count of BURSTS) {
          for (let run = 1; run <= RUNS; run++) {
            let seen = 0;
            let last = 0;
            let inOrder = true;
            await caller.call(count, (p) => {
              if (p.progress !== last + 1) inOrder = false;
              last = p.progress;
              seen++;
            });
            assert.ok(seen === count && last === count && inOrder, `${name}, burst ${count}, run ${run}: saw ${seen} of ${count}, last ${last}${inOrder ? '' : ', out of order'}`);
          }
        }
      } finally {
        await caller.close();
      }
    });
  }
});
