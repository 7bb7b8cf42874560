// OperationRunner on its own: admission, the fair queue, limits, timeouts (fake timers), cancel, fail,
// abortSession, whenIdle, the hooks with each outcome, and what a handler's output becomes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OperationRunner, type RunnerLimits } from '../../src/operations/runner.js';
import type { Operation, OperationAbort, OperationOutcome } from '../../src/operations/operation.js';
import { RpcError, ToolError } from '../../src/errors.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { MemoryEventLog } from '../../src/outbox/memory-event-log.js';
import { SESSION_STREAM } from '../../src/outbox/event-log.js';
import { Session } from '../../src/sessions/session.js';
import { FakeSink, gate, recordingSession, settle, type Gate } from '../helpers/doubles.js';
import { registeredTool } from '../helpers/registered-tool.js';

function runner(limits: Partial<RunnerLimits> = {}, logger?: { error(obj: object, msg: string): void }) {
  return new OperationRunner({ limits, logger });
}

/** A tool whose calls each wait on their own gate; `started` lists request ids in start order. */
function gatedTool(name = 'gated', extra: Parameters<typeof registeredTool>[2] = {}) {
  const started: Array<string | number> = [];
  const gates = new Map<string | number, Gate<string>>();
  const signals = new Map<string | number, AbortSignal>();
  const tool = registeredTool(name, (_args, ctx) => {
    started.push(ctx.requestId);
    signals.set(ctx.requestId, ctx.signal);
    const g = gate<string>();
    gates.set(ctx.requestId, g);
    return g.promise;
  }, extra);
  return { tool, started, gates, signals };
}

/** Reject with the abort reason once the call is aborted (what a well-behaved tool does). */
function abortableTool(name = 'abortable') {
  const seen = new Map<string | number, OperationAbort>();
  const tool = registeredTool(name, (_args, ctx) =>
    new Promise((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => {
        seen.set(ctx.requestId, ctx.signal.reason as OperationAbort);
        reject(ctx.signal.reason);
      });
    }));
  return { tool, seen };
}

