// What happens to the answer of one POSTed JSON-RPC message (one small object per POST, no closures).
export class PostSink {
  /**
   * @param rpc        the session's RpcPeer
   * @param id         our request id, or undefined for notifications and answers
   * @param sameStream true when the result must come back on this very response (Streamable HTTP):
   *                   a response that ends without it fails the request
   * @param onHeaders  optional (headers) => void
   */
  constructor(rpc, id, sameStream, onHeaders) {
    this.rpc = rpc;
    this.id = id;
    this.sameStream = sameStream;
    if (onHeaders !== undefined) this.onHeaders = onHeaders;
  }
  onText(text) { this.rpc.receive(text); }
  onEnd(err) {
    const { rpc, id } = this;
    if (err !== undefined) {
      if (id !== undefined) rpc.fail(id, err);
      else rpc.noteError(err);
    } else if (this.sameStream && id !== undefined && rpc.pending.has(id)) {
      rpc.fail(id, new Error('response ended without the result'));
    }
  }
}
