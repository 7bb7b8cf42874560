// Scope checks for tools, through the dispatcher's hooks: a call to a tool whose `scopes` the session's
// principal lacks gets -32003 naming the missing scope; optionally such tools are left out of tools/list.
import { Errors, RpcError } from '../errors.js';
import type { Dispatcher } from '../protocol/dispatcher.js';
import type { ToolRegistry } from '../tools/registry.js';
import { missingScopes } from './claims.js';

/** Scope reserved for operator endpoints (e.g. POST /admin/notify). */
export const ADMIN_SCOPE = 'admin';
/** Never listed in `scopes_supported` nor in a challenge (MCP 2026-07-28 authorization). */
export const OFFLINE_ACCESS = 'offline_access';
/** Scope that lets a scraper read GET /metrics (admin does too). */
export const METRICS_SCOPE = 'metrics';

export function installToolScopeChecks(dispatcher: Dispatcher, tools: ToolRegistry, options: { hideUnauthorized: boolean }): void {
  dispatcher.hooks.add('preToolCall', (session, toolName) => {
    const required = toolScopes(tools, toolName);
    const missing = missingScopes(session.principal, required);
    if (missing.length > 0) {
      throw new RpcError(Errors.INSUFFICIENT_SCOPE, `Missing scope: ${missing.join(' ')}`, { requiredScopes: required, missingScopes: missing });
    }
  });
  if (!options.hideUnauthorized) return;
  dispatcher.hooks.add('filterTools', (shown, session) => {
    const visible = shown.filter((entry) => missingScopes(session.principal, toolScopes(tools, entry.name)).length === 0);
    return visible.length === shown.length ? shown : visible;
  });
}

/** The scopes a call of the tool needs: what it declares, less offline_access (never a resource requirement). */
export function toolScopes(tools: ToolRegistry, name: string): string[] | undefined {
  return tools.get(name)?.definition.scopes?.filter((s) => s !== OFFLINE_ACCESS);
}

/** Every scope a tool declares, plus admin and metrics: what `scopes_supported` advertises. */
export function supportedScopes(tools: ToolRegistry, extra: readonly string[] = []): string[] {
  const all = new Set<string>(extra);
  for (const entry of tools.list()) for (const s of tools.get(entry.name)?.definition.scopes ?? []) all.add(s);
  all.add(ADMIN_SCOPE);
  all.add(METRICS_SCOPE);
  // MCP 2026-07-28: refresh tokens are not a resource requirement, so offline_access is never advertised.
  all.delete(OFFLINE_ACCESS);
  return [...all].sort();
}
