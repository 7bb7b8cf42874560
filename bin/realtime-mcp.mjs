#!/usr/bin/env node
// The `realtime-mcp` command: runs the built CLI (dist/, made by `npm run build`, which `npm install`
// runs through `prepare`) and exits with its code once stdout is flushed.
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/cli/main.js')) throw err;
  process.stderr.write('realtime-mcp: the CLI is not built (dist/ is missing): run `npm run build` in the package folder\n');
  process.exit(2);
}
// `serve` (HTTP) is the standalone server, which lives at the Fastify edge (plugins/), not in the CLI.
const serveHttp = async () => (await import('../dist/plugins/server.js')).serve();
const code = await main(process.argv.slice(2), undefined, { serveHttp });
process.stdout.write('', () => process.exit(code));
