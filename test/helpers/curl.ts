// Real curl, as a user would run it: spawn it and collect what it prints.
import { spawn } from 'node:child_process';

export interface CurlOutput {
  stdout: string;
  stderr: string;
  /** curl's exit code (0 = the transfer worked, whatever the HTTP status). */
  exitCode: number | null;
}

export function curl(args: string[]): Promise<CurlOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ stdout, stderr, exitCode }));
  });
}

/** The HTTP status curl got for a GET (0 when it could not connect). */
export async function curlStatus(url: string, extraArgs: string[] = []): Promise<number> {
  const { stdout } = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', ...extraArgs, url]);
  return Number(stdout);
}
