// The in-socket message limit for one WebSocket session (HTTP rate limits cannot see frames on an open
// socket): a token bucket per session. Over the budget a message is refused (requests are answered
// -32029 with data.retryAfterMs, other messages are dropped) and counts as a strike; too many strikes
// within STRIKE_WINDOW_MS means the client ignores the answers, and the socket is closed with 1008.
import { TokenBucket } from './token-bucket.js';

/** Strikes are counted over this window. */
export const STRIKE_WINDOW_MS = 10_000;

export interface MessageRateLimitOptions {
  /** Sustained messages per second (0 = no limit: no limiter is created). */
  messagesPerSecond: number;
  /** Messages that may arrive at once. */
  burst: number;
  /** Refused messages within STRIKE_WINDOW_MS that end the connection. */
  strikes: number;
  /** Clock in ms (default performance.now). */
  now?: () => number;
}

export type MessageVerdict =
  | { allowed: true }
  | { allowed: false; retryAfterMs: number; close: boolean };

const ALLOWED: MessageVerdict = Object.freeze({ allowed: true });

export class MessageRateLimiter {
  private readonly bucket: TokenBucket;
  private readonly now: () => number;
  private windowStart = 0;
  private strikesInWindow = 0;

  constructor(private readonly options: MessageRateLimitOptions, private readonly onRefused?: () => void) {
    this.now = options.now ?? (() => performance.now());
    this.bucket = new TokenBucket(options.messagesPerSecond, options.burst, this.now());
  }

  /** Account for one incoming message. */
  check(): MessageVerdict {
    const now = this.now();
    const wait = this.bucket.take(now);
    if (wait === 0) return ALLOWED;
    this.onRefused?.();
    if (now - this.windowStart > STRIKE_WINDOW_MS) {
      this.windowStart = now;
      this.strikesInWindow = 0;
    }
    this.strikesInWindow++;
    return { allowed: false, retryAfterMs: wait, close: this.strikesInWindow > this.options.strikes };
  }
}

/** A limiter for a new session, or undefined when the limit is off. */
export function createMessageRateLimiter(options: MessageRateLimitOptions, onRefused?: () => void): MessageRateLimiter | undefined {
  return options.messagesPerSecond > 0 ? new MessageRateLimiter(options, onRefused) : undefined;
}
