// `realtime-mcp call` on a terminal draws a live bar (cli-progress). Run under a pseudo-terminal with
// util-linux `script`, capture what it drew, and check a frame: percent and count/total (and rate/ETA).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { CLEAN_CWD, CLI_ARGS, startAuthServer, urlFor, type AuthServer } from './cli-helpers.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** Single-quote for sh. */
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Printable frames: split at cursor-to-column-1 / carriage returns, escape sequences removed. */
function frames(output: string): string[] {
  return output
    .split(/\x1b\[1G|\r|\n/)
    .map((f) => f.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim())
    .filter(Boolean);
}

describe('realtime-mcp call on a terminal', { skip: hasScript ? false : 'util-linux `script` is not installed' }, () => {
  let server: AuthServer;
  before(async () => {
    server = await startAuthServer();
  });
  after(() => server.close());

  test('draws a bar with percent, count/total, rate and ETA; the result follows', async () => {
    const token = await server.token();
    const command = [process.execPath, ...CLI_ARGS, 'call', 'process_batch', '{"count":80,"delayMs":25}', '--url', urlFor('ws', server.port)]
      .map(sh)
      .join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: CLEAN_CWD,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', COLUMNS: '120', LINES: '30', REALTIME_MCP_TOKEN: token },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, output);
    const all = frames(output);
    const bars = all.filter((f) => /^process_batch\s+\d+% /.test(f));
    assert.ok(bars.length >= 2, `expected bar frames, got:\n${all.join('\n')}`);
    // The first frames hold no estimate yet (under a second of data); one drawn later in the call shows
    // percent below 100, count/total, rate and ETA.
    assert.match(bars[0]!, /^process_batch\s+\d{1,2}% [█░]{30} \d{1,2}\/80 · –\/s · ETA –$/);
    const midway = bars.find((f) => /^process_batch\s+([1-9]|[1-9]\d)% .*\d\/s/.test(f));
    assert.ok(midway, `no frame with a rate before 100%:\n${bars.join('\n')}`);
    assert.match(midway, /^process_batch\s+\d{1,2}% [█░]{30} \d{1,2}\/80 · [\d.]+\/s · ETA \d+ s$/);
    assert.match(bars.at(-1)!, /^process_batch 100% █{30} 80\/80 · /);
    assert.match(output, /Processed 80 items in [\d.]+ s/);
    // The cursor is shown again at the end.
    assert.ok(output.includes('\x1b[?25h'));
  });
});
