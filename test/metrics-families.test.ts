// Every metric family of GET /metrics is there, with its help line, and the counters move with what the
// server does: calls (per tool, with duration by outcome), progress, a cancel, messages in and out, a
// refused token and a rate-limited request. Scraped with real curl, as Prometheus would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRIC_FAMILIES } from '../src/metrics/prometheus-metrics.js';
import { startServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';
import { curl } from './helpers/curl.js';
import { bearer, hsToken, randomSecret } from './helpers/tokens.js';

/** `name{labels}` → value, from the exposition text. */
async function scrape(url: string, token: string): Promise<{ text: string; value(sample: string): number }> {
  const { stdout } = await curl(['-s', '-H', `Authorization: Bearer ${token}`, url]);
  const samples = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) samples.set(m[1]!, Number(m[2]));
  }
  return { text: stdout, value: (sample) => samples.get(sample) ?? 0 };
}

test('every metric family is present, and the counters move after calls, a cancel, a refused token and a rate-limited request', async (t) => {
  const secret = randomSecret();
  // A low request budget so that one principal's flood is refused quickly (the limit itself is tested at its default in test/rate-limit.test.ts).
  const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, RATE_LIMIT_MAX: 20 } });
  t.after(() => server.close());
  const audience = `${server.httpUrl}/mcp`;
  const token = (sub: string, scope = '') => hsToken(secret, { audience, claims: { sub, scope } });
  const scraper = await token('scraper', 'metrics');
  const metricsUrl = `${server.httpUrl}/metrics`;

  const before = await scrape(metricsUrl, scraper);
  for (const [family, help] of Object.entries(METRIC_FAMILIES)) {
    assert.match(before.text, new RegExp(`^# HELP ${family} ${help.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), family);
    assert.match(before.text, new RegExp(`^# TYPE ${family} (counter|gauge|histogram)$`, 'm'), family);
  }

  // Calls: echo, a batch with progress, a batch cancelled through the client's AbortSignal.
  installWebSocketGlobal(bearer(await token('worker')));
  const client = await connectSdkClient(server.wsUrl, 'metrics-test');
  t.after(() => client.close());
  await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
  await client.callTool({ name: 'process_batch', arguments: { count: 50, delayMs: 0 } }, undefined, { onprogress: () => {} });
  const abort = new AbortController();
  const cancelled = client.callTool({ name: 'process_batch', arguments: { count: 1000, delayMs: 10 } }, undefined, {
    signal: abort.signal,
    onprogress: (p) => {
      if (p.progress === 3) abort.abort('enough');
    },
  });
  await assert.rejects(cancelled);

  // A refused token, and a flood from one principal until it is rate limited.
  const refused = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Authorization: Bearer not.a.jwt', '-X', 'POST', audience]);
  assert.equal(refused.stdout, '401');
  const flooder = await token('flooder');
  let limited = false;
  for (let i = 0; i < 25 && !limited; i++) {
    const r = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${flooder}`, '-H', 'Content-Type: application/json', '-H', 'Accept: application/json, text/event-stream',
      '-d', '{"jsonrpc":"2.0","id":1,"method":"ping"}', audience]);
    limited = r.stdout === '429';
  }
  assert.ok(limited, 'the flood was rate limited');

  // The cancel is recorded when the server's call ends; wait for its histogram sample.
  const cancelledCount = 'realtime_mcp_tool_call_duration_seconds_count{tool="process_batch",outcome="cancelled"}';
  let after = await scrape(metricsUrl, scraper);
  for (let i = 0; i < 100 && after.value(cancelledCount) < 1; i++) {
    await new Promise((r) => setTimeout(r, 20));
    after = await scrape(metricsUrl, scraper);
  }
  const moved = (sample: string) => after.value(sample) - before.value(sample);
  assert.equal(moved('realtime_mcp_tool_calls_total{tool="echo"}'), 1);
  assert.equal(moved('realtime_mcp_tool_calls_total{tool="process_batch"}'), 2);
  assert.equal(moved('realtime_mcp_tool_call_duration_seconds_count{tool="echo",outcome="ok"}'), 1);
  assert.equal(moved('realtime_mcp_tool_call_duration_seconds_count{tool="process_batch",outcome="ok"}'), 1);
  assert.equal(moved(cancelledCount), 1);
  assert.ok(moved('realtime_mcp_messages_total{transport="ws",direction="in"}') >= 5, 'messages in (initialize, calls, cancel)');
  assert.ok(moved('realtime_mcp_messages_total{transport="ws",direction="out"}') >= 55, 'messages out (answers and progress)');
  assert.ok(moved('realtime_mcp_progress_notifications_total{transport="ws",outcome="sent"}') >= 53, 'progress sent');
  assert.equal(moved('realtime_mcp_auth_failures_total{reason="invalid_token"}'), 1);
  assert.ok(moved('realtime_mcp_rejections_total{limit="rate_limit"}') >= 1, 'rate-limit rejections');
  assert.equal(after.value('realtime_mcp_sessions{transport="ws"}'), 1);
});
