// Attempt a WebSocket upgrade and report the HTTP answer: 101 when it upgraded, else the status and
// headers of the refusal (for 401/403/429 checks that must see no upgrade).
import type { IncomingHttpHeaders } from 'node:http';
import { WebSocket } from 'ws';

export interface UpgradeAttempt {
  status: number;
  headers: IncomingHttpHeaders;
  upgraded: boolean;
  body: string;
}

export function tryUpgrade(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<UpgradeAttempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? ['mcp'], { headers: options.headers });
    let upgradeHeaders: IncomingHttpHeaders = {};
    ws.once('upgrade', (res) => (upgradeHeaders = res.headers));
    ws.once('open', () => {
      resolve({ status: 101, headers: upgradeHeaders, upgraded: true, body: '' });
      ws.close();
    });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, upgraded: false, body });
        req.destroy();
      });
    });
    ws.once('error', reject);
  });
}
