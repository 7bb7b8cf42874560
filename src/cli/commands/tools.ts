// `realtime-mcp tools`: the server's tools with their input schemas.
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, parse } from '../args.js';
import { Exit, UsageError } from '../errors.js';
import type { CliIO } from '../cli-env.js';
import { connect, reportFailure, resolveTarget } from '../connection.js';

export const TOOLS_HELP = `Usage: realtime-mcp tools [options]

List the server's tools: name, title, description and arguments (from each input schema).

Options:
      --json             print the tools/list result as JSON (full input and output schemas)
  -h, --help             this help
${CONNECTION_HELP}

Exit codes: 0 listed, 2 usage, 3 connection or authentication failure.`;

export async function toolsCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
  if (values.help) {
    io.stdout.write(`${TOOLS_HELP}\n`);
    return Exit.OK;
  }
  if (positionals.length > 0) throw new UsageError(`tools takes no arguments (got ${positionals.join(' ')})`);
  const target = resolveTarget(values, io);
  let connected;
  try {
    connected = await connect(target, io, { verbose: values.verbose });
  } catch (err) {
    return reportFailure(err, io);
  }
  const { client, transport } = connected;
  try {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    io.stdout.write(values.json ? `${JSON.stringify({ tools }, null, 2)}\n` : formatTools(tools));
    return Exit.OK;
  } catch (err) {
    return reportFailure(err, io, connected);
  } finally {
    await client.close().catch(() => {});
  }
}

interface PropertySchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: Array<{ const?: unknown; type?: string }>;
  minimum?: number;
  maximum?: number;
  items?: PropertySchema;
}

export function formatTools(tools: Tool[]): string {
  if (tools.length === 0) return 'No tools.\n';
  const out: string[] = [];
  for (const tool of tools) {
    out.push(`${tool.name}${tool.title && tool.title !== tool.name ? `  (${tool.title})` : ''}`);
    if (tool.description) out.push(...wrap(tool.description, 96).map((l) => `  ${l}`));
    const props = (tool.inputSchema.properties ?? {}) as Record<string, PropertySchema>;
    const required = new Set(tool.inputSchema.required ?? []);
    const names = Object.keys(props);
    if (names.length === 0) out.push('  arguments: none');
    else {
      out.push('  arguments:');
      for (const name of names) {
        const p = props[name]!;
        const bits = [typeOf(p), required.has(name) ? 'required' : 'optional'];
        if (p.minimum !== undefined || p.maximum !== undefined) bits.push(`${p.minimum ?? ''}..${p.maximum ?? ''}`);
        if (p.default !== undefined) bits.push(`default ${JSON.stringify(p.default)}`);
        out.push(`    ${name}: ${bits.join(', ')}${p.description ? ` — ${p.description}` : ''}`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

function typeOf(p: PropertySchema): string {
  if (p.enum) return p.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (p.anyOf && p.anyOf.every((a) => a.const !== undefined)) return p.anyOf.map((a) => JSON.stringify(a.const)).join(' | ');
  if (p.anyOf) return p.anyOf.map((a) => a.type ?? '?').join(' | ');
  if (p.type === 'array' && p.items) return `${typeOf(p.items)}[]`;
  return Array.isArray(p.type) ? p.type.join(' | ') : (p.type ?? 'any');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/)) {
      if (line && line.length + word.length + 1 > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}
