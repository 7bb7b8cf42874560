// realtime-mcp dashboard: an ordinary MCP client over /mcp/ws that subscribes to the live resources
// realtime://server/stats and realtime://operations and draws them. No framework, no build step.
// The token lives in memory only and travels as the `bearer.<token>` subprotocol next to `mcp`.

const STATS_URI = 'realtime://server/stats';
const OPS_URI = 'realtime://operations';
/** Where the server may put the full session id in the initialize result (browsers cannot read the 101's Mcp-Session-Id). */
const SESSION_META_KEY = 'realtime-mcp/sessionId';
const PROTOCOL_VERSION = '2025-11-25';
const MAX_ERRORS = 20;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const STATS_REFRESH_MS = 10_000; // uptime and memory change without a notification

const $ = (id) => document.getElementById(id);

/** The MCP endpoint next to this page: /dashboard → /mcp/ws, /v1/dashboard → /v1/mcp/ws. */
function endpoint(scheme) {
  const base = location.pathname.replace(/dashboard(?:\/(?:index\.html)?)?$/, '');
  const url = new URL(`${base}mcp/ws`, location.href);
  if (scheme === 'ws') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

// ---------------------------------------------------------------------------------------------------
// Connection state

let token = null; // memory only
let wanted = false; // the user asked to be connected
let ws = null;
let live = false; // initialized and subscribed
let everLive = false;
let sessionId = null; // the full id, when the server tells us (initialize result _meta)
let sessionShort = '';
let generation = 0; // bumps with every new session (not with a resume)
let frames = 0; // frames received on this session: the lastEventId of a resume
let resumes = 0;
let attempt = 0;
let retryTimer;
let nextId = 1;
const tabId = Math.random().toString(36).slice(2, 8);
let callSeq = 0;
const pending = new Map(); // request id → { resolve, reject, method }

class RpcError extends Error {
  constructor(error) {
    super(`${error.message ?? 'error'} (${error.code})`);
    this.code = error.code;
  }
}
class Dropped extends Error {}

function setStatus(state, text) {
  const conn = $('conn');
  conn.dataset.state = state;
  conn.dataset.resumes = String(resumes);
  conn.title = '';
  $('conn-text').textContent = text;
  $('disconnect').hidden = !wanted;
}

function send(message) {
  if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ jsonrpc: '2.0', ...message }));
}

function request(method, params, id = nextId++) {
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, method });
    send({ id, method, params });
  });
}

function connect() {
  clearTimeout(retryTimer);
  const sock = new WebSocket(endpoint('ws'), token ? ['mcp', `bearer.${token}`] : ['mcp']);
  ws = sock;
  let opened = false;
  setStatus('connecting', attempt === 0 ? 'Connecting…' : `Reconnecting… (attempt ${attempt + 1})`);
  sock.onopen = () => {
    opened = true;
    handshake(sock).catch((err) => {
      if (ws !== sock) return;
      addError(`Handshake failed: ${err.message}`);
      sock.close(4000, 'handshake failed'); // an application code: not a clean end, so the session may be resumed
    });
  };
  sock.onmessage = (event) => {
    if (ws === sock) onFrame(event.data);
  };
  sock.onclose = (event) => {
    if (ws === sock) onClosed(event, opened);
  };
}

async function handshake(sock) {
  if (sessionId !== null) {
    const before = frames;
    try {
      const r = await request('session/resume', { sessionId, lastEventId: frames });
      resumes++;
      return becameLive(`Resumed · session ${sessionShort}`, `${r.replayed} frames replayed after frame ${r.resumedAfter}`);
    } catch (err) {
      if (ws !== sock || !(err instanceof RpcError)) throw err;
      // This socket is now a fresh session, and the error answer was its first frame.
      frames -= before;
      addError(`Could not resume the session (${err.message}); started a new one`);
    }
  }
  await newSession();
}

