// `realtime-mcp serve --stdio` with the SDK's own StdioClientTransport: the same core (tools, progress,
// cancellation) over stdin/stdout, nothing but JSON-RPC on stdout. Runs the CLI from source (tsx); the
// built bin (bin/realtime-mcp.mjs) runs the same main().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { configDocs } from '../src/config.js';

function serverEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  for (const { name } of configDocs()) delete env[name]; // a developer's environment must not change what the test sees
  env.LOG_LEVEL = 'warn';
  return env;
}

test('serve --stdio: the SDK stdio client lists tools, gets every progress before the result, and cancels', async (t) => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', 'src/cli/run.ts', 'serve', '--stdio'],
    env: serverEnv(),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close());

  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((x) => x.name).sort(), ['echo', 'process_batch', 'process_images']);

  for (const count of [10, 1000]) {
    const seen: number[] = [];
    const result = await client.callTool({ name: 'process_batch', arguments: { count, delayMs: 0 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i + 1), 'every progress, in order, before the result');
    assert.match((result.content as Array<{ text: string }>)[0]!.text, new RegExp(`Processed ${count} items`));
  }

  const controller = new AbortController();
  let progressed = 0;
  const call = client.callTool({ name: 'process_batch', arguments: { count: 1000, delayMs: 20 } }, undefined, {
    signal: controller.signal,
    onprogress: () => {
      if (++progressed === 3) controller.abort('enough');
    },
  });
  await assert.rejects(call, (err: unknown) => err instanceof McpError || (err as Error).name === 'AbortError' || /enough/.test(String(err)));
  // The server recorded the call as cancelled, and stopped it well before its 1,000 items.
  const deadline = Date.now() + 5_000;
  let batch: { state: string; progress: number } | undefined;
  while (Date.now() < deadline) {
    const read = await client.readResource({ uri: 'realtime://operations' });
    const { operations } = JSON.parse((read.contents[0] as { text: string }).text) as { operations: Array<{ tool: string; state: string; progress: number }> };
    batch = operations.find((o) => o.tool === 'process_batch' && o.state !== 'done');
    if (batch?.state === 'cancelled') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(batch?.state, 'cancelled');
  assert.ok(batch!.progress < 100, `stopped soon after the cancel (at ${batch!.progress})`);
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
  assert.deepEqual(echo.content, [{ type: 'text', text: 'still here' }]);
});
