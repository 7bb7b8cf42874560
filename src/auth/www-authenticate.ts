// `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 9728 §5.1), as the MCP authorization spec
// asks: `resource_metadata` (whenever the metadata is served) so a client can discover the authorization server; `error` only when
// a token was sent (invalid_token) or lacked scopes (insufficient_scope, with the scopes it needs).

export interface BearerChallenge {
  /** Where the RFC 9728 metadata is; left out when none is served (authentication off). */
  resourceMetadataUrl?: string;
  error?: 'invalid_token' | 'invalid_request' | 'insufficient_scope';
  description?: string;
  /** Scopes the request needs (space separated in the header). */
  scopes?: readonly string[];
}

export function bearerChallenge(c: BearerChallenge): string {
  const params: string[] = [];
  if (c.error) params.push(`error="${c.error}"`);
  if (c.description) params.push(`error_description="${quotable(c.description)}"`);
  // One challenge names every scope the operation needs; offline_access is never one (MCP 2026-07-28).
  const scopes = c.scopes?.filter((s) => s !== 'offline_access');
  if (scopes && scopes.length > 0) params.push(`scope="${quotable(scopes.join(' '))}"`);
  if (c.resourceMetadataUrl !== undefined) params.push(`resource_metadata="${quotable(c.resourceMetadataUrl)}"`);
  return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/** RFC 6750 restricts these values to printable ASCII without `"` and `\`. */
function quotable(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '').slice(0, 200);
}
