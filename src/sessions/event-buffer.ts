// A bounded, per-session log of the events sent to a client, so a client that lost its connection can
// ask for what it missed ("resume after event X") and get it exactly once, in order. Transport-neutral:
// the SSE and Streamable HTTP transports use it today (SSE `id:` + `Last-Event-ID`); a WebSocket resume
// can use the same ids.
//
// Interface:
//   - `append(stream, text)` records one serialized message on a stream and returns its event id.
//   - `idAt(stream)` is an id for "nothing yet on this stream" (SSE priming event, legacy endpoint event).
//   - `parse(id)` → `{ stream, seq }` when the id belongs to THIS buffer, otherwise undefined. Ids are
//     `<prefix>.<stream>.<seq>`; the prefix is the session's unguessable id, so an id taken from another
//     session never matches (and the caller looks the session up by it, checking the principal).
//   - `replay(stream, afterSeq, send)` calls `send(id, text)` for every kept event of `stream` after `afterSeq`.
//   - `lost(afterSeq)` says whether events after `afterSeq` were already evicted (the log overflowed).
//
// Streams are short names chosen by the transport ("g" = the session's standalone stream, "1", "2", … =
// one per request stream). Sequence numbers are session-wide and increase by one per event, so the ring
// needs no per-event object: slot = seq mod capacity.

export class EventBuffer {
  readonly prefix: string;
  readonly capacity: number;
  /** Most bytes (UTF-16 code units of the kept texts) kept at once: a few huge results cannot pin memory. */
  readonly maxBytes: number;
  /** Called for every event pushed out (by count or by bytes), oldest first, with its seq and slot. */
  onEvict: ((seq: number, slot: number) => void) | undefined;
  /** The seq the next event gets; events `nextSeq - size … nextSeq - 1` are kept. */
  private nextSeq = 1;
  private size = 0;
  private bytes = 0;
  private streams: string[] | undefined;
  private texts: string[] | undefined;

  constructor(prefix: string, capacity: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.prefix = prefix;
    this.capacity = capacity;
    this.maxBytes = maxBytes;
  }

  /** The session prefix of an event id (everything before the stream), for lookups by id alone. */
  static prefixOf(id: string): string | undefined {
    const last = id.lastIndexOf('.');
    const mid = last > 0 ? id.lastIndexOf('.', last - 1) : -1;
    return mid > 0 ? id.slice(0, mid) : undefined;
  }

  /** Record one serialized message sent on `stream`; returns its event id. */
  append(stream: string, text: string): string {
    return this.eventId(stream, this.record(stream, text));
  }

  /** The event id of `seq` on `stream` in this buffer. */
  eventId(stream: string, seq: number): string {
    return `${this.prefix}.${stream}.${seq}`;
  }

  /** Record one serialized message sent on `stream`; returns its sequence number (no id string built). */
  record(stream: string, text: string): number {
    if (this.capacity > 0 && this.size === this.capacity) this.evictOldest();
    const seq = this.nextSeq++;
    if (this.capacity > 0) {
      // Allocated on first use and grown as events come (slots fill in order until the ring wraps), so an
      // idle session holding a handful of events pays for a handful, not for `capacity`.
      const slot = seq % this.capacity;
      (this.streams ??= [])[slot] = stream;
      (this.texts ??= [])[slot] = text;
      this.size++;
      this.bytes += text.length;
      while (this.bytes > this.maxBytes && this.size > 1) this.evictOldest();
    }
    return seq;
  }

  private evictOldest(): void {
    const seq = this.nextSeq - this.size;
    const slot = seq % this.capacity;
    this.bytes -= this.texts![slot]!.length;
    this.texts![slot] = undefined as unknown as string; // let the text go now, not when the slot is reused
    this.size--;
    this.onEvict?.(seq, slot);
  }

  /** An id meaning "everything on `stream` from now on" (for an event that carries no message). */
  idAt(stream: string): string {
    return `${this.prefix}.${stream}.${this.nextSeq - 1}`;
  }

  /** The stream and sequence number of one of this buffer's ids; undefined for anything else. */
  parse(id: string): { stream: string; seq: number } | undefined {
    if (id.length <= this.prefix.length + 1 || !id.startsWith(this.prefix) || id.charCodeAt(this.prefix.length) !== 46 /* . */) return undefined;
    const rest = id.slice(this.prefix.length + 1);
    const dot = rest.indexOf('.');
    if (dot <= 0) return undefined;
    const seqText = rest.slice(dot + 1);
    if (!/^\d{1,15}$/.test(seqText)) return undefined;
    const seq = Number(seqText);
    if (seq >= this.nextSeq) return undefined; // never issued
    return { stream: rest.slice(0, dot), seq };
  }

  /** Send every kept event of `stream` after `afterSeq`, oldest first; returns how many. */
  replay(stream: string, afterSeq: number, send: (id: string, text: string) => void): number {
    if (this.size === 0) return 0;
    const oldest = this.nextSeq - this.size;
    let n = 0;
    for (let seq = Math.max(afterSeq + 1, oldest); seq < this.nextSeq; seq++) {
      const slot = seq % this.capacity;
      if (this.streams![slot] !== stream) continue;
      send(`${this.prefix}.${stream}.${seq}`, this.texts![slot]!);
      n++;
    }
    return n;
  }

  /** True when some event after `afterSeq` has already been evicted (the client cannot get everything). */
  lost(afterSeq: number): boolean {
    return afterSeq + 1 < this.nextSeq - this.size;
  }

  /** The sequence number of the newest event (0 before any). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The oldest sequence number still kept (lastSeq + 1 when nothing is kept). */
  get oldestSeq(): number {
    return this.nextSeq - this.size;
  }

  /** Forget everything (the session ended). */
  clear(): void {
    this.streams = undefined;
    this.texts = undefined;
    this.size = 0;
    this.bytes = 0;
  }
}
