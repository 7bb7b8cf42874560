// What the server counts while it works, as plain numbers: the hot paths (every message in and out)
// only increment a field of an object they already hold, with no label lookup and no allocation.
// GET /metrics (prometheus-metrics.ts) turns these into Prometheus families when scraped, so the cost
// of metrics lands on the scrape, and a scrape costs the same with 5 or 5,000 sessions.
import type { TransportKind } from '../sessions/session.js';
import { TRANSPORT_KINDS } from '../sessions/session.js';

/** Counters of one transport's traffic (each outbox and transport holds its kind's object). */
export interface TransportCounters {
  /** JSON-RPC messages received from clients. */
  messagesIn: number;
  /** Messages handed to clients (written, or logged for a client that is away). */
  messagesOut: number;
  /** `notifications/progress` sent. */
  progressSent: number;
  /** Progress notifications replaced by a newer one while the client was slow. */
  progressCoalesced: number;
  /** Log messages dropped while the client was slow. */
  logsDropped: number;
  /** Times a connection went over SEND_HIGH_WATER_BYTES. */
  backpressureEpisodes: number;
  /** Connections cut for staying over the mark past SLOW_CLIENT_TIMEOUT_MS. */
  slowClientDisconnects: number;
  /** Results a resume could no longer deliver (reported with -32031). */
  resultsLost: number;
}

export type ResumeOutcome = 'ok' | 'expired';
export type AuthFailureReason = 'no_token' | 'malformed' | 'invalid_token' | 'expired' | 'wrong_audience' | 'insufficient_scope' | 'jwks_unavailable' | 'origin' | 'host';
export type Rejection = 'rate_limit' | 'connection_limit' | 'session_limit' | 'ws_message_limit' | 'queue_full';

export class Telemetry {
  readonly transports: Readonly<Record<TransportKind, TransportCounters>>;
  /** Resumes of a session on a new connection: taken over, or refused because the session was gone. */
  readonly resumes: Record<ResumeOutcome, number> = { ok: 0, expired: 0 };
  readonly authFailures: Record<AuthFailureReason, number> = {
    no_token: 0, malformed: 0, invalid_token: 0, expired: 0, wrong_audience: 0, insufficient_scope: 0, jwks_unavailable: 0, origin: 0, host: 0,
  };
  readonly rejections: Record<Rejection, number> = { rate_limit: 0, connection_limit: 0, session_limit: 0, ws_message_limit: 0, queue_full: 0 };

  constructor() {
    this.transports = Object.fromEntries(TRANSPORT_KINDS.map((k) => [k, newCounters()])) as Record<TransportKind, TransportCounters>;
  }
}

/** Counters nobody reads (an outbox built outside a core, e.g. in unit tests). */
export function newCounters(): TransportCounters {
  return { messagesIn: 0, messagesOut: 0, progressSent: 0, progressCoalesced: 0, logsDropped: 0, backpressureEpisodes: 0, slowClientDisconnects: 0, resultsLost: 0 };
}
