// A registered tool for unit tests, its schema compiled as the server does. Kept apart from doubles.ts:
// TypeBox is hundreds of modules, and a test file that does not need it starts a second faster.
import Type from 'typebox';
import { ToolRegistry, type RegisteredTool } from '../../src/tools/registry.js';
import { defineTool, type ToolDefinition } from '../../src/tools/define.js';

/** A registered tool (schema compiled as the server does), from a handler and optional settings. */
export function registeredTool(name: string, handler: ToolDefinition['handler'], extra: Partial<ToolDefinition> = {}): RegisteredTool {
  return new ToolRegistry().register(defineTool({ name, description: `test tool ${name}`, inputSchema: Type.Object({}), handler, ...extra })).get(name)!;
}
