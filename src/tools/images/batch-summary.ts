// The result of a process_images call: one line of text for people and models, and the same numbers
// as `structuredContent` (declared as the tool's outputSchema).
import Type, { type Static } from 'typebox';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { formatCount } from '../../operations/progress-rate.js';

export const BatchSummarySchema = Type.Object({
  total: Type.Integer({ minimum: 0, description: 'Image files found in inputDir' }),
  processed: Type.Integer({ minimum: 0, description: 'Images attempted: success + errors (less than total only when cancelled)' }),
  success: Type.Integer({ minimum: 0, description: 'Outputs written' }),
  errors: Type.Integer({ minimum: 0, description: 'Images that failed; each is listed in errorsFile' }),
  skipped: Type.Integer({ minimum: 0, description: 'Entries in inputDir that are not image files (not counted in total)' }),
  cancelled: Type.Boolean({ description: 'True when the call was cancelled before every image was attempted' }),
  durationMs: Type.Integer({ minimum: 0 }),
  concurrency: Type.Integer({ minimum: 1, description: 'Images converted at once' }),
  outputDir: Type.String({ description: 'Relative to DATA_DIR' }),
  errorsFile: Type.String({ description: 'errors.json ([{ path, error }]), relative to DATA_DIR' }),
});
export type BatchSummary = Static<typeof BatchSummarySchema>;

/**
 * `Total 10,000 · Success 9,847 · Errors 153 (logged to thumbs/errors.json) · Duration 28.5 s`, or when
 * cancelled `Cancelled after 1,200 of 10,000 · Success 1,181 · Errors 19 (logged to …) · Duration 4.1 s`.
 */
export function summaryText(s: BatchSummary): string {
  const head = s.cancelled ? `Cancelled after ${formatCount(s.processed)} of ${formatCount(s.total)}` : `Total ${formatCount(s.total)}`;
  const errors = s.errors > 0 ? `Errors ${formatCount(s.errors)} (logged to ${s.errorsFile})` : 'Errors 0';
  return `${head} · Success ${formatCount(s.success)} · ${errors} · Duration ${(s.durationMs / 1000).toFixed(1)} s`;
}

export function summaryResult(s: BatchSummary): CallToolResult {
  return { content: [{ type: 'text', text: summaryText(s) }], structuredContent: s };
}
