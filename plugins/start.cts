// Process entry for `npm start`: sizes libuv's thread pool, then loads the (ESM) server.
// libuv creates its pool (default 4 threads) at its first use and never resizes it. sharp converts
// every image on that pool, so process_images can only run as many images at once as it has threads.
// This must happen in a CommonJS entry: Node's ESM loader reads modules with async fs calls, which
// start the pool before the first line of any ESM module runs (setting it in server.ts is too late).
const { existsSync } = require('node:fs') as typeof import('node:fs');

/** 8 threads: measured best for sharp on 2 cores with IMAGE_CONCURRENCY=8 (README, "process_images"). */
const DEFAULT_UV_THREADPOOL_SIZE = '8';

// `.env` is read here too so a UV_THREADPOOL_SIZE set there applies (real environment variables win).
if (existsSync('.env')) process.loadEnvFile('.env');
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = DEFAULT_UV_THREADPOOL_SIZE;

void import('./server.js').then((server) => server.runServe());
