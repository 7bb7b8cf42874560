// Calls waiting for a free slot: one FIFO lane per session, lanes served round-robin, so a session with
// 100 waiting calls cannot starve one with a single call. Only sessions with something waiting have a
// lane, so an idle server holds nothing here.
import type { Session } from '../sessions/session.js';

interface Lane<T> {
  readonly session: Session;
  readonly items: T[];
}

export class FairQueue<T> {
  private readonly lanes = new Map<Session, Lane<T>>();
  /** Lanes in round-robin order; `cursor` is the lane served next. */
  private readonly ring: Lane<T>[] = [];
  private cursor = 0;
  private count = 0;

  /** Calls waiting, across sessions. */
  get size(): number {
    return this.count;
  }

  /** Sessions with at least one call waiting. */
  get sessions(): number {
    return this.ring.length;
  }

  /** Calls this session has waiting. */
  lengthFor(session: Session): number {
    return this.lanes.get(session)?.items.length ?? 0;
  }

  /** Append to the session's lane; returns the item's 1-based position in that lane. */
  push(session: Session, item: T): number {
    let lane = this.lanes.get(session);
    if (lane === undefined) {
      lane = { session, items: [] };
      this.lanes.set(session, lane);
      this.ring.push(lane);
    }
    this.count++;
    return lane.items.push(item);
  }

  /** Take out the session's first item matching `match` (a call cancelled while waiting); false when none does. */
  remove(session: Session, match: (item: T) => boolean): boolean {
    const lane = this.lanes.get(session);
    const i = lane === undefined ? -1 : lane.items.findIndex(match);
    if (i < 0) return false;
    lane!.items.splice(i, 1);
    this.count--;
    if (lane!.items.length === 0) this.dropLane(lane!);
    return true;
  }

  /**
   * The head of the next lane, in round-robin order, whose session may start a call now
   * (`canStart(session, waitingInLane)`); undefined when no lane can. The lane after it is served next.
   */
  next(canStart: (session: Session, waiting: number) => boolean): T | undefined {
    const n = this.ring.length;
    for (let k = 0; k < n; k++) {
      const index = (this.cursor + k) % n;
      const lane = this.ring[index]!;
      if (!canStart(lane.session, lane.items.length)) continue;
      const item = lane.items.shift()!;
      this.count--;
      this.cursor = index + 1;
      if (lane.items.length === 0) this.dropLane(lane);
      if (this.cursor >= this.ring.length) this.cursor = 0;
      return item;
    }
    return undefined;
  }

  private dropLane(lane: Lane<T>): void {
    this.lanes.delete(lane.session);
    const i = this.ring.indexOf(lane);
    this.ring.splice(i, 1);
    if (i < this.cursor) this.cursor--;
    if (this.cursor >= this.ring.length) this.cursor = 0;
  }
}
