// Retries of the POST that carries one message, for both HTTP transports. A message is sent again only
// when that cannot make it run twice: nothing reached the server, or it is not a request (a
// notification or response sent twice does no harm). A request whose fate is unknown is not sent
// again (it could run twice): its send fails instead.
import { backoffDelay, sleep, type BackoffOptions } from '../backoff.js';
import { ConnectionError } from '../errors.js';
import { networkReason, nothingSent } from './http-failure.js';
import type { HttpClient } from './http-client.js';

export interface PostRetryOptions {
  http: HttpClient;
  isRequest: boolean;
  /** Tries in all. */
  attempts: number;
  backoff: BackoffOptions;
  /** The transport's stop signal: a POST cut by it, or a wait it ends, fails with `closedError()`. */
  signal: AbortSignal;
  closedError: () => ConnectionError;
  /** The start of a network failure's message, e.g. `could not send to /messages`. */
  failedTo: string;
  /** Where each retry is reported. */
  log: (line: string) => void;
}

/**
 * Run `post` until it succeeds or must not be tried again. It asks for a retry by throwing a retryable
 * ConnectionError (e.g. for a 503); anything it throws that is not a ConnectionError is a network failure.
 */
export async function postWithRetries<T>(post: () => Promise<T>, o: PostRetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let retry: ConnectionError;
    try {
      return await post();
    } catch (err) {
      if (err instanceof ConnectionError) {
        if (!err.retryable) throw err;
        retry = err;
      } else {
        if (o.signal.aborted) throw o.closedError();
        o.http.reset(); // the pooled connections to this server are suspect too
        retry = new ConnectionError(`${o.failedTo}: ${networkReason(err)}`, { kind: 'network', retryable: true, cause: err });
        if (o.isRequest && !nothingSent(err)) throw retry;
      }
    }
    if (attempt >= o.attempts) throw retry;
    const delay = Math.max(retry.retryAfterMs ?? 0, backoffDelay(attempt, o.backoff));
    o.log(`${retry.message}; retrying in ${(delay / 1000).toFixed(1)} s`);
    if (!(await sleep(delay, o.signal))) throw o.closedError();
  }
}
