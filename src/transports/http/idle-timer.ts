// A restartable, unref'd timer: HTTP sessions end after a while with no open stream and no request.

export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number, private readonly onIdle: () => void) {}

  /** (Re)start the countdown. */
  arm(): void {
    this.clear();
    this.timer = setTimeout(this.onIdle, this.timeoutMs);
    this.timer.unref();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
