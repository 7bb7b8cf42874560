// The MCP lifecycle start every sessionful client performs: initialize, then notifications/initialized.
export const CLIENT_INFO = { name: 'realtime-mcp-bench', version: '1.0.0' };

/**
 * Returns the server's initialize result; rejects on a JSON-RPC error or a transport failure.
 * onResult(result) runs before notifications/initialized is sent (Streamable HTTP sets its headers).
 */
export async function initialize(rpc, protocolVersion, onResult) {
  const msg = await rpc.call('initialize', { protocolVersion, capabilities: {}, clientInfo: CLIENT_INFO });
  onResult?.(msg.result);
  rpc.notify('notifications/initialized');
  return msg.result;
}
