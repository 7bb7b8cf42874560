import { setTimeout as sleep } from 'node:timers/promises';
import Type from 'typebox';
import { defineTool } from '../define.js';
import { ToolError } from '../../errors.js';

const MAX_ITEMS = 10_000_000;

/**
 * `process_batch { count, delayMs = 0, failAt? }`: works through `count` synthetic items, one progress
 * notification per item. The load generator's and anchors' contract (bench/), and a demo of progress and cancellation.
 */
export const processBatchTool = defineTool({
  name: 'process_batch',
  title: 'Process a batch',
  description:
    'Works through `count` items, reporting progress for each (with rate and ETA). `delayMs` is the time per item; ' +
    '`failAt` makes item number `failAt` fail (error -32000 with data.lastSuccessful). Can be cancelled.',
  inputSchema: Type.Object({
    count: Type.Integer({ minimum: 0, maximum: MAX_ITEMS, description: 'Items to process' }),
    delayMs: Type.Optional(Type.Number({ minimum: 0, maximum: 60_000, default: 0, description: 'Milliseconds per item (default 0)' })),
    failAt: Type.Optional(Type.Integer({ minimum: 1, description: 'Item number that fails' })),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handler({ count, delayMs = 0, failAt }, ctx) {
    const started = performance.now();
    for (let i = 1; i <= count; i++) {
      if (delayMs > 0) await sleep(delayMs, undefined, { signal: ctx.signal });
      if (i === failAt) {
        throw new ToolError(`Item ${i} of ${count} failed`, { lastSuccessful: i - 1, failedItem: i, total: count });
      }
      ctx.progress({ progress: i, total: count });
      const turn = ctx.checkpoint();
      if (turn !== undefined) await turn;
    }
    const durationMs = Math.round(performance.now() - started);
    return {
      content: [{ type: 'text', text: `Processed ${count} items in ${(durationMs / 1000).toFixed(2)} s` }],
      structuredContent: { processed: count, durationMs },
    };
  },
});