describe('admission and limits', () => {
  test('a call with room runs at once; a synchronous handler is answered in the same turn and frees its slot', () => {
    const r = runner();
    const { session, answers } = recordingSession();
    const op = r.start(session, 1, registeredTool('now', () => 'done'), {}, undefined)!;
    assert.equal(op.state, 'done');
    assert.equal(op.outcome, 'ok');
    assert.deepEqual(answers(1), [{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'done' }] } }]);
    assert.equal(r.size, 0);
    assert.equal(r.running, 0);
    assert.equal(session.operations.size, 0);
  });

  test('over the per-session limit calls wait in the session queue; the queue notice goes only to calls with a progress token', async () => {
    const r = runner({ maxConcurrentPerSession: 2 });
    const { session, sent } = recordingSession();
    const { tool, started, gates } = gatedTool();
    const a = r.start(session, 'a', tool, {}, undefined)!;
    r.start(session, 'b', tool, {}, undefined);
    const c = r.start(session, 'c', tool, {}, 'tok-c')!;
    const d = r.start(session, 'd', tool, {}, undefined)!;
    assert.deepEqual(started, ['a', 'b']);
    assert.equal(a.state, 'running');
    assert.equal(c.state, 'queued');
    assert.equal(d.state, 'queued');
    assert.equal(r.running, 2);
    assert.equal(r.queued, 2);
    assert.equal(r.size, 4);
    assert.equal(r.queuedSessions, 1);
    // Only c asked for progress: one notice, progress 0, with its position.
    assert.deepEqual(sent.map((m) => m.body), [{
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 'tok-c', progress: 0, message: 'queued: position 1', _meta: { queuePosition: 1, queuedCalls: 1 } },
    }]);
    gates.get('a')!.open('a done');
    await settle();
    assert.deepEqual(started, ['a', 'b', 'c'], 'the oldest waiting call takes the freed slot');
    assert.equal(c.state, 'running');
    assert.equal(r.queued, 1);
  });

  test('the global limit queues calls of every session', async () => {
    const r = runner({ maxConcurrentOperations: 2 });
    const one = recordingSession('one');
    const two = recordingSession('two');
    const { tool, started, gates } = gatedTool();
    r.start(one.session, 1, tool, {}, undefined);
    r.start(two.session, 1, tool, {}, undefined);
    const third = r.start(two.session, 2, tool, {}, undefined)!;
    assert.equal(third.state, 'queued');
    assert.equal(r.running, 2);
    gates.get(1)!.open('x'); // both sessions use id 1; the first started is one's
    await settle();
    assert.equal(third.state, 'running');
    assert.equal(started.length, 3);
  });

  test('queued calls are served round-robin across sessions, FIFO within a session', async () => {
    const r = runner({ maxConcurrentOperations: 1 });
    const A = recordingSession('A');
    const B = recordingSession('B');
    const order: string[] = [];
    const gates = new Map<string, Gate<string>>();
    const tool = registeredTool('t', (_args, ctx) => {
      order.push(String(ctx.requestId));
      const g = gate<string>();
      gates.set(String(ctx.requestId), g);
      return g.promise;
    });
    r.start(A.session, 'a1', tool, {}, undefined);
    r.start(A.session, 'a2', tool, {}, undefined);
    r.start(A.session, 'a3', tool, {}, undefined);
    r.start(A.session, 'a4', tool, {}, undefined);
    r.start(B.session, 'b1', tool, {}, undefined); // queued last, but B has nothing else waiting
    assert.equal(r.queuedSessions, 2);
    for (const id of ['a1', 'a2', 'b1', 'a3', 'a4']) {
      assert.equal(order.at(-1), id);
      gates.get(id)!.open('ok');
      await settle();
    }
    assert.deepEqual(order, ['a1', 'a2', 'b1', 'a3', 'a4'], 'B is not starved behind A\'s queue');
    assert.equal(r.size, 0);
  });

  test('a full session queue refuses the next call with -32030 and admits nothing; the queued calls still run', async () => {
    const r = runner({ maxConcurrentPerSession: 1, maxQueuedPerSession: 2 });
    const { session, answers } = recordingSession();
    const { tool, started, gates } = gatedTool();
    r.start(session, 1, tool, {}, undefined);
    r.start(session, 2, tool, {}, undefined);
    r.start(session, 3, tool, {}, undefined);
    const refused = r.start(session, 4, tool, {}, undefined);
    assert.equal(refused, undefined);
    const [error] = answers(4);
    assert.equal(error.error.code, -32030);
    assert.match(error.error.message, /Too many calls queued: this session already has 2 calls waiting \(limit 2\) behind 1 running/);
    assert.deepEqual(error.error.data, { queued: 2, maxQueuedPerSession: 2 });
    assert.equal(session.operations.has(4), false);
    assert.equal(r.size, 3);
    // Another session is not affected by this session's full queue.
    const other = recordingSession('other');
    assert.equal(r.start(other.session, 'o1', tool, {}, undefined)!.state, 'running');
    for (const id of [1, 2, 3]) {
      gates.get(id)!.open(`done ${id}`);
      await settle();
    }
    assert.deepEqual(started, [1, 'o1', 2, 3]);
    assert.deepEqual(answers(3), [{ jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'done 3' }] } }]);
  });

  test('a queued call that got its slot is a running call like any other: its clock restarts, and a cancel waits for its handler', async () => {
    const r = runner({ maxConcurrentPerSession: 1 });
    const { session, answers } = recordingSession();
    const { tool, gates } = gatedTool(); // ignores its signal
    r.start(session, 'first', tool, {}, undefined);
    const second = r.start(session, 'second', tool, {}, undefined)!;
    const admittedAt = second.startedAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const releasedAt = performance.now();
    gates.get('first')!.open('done');
    await settle();
    assert.equal(second.state, 'running');
    assert.ok(second.startedAt >= releasedAt && second.startedAt > admittedAt, 'time queued is not time running');
    r.cancel(second, 'stop', { silent: false });
    await settle();
    assert.deepEqual(answers('second'), [], 'the handler has not finished: no answer yet');
    assert.equal(r.running, 1, 'and its slot is still taken');
    gates.get('second')!.open('finished anyway');
    await settle();
    assert.deepEqual(answers('second'), [{ jsonrpc: '2.0', id: 'second', result: { content: [{ type: 'text', text: 'finished anyway' }] } }]);
    assert.equal(second.outcome, 'cancelled');
    assert.equal(r.running, 0);
  });

  test('synchronous handlers queued behind a slow call all run when it ends, in order', async () => {
    const r = runner({ maxConcurrentPerSession: 1 });
    const { session, sent } = recordingSession();
    const { tool, gates } = gatedTool();
    const echo = registeredTool('echo', (_args, ctx) => `echo ${ctx.requestId}`);
    r.start(session, 'slow', tool, {}, undefined);
    for (const id of ['e1', 'e2', 'e3']) r.start(session, id, echo, {}, undefined);
    assert.equal(r.queued, 3);
    gates.get('slow')!.open('slow done');
    await settle();
    const ids = sent.map((m) => (m.body as any).id);
    assert.deepEqual(ids.filter((id) => id !== 'slow'), ['e1', 'e2', 'e3']);
    assert.equal(ids.length, 4);
    assert.equal(r.size, 0);
  });

  test('the call whose end frees a slot is answered before the calls that start in it', async () => {
    const r = runner({ maxConcurrentPerSession: 1 });
    const { session, sent } = recordingSession();
    const { tool, gates } = gatedTool();
    r.start(session, 'slow', tool, {}, undefined);
    r.start(session, 'echo', registeredTool('echo', () => 'echo'), {}, undefined);
    gates.get('slow')!.open('slow done');
    await settle();
    assert.deepEqual(sent.map((m) => (m.body as any).id), ['slow', 'echo']);
  });
});

