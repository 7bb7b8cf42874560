// The context of one MCP 2026-07-28 request: a Session in shape (so the one dispatcher, runner, tool
// ctx and resource registry serve it unchanged), but never in the SessionManager and one request long.
// Its version, client capabilities and log level come from that request's `_meta`; its outbox writes
// to that request's own response (an HTTP response, or the frames of a WebSocket) and keeps nothing for
// a resume. What it changes on the way out:
//   - the response: `resultType` (plus cache hints and serverInfo), resource-not-found as -32602;
//   - logs: only at or above the `_meta` log level, none without one;
//   - server→client requests never go out: `request()` (a tool's ctx.request) becomes an input-required
//     result whose questions the client answers in a retry that runs the handler again (mrtr.ts).
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { Errors, RpcError } from '../../errors.js';
import type { IncomingRequest } from '../../jsonrpc.js';
import { Outbox } from '../../outbox/outbox.js';
import { errorMessage, resultMessage, type OutMessage } from '../../outbox/messages.js';
import type { EventLog, ReplayResult } from '../../outbox/event-log.js';
import { LOG_LEVELS, Session, type SessionRequestOptions, type TransportKind } from '../../sessions/session.js';
import type { Principal } from '../../sessions/principal.js';
import { errorResponse } from '../../jsonrpc.js';
import { isObject, type Envelope } from './envelope.js';
import { CAPABILITY_OF, defaultInputKey, validInputResponse, type RequestBinding, type RequestStateCodec } from './mrtr.js';

/** An event log that numbers and forgets: a stateless request has nothing to resume. */
export class NullEventLog implements EventLog {
  private seq = 0;
  append(): number {
    return ++this.seq;
  }
  lastSeq(): number {
    return this.seq;
  }
  replay(): ReplayResult {
    return { events: [], lostResponses: [] };
  }
  close(): void {}
}

export interface OutboxSettings {
  highWaterBytes: number;
  slowClientTimeoutMs: number;
  loggerName: string;
}

/** What a request that may answer input-required knows of its earlier rounds. */
export interface MrtrContext {
  codec: RequestStateCodec;
  binding: RequestBinding;
  /** The round this run is (1 for a first call). */
  round: number;
  /** Answers from the verified requestState, then the retry's inputResponses. */
  answers: Record<string, unknown>;
}

/** The interim result of a round that needs answers from the client. */
export interface InputRound {
  inputRequests: Record<string, { method: string; params: Record<string, unknown> }>;
  requestState: string;
}

/** Rejects a handler's pending ctx.request() when its round ends with an input-required result. */
export class InputRequired extends RpcError {
  constructor() {
    super(Errors.INTERNAL_ERROR, 'Input required: the call ends here and runs again with the answers');
    this.name = 'InputRequired';
  }

  override get endsAsPlanned(): boolean {
    return true;
  }
}

/** Turns the final response into what the 2026-07-28 wire carries (server.ts). */
export type ResponseFinisher = (session: RequestSession, message: OutMessage) => OutMessage;

export class RequestSession extends Session {
  override readonly modern = true;
  /** The request this context serves. */
  readonly rpc: IncomingRequest;
  readonly envelope: Envelope;
  private readonly finisher: ResponseFinisher;
  private readonly mrtr: MrtrContext | undefined;
  /** Questions asked in this run that no answer covered, by key. */
  private questions: InputRound['inputRequests'] | undefined;
  private readonly waiters: Array<(err: Error) => void> = [];
  /** How many questions of each kind were asked in this run (for default keys). */
  private readonly asked = new Map<string, number>();
  /** Answers this run used: carried into the next round's requestState. */
  private readonly used: Record<string, unknown> = {};
  /** Set when this round ends with an input-required result. */
  inputRound: InputRound | undefined;
  /** True once the response to `request` went to the outbox. */
  answered = false;

  constructor(
    id: string,
    kind: TransportKind,
    principal: Principal | undefined,
    request: IncomingRequest,
    envelope: Envelope,
    outbox: OutboxSettings,
    finisher: ResponseFinisher,
    mrtr: MrtrContext | undefined,
  ) {
    super(id, kind, principal, () => new Outbox(new NullEventLog(), { ...outbox, ping: () => Promise.resolve() }));
    this.rpc = request;
    this.envelope = envelope;
    this.finisher = finisher;
    this.mrtr = mrtr;
    this.protocolVersion = envelope.version;
    this.clientCapabilities = envelope.clientCapabilities;
    this.clientInfo = envelope.clientInfo;
    this.logLevel = envelope.logLevel;
    this.initialized = true;
  }

