// The one tool registry. Each tool's schema is compiled once when it is registered; every session and
// transport shares the compiled validators and the `tools/list` entries (no per-session validator or
// schema copies: the SDK's per-server Ajv alone is 18.5 KiB per session).
import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinition } from './define.js';

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_REPORTED_ERRORS = 3;

export interface RegisteredTool {
  readonly definition: ToolDefinition;
  readonly listEntry: Tool;
  /** Validate (and fill defaults into) the arguments. */
  validate(args: unknown): { ok: true; value: unknown } | { ok: false; message: string };
}

export class ToolRegistry {
  private readonly tools = new Map<string, RegisteredTool>();
  private listCache: Tool[] | undefined;

  register(definition: ToolDefinition<any>): this {
    if (!TOOL_NAME.test(definition.name)) {
      throw new TypeError(`Tool name "${definition.name}" must be 1-128 characters of A-Z a-z 0-9 _ - .`);
    }
    if (this.tools.has(definition.name)) throw new TypeError(`Tool "${definition.name}" is already registered`);
    if (typeof definition.handler !== 'function') throw new TypeError(`Tool "${definition.name}" has no handler`);
    const schema = definition.inputSchema as TSchema & { type?: unknown };
    if (schema?.type !== 'object') throw new TypeError(`Tool "${definition.name}": inputSchema must be an object schema`);
    this.tools.set(definition.name, compileTool(definition));
    this.listCache = undefined;
    return this;
  }

  registerAll(definitions: Iterable<ToolDefinition<any>>): this {
    for (const d of definitions) this.register(d);
    return this;
  }

  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  get size(): number {
    return this.tools.size;
  }

  /** The `tools/list` entries; the array is built once and shared. */
  list(): Tool[] {
    return (this.listCache ??= [...this.tools.values()].map((t) => t.listEntry));
  }
}

function compileTool(definition: ToolDefinition): RegisteredTool {
  const validator: Validator = Compile(definition.inputSchema);
  // Filling defaults walks the value; skip it for schemas that declare none (most calls, e.g. echo).
  const hasDefaults = JSON.stringify(definition.inputSchema).includes('"default"');
  const listEntry: Tool = {
    name: definition.name,
    ...(definition.title && { title: definition.title }),
    description: definition.description,
    inputSchema: plainJson(definition.inputSchema) as Tool['inputSchema'],
    ...(definition.outputSchema && { outputSchema: plainJson(definition.outputSchema) as Tool['outputSchema'] }),
    ...(definition.annotations && { annotations: definition.annotations }),
  };
  return {
    definition,
    listEntry,
    validate(args) {
      const value = args === undefined ? {} : hasDefaults ? validator.Default(args) : args;
      if (validator.Check(value)) return { ok: true, value };
      return { ok: false, message: describeErrors(definition.name, validator, value) };
    },
  };
}

/** "Invalid arguments for tool x: /count must be integer; /delayMs must be >= 0". */
function describeErrors(tool: string, validator: Validator, value: unknown): string {
  const parts: string[] = [];
  for (const e of validator.Errors(value)) {
    if (e.keyword === 'boolean') continue; // the `additionalProperties: false` echo of another error
    const where = e.instancePath || '(arguments)';
    const extra = e.keyword === 'additionalProperties'
      ? ` (${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ')})`
      : e.keyword === 'required'
        ? ` (${(e.params as { requiredProperties?: string[] }).requiredProperties?.join(', ')})`
        : '';
    parts.push(`${where} ${e.message}${extra}`);
    if (parts.length === MAX_REPORTED_ERRORS) break;
  }
  return `Invalid arguments for tool ${tool}: ${parts.join('; ') || 'arguments do not match the input schema'}`;
}

/** A JSON-only copy of a TypeBox schema (drops symbols and functions). */
function plainJson(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}
