import type { ToolDefinition } from '../define.js';
import type { Config } from '../../config.js';
import { echoTool } from './echo.js';
import { processBatchTool } from './process-batch.js';
import { createProcessImagesTool } from './process-images.js';

/** The tools every realtime-mcp server offers unless told otherwise; process_images works inside DATA_DIR. */
export function createBuiltinTools(config: Pick<Config, 'DATA_DIR' | 'IMAGE_CONCURRENCY'>): ToolDefinition<any>[] {
  return [echoTool, processBatchTool, createProcessImagesTool({ dataDir: config.DATA_DIR, concurrency: config.IMAGE_CONCURRENCY })];
}

export { echoTool, processBatchTool, createProcessImagesTool };
