#!/usr/bin/env node
// The `realtime-mcp` command: runs the built CLI (dist/, made by `npm run build`, which `npm install`
// runs through `prepare`) and exits with its code once stdout is flushed.
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv.slice(2));
process.stdout.write('', () => process.exit(code));
