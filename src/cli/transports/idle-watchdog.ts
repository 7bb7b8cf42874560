// Dead-stream detection for SSE streams. A TCP connection can die without either side noticing (NAT
// timeout, Wi-Fi gone); only silence gives it away. Servers differ in whether they send keepalives, so
// the watchdog arms itself only after the server has shown that it does (a `:` comment line): from then
// on, a stream silent for three keepalive intervals (and at least `minMs`) is declared dead.

export class IdleWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs: number | undefined;
  private lastComment: number;

  constructor(
    private readonly onIdle: () => void,
    private readonly minMs: number,
  ) {
    this.lastComment = Date.now();
  }

  /** A keepalive comment arrived. */
  keepalive(): void {
    if (this.minMs <= 0) return;
    const now = Date.now();
    const interval = now - this.lastComment;
    this.lastComment = now;
    this.timeoutMs = Math.max(this.minMs, 3 * interval);
    this.arm();
  }

  /** Any bytes arrived. */
  activity(): void {
    if (this.timeoutMs !== undefined) this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timeoutMs = undefined;
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onIdle();
    }, this.timeoutMs);
    this.timer.unref();
  }
}

/** The shortest silence taken as death for a heartbeat setting: 3 heartbeats (45 s by default; 0 = off). */
export function idleMinMs(heartbeatMs: number): number {
  return heartbeatMs <= 0 ? 0 : 3 * heartbeatMs;
}