describe('timeouts (fake timers)', () => {
  test('a tool past its timeoutMs gets -32001 with the last progress; its signal aborts with kind timeout; a late result is dropped', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = runner();
    const { session, answers } = recordingSession();
    let ctxRef: Operation | undefined;
    const late = gate<string>();
    const tool = registeredTool('slow', (_args, ctx) => {
      ctxRef = ctx as Operation;
      ctx.progress({ progress: 3, total: 10 });
      return late.promise;
    }, { timeoutMs: 100 });
    const op = r.start(session, 'x', tool, {}, undefined)!;
    t.mock.timers.tick(99);
    assert.equal(op.state, 'running');
    assert.deepEqual(answers('x'), []);
    t.mock.timers.tick(1);
    assert.equal(op.state, 'done');
    assert.equal(op.outcome, 'timeout');
    assert.deepEqual(answers('x'), [{
      jsonrpc: '2.0',
      id: 'x',
      error: { code: -32001, message: 'Tool slow timed out after 100 ms', data: { timeoutMs: 100, lastProgress: 3, total: 10 } },
    }]);
    assert.equal(ctxRef!.signal.aborted, true);
    assert.equal((ctxRef!.signal.reason as OperationAbort).kind, 'timeout');
    late.open('too late');
    await settle();
    assert.equal(answers('x').length, 1, 'the handler\'s later result is dropped');
  });

  test('the default timeout applies to tools without one; 0 means none', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { tool } = gatedTool('plain');
    const withDefault = runner({ defaultTimeoutMs: 50 });
    const s1 = recordingSession();
    const op1 = withDefault.start(s1.session, 1, tool, {}, undefined)!;
    t.mock.timers.tick(50);
    assert.equal(op1.outcome, 'timeout');
    assert.equal(s1.answers(1)[0].error.data.lastProgress, null, 'no progress reported: null, not a missing field');

    const without = runner({ defaultTimeoutMs: 0 });
    const s2 = recordingSession();
    const op2 = without.start(s2.session, 1, tool, {}, undefined)!;
    assert.equal(op2.timer, undefined, 'no timer is armed');
    t.mock.timers.tick(10 * 60_000);
    assert.equal(op2.state, 'running');
  });

  test('time spent queued does not count toward the timeout', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = runner({ maxConcurrentPerSession: 1 });
    const { session, answers } = recordingSession();
    const blocker = gatedTool('blocker');
    const timed = gatedTool('timed', { timeoutMs: 100 });
    r.start(session, 'first', blocker.tool, {}, undefined);
    const queued = r.start(session, 'second', timed.tool, {}, undefined)!;
    t.mock.timers.tick(500);
    assert.equal(queued.state, 'queued', 'five timeouts\' worth of waiting, still queued and not failed');
    blocker.gates.get('first')!.open('done');
    await settle();
    assert.equal(queued.state, 'running');
    t.mock.timers.tick(99);
    assert.equal(queued.state, 'running');
    t.mock.timers.tick(1);
    assert.equal(queued.outcome, 'timeout');
    assert.equal(answers('second')[0].error.code, -32001);
  });

  test('a call that ends in time clears its timer', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = runner();
    const { session, answers } = recordingSession();
    const { tool, gates } = gatedTool('quick', { timeoutMs: 100 });
    const op = r.start(session, 1, tool, {}, undefined)!;
    gates.get(1)!.open('in time');
    await settle();
    assert.equal(op.timer, undefined);
    t.mock.timers.tick(1000);
    assert.equal(op.outcome, 'ok');
    assert.equal(answers(1).length, 1);
  });
});

