// The dashboard (GET /dashboard) in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; nothing is downloaded) against an in-process server with JWT auth on: token entry,
// live stats, a demo job whose bar reaches 100 %, a cancelled job, the errors list, resume after a
// dropped connection, answers to server requests, a prefix, phone width and dark mode. Screenshots go
// to test/artifacts/ (git-ignored). Without Chromium the suite is skipped with a message, except under
// CI (CI set), where that is a failure: .ci/run installs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.js';
import { hsToken, randomSecret } from '../helpers/tokens.js';
import { openRaw } from '../helpers/raw-ws.js';
import { loadConfig } from '../../src/config.js';
import { createCoreFromConfig } from '../../src/create-core.js';
import realtimeMcp from '../../plugins/realtime-mcp.js';
import type { Session } from '../../src/sessions/session.js';
import { WebSocketSessionTransport } from '../../src/transports/websocket/session-transport.js';
import { SESSION_STREAM } from '../../src/outbox/event-log.js';
import { DASHBOARD_CSP } from '../../routes/dashboard.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
/** The key the page reads the session id from (see "Dashboard" in the README: a proposed server change). */

if (!existsSync(CHROMIUM)) {
  if (process.env.CI) {
    test('chromium is installed (required under CI)', () => {
      assert.fail(`${CHROMIUM} is missing: .ci/run installs it with apt-get install -y chromium`);
    });
  } else {
    test('dashboard in a real browser', { skip: `${CHROMIUM} is not installed (apt-get install -y chromium); skipping the browser tests` }, () => {});
  }
} else {
  const secret = randomSecret();
  let server: TestServer;
  let token: string;
  let context: BrowserContext;
  let userDataDir: string;

  before(async () => {
    server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
    token = await hsToken(secret, { audience: `${server.httpUrl}/mcp`, claims: { sub: 'dashboard-user' } });
    mkdirSync(ARTIFACTS, { recursive: true });
    userDataDir = mkdtempSync(join(tmpdir(), 'realtime-mcp-chromium-'));
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 860 },
      colorScheme: 'light',
    });
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  /** A new tab whose script errors and console errors (CSP violations among them) fail the test. */
  async function newPage(): Promise<{ page: Page; problems: string[] }> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // A refused upgrade is logged by Chromium itself; the page reports it in its own words.
      if (m.type() === 'error' && !/WebSocket connection to .* failed|status of 40[14]/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    return { page, problems };
  }

  async function connect(page: Page, url = `${server.httpUrl}/dashboard`, withToken = token): Promise<void> {
    await page.goto(url);
    await page.locator('#token').fill(withToken);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#conn[data-state="live"]').waitFor();
  }

  /** Start a demo job from the page; resolves with the request id of its row. */
  async function startJob(page: Page, count: number, delayMs: number): Promise<string> {
    const before = await page.locator('.op[data-mine]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.requestId));
    await page.locator('#demo-count').fill(String(count));
    await page.locator('#demo-delay').fill(String(delayMs));
    await page.getByRole('button', { name: 'Start process_batch' }).click();
    const handle = await page.waitForFunction((known) => {
      const row = [...document.querySelectorAll<HTMLElement>('.op[data-mine]')].find((r) => !known.includes(r.dataset.requestId));
      return row?.dataset.requestId;
    }, before);
    return (await handle.jsonValue()) as string;
  }

  const row = (page: Page, id: string) => page.locator(`.op[data-request-id="${id}"]`);
  /** The progress a row's bar shows (aria-valuenow). */
  const barValue = async (page: Page, id: string) => Number(await row(page, id).locator('.bar').getAttribute('aria-valuenow'));
  /** Wait until the row's bar shows more than `value`. */
  const barAbove = (page: Page, id: string, value: number) =>
    page.waitForFunction(([rid, v]) => Number(document.querySelector(`.op[data-request-id="${rid}"] .bar`)?.getAttribute('aria-valuenow')) > v, [id, value] as const);

  /** Disconnect closes the socket cleanly: the session (and any job still running) ends on the server. */
  async function disconnect(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('#login').waitFor();
    await waitUntil(() => wsSessions().length === 0, 'the session to end after Disconnect');
  }

  /**
   * The page's frame count equals the number of frames the server sent on the session (its last event
   * id). Both move (stats updates), so compare them together until they agree.
   */
  function wsTransport(session: Session): WebSocketSessionTransport {
    assert.ok(session.binding instanceof WebSocketSessionTransport);
    return session.binding;
  }

  async function framesMatch(page: Page, session: Session): Promise<void> {
    const sent = () => session.outbox.lastSeq(SESSION_STREAM);
    const shown = async () => Number((await page.locator('#frames').textContent())!.replace(/,/g, ''));
    const deadline = Date.now() + 10_000;
    let last: [number, number] = [-1, -1];
    while (Date.now() < deadline) {
      last = [await shown(), sent()];
      if (last[0] === last[1]) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`frames shown ${last[0]}, frames sent ${last[1]}`);
  }

  function wsSessions(): Session[] {
    return [...server.app.mcp.sessions.all()].filter((s) => s.transportKind === 'ws' && !s.closed);
  }

  test('GET /dashboard: page and assets with their content types, caching, CSP; /dashboard/ redirects', async () => {
    const page = await get(`${server.httpUrl}/dashboard`);
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['content-security-policy'], DASHBOARD_CSP);
    assert.match(DASHBOARD_CSP, /script-src 'self'/);
    assert.match(DASHBOARD_CSP, /connect-src 'self' ws: wss:/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const html = page.body;
    assert.match(html, /src="dashboard\/dashboard\.js"/, 'asset URLs are relative (the route works under a prefix)');
    assert.doesNotMatch(html, /<script>|style="/, 'no inline script or style (the CSP forbids them)');
    for (const [path, type] of [['dashboard.js', 'text/javascript; charset=utf-8'], ['dashboard.css', 'text/css; charset=utf-8']]) {
      const r = await get(`${server.httpUrl}/dashboard/${path}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], type);
      const etag = r.headers.etag!;
      assert.ok(etag);
      assert.equal((await get(`${server.httpUrl}/dashboard/${path}`, { 'if-none-match': etag })).status, 304);
    }
    const slash = await get(`${server.httpUrl}/dashboard/`);
    assert.equal(slash.status, 301);
    assert.equal(new URL(slash.headers.location!, `${server.httpUrl}/dashboard/`).pathname, '/dashboard');
    // The page itself needs no token (it holds no data); /mcp/ws does.
    assert.equal((await get(`${server.httpUrl}/mcp/ws`)).status, 401);
  });

  test('token → live stats; a demo job reaches 100 %; a second one is cancelled; errors; screenshots', async () => {
    const { page, problems } = await newPage();
    await connect(page);
    // The token is in memory only: not in the URL, the form, or storage.
    assert.equal(new URL(page.url()).search, '');
    assert.equal(await page.locator('#token').inputValue(), '');
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0]);
    await page.waitForFunction(() => document.querySelector('#s-ws')?.textContent === '1');

    // Job 1: its bar advances, then reaches 100 % and is marked done.
    const first = await startJob(page, 200, 20);
    await barAbove(page, first, 0);
    const seen = await barValue(page, first);
    await barAbove(page, first, seen);
    await row(page, first).locator('.eta').filter({ hasText: /ETA/ }).waitFor();
    await page.locator(`.op[data-request-id="${first}"][data-state="done"]`).waitFor();
    assert.equal(await row(page, first).locator('.bar').getAttribute('aria-valuenow'), '200');
    assert.equal(await row(page, first).locator('.bar').getAttribute('aria-valuemax'), '200');
    assert.equal(await row(page, first).locator('.pct').textContent(), '100%');
    assert.equal(await row(page, first).locator('.count').textContent(), '200 / 200');
    await row(page, first).locator('.note').filter({ hasText: /Processed 200 items/ }).waitFor();
    assert.equal(await row(page, first).locator('.cancel').isVisible(), false);

    // Job 2: cancelled from its row while running.
    const second = await startJob(page, 5000, 20);
    await barAbove(page, second, 5);
    await row(page, second).getByRole('button', { name: 'Cancel' }).click();
    await page.locator(`.op[data-request-id="${second}"][data-state="cancelled"]`).waitFor();
    assert.equal(await row(page, second).locator('.badge').textContent(), 'cancelled');
    assert.ok((await barValue(page, second)) < 5000);
    const op = server.app.mcp.live.tracker.view('*').find((o) => o.requestId === second);
    assert.equal(op?.state, 'cancelled', 'the server cancelled the call');

    // A failed call of the same principal from another client shows in the operations and the errors list.
    const other = await openRaw(server.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
    await other.initialize();
    other.send({ jsonrpc: '2.0', id: 'cli-1', method: 'tools/call', params: { name: 'process_batch', arguments: { count: 40, delayMs: 5, failAt: 25 } } });
    await page.locator('.op[data-request-id="cli-1"][data-state="failed"]').waitFor();
    await page.locator('#errors li').filter({ hasText: /process_batch cli-1 failed/ }).waitFor();
    await page.waitForFunction(() => document.querySelector('#s-ws')?.textContent === '2');
    other.close();

    // A running job for the screenshots, then desktop, dark mode and phone width.
    const third = await startJob(page, 20_000, 10);
    await barAbove(page, third, 900);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.ok(luminance(background) < 0.1, `dark background in dark mode (got ${background})`);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 360, height: 780 });
    await barAbove(page, third, (await barValue(page, third)) + 50);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `nothing wider than a 360 px screen (overflow ${overflow} px)`);
    assert.ok(await row(page, third).getByRole('button', { name: 'Cancel' }).isVisible(), 'cancel stays reachable on a phone');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });

    // Disconnect closes the socket cleanly: the session and its running job end on the server.
    await disconnect(page);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('the page counts frames exactly and answers server requests: ping → {}, anything else → -32601', async () => {
    const { page, problems } = await newPage();
    await connect(page);
    const [session, ...others] = wsSessions();
    assert.ok(session && others.length === 0, 'exactly the page\'s session');
    assert.deepEqual(await session.request('ping', undefined), {});
    await assert.rejects(session.request('sampling/createMessage', { messages: [], maxTokens: 1 }), (err: { code?: number }) => err.code === -32601);
    // Frame count = the server's last event id (what a resume would send as lastEventId).
    await framesMatch(page, session);
    await disconnect(page);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('stats that carry a node (scale-out) get a row per node', async () => {
    const live = server.app.mcp.live;
    const stats = live.stats.bind(live);
    live.stats = () => ({ ...stats(), node: 'node-a' }) as ReturnType<typeof stats>;
    const { page, problems } = await newPage();
    try {
      await connect(page);
      const cells = page.locator('#nodes tbody tr').first().locator('td');
      await cells.first().filter({ hasText: 'node-a' }).waitFor();
      assert.deepEqual(await cells.allTextContents(), ['node-a', '1', '0', '0', '0', '1']);
      await disconnect(page);
      assert.deepEqual(problems, []);
    } finally {
      live.stats = stats;
      await page.close();
    }
  });

  test('after a drop the page resumes its session (id from initialize _meta) and gets the result; a session gone → a fresh one', async () => {
    const { page, problems } = await newPage();
    try {
      await connect(page);
      const [session, ...others] = wsSessions();
      assert.ok(session && others.length === 0, 'exactly the page\'s session');
      await page.locator('#conn-text').filter({ hasText: `session ${session.id.slice(0, 8)}` }).waitFor();
      const job = await startJob(page, 150, 20);
      await barAbove(page, job, 20);
      wsTransport(session).terminate(); // a drop: no close frame
      await page.locator('#conn[data-state="retrying"]').waitFor();
      await page.locator('#conn[data-state="live"][data-resumes="1"]').waitFor();
      await page.locator('#conn-text').filter({ hasText: `Resumed · session ${session.id.slice(0, 8)}` }).waitFor();
      await page.locator(`.op[data-request-id="${job}"][data-state="done"]`).waitFor();
      await row(page, job).locator('.note').filter({ hasText: /Processed 150 items/ }).waitFor(); // the result, replayed or live
      assert.deepEqual(wsSessions(), [session], 'same session, and the socket that resumed it left no other behind');
      await framesMatch(page, session);

      // The session is gone by the time the page comes back (server restarted, window passed): the same
      // socket carries on as a fresh session, subscribed again, with the frame count starting over.
      wsTransport(session).terminate();
      await wsTransport(session).close('gone');
      await page.locator('#errors li').filter({ hasText: /Could not resume the session/ }).waitFor();
      await page.locator('#conn[data-state="live"][data-resumes="1"]').waitFor();
      const [fresh, ...rest] = wsSessions();
      assert.ok(fresh && fresh !== session && rest.length === 0);
      await page.locator('#conn-text').filter({ hasText: `Connected · session ${fresh.id.slice(0, 8)}` }).waitFor();
      await framesMatch(page, fresh);
      const next = await startJob(page, 20, 5);
      await page.locator(`.op[data-request-id="${next}"][data-state="done"]`).waitFor();
      await disconnect(page);
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  test('a refused token brings the form back with the server\'s reason', async () => {
    const { page, problems } = await newPage();
    await page.goto(`${server.httpUrl}/dashboard`);
    await page.locator('#token').fill('not-a-valid-token');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#login-error').filter({ hasText: /refused the connection \(401\)/ }).waitFor();
    assert.equal(await page.locator('#conn').getAttribute('data-state'), 'error');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-login.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('under a prefix (/v1/dashboard) the page connects to /v1/mcp/ws', async () => {
    const config = loadConfig({}, { PORT: 0, LOG_LEVEL: 'silent', SHUTDOWN_GRACE_MS: 0, AUTH_MODE: 'none' });
    const app: FastifyInstance = Fastify();
    const core = createCoreFromConfig(config, { builtinTools: true });
    await app.register(realtimeMcp, { config, core, prefix: '/v1', dashboard: true });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { page } = await newPage();
    try {
      const port = (app.server.address() as { port: number }).port;
      await page.goto(`http://127.0.0.1:${port}/v1/dashboard`);
      const opened = page.waitForEvent('websocket');
      await page.getByRole('button', { name: 'Connect' }).click();
      assert.equal((await opened).url(), `ws://127.0.0.1:${port}/v1/mcp/ws`);
      await page.locator('#conn[data-state="live"]').waitFor();
      // A clean close ends the session (a page that just goes away leaves it waiting out its resume window).
      await page.getByRole('button', { name: 'Disconnect' }).click();
      await waitUntil(() => core.sessions.size === 0, 'the session ended after Disconnect');
    } finally {
      await page.close();
      await app.close();
    }
  });
}

/**
 * One GET on its own connection (no keep-alive: an idle pooled socket of this process would hold the
 * server's close() until its keep-alive timeout).
 */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject).end();
  });
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10)); // polls a server-side condition
  }
}

/** Relative luminance (0 black … 1 white) of a CSS rgb() colour. */
function luminance(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+(\.\d+)?/g) ?? []).map(Number).map((v) => v / 255);
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
