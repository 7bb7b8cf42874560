// An incremental text/event-stream parser (the WHATWG EventSource rules, minus reconnection, which the
// transports do themselves). One difference on purpose: an event's id is reported only when the whole
// event (up to its blank line) has arrived, so a stream cut in the middle of an event never makes us
// resume *after* an event we did not get.

export interface SseEvent {
  /** `event:` field, "message" when absent. */
  event: string;
  /** The joined `data:` lines; '' for an event without data (e.g. a priming event that only sets an id). */
  data: string;
  /** The event's `id:` field when it had one. */
  id: string | undefined;
}

export class SseParser {
  onevent: (event: SseEvent) => void = () => {};
  /** A `:` comment line (keepalive). */
  oncomment: () => void = () => {};

  private buffer = '';
  private data: string[] = [];
  private eventType = '';
  private id: string | undefined;
  private fields = false;
  private pendingCR = false;

  feed(chunk: string): void {
    let text = chunk;
    if (this.pendingCR) {
      // A CR ended the previous chunk: a LF right after it belongs to the same line ending.
      this.pendingCR = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.pendingCR = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return this.oncomment();
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.fields = true;
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventType = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }

  private dispatch(): void {
    if (!this.fields) return;
    const event: SseEvent = { event: this.eventType || 'message', data: this.data.join('\n'), id: this.id };
    this.data = [];
    this.eventType = '';
    this.id = undefined;
    this.fields = false;
    this.onevent(event);
  }
}

/** Read a response body as SSE until it ends; resolves on a clean end, rejects on a broken one. */
export async function readSse(body: AsyncIterable<Uint8Array>, parser: SseParser, onChunk?: () => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    onChunk?.();
    parser.feed(decoder.decode(chunk, { stream: true }));
  }
}