describe('cancel, fail, abortSession', () => {
  test('a silent cancel (notifications/cancelled) aborts the handler and sends nothing', async () => {
    const r = runner();
    const { session, sent } = recordingSession();
    const { tool, seen } = abortableTool();
    const op = r.start(session, 1, tool, {}, undefined)!;
    r.cancel(op, 'changed my mind', { silent: true });
    await settle();
    assert.equal(seen.get(1)!.kind, 'cancelled');
    assert.equal(seen.get(1)!.message, 'changed my mind');
    assert.equal(op.outcome, 'cancelled');
    assert.deepEqual(sent, []);
    assert.equal(r.size, 0);
  });

  test('an answered cancel (`cancel` request) ends the call with an isError result "Cancelled: <reason>" that keeps streamed content', async () => {
    const r = runner();
    const { session, answers } = recordingSession();
    const tool = registeredTool('streamer', (_args, ctx) => {
      ctx.stream({ type: 'text', text: 'partial' });
      return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    });
    const op = r.start(session, 1, tool, {}, undefined)!;
    r.cancel(op, 'user pressed stop', { silent: false });
    await settle();
    assert.deepEqual(answers(1), [{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'partial' }, { type: 'text', text: 'Cancelled: user pressed stop' }], isError: true } }]);
    assert.equal(op.outcome, 'cancelled');
    r.cancel(op, 'again', { silent: false });
    await settle();
    assert.equal(answers(1).length, 1, 'cancelling a finished call does nothing');
  });

  test('a queued call cancelled silently leaves the queue unanswered and never starts; answered, it gets "Cancelled"', async () => {
    const r = runner({ maxConcurrentPerSession: 1 });
    const { session, answers } = recordingSession();
    const { tool, started, gates } = gatedTool();
    r.start(session, 'run', tool, {}, undefined);
    const quiet = r.start(session, 'quiet', tool, {}, undefined)!;
    const loud = r.start(session, 'loud', tool, {}, undefined)!;
    r.cancel(quiet, 'nope', { silent: true });
    r.cancel(loud, 'no thanks', { silent: false });
    assert.equal(r.queued, 0);
    assert.equal(quiet.outcome, 'cancelled');
    assert.deepEqual(answers('quiet'), []);
    assert.deepEqual(answers('loud'), [{ jsonrpc: '2.0', id: 'loud', result: { content: [{ type: 'text', text: 'Cancelled: no thanks' }], isError: true } }]);
    gates.get('run')!.open('done');
    await settle();
    assert.deepEqual(started, ['run'], 'neither cancelled call started');
  });

  test('fail() answers at once with the given error, aborts the handler with that kind and drops its later output', async () => {
    const r = runner();
    const { session, answers } = recordingSession();
    const { tool, gates, signals } = gatedTool();
    const op = r.start(session, 1, tool, {}, undefined)!;
    r.fail(op, 'shutdown', -32010, 'Server shutting down', { retry: true });
    assert.equal(op.state, 'done');
    assert.equal(op.outcome, 'shutdown');
    assert.equal((signals.get(1)!.reason as OperationAbort).kind, 'shutdown');
    assert.deepEqual(answers(1), [{ jsonrpc: '2.0', id: 1, error: { code: -32010, message: 'Server shutting down', data: { retry: true } } }]);
    gates.get(1)!.open('finished anyway');
    await settle();
    assert.equal(answers(1).length, 1);
    r.fail(op, 'shutdown', -32010, 'twice');
    assert.equal(answers(1).length, 1, 'fail on a finished call does nothing');
  });

  test('fail() on a queued call answers once (the error), not twice', () => {
    const r = runner({ maxConcurrentPerSession: 1 });
    const { session, answers } = recordingSession();
    const { tool } = gatedTool();
    r.start(session, 1, tool, {}, undefined);
    const queued = r.start(session, 2, tool, {}, undefined)!;
    r.fail(queued, 'timeout', -32001, 'timed out in the queue');
    assert.deepEqual(answers(2), [{ jsonrpc: '2.0', id: 2, error: { code: -32001, message: 'timed out in the queue' } }]);
    assert.equal(r.queued, 0);
    assert.equal(queued.outcome, 'timeout');
  });

  test('abortSession ends every call of the session silently; its queued calls never start and a freed slot goes to another session', async () => {
    const r = runner({ maxConcurrentOperations: 1 });
    const A = recordingSession('A');
    const B = recordingSession('B');
    const { tool, started, signals } = gatedTool();
    const a1 = r.start(A.session, 'a1', tool, {}, undefined)!;
    const a2 = r.start(A.session, 'a2', tool, {}, undefined)!;
    r.start(B.session, 'b1', tool, {}, undefined);
    r.abortSession(A.session, 'disconnected', 'client gone');
    await settle();
    assert.deepEqual(started, ['a1', 'b1']);
    assert.equal(a1.outcome, 'disconnected');
    assert.equal(a2.outcome, 'disconnected');
    assert.equal((signals.get('a1')!.reason as OperationAbort).message, 'client gone');
    assert.deepEqual(A.sent, [], 'nothing is sent to a session whose client is gone');
    assert.equal(A.session.operations.size, 0);
    assert.equal(r.size, 1);
  });

  test('a result that settles after its session closed is not sent', async () => {
    const r = runner();
    const { session, sent } = recordingSession();
    const { tool, gates } = gatedTool();
    const op = r.start(session, 1, tool, {}, undefined)!;
    session.closed = true;
    gates.get(1)!.open('nobody listens');
    await settle();
    assert.equal(op.outcome, 'ok');
    assert.deepEqual(sent, []);
  });
});

