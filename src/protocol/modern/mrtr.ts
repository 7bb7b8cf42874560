// Input-required results (MCP 2026-07-28 "multi round-trip requests"): what the server keeps between
// the rounds of one call lives in the `requestState` the client echoes, never on the server. It is
// integrity-protected: HMAC-SHA256 with the server's key (MRTR_SECRET, or a random key per process) over
// the method, the tool/prompt name or resource URI, a digest of the arguments, the caller, an expiry
// and the answers gathered in earlier rounds. A state that fails any of these checks is refused with
// -32602, never trusted.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Errors, RpcError } from '../../errors.js';
import { principalKey, type Principal } from '../../sessions/principal.js';
import { isObject } from './envelope.js';

/** How long a requestState stays valid (a user answering a form takes a while). */
export const REQUEST_STATE_TTL_MS = 10 * 60_000;
/** Methods that may answer `input_required`. */
export const MRTR_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** The client capability each kind of question needs. */
export const CAPABILITY_OF: Readonly<Record<string, 'elicitation' | 'sampling' | 'roots'>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

/** What one request is: a state made for another method, name, arguments or caller is refused. */
export interface RequestBinding {
  method: string;
  /** The tool or prompt name, or the resource URI. */
  target: string;
  arguments: unknown;
  principal: Principal | undefined;
}

interface StatePayload {
  v: 1;
  m: string;
  t: string;
  a: string;
  p: string;
  exp: number;
  r: number;
  ans: Record<string, unknown>;
}

export interface VerifiedState {
  round: number;
  answers: Record<string, unknown>;
}

export class RequestStateCodec {
  private readonly key: Buffer;

  /** `secret`: MRTR_SECRET (shared by every instance); empty = a random key for this process. */
  constructor(secret: string = '', private readonly ttlMs: number = REQUEST_STATE_TTL_MS) {
    this.key = secret !== '' ? createHash('sha256').update(`realtime-mcp requestState\n${secret}`).digest() : randomBytes(32);
  }

  seal(binding: RequestBinding, round: number, answers: Record<string, unknown>): string {
    const payload: StatePayload = { v: 1, ...bind(binding), exp: Date.now() + this.ttlMs, r: round, ans: answers };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The state's round and answers; throws -32602 when it was altered, expired, or made for another request. */
  open(state: unknown, binding: RequestBinding): VerifiedState {
    if (typeof state !== 'string') throw invalidState('requestState must be a string');
    const dot = state.indexOf('.');
    const body = dot > 0 ? state.slice(0, dot) : '';
    const given = Buffer.from(dot > 0 ? state.slice(dot + 1) : '', 'utf8');
    const expected = Buffer.from(this.mac(body), 'utf8');
    if (body === '' || given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidState('requestState failed its integrity check');
    let payload: StatePayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StatePayload;
    } catch {
      throw invalidState('requestState is unreadable');
    }
    const expect = bind(binding);
    if (payload.v !== 1 || payload.m !== expect.m || payload.t !== expect.t || payload.a !== expect.a) throw invalidState('requestState belongs to another request');
    if (payload.p !== expect.p) throw invalidState('requestState belongs to another caller');
    if (!(payload.exp > Date.now())) throw invalidState('requestState expired; send the request again without it');
    return { round: payload.r, answers: isObject(payload.ans) ? payload.ans : {} };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

function bind(b: RequestBinding): Pick<StatePayload, 'm' | 't' | 'a' | 'p'> {
  return {
    m: b.method,
    t: b.target,
    a: createHash('sha256').update(canonicalJson(b.arguments ?? {})).digest('base64url'),
    p: principalKey(b.principal),
  };
}

function invalidState(why: string): RpcError {
  return new RpcError(Errors.INVALID_PARAMS, `Invalid params: ${why}`, { field: 'requestState' });
}

/** Deeper arguments are refused (-32602) rather than digested: the recursion below must not run out of stack. */
const MAX_ARGUMENT_DEPTH = 64;

/** JSON with object keys sorted, so equal arguments digest equally whatever their key order. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_ARGUMENT_DEPTH) throw new RpcError(Errors.INVALID_PARAMS, `Invalid params: arguments are nested deeper than ${MAX_ARGUMENT_DEPTH} levels`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k], depth + 1)}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** Whether `answer` has the shape of a result of `method` (ElicitResult, CreateMessageResult, ListRootsResult). */
export function validInputResponse(method: string, answer: unknown): boolean {
  if (!isObject(answer)) return false;
  switch (method) {
    case 'elicitation/create':
      return (answer.action === 'accept' || answer.action === 'decline' || answer.action === 'cancel') && (answer.content === undefined || isObject(answer.content));
    case 'sampling/createMessage':
      return typeof answer.role === 'string' && (isObject(answer.content) || Array.isArray(answer.content));
    case 'roots/list':
      return Array.isArray(answer.roots);
    default:
      return true;
  }
}

/** The key of an unnamed question: its kind and how many of that kind the handler asked so far in this run. */
export function defaultInputKey(method: string, nth: number): string {
  const kind = method.replace(/[^A-Za-z0-9]+/g, '_');
  return nth === 1 ? kind : `${kind}_${nth}`;
}
