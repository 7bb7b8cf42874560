// Shared harness for the hostile-input suites: one authenticated server (HS256), a well-behaved SDK
// client connected the whole time, and a check, after every hostile input, that the server still
// answers (/healthz) and that the good client completes a call undisturbed.
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from '../helpers/sdk-client.js';
import { bearer, hsToken, randomSecret } from '../helpers/tokens.js';

export interface Hostile {
  server: TestServer;
  token: string;
  good: Client;
  /** The server is alive and the good client's call completes with the right result. */
  assertUndisturbed(label: string): Promise<void>;
  close(): Promise<void>;
}

export async function startHostile(): Promise<Hostile> {
  const secret = randomSecret();
  const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
  const token = await hsToken(secret, { audience: `${server.httpUrl}/mcp`, claims: { sub: 'hostile-suite' } });
  const goodToken = await hsToken(secret, { audience: `${server.httpUrl}/mcp`, claims: { sub: 'good-client' } });
  installWebSocketGlobal(bearer(goodToken));
  const good = await connectSdkClient(server.wsUrl, 'good-client');
  installWebSocketGlobal({});
  let n = 0;
  return {
    server,
    token,
    good,
    async assertUndisturbed(label) {
      const health = await fetch(`${server.httpUrl}/healthz`);
      assert.equal(health.status, 200, `${label}: server still answers`);
      const message = `still fine after ${label} #${++n}`;
      const result = await good.callTool({ name: 'echo', arguments: { message } });
      assert.deepEqual(result.content, [{ type: 'text', text: message }], `${label}: good client undisturbed`);
    },
    async close() {
      await good.close();
      await server.close();
    },
  };
}
