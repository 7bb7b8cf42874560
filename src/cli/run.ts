// Run `main` as a program: the exit code once stdout has been flushed (a piped stdout can still hold
// the result when main returns). `bin/realtime-mcp.mjs` does the same for the built code; tests run
// this file from source (`node --import tsx src/cli/run.ts …`).
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.stdout.write('', () => process.exit(code));
