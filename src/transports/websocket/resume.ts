// Resuming a WebSocket session on a new connection. Two ways in:
//   - on the upgrade: `Mcp-Session-Id` + `Last-Event-ID` headers (routes/mcp-ws.ts checks them before the 101);
//   - for clients that cannot set headers (browsers): a fresh connection whose first message is
//     `session/resume { sessionId, lastEventId }`; its answer comes after the replay.
// `Last-Event-ID` is the number of frames the client received from the session (every frame the server
// sends is the next event of the session stream), or a full event id `<session>.g.<n>`.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Errors } from '../../errors.js';
import { errorResponse } from '../../jsonrpc.js';
import { toErrorResponse } from '../../protocol/render-error.js';
import { SESSION_STREAM, parseEventId } from '../../outbox/event-log.js';
import { errorMessage, resultMessage } from '../../outbox/messages.js';
import type { Session } from '../../sessions/session.js';
import type { WebSocketConnection } from './connection.js';

export const SESSION_RESUME_METHOD = 'session/resume';

/**
 * The frame number a resume continues after: 0 for none, a bare number, or this session's full event id.
 * Undefined when the value is not one of these, or names frames the session never sent (as far as its log
 * knows: right after a takeover from a lost node, see Outbox.acceptsPosition).
 */
export function parseLastEventId(value: string | undefined, session: Session): number | undefined {
  let seq: number;
  if (value === undefined || value === '') seq = 0;
  else if (/^\d{1,15}$/.test(value)) seq = Number(value);
  else {
    const id = parseEventId(value);
    if (id === undefined || id.sessionId !== session.id || id.stream !== SESSION_STREAM) return undefined;
    seq = id.seq;
  }
  return session.outbox.acceptsPosition(SESSION_STREAM, seq) ? seq : undefined;
}

/** What a session's WebSocket transport offers to a resume (see session-transport.ts). */
export interface Resumable {
  readonly session: Session;
  /** Take over `connection`, replaying what came after frame `afterSeq`. */
  attach(connection: WebSocketConnection, afterSeq: number): void;
}

/**
 * `session/resume` as the first message of a fresh connection: move the connection to `target` and
 * answer there, after the replay. Returns false (after answering the error on the fresh session) when
 * the target cannot be resumed; the client may go on with the fresh session.
 */
export async function handOver(
  fresh: Session,
  connection: WebSocketConnection,
  requestId: RequestId,
  params: Record<string, unknown>,
  findResumable: (sessionId: string) => Promise<Resumable | undefined>,
  release: () => void,
  onResume?: (outcome: 'ok' | 'expired') => void,
): Promise<boolean> {
  let target: Resumable | undefined;
  try {
    target = typeof params.sessionId === 'string' && params.sessionId !== fresh.id ? await findResumable(params.sessionId) : undefined;
  } catch (err) {
    // The session could not be looked up now (scale-out: the store is unreachable, or its node did not hand
    // it over in time): say so, with the retry hint, on the fresh session; the client may try again.
    onResume?.('expired');
    fresh.send(errorMessage(toErrorResponse(requestId, err)));
    return false;
  }
  const lastEventId = params.lastEventId === undefined ? undefined : String(params.lastEventId);
  const after = target !== undefined && target.session !== fresh ? parseLastEventId(lastEventId, target.session) : undefined;
  if (target === undefined || after === undefined) {
    onResume?.('expired');
    fresh.send(errorMessage(errorResponse(requestId, Errors.SESSION_NOT_FOUND.rpc,
      'Session not found: it ended, its resume window passed, it is not yours, or lastEventId is not one of its frames; start a new session')));
    return false;
  }
  const missed = Math.max(0, target.session.outbox.lastSeq(SESSION_STREAM) - after);
  onResume?.('ok');
  release(); // the fresh, empty session lets go of the connection without closing it, and ends
  target.attach(connection, after);
  target.session.send(resultMessage(requestId, { sessionId: target.session.id, resumedAfter: after, missed }));
  return true;
}
