// echo and process_batch on an MCP SDK McpServer (zod input schemas, as SDK users write them).
// process_batch sends one notifications/progress per item (awaiting each send) and yields to the event
// loop every YIELD_EVERY_MS, like the raw anchor and our server.
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SERVER_INFO, yielder, sleep } from './common.mjs';

/** A new McpServer with the two bench tools (one per session, as the SDK's examples do). */
export function newSdkServer() {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} } });
  server.registerTool('echo', {
    description: 'Returns the message',
    inputSchema: { message: z.string() },
  }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  server.registerTool('process_batch', {
    description: 'count items, one progress notification each',
    inputSchema: { count: z.number().int().min(0), delayMs: z.number().min(0).optional() },
  }, async ({ count, delayMs = 0 }, extra) => {
    const token = extra._meta?.progressToken;
    const turn = yielder();
    for (let i = 1; i <= count; i++) {
      if (delayMs > 0) await sleep(delayMs);
      if (token !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: count } });
      }
      const t = turn();
      if (t !== undefined) await t;
    }
    return { content: [{ type: 'text', text: `processed ${count} items` }] };
  });
  return server;
}