describe('whenIdle', () => {
  test('resolves true at once when idle, true when the last call ends, false after the timeout (fake timers)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = runner();
    assert.equal(await r.whenIdle(1000), true);
    const { session } = recordingSession();
    const { tool, gates } = gatedTool();
    r.start(session, 1, tool, {}, undefined);
    r.start(session, 2, tool, {}, undefined);
    const ending = r.whenIdle(1000);
    let result: boolean | undefined;
    void ending.then((v) => (result = v));
    gates.get(1)!.open('one');
    await settle();
    assert.equal(result, undefined, 'one call still in flight');
    gates.get(2)!.open('two');
    await settle();
    assert.equal(result, true);

    r.start(session, 3, tool, {}, undefined);
    const timingOut = r.whenIdle(200);
    t.mock.timers.tick(200);
    assert.equal(await timingOut, false);
  });
});

describe('hooks', () => {
  test('onCallAdmitted, onCallStarted (queued calls only) and onCallEnded with the outcome of each way a call ends', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = runner({ maxConcurrentPerSession: 1 });
    const events: string[] = [];
    r.hooks.add('onCallAdmitted', (op) => events.push(`admitted ${op.requestId}`));
    r.hooks.add('onCallStarted', (op) => events.push(`started ${op.requestId} ${op.state}`));
    r.hooks.add('onCallEnded', (op) => events.push(`ended ${op.requestId} ${op.outcome}`));
    const outcome = new Map<string, OperationOutcome | undefined>();
    r.hooks.add('onCallEnded', (op) => outcome.set(String(op.requestId), op.outcome));
    const { session } = recordingSession();

    const tools = {
      ok: registeredTool('ok', () => 'fine'),
      toolError: registeredTool('tool_error', () => ({ content: [{ type: 'text', text: 'bad input' }], isError: true })),
      rpc: registeredTool('rpc', () => {
        throw new RpcError(-32042, 'custom');
      }),
      timeout: registeredTool('timeout', () => new Promise(() => {}), { timeoutMs: 10 }),
    };
    r.start(session, 'ok', tools.ok, {}, undefined);
    r.start(session, 'tool_error', tools.toolError, {}, undefined);
    r.start(session, 'rpc', tools.rpc, {}, undefined);
    const timedOut = r.start(session, 'timeout', tools.timeout, {}, undefined)!;
    const { tool: gated, gates } = gatedTool();
    const queued = r.start(session, 'queued', gated, {}, undefined)!; // waits behind `timeout`
    assert.equal(queued.state, 'queued');
    assert.equal(events.filter((e) => e.startsWith('started ')).length, 0);
    t.mock.timers.tick(10);
    await settle();
    assert.equal(timedOut.outcome, 'timeout');
    const c = r.start(session, 'cancelled', gated, {}, undefined)!; // queued behind `queued`
    r.cancel(c, 'no', { silent: true });
    gates.get('queued')!.open('done');
    await settle();
    const shut = r.start(session, 'shutdown', gated, {}, undefined)!;
    r.fail(shut, 'shutdown', -32010, 'bye');
    const gone = r.start(session, 'disconnected', gated, {}, undefined)!;
    r.abortSession(session, 'disconnected', 'gone');
    assert.equal(gone.outcome, 'disconnected');

    assert.deepEqual(Object.fromEntries(outcome), {
      ok: 'ok',
      tool_error: 'tool_error',
      rpc: 'error',
      timeout: 'timeout',
      cancelled: 'cancelled',
      queued: 'ok',
      shutdown: 'shutdown',
      disconnected: 'disconnected',
    });
    assert.deepEqual(events.slice(0, 6), ['admitted ok', 'ended ok ok', 'admitted tool_error', 'ended tool_error tool_error', 'admitted rpc', 'ended rpc error']);
    assert.ok(events.includes('started queued running'), 'the queued call is "started" when the timed-out call frees its slot');
    assert.equal(events.filter((e) => e.startsWith('admitted ')).length, 8);
    assert.equal(events.filter((e) => e.startsWith('started ')).length, 1, 'only the queued call that got a slot is "started"');
    assert.equal(events.filter((e) => e.startsWith('ended ')).length, 8, 'each call ends exactly once');
  });
});