  get requestId(): RequestId {
    return this.rpc.id;
  }

  /** Only at or above the level this request's `_meta` asked for; nothing when it asked for none. */
  override wantsLog(level: LoggingLevel): boolean {
    return this.logLevel !== undefined && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.logLevel);
  }

  override send(message: OutMessage): void {
    if (this.closed || message.kind === 'request') return; // no server→client requests on this wire
    if ((message.kind === 'result' || message.kind === 'error') && message.requestId === this.rpc.id) {
      if (this.answered) return;
      this.answered = true;
      message = this.inputRound !== undefined
        ? resultMessage(this.rpc.id, { resultType: 'input_required', ...this.inputRound })
        : this.finisher(this, message);
    }
    super.send(message);
  }

  /** Send the final answer now (errors found before dispatch, discover). */
  answer(result: unknown): void {
    this.send(resultMessage(this.rpc.id, result));
  }

  fail(err: RpcError): void {
    this.send(errorMessage(errorResponse(this.rpc.id, err.code, err.message, err.data)));
  }

  /**
   * A question for the client (sampling, elicitation, roots): answered from this request's
   * inputResponses or requestState when they hold it under its key, else collected into this round's
   * input-required result (the handler's promise then rejects with InputRequired, and the call ends).
   */
  override request(method: string, params: Record<string, unknown> | undefined, options: SessionRequestOptions = {}): Promise<unknown> {
    if (this.closed || this.answered) return Promise.reject(new Error('the request has ended'));
    const capability = CAPABILITY_OF[method];
    if (capability === undefined) {
      return Promise.reject(new RpcError(Errors.INTERNAL_ERROR, `Internal error: ${method} cannot be sent to a 2026-07-28 client (only sampling, elicitation and roots questions can)`));
    }
    if (!isObject(this.clientCapabilities?.[capability])) {
      return Promise.reject(new RpcError(Errors.MISSING_CLIENT_CAPABILITY, `Missing client capability: this request needs "${capability}", which its _meta does not declare`, {
        requiredCapabilities: { [capability]: {} },
      }));
    }
    const nth = (this.asked.get(method) ?? 0) + 1;
    this.asked.set(method, nth);
    const key = options.key ?? defaultInputKey(method, nth);
    const answer = this.mrtr?.answers[key];
    if (answer !== undefined && answer !== null) {
      if (!validInputResponse(method, answer)) {
        return Promise.reject(new RpcError(Errors.INVALID_PARAMS, `Invalid params: inputResponses["${key}"] is not a valid ${method} result`, { key }));
      }
      this.used[key] = answer;
      return Promise.resolve(answer);
    }
    if (this.mrtr === undefined) {
      return Promise.reject(new RpcError(Errors.INTERNAL_ERROR, `Internal error: ${this.rpc.method} cannot ask the client anything`));
    }
    if (this.questions === undefined) {
      this.questions = {};
      // Questions asked together (Promise.all) go out in one round.
      setImmediate(() => this.endRound());
    }
    this.questions[key] = { method, params: params ?? {} };
    return new Promise((_resolve, reject) => this.waiters.push(reject));
  }

  private endRound(): void {
    if (this.closed || this.answered || this.questions === undefined || this.mrtr === undefined) return;
    const { codec, binding, round } = this.mrtr;
    let requestState: string;
    try {
      requestState = codec.seal(binding, round + 1, this.used);
    } catch (err) {
      // Arguments that cannot be bound (nested too deeply): the call fails with that error, the process goes on.
      const failure = err instanceof RpcError ? err : new RpcError(Errors.INTERNAL_ERROR, 'Internal error: the request state could not be made');
      for (const reject of this.waiters.splice(0)) reject(failure);
      return;
    }
    this.inputRound = { inputRequests: this.questions, requestState };
    const signal = new InputRequired();
    for (const reject of this.waiters.splice(0)) reject(signal);
  }

  /** The request is over (answered and written, or its client went away). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    const gone = new Error('the request has ended');
    for (const reject of this.waiters.splice(0)) reject(gone);
    this.outbox.close();
  }
}