async function newSession() {
  dropPending(); // calls of the previous session: their answers went to it
  const init = await request('initialize', {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'realtime-mcp-dashboard', version: '1.0.0' },
  });
  const meta = init?._meta;
  sessionId = meta && typeof meta[SESSION_META_KEY] === 'string' ? meta[SESSION_META_KEY] : null;
  sessionShort = sessionId ? sessionId.slice(0, 8) : '';
  generation++;
  send({ method: 'notifications/initialized' });
  await Promise.all([request('resources/subscribe', { uri: STATS_URI }), request('resources/subscribe', { uri: OPS_URI })]);
  becameLive(
    sessionId ? `Connected · session ${sessionShort}` : 'Connected',
    sessionId ? 'Resumable after a drop' : 'The server does not tell browsers their session id: a drop starts a new session',
  );
}

function becameLive(text, detail) {
  live = everLive = true;
  attempt = 0;
  $('login').hidden = true;
  $('live').hidden = false;
  setStatus('live', text);
  $('conn').title = detail;
  readResource(STATS_URI);
  readResource(OPS_URI);
  render(true);
}

function onClosed(event, opened) {
  ws = null;
  live = false;
  // A resume replays the answers the server sent, but a request that never reached it would wait forever.
  // Only tool calls are worth waiting for (their results are replayed); anything else is asked again.
  dropPending(sessionId === null ? () => true : (p) => p.method !== 'tools/call');
  if (!wanted) return;
  if (opened && ![1005, 1006, 4000].includes(event.code)) {
    // Closed on purpose by the server (1001 shutdown, 1008 policy, …), not dropped.
    addError(`The server closed the connection (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
  }
  if (!opened) {
    // The upgrade was refused or the server is unreachable; a browser cannot see which. Ask plainly.
    diagnose().then((refusal) => {
      if (refusal === null) return scheduleReconnect();
      wanted = false;
      showLogin(refusal);
    });
    return;
  }
  scheduleReconnect();
}

/** Why an upgrade failed, when it is worth telling the user (token or origin refused), else null. */
async function diagnose() {
  try {
    const r = await fetch(endpoint('http'), { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
    if (r.status !== 401 && r.status !== 403) return null;
    const body = await r.json().catch(() => ({}));
    return `The server refused the connection (${r.status}): ${body.error_description ?? body.error ?? 'no reason given'}`;
  } catch {
    return null; // unreachable: keep trying
  }
}

function scheduleReconnect() {
  if (!everLive) {
    // The first connection never got going: back to the form rather than retrying in the background.
    wanted = false;
    return showLogin('Could not connect to the server. Check that it is running and try again.');
  }
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
  attempt++;
  setStatus('retrying', `Connection lost · retrying in ${Math.ceil(delay / 1000)} s`);
  retryTimer = setTimeout(connect, delay);
  render(true); // cancel buttons go while offline
}

function dropPending(which = () => true) {
  for (const [id, p] of pending) {
    if (!which(p)) continue;
    pending.delete(id);
    p.reject(new Dropped('connection lost'));
  }
}

function disconnect() {
  wanted = false;
  clearTimeout(retryTimer);
  const sock = ws;
  ws = null;
  live = false;
  sessionId = null;
  sock?.close(1000, 'dashboard closed'); // a clean close ends the session on the server
  dropPending();
  token = null;
  showLogin('');
}

function showLogin(message) {
  $('login').hidden = false;
  $('live').hidden = true;
  $('login-error').hidden = !message;
  $('login-error').textContent = message;
  setStatus(message ? 'error' : 'idle', message ? 'Disconnected' : 'Not connected');
  $('token').focus();
}

// ---------------------------------------------------------------------------------------------------
// Messages

function onFrame(data) {
  frames++;
  scheduleRender(); // at most once per animation frame, whatever the frame rate
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return addError('The server sent a frame that is not JSON');
  }
  if (typeof msg.method === 'string') {
    if (msg.id !== undefined) return answerServerRequest(msg);
    return onNotification(msg);
  }
  const p = pending.get(msg.id);
  if (p === undefined) return;
  pending.delete(msg.id);
  if (msg.error) p.reject(new RpcError(msg.error));
  else p.resolve(msg.result);
}

/** Requests from the server: `ping` gets `{}`, anything else "method not found". */
function answerServerRequest(msg) {
  if (msg.method === 'ping') return send({ id: msg.id, result: {} });
  send({ id: msg.id, error: { code: -32601, message: `Method not found: ${msg.method}` } });
}

const SERIOUS = new Set(['warning', 'error', 'critical', 'alert', 'emergency']);

function onNotification({ method, params = {} }) {
  if (method === 'notifications/resources/updated') return readResource(params.uri);
  if (method === 'notifications/progress') {
    const call = calls.get(params.progressToken);
    if (call && params.progress > (call.progress ?? -1)) {
      Object.assign(call, { progress: params.progress, total: params.total ?? null, rate: params._meta?.rate ?? null, etaMs: params._meta?.etaMs ?? null });
      scheduleRender('ops');
    }
    return;
  }
  if (method === 'notifications/message' && SERIOUS.has(params.level)) {
    addError(`Server ${params.level}: ${typeof params.data === 'string' ? params.data : JSON.stringify(params.data)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Live resources

let stats = null;
let statsReadAt = 0;
let ops = null;
const reading = new Map(); // uri → true when another read is wanted after the one in flight

async function readResource(uri) {
  if (uri !== STATS_URI && uri !== OPS_URI) return;
  if (reading.has(uri)) return void reading.set(uri, true);
  reading.set(uri, false);
  try {
    const result = await request('resources/read', { uri });
    const data = JSON.parse(result.contents?.[0]?.text ?? 'null');
    if (uri === STATS_URI) [stats, statsReadAt] = [data, performance.now()];
    else ops = data;
    scheduleRender(uri === STATS_URI ? 'stats' : 'ops');
  } catch (err) {
    if (!(err instanceof Dropped)) addError(`Reading ${uri} failed: ${err.message}`);
  } finally {
    const again = reading.get(uri);
    reading.delete(uri);
    if (again && live) readResource(uri);
  }
}

// ---------------------------------------------------------------------------------------------------
// Demo job and cancellation

const calls = new Map(); // request id (= progress token) → what we know of a call this tab started

function startJob(count, delayMs) {
  const id = `dash-${tabId}-${++callSeq}`;
  const call = { id, generation, progress: null, total: count, rate: null, etaMs: null, outcome: null };
  calls.set(id, call);
  request('tools/call', { name: 'process_batch', arguments: { count, delayMs }, _meta: { progressToken: id } }, id).then(
    (result) => {
      call.outcome = result?.content?.map((c) => c.text).filter(Boolean).join(' ') || 'done';
      if (result?.isError) addError(`process_batch ${id}: ${call.outcome}`);
    },
    (err) => {
      call.outcome = err instanceof Dropped ? 'connection lost before the result' : err.message;
      if (!call.cancelled) addError(`process_batch ${id}: ${call.outcome}`);
    },
  ).finally(() => scheduleRender('ops'));
}

function cancelJob(id) {
  const call = calls.get(id);
  if (!call || call.cancelled) return;
  call.cancelled = true;
  send({ method: 'notifications/cancelled', params: { requestId: id, reason: 'cancelled from the dashboard' } });
  const p = pending.get(id);
  pending.delete(id); // the spec: no response comes for a call cancelled this way
  p?.reject(new Error('cancelled'));
  scheduleRender('ops');
}

// ---------------------------------------------------------------------------------------------------
// Errors

const errors = [];
const seenFailures = new Set();

function addError(text, at = Date.now()) {
  errors.unshift({ text, at });
  errors.length = Math.min(errors.length, MAX_ERRORS);
  scheduleRender('errors');
}

// ---------------------------------------------------------------------------------------------------
// Rendering (at most once per frame; rows are kept by key so bars animate and buttons stay put)

const dirty = new Set(); // parts to redraw on the next animation frame: 'stats', 'ops', 'errors'
let renderQueued = false;
function scheduleRender(...parts) {
  for (const part of parts) dirty.add(part);
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

const fmt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
const clock = (iso) => new Date(iso).toLocaleTimeString('en-GB');

function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  const s = Math.round(ms / 1000);
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function bytes(n) {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${Math.round(n / 2 ** 20)} MiB`;
}

function render(all = false) {
  $('frames').textContent = fmt(frames);
  $('demo-start').disabled = !live;
  if (all || dirty.has('stats')) renderStats();
  if (all || dirty.has('ops')) renderOps();
  if (all || dirty.has('errors')) renderErrors(); // after renderOps, which may add some
  dirty.clear();
}

function renderStats() {
  if (!stats) return;
  const s = stats.sessions ?? {};
  for (const k of ['ws', 'sse', 'streamable', 'detached']) $(`s-${k}`).textContent = fmt(s[k]);
  $('s-total').textContent = fmt(s.total);
  $('c-running').textContent = fmt(stats.calls?.running);
  $('c-queued').textContent = fmt(stats.calls?.queued);
  $('rss').textContent = stats.memory ? bytes(stats.memory.rssBytes) : '–';
  renderUptime();
  // Scale-out: one row per node when the stats carry them (`nodes: [{ node, sessions }]` or a `node` name).
  const nodes = Array.isArray(stats.nodes) ? stats.nodes : stats.node ? [{ node: stats.node, sessions: s }] : [];
  $('nodes').hidden = nodes.length === 0;
  $('nodes').tBodies[0].replaceChildren(
    ...nodes.map((n) => {
      const tr = document.createElement('tr');
      for (const v of [n.node ?? n.id ?? '?', n.sessions?.ws, n.sessions?.sse, n.sessions?.streamable, n.sessions?.detached, n.sessions?.total]) {
        tr.append(el('td', '', typeof v === 'string' ? v : fmt(v)));
      }
      return tr;
    }),
  );
}

function renderUptime() {
  if (stats) $('uptime').textContent = duration(stats.uptimeMs + (performance.now() - statsReadAt)).replace(/\.\d s$/, ' s');
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** What to call a state: `failed` covers timeouts and shutdown, which people want to tell apart. */
function label(op) {
  if (op.state === 'failed' && /timed out|timeout/i.test(op.reason ?? '')) return 'timed out';
  return op.state;
}

const rows = new Map(); // key → <li>

function renderOps() {
  const list = ops?.operations ?? [];
  $('ops-scope').hidden = !ops;
  $('ops-scope').textContent = ops?.scope === 'all' ? 'all principals' : 'your calls';
  $('ops-empty').hidden = list.length > 0;
  const seen = new Set();
  const ordered = [];
  for (const op of list) {
    const key = `${op.session}:${JSON.stringify(op.requestId)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const mine = typeof op.requestId === 'string' ? calls.get(op.requestId) : undefined;
    // Failures of our own calls in this session are reported by their tools/call answer.
    if (op.state === 'failed' && !seenFailures.has(key) && mine?.generation !== generation) {
      seenFailures.add(key);
      addError(`${op.tool} ${op.requestId} ${label(op)}: ${op.reason ?? 'the tool reported an error'}`, Date.parse(op.endedAt ?? '') || Date.now());
    }
    let li = rows.get(key);
    if (!li) rows.set(key, (li = opRow()));
    updateRow(li, op);
    ordered.push(li);
  }
  for (const [key, li] of rows) if (!seen.has(key)) rows.delete(key);
  const ol = $('ops');
  ordered.forEach((li, i) => {
    if (ol.children[i] !== li) ol.insertBefore(li, ol.children[i] ?? null);
  });
  while (ol.children.length > ordered.length) ol.lastElementChild.remove();
}

function opRow() {
  const li = $('op-template').content.firstElementChild.cloneNode(true);
  li.querySelector('.cancel').addEventListener('click', () => cancelJob(li.dataset.requestId));
  return li;
}

function updateRow(li, op) {
  const mine = typeof op.requestId === 'string' ? calls.get(op.requestId) : undefined;
  // Our own calls also get every progress notification: use whichever is newer.
  const fresher = mine && op.state === 'running' && (mine.progress ?? -1) > (op.progress ?? -1);
  const progress = fresher ? mine.progress : op.progress;
  const total = fresher ? mine.total : op.total;
  const rate = fresher ? mine.rate : op.rate;
  const etaMs = fresher ? mine.etaMs : op.etaMs;
  const active = op.state === 'running' || op.state === 'queued';
  const q = (sel) => li.querySelector(sel);

  li.dataset.state = label(op).replace(' ', '-');
  li.dataset.requestId = String(op.requestId);
  li.toggleAttribute('data-mine', mine !== undefined);
  q('.tool').textContent = op.tool;
  q('.badge').textContent = label(op);
  q('.op-meta').textContent = q('.op-meta').title = `#${op.requestId} · ${op.transport} · ${op.session} · ${op.principal}`;
  q('.cancel').hidden = !(mine && active && mine.generation === generation && !mine.cancelled && live);

  const bar = q('.bar');
  const known = typeof total === 'number' && total > 0 && typeof progress === 'number';
  const fraction = known ? Math.min(1, progress / total) : op.state === 'done' ? 1 : 0;
  bar.classList.toggle('indeterminate', !known && op.state === 'running');
  bar.setAttribute('aria-valuenow', String(progress ?? 0));
  if (known) bar.setAttribute('aria-valuemax', String(total));
  else bar.removeAttribute('aria-valuemax');
  q('.fill').style.width = `${(fraction * 100).toFixed(2)}%`;

  q('.count').textContent = known ? `${fmt(progress)} / ${fmt(total)}` : progress !== null ? fmt(progress) : op.state === 'queued' ? 'waiting' : '';
  q('.pct').textContent = known ? `${Math.floor(fraction * 100)}%` : '';
  q('.rate').textContent = rate ? `${fmt(Math.round(rate * 10) / 10)}/s` : '';
  q('.eta').textContent = op.state === 'running' && etaMs !== null && etaMs !== undefined ? `ETA ${duration(etaMs)}` : '';
  q('.when').textContent = op.endedAt ? `took ${duration(Date.parse(op.endedAt) - Date.parse(op.startedAt))}` : `started ${clock(op.startedAt)}`;
  const note = op.reason ?? (mine?.outcome && !active ? mine.outcome : '');
  q('.note').textContent = note;
  q('.note').hidden = !note;
}

function renderErrors() {
  $('errors-empty').hidden = errors.length > 0;
  $('errors').replaceChildren(
    ...errors.map((e) => {
      const li = el('li');
      li.append(el('time', '', new Date(e.at).toLocaleTimeString('en-GB')), el('span', '', e.text));
      return li;
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// Wiring

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token');
  token = input.value.trim().replace(/^Bearer\s+/i, '') || null;
  input.value = ''; // not left in the DOM either
  $('login-error').hidden = true;
  wanted = true;
  everLive = false;
  attempt = 0;
  sessionId = null;
  frames = 0;
  connect();
});

$('disconnect').addEventListener('click', disconnect);

$('demo-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!live) return;
  startJob(Number($('demo-count').value), Number($('demo-delay').value));
});

// Back online: do not wait for the rest of the backoff.
window.addEventListener('online', () => {
  if (wanted && ws === null && everLive) connect();
});

setInterval(renderUptime, 1000);
setInterval(() => {
  if (live) readResource(STATS_URI);
}, STATS_REFRESH_MS);

showLogin('');
