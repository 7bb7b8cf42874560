// `realtime-mcp`: the command-line client and stdio bridge. `main(argv)` runs one command and returns
// its exit code; commands live in a table, so adding one (e.g. `serve`) is one entry.
//
// This code talks to the server only over the wire: it imports nothing from the server's Fastify
// plugins, routes or core, only the MCP SDK client, `ws`, `jose` and cli-progress.
import { Exit, UsageError, errorMessage } from './errors.js';
import { processIO, type CliIO } from './cli-env.js';
import { CLI_VERSION } from './version.js';

export interface Command {
  summary: string;
  /** The command's module, loaded only when it runs (so `--help` and `token` start fast). */
  load(): Promise<{ help: string; run(argv: string[], io: CliIO): Promise<number> }>;
}

const SERVE_HELP = `Usage: realtime-mcp serve [--stdio]

Run the realtime-mcp server, configured by the environment (and .env) as \`npm start\`.
  (no option)  the HTTP server: WebSocket /mcp/ws, Streamable HTTP /mcp, legacy SSE /mcp/sse
  --stdio      MCP over stdin/stdout for a host that launches local servers (one session; no auth)`;

/** What the package's bin adds: the HTTP server lives outside the core (plugins/), so it is handed in. */
export interface MainHooks {
  /** Start the HTTP server (it keeps the process alive and exits on its own signals). */
  serveHttp?: () => Promise<void>;
}

let hooks: MainHooks = {};

export const commands: Record<string, Command> = {
  call: {
    summary: 'call a tool with live progress, resume on network drops, Ctrl-C to cancel',
    load: async () => {
      const m = await import('./commands/call.js');
      return { help: m.CALL_HELP, run: m.callCommand };
    },
  },
  tools: {
    summary: "list the server's tools with their input schemas",
    load: async () => {
      const m = await import('./commands/tools.js');
      return { help: m.TOOLS_HELP, run: m.toolsCommand };
    },
  },
  watch: {
    summary: 'subscribe to a resource and print every update',
    load: async () => {
      const m = await import('./commands/watch.js');
      return { help: m.WATCH_HELP, run: m.watchCommand };
    },
  },
  connect: {
    summary: 'stdio MCP server relaying to a remote server (for Claude Desktop, Claude Code, Cursor)',
    load: async () => {
      const m = await import('./commands/connect.js');
      return { help: m.CONNECT_HELP, run: m.connectCommand };
    },
  },
  token: {
    summary: 'mint a Bearer token from JWT_SECRET (env or .env)',
    load: async () => {
      const m = await import('./commands/token.js');
      return { help: m.TOKEN_HELP, run: m.tokenCommand };
    },
  },
  // The server itself: over stdio from the core here; the HTTP server through the bin's hook.
  serve: {
    summary: 'run the server (HTTP, or --stdio for MCP hosts that launch local servers)',
    load: async () => ({
      help: SERVE_HELP,
      async run(argv, io) {
        if (argv.includes('--help') || argv.includes('-h')) {
          io.stdout.write(`${SERVE_HELP}\n`);
          return Exit.OK;
        }
        const unknown = argv.filter((a) => a !== '--stdio');
        if (unknown.length > 0) throw new UsageError(`unknown option ${JSON.stringify(unknown[0])}`);
        if (argv.includes('--stdio')) return (await import('./serve-stdio.js')).serveStdio();
        if (hooks.serveHttp === undefined) {
          io.stderr.write('realtime-mcp: serve without --stdio needs the built package (bin/realtime-mcp.mjs) or `npm start`\n');
          return Exit.USAGE;
        }
        await hooks.serveHttp();
        return new Promise<number>(() => {}); // serves until a signal ends the process
      },
    }),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: realtime-mcp COMMAND [options]

MCP client and stdio bridge for realtime-mcp servers (WebSocket, Streamable HTTP, legacy SSE).

Commands:
${lines.join('\n')}

Run \`realtime-mcp COMMAND --help\` for a command's options.
Environment: REALTIME_MCP_URL (default ws://127.0.0.1:8080/mcp/ws), REALTIME_MCP_TOKEN.
Exit codes: 0 ok, 1 tool error, 2 usage, 3 connection or auth failure, 130 cancelled.`;
}

export async function main(argv: string[], io: CliIO = processIO(), mainHooks: MainHooks = {}): Promise<number> {
  hooks = mainHooks;
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const command = topic === undefined ? undefined : commands[topic];
    if (topic !== undefined && command === undefined) {
      io.stderr.write(`realtime-mcp: unknown command ${JSON.stringify(topic)}\n\n${usage()}\n`);
      return Exit.USAGE;
    }
    if (name === undefined) {
      io.stderr.write(`${usage()}\n`);
      return Exit.USAGE;
    }
    io.stdout.write(`${command ? (await command.load()).help : usage()}\n`);
    return Exit.OK;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${CLI_VERSION}\n`);
    return Exit.OK;
  }
  const command = commands[name];
  if (command === undefined) {
    io.stderr.write(`realtime-mcp: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return Exit.USAGE;
  }
  try {
    return await (await command.load()).run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`realtime-mcp ${name}: ${err.message}\n(see realtime-mcp ${name} --help)\n`);
      return Exit.USAGE;
    }
    io.stderr.write(`realtime-mcp ${name}: ${errorMessage(err)}\n`);
    return Exit.CONNECTION;
  }
}
