// Diagnostics of the CLI and the stdio bridge: always on stderr (stdout is the command's output, or
// pure JSON-RPC for `connect`). Nothing logged here ever contains the token: it is never passed in.

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  readonly level: LogLevel;
}

export function parseLogLevel(text: string | undefined, fallback: LogLevel): LogLevel {
  return text !== undefined && text in ORDER ? (text as LogLevel) : fallback;
}

/** A logger writing `realtime-mcp: <message>` lines to `write` (stderr by default). */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => void process.stderr.write(line)): Logger {
  const at = (l: LogLevel) => (message: string) => {
    if (ORDER[l] <= ORDER[level]) write(`realtime-mcp: ${l === 'info' ? '' : `${l}: `}${message}\n`);
  };
  return { level, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

export const silentLogger: Logger = createLogger('silent');
