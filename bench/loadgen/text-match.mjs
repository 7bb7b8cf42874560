// Reading the two kinds of server message the hot paths see, without JSON.parse: the load generator
// shares a 2-core machine with the server and must stay the cheaper of the two. Anything these
// functions are not sure about returns "no" and goes to JSON.parse in rpc.mjs.

const ID = '"id":';

/**
 * Reads a non-negative integer at text[at...]; returns -1 when there is no digit there (or too many).
 */
function intAt(text, at) {
  let n = 0;
  let i = at;
  for (; i < text.length && i - at < 15; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return i === at ? -1 : n;
}

/**
 * The id of a plain success response — a `"result":` member, no `"error":`, no `"method":`, one `"id":`
 * holding an integer — or -1 for anything else. The caller only asks this of frames that answer
 * requests it built itself (echo / process_batch), whose payload never contains these key strings.
 */
export function plainResultId(text) {
  const at = text.indexOf(ID);
  if (at < 0 || text.indexOf(ID, at + 5) >= 0) return -1;
  if (text.indexOf('"result":') < 0 || text.indexOf('"error":') >= 0 || text.indexOf('"method":') >= 0) return -1;
  return intAt(text, text.charCodeAt(at + 5) === 32 ? at + 6 : at + 5);
}

const PROGRESS_METHOD = '"method":"notifications/progress"';
const TOKEN = '"progressToken":';
const PROGRESS = '"progress":';

/** True when text looks like a progress notification (cheap pre-check before readProgress). */
export const isProgress = (text) => text.indexOf(PROGRESS_METHOD) >= 0;

/**
 * Fills out.token / out.progress from a compact progress notification whose token is an integer
 * (the load generator only uses integer tokens) and returns true; false means "parse it properly".
 */
export function readProgress(text, out) {
  const t = text.indexOf(TOKEN);
  if (t < 0) return false;
  const token = intAt(text, t + TOKEN.length);
  if (token < 0) return false;
  const p = text.indexOf(PROGRESS);
  if (p < 0) return false;
  const progress = intAt(text, p + PROGRESS.length);
  if (progress < 0) return false;
  out.token = token;
  out.progress = progress;
  return true;
}
