// process_images end to end: a generated dataset (real JPEGs plus corrupt files) in a temporary DATA_DIR,
// called through the MCP SDK client over WebSocket (and a raw ws client for the `cancel` request form).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { generateDataset, type DatasetSummary } from '../scripts/dataset.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient } from './helpers/sdk-client.js';
import { openRaw } from './helpers/raw-ws.js';
import { waitUntil } from './helpers/wait.js';

const COUNT = 300;
const CORRUPT = 7;
const THUMB_WIDTH = 48;
const CONCURRENCY = 4;

/**
 * A progress message without its rate and ETA, after checking they are there exactly when a rate was
 * measured (`_meta.rate`): `300/300 · batch 75 · 236 images/s · ETA 0 s` → `300/300 · batch 75`.
 */
function withoutRate(params: { message: string; _meta: { rate?: number } }): string {
  const tail = / · [\d,.]+ images\/s · ETA [^·]+$/;
  assert.equal(tail.test(params.message), params._meta.rate !== undefined, `rate and ETA in the message exactly when measured: ${JSON.stringify(params)}`);
  return params.message.replace(tail, '');
}

describe('process_images', () => {
  let server: TestServer;
  let dataDir: string;
  let outside: string;
  let dataset: DatasetSummary;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rtmcp-data-'));
    outside = await mkdtemp(join(tmpdir(), 'rtmcp-outside-'));
    // Small images keep the suite quick; the code path is the same as for 640x480.
    dataset = await generateDataset({ out: join(dataDir, 'photos'), count: COUNT, corrupt: CORRUPT, width: 160, height: 120, seed: 7 });
    server = await startServer({ config: { DATA_DIR: dataDir, IMAGE_CONCURRENCY: CONCURRENCY } });
  });
  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  test('300 images with 7 corrupt: Success 293, errors.json lists exactly the 7, thumbnails have the width, progress in order', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      await client.listTools(); // lets the SDK client check structuredContent against the declared outputSchema
      const progress: Array<{ progress: number; total?: number; message?: string }> = [];
      const result = await client.callTool(
        { name: 'process_images', arguments: { inputDir: 'photos', outputDir: 'thumbs', width: THUMB_WIDTH, format: 'webp' } },
        undefined,
        { onprogress: (p) => progress.push(p) },
      );

      const text = (result.content as Array<{ text: string }>)[0]!.text;
      assert.match(text, /^Total 300 · Success 293 · Errors 7 \(logged to thumbs\/errors\.json\) · Duration \d+\.\d s$/);
      const summary = result.structuredContent as Record<string, unknown>;
      assert.deepEqual(
        { ...summary, durationMs: 0 },
        { total: 300, processed: 300, success: 293, errors: 7, skipped: 0, cancelled: false, durationMs: 0, concurrency: CONCURRENCY, outputDir: 'thumbs', errorsFile: 'thumbs/errors.json' },
      );

      const logged = JSON.parse(await readFile(join(dataDir, 'thumbs', 'errors.json'), 'utf8')) as Array<{ path: string; error: string }>;
      assert.deepEqual(logged.map((e) => e.path).sort(), dataset.corrupt.map((c) => `photos/${c.name}`).sort());
      for (const e of logged) assert.ok(typeof e.error === 'string' && e.error.length > 0, `no error text for ${e.path}`);

      const corruptNames = new Set(dataset.corrupt.map((c) => c.name));
      const expected = dataset.files.filter((f) => !corruptNames.has(f)).map((f) => f.replace(/\.jpg$/, '.webp'));
      const written = (await readdir(join(dataDir, 'thumbs'))).filter((f) => f !== 'errors.json').sort();
      assert.deepEqual(written, expected);
      for (const name of written) {
        const meta = await sharp(join(dataDir, 'thumbs', name)).metadata();
        assert.equal(meta.format, 'webp', name);
        assert.equal(meta.width, THUMB_WIDTH, name);
      }

      // The exact sequence is checked on the wire below: the SDK client itself may drop the final
      // progress when it arrives in the same socket read as the result (shared/notes/tips.md).
      const values = progress.map((p) => p.progress);
      assert.ok(values.length > 0 && values.every((v, i) => v === i + 1), `progress not 1, 2, 3, …: ${values.slice(0, 5)}`);
      assert.ok(progress.every((p) => p.total === COUNT));
    } finally {
      await client.close();
    }
  });

  test('on the wire: one progress per image, strictly increasing, the last equal to total, all before the result', async () => {
    const c = await openRaw(server.wsUrl);
    try {
      await c.initialize();
      c.send({
        jsonrpc: '2.0',
        id: 'all',
        method: 'tools/call',
        params: { name: 'process_images', arguments: { inputDir: 'photos', outputDir: 'wire', width: 16, format: 'jpeg' }, _meta: { progressToken: 'w' } },
      });
      const response = await c.waitFor((m) => m.id === 'all', 30_000);
      assert.equal(response.result.structuredContent.success, COUNT - CORRUPT);
      const frames = c.received.filter((m) => m.method === 'notifications/progress' || m.id === 'all');
      assert.equal(frames.at(-1), response, 'the result is the last frame of the call');
      const progress = frames.slice(0, -1).map((m) => m.params);
      assert.deepEqual(progress.map((p) => p.progress), Array.from({ length: COUNT }, (_, i) => i + 1));
      assert.ok(progress.every((p) => p.total === COUNT && p.progressToken === 'w'));
      // The count first, then "batch N" (the N-th group of IMAGE_CONCURRENCY finished images); rate and ETA
      // join once a second of progress is measured (_meta.rate says whether it was: a quiet machine finishes
      // this run in under a second, a busy one may not; the timing itself is test/unit/progress-rate.test.ts's).
      assert.equal(withoutRate(progress[0]), '1/300 · batch 1');
      assert.equal(withoutRate(progress.at(-1)), `${COUNT}/${COUNT} · batch ${COUNT / CONCURRENCY}`);
      if (progress.at(-1)._meta.rate !== undefined) assert.match(progress.at(-1).message, / · ETA 0 s$/, 'nothing left at the end');
    } finally {
      c.close();
    }
  });

  test('paths that leave DATA_DIR are refused with -32602', async () => {
    await symlink(outside, join(dataDir, 'escape'));
    const client = await connectSdkClient(server.wsUrl);
    try {
      const attempts: Array<Record<string, string>> = [
        { inputDir: '../x', outputDir: 'out-a' },
        { inputDir: 'photos/../../x', outputDir: 'out-b' },
        { inputDir: '/etc', outputDir: 'out-c' },
        { inputDir: 'escape', outputDir: 'out-d' }, // a symlink inside DATA_DIR pointing out
        { inputDir: 'photos', outputDir: '../out-e' },
        { inputDir: 'photos', outputDir: join(outside, 'out-f') },
        { inputDir: 'photos', outputDir: 'escape/out-g' }, // created through the symlink
        { inputDir: 'photos', outputDir: 'photos' }, // would overwrite its own inputs
      ];
      for (const dirs of attempts) {
        await assert.rejects(
          client.callTool({ name: 'process_images', arguments: { ...dirs, width: 32, format: 'png' } }),
          (err: unknown) => {
            assert.ok(err instanceof McpError, `${JSON.stringify(dirs)}: ${err}`);
            assert.equal(err.code, -32602, JSON.stringify(dirs));
            return true;
          },
        );
      }
      assert.deepEqual(await readdir(outside), [], 'nothing was created outside DATA_DIR');
      const created = (await readdir(dataDir)).filter((name) => name.startsWith('out-'));
      assert.deepEqual(created, [], 'no output folder was created for a refused call');
    } finally {
      await client.close();
    }
  });

  test('a symlinked image pointing outside DATA_DIR is logged as an error, not read', async () => {
    const good = dataset.files.find((f) => !dataset.corrupt.some((c) => c.name === f))!;
    await mkdir(join(dataDir, 'mixed'));
    await copyFile(join(dataDir, 'photos', good), join(dataDir, 'mixed', 'a.jpg'));
    await copyFile(join(dataDir, 'photos', good), join(dataDir, 'mixed', 'b.jpg'));
    await copyFile(join(dataDir, 'photos', good), join(outside, 'secret.jpg'));
    await symlink(join(outside, 'secret.jpg'), join(dataDir, 'mixed', 'leak.jpg'));
    const client = await connectSdkClient(server.wsUrl);
    try {
      const result = await client.callTool({ name: 'process_images', arguments: { inputDir: 'mixed', outputDir: 'mixed-out', width: 20, format: 'jpeg' } });
      assert.deepEqual(
        [(result.structuredContent as any).success, (result.structuredContent as any).errors],
        [2, 1],
      );
      const logged = JSON.parse(await readFile(join(dataDir, 'mixed-out', 'errors.json'), 'utf8'));
      assert.deepEqual(logged, [{ path: 'mixed/leak.jpg', error: 'symlink points outside DATA_DIR' }]);
      assert.deepEqual((await readdir(join(dataDir, 'mixed-out'))).sort(), ['a.jpg', 'b.jpg', 'errors.json']);
    } finally {
      await client.close();
    }
  });

  test('the cancel request stops the run within one batch and the result reports the partial counts', async () => {
    const concurrency = 2;
    const c = await openRaw(server.wsUrl);
    try {
      await c.initialize();
      c.send({
        jsonrpc: '2.0',
        id: 'job',
        method: 'tools/call',
        params: { name: 'process_images', arguments: { inputDir: 'photos', outputDir: 'partial', width: 32, format: 'png', concurrency }, _meta: { progressToken: 'tok' } },
      });
      await c.waitFor((m) => m.method === 'notifications/progress' && m.params.progress >= 10);
      c.send({ jsonrpc: '2.0', id: 'stop', method: 'cancel', params: { requestId: 'job' } });
      const response = await c.waitFor((m) => m.id === 'job', 10_000);

      const stop = c.received.find((m) => m.id === 'stop');
      assert.deepEqual(stop?.result, { cancelled: true });
      const summary = response.result.structuredContent;
      assert.equal(summary.cancelled, true);
      assert.equal(summary.total, COUNT);
      assert.ok(summary.processed < COUNT, `processed ${summary.processed} of ${COUNT}: not cancelled mid-run`);
      assert.equal(summary.processed, summary.success + summary.errors);
      assert.match(response.result.content[0].text, new RegExp(`^Cancelled after ${summary.processed} of 300 · Success ${summary.success} · `));
      // Progress stops at the abort; only the images already in flight (one batch) finish after it.
      const progressValues = c.received.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
      const lastReported = Math.max(...progressValues);
      assert.ok(summary.processed - lastReported <= concurrency, `${summary.processed - lastReported} images finished after the cancel (batch = ${concurrency})`);
      const written = (await readdir(join(dataDir, 'partial'))).filter((f) => f.endsWith('.png'));
      assert.equal(written.length, summary.success);
      const logged = JSON.parse(await readFile(join(dataDir, 'partial', 'errors.json'), 'utf8'));
      assert.equal(logged.length, summary.errors);
    } finally {
      c.close();
    }
  });

  test('cancelling through the SDK client AbortSignal stops the work on the server', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const controller = new AbortController();
      const call = client.callTool(
        { name: 'process_images', arguments: { inputDir: 'photos', outputDir: 'aborted', width: 32, format: 'webp', concurrency: 2 } },
        undefined,
        { signal: controller.signal, onprogress: (p) => p.progress >= 10 && controller.abort('user pressed stop') },
      );
      await assert.rejects(call, /user pressed stop|AbortError|aborted/i);
      await waitUntil(() => server.app.mcp.runner.size === 0, 'the cancelled run to end');
      const written = (await readdir(join(dataDir, 'aborted'))).filter((f) => f.endsWith('.webp'));
      assert.ok(written.length < COUNT - CORRUPT, `all ${written.length} images were converted despite the cancel`);
      // The partial errors.json is still written when the run stops.
      assert.ok(Array.isArray(JSON.parse(await readFile(join(dataDir, 'aborted', 'errors.json'), 'utf8'))));
    } finally {
      await client.close();
    }
  });
});

