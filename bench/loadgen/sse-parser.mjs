// Incremental text/event-stream parser (the WHATWG event-stream format, the parts MCP uses): feed it
// the bytes of a response as they come; it calls onEvent(type, data, id) for each complete event.
// Comments (`: keepalive`) and `retry:` are skipped; `id:` is remembered. Lines may end in \n or \r\n.
import { StringDecoder } from 'node:string_decoder';

export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.decoder = new StringDecoder('utf8');
    this.rest = '';
    this.type = '';
    this.data = null; // null = no data line yet in this event
    this.lastId = '';
  }

  push(chunk) {
    const text = this.rest.length ? this.rest + this.decoder.write(chunk) : this.decoder.write(chunk);
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end === pos) this.dispatch();
      else this.line(text, pos, end);
      pos = nl + 1;
    }
    this.rest = pos === text.length ? '' : text.slice(pos);
  }

  line(text, start, end) {
    if (text.charCodeAt(start) === 58) return; // ':' comment
    let colon = text.indexOf(':', start);
    if (colon < 0 || colon > end) colon = end;
    const name = text.slice(start, colon);
    let v = colon + 1;
    if (v < end && text.charCodeAt(v) === 32) v++;
    const value = colon === end ? '' : text.slice(v, end);
    if (name === 'data') this.data = this.data === null ? value : this.data + '\n' + value;
    else if (name === 'event') this.type = value;
    else if (name === 'id') this.lastId = value;
  }

  dispatch() {
    // An event with no data (a 2025-11-25 priming event: just an id) is not dispatched, as in EventSource.
    if (this.data !== null && this.data !== '') this.onEvent(this.type || 'message', this.data, this.lastId);
    this.type = '';
    this.data = null;
  }
}
