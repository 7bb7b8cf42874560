// Long-lived connections (WebSockets, SSE streams) open per key (a principal), with a ceiling.

export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  /** @param max most connections per key; 0 = no limit. */
  constructor(readonly max: number) {}

  /** Count one more connection for `key`; false (and nothing counted) when it is at the limit. */
  acquire(key: string): boolean {
    const n = this.open.get(key) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.open.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.open.get(key) ?? 0;
    if (n <= 1) this.open.delete(key);
    else this.open.set(key, n - 1);
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}
