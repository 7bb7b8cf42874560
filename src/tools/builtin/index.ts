import type { ToolDefinition } from '../define.js';
import { echoTool } from './echo.js';
import { processBatchTool } from './process-batch.js';

/** The tools every realtime-mcp server offers unless told otherwise. */
export const builtinTools: ToolDefinition<any>[] = [echoTool, processBatchTool];

export { echoTool, processBatchTool };