test('onCallAdmitted tells a queued call from a running one by its state', () => {
  const r = runner({ maxConcurrentPerSession: 1 });
  const states: string[] = [];
  r.hooks.add('onCallAdmitted', (op) => states.push(op.state));
  const { session } = recordingSession();
  const { tool } = gatedTool();
  r.start(session, 1, tool, {}, undefined);
  r.start(session, 2, tool, {}, undefined);
  assert.deepEqual(states, ['running', 'queued']);
});

describe('what the handler returns or throws', () => {
  const run = async (handler: () => unknown, logger?: { error(obj: object, msg: string): void }) => {
    const r = runner({}, logger);
    const { session, answers } = recordingSession();
    const op = r.start(session, 1, registeredTool('t', handler as never), {}, undefined)!;
    await settle();
    return { op, answer: answers(1) };
  };

  test('a string becomes one text content; a full result is passed through', async () => {
    assert.deepEqual((await run(() => 'hi')).answer, [{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hi' }] } }]);
    const full = { content: [{ type: 'text', text: 'a' }], structuredContent: { n: 1 } };
    assert.deepEqual((await run(async () => full)).answer, [{ jsonrpc: '2.0', id: 1, result: full }]);
  });

  test('a thenable that is not a Promise is awaited', async () => {
    const thenable = { then: (resolve: (v: string) => void) => resolve('from a thenable') };
    const { answer, op } = await run(() => thenable);
    assert.deepEqual(answer[0].result.content, [{ type: 'text', text: 'from a thenable' }]);
    assert.equal(op.outcome, 'ok');
  });

  test('a thrown Error (sync or async) is a tool error result with its message', async () => {
    for (const handler of [() => { throw new Error('disk full'); }, async () => { throw new Error('disk full'); }]) {
      const { op, answer } = await run(handler);
      assert.deepEqual(answer, [{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'disk full' }], isError: true } }]);
      assert.equal(op.outcome, 'tool_error');
    }
  });

  test('a thrown RpcError or ToolError is a JSON-RPC error with its code and data', async () => {
    const rpc = await run(() => { throw new RpcError(-32602, 'bad arg', { argument: 'x' }); });
    assert.deepEqual(rpc.answer, [{ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad arg', data: { argument: 'x' } } }]);
    assert.equal(rpc.op.outcome, 'error');
    const tool = await run(async () => { throw new ToolError('half done', { lastSuccessful: 4 }); });
    assert.deepEqual(tool.answer, [{ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'half done', data: { lastSuccessful: 4 } } }]);
  });

  test('a thrown non-Error is reported as text and logged', async () => {
    const logged: object[] = [];
    const { answer } = await run(() => { throw 'just a string'; }, { error: (obj) => void logged.push(obj) });
    assert.deepEqual(answer[0].result, { content: [{ type: 'text', text: 'just a string' }], isError: true });
    assert.equal(logged.length, 1);
    assert.deepEqual(logged[0], { tool: 't', err: 'just a string' });
  });

  test('an invalid result (not a string, no content array) is -32603 naming the tool', async () => {
    for (const bad of [42, null, undefined, { content: 'text' }, { text: 'no content' }]) {
      const { op, answer } = await run(() => bad);
      assert.equal(answer.length, 1, JSON.stringify(bad));
      assert.equal(answer[0].error.code, -32603, JSON.stringify(bad));
      assert.equal(answer[0].error.message, 'Tool t returned an invalid result (expected { content: [...] } or a string)');
      assert.equal(op.outcome, 'error');
    }
  });

  test('streamed content goes before the returned content', () => {
    const r = runner();
    const { session, answers } = recordingSession();
    r.start(session, 1, registeredTool('s', (_a, ctx) => {
      ctx.stream([{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }]);
      return { content: [{ type: 'text', text: 'three' }] };
    }), {}, undefined);
    assert.deepEqual(answers(1)[0].result.content.map((c: any) => c.text), ['one', 'two', 'three']);
  });

  test('a result JSON cannot encode reaches the client as -32603 and the session keeps working', async () => {
    const sink = new FakeSink();
    const session = new Session('s', 'ws', undefined, () => new Outbox(new MemoryEventLog(), { ping: () => Promise.resolve() }));
    session.outbox.attach(SESSION_STREAM, sink);
    const r = runner();
    r.start(session, 1, registeredTool('big', () => ({ content: [{ type: 'text', text: 'x' }], structuredContent: { n: 10n } })), {}, undefined);
    r.start(session, 2, registeredTool('fine', () => 'still here'), {}, undefined);
    const [bad, good] = sink.bodies();
    assert.equal(bad.id, 1);
    assert.equal(bad.error.code, -32603);
    assert.match(bad.error.message, /could not be serialized as JSON/);
    assert.deepEqual(good, { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'still here' }] } });
  });

  test('a result JSON cannot encode is counted with outcome "error", as the client sees it', async () => {
    const session = new Session('s', 'ws', undefined, () => new Outbox(new MemoryEventLog(), { ping: () => Promise.resolve() }));
    session.outbox.attach(SESSION_STREAM, new FakeSink());
    const r = runner();
    const op = r.start(session, 1, registeredTool('big', () => ({ content: [], structuredContent: { n: 10n } })), {}, undefined)!;
    assert.equal(op.outcome, 'error');
  });
});
