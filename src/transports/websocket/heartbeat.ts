// WebSocket liveness: one timer for all sockets (not one per socket). Every interval each socket gets a
// ping frame; a socket that has neither answered the previous ping nor sent anything since is terminated.
import type { WebSocket } from 'ws';

export class Heartbeat {
  private readonly alive = new Map<WebSocket, boolean>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  watch(ws: WebSocket): void {
    this.alive.set(ws, true);
    const markAlive = () => {
      if (this.alive.has(ws)) this.alive.set(ws, true);
    };
    ws.on('pong', markAlive);
    ws.on('message', markAlive);
    ws.once('close', () => this.alive.delete(ws));
  }

  private tick(): void {
    for (const [ws, alive] of this.alive) {
      if (!alive) {
        this.alive.delete(ws);
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.alive.clear();
  }
}
