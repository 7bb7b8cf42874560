// `npm run dataset -- --count 10000 --corrupt 153 --out /tmp/images [--seed 1] [--width 640 --height 480]`
// Writes a synthetic image folder for process_images demos, tests and benchmarks: real JPEGs (a
// gradient, random shapes and pixel noise, so they do not compress to nothing: ~60 KiB at 640x480)
// plus corrupt files among them under the same naming scheme (truncated JPEGs, random bytes, empty
// files). The same seed gives the same files. Also importable: `generateDataset(options)`.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

export type CorruptKind = 'truncated' | 'random-bytes' | 'empty';
const CORRUPT_KINDS: CorruptKind[] = ['truncated', 'random-bytes', 'empty'];
const FILE_PATTERN = /^img-\d+\.jpg$/;
const JPEG_QUALITY = 85;

export interface DatasetOptions {
  /** Folder to write (created if missing). */
  out: string;
  /** Files in all, corrupt ones included. */
  count: number;
  /** How many of them are corrupt. */
  corrupt: number;
  seed?: number;
  width?: number;
  height?: number;
  /** Images encoded at once (default 8). */
  concurrency?: number;
  /** Replace the img-*.jpg files of an earlier run instead of refusing a non-empty folder. */
  force?: boolean;
}

export interface DatasetSummary {
  dir: string;
  /** Every file written, by name, in order. */
  files: string[];
  /** The corrupt files and how each was broken. */
  corrupt: Array<{ name: string; kind: CorruptKind }>;
  images: number;
  bytes: number;
  durationMs: number;
}

/** mulberry32: a small, fast seeded PRNG in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each file gets its own PRNG stream, so parallel generation stays deterministic. */
const streamFor = (seed: number, index: number) => prng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b));

function sceneSvg(rnd: () => number, width: number, height: number): string {
  const color = () => `rgb(${(rnd() * 256) | 0},${(rnd() * 256) | 0},${(rnd() * 256) | 0})`;
  const at = (max: number) => (rnd() * max) | 0;
  let shapes = '';
  const shapeCount = 4 + at(10);
  for (let i = 0; i < shapeCount; i++) {
    const opacity = (0.35 + rnd() * 0.65).toFixed(2);
    shapes +=
      rnd() < 0.5
        ? `<circle cx="${at(width)}" cy="${at(height)}" r="${10 + at(height / 3)}" fill="${color()}" fill-opacity="${opacity}"/>`
        : `<rect x="${at(width)}" y="${at(height)}" width="${10 + at(width / 3)}" height="${10 + at(height / 3)}" fill="${color()}" fill-opacity="${opacity}" transform="rotate(${at(90)} ${width / 2} ${height / 2})"/>`;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="${rnd().toFixed(2)}" y2="${rnd().toFixed(2)}">` +
    `<stop offset="0" stop-color="${color()}"/><stop offset="1" stop-color="${color()}"/></linearGradient></defs>` +
    `<rect width="100%" height="100%" fill="url(#g)"/>${shapes}</svg>`
  );
}

const NOISE_AMPLITUDE = 16; // ± per channel
/** Offsets into the noise pool that an image may start at (so neighbouring images get different noise). */
const NOISE_OFFSETS = 1 << 20;

/**
 * Seeded noise shared by every image of a run: bytes centred on NOISE_AMPLITUDE. Drawing from a PRNG
 * per pixel costs ~25 ms per 640x480 image in JS; adding a window of this pool costs ~2 ms.
 */
function noisePool(seed: number, pixelBytes: number): Uint8Array {
  const rnd = prng(seed ^ 0x5bd1e995);
  const pool = new Uint8Array(pixelBytes + NOISE_OFFSETS);
  for (let i = 0; i < pool.length; i++) pool[i] = (rnd() * (2 * NOISE_AMPLITUDE + 1)) | 0;
  return pool;
}

/** CLAMP[pixel + noiseByte]: adds the centred noise and clamps to 0..255 in one lookup. */
const CLAMP = Uint8Array.from({ length: 256 + 2 * NOISE_AMPLITUDE + 1 }, (_, v) => Math.min(255, Math.max(0, v - NOISE_AMPLITUDE)));

/** A real JPEG: rendered scene plus a seeded window of pixel noise (libvips' own noise cannot be seeded). */
async function makeJpeg(rnd: () => number, width: number, height: number, noise: Uint8Array): Promise<Buffer> {
  const pixels = await sharp(Buffer.from(sceneSvg(rnd, width, height))).removeAlpha().raw().toBuffer();
  const offset = (rnd() * NOISE_OFFSETS) | 0;
  for (let i = 0; i < pixels.length; i++) pixels[i] = CLAMP[pixels[i]! + noise[offset + i]!]!;
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: JPEG_QUALITY }).toBuffer();
}

async function makeCorrupt(kind: CorruptKind, rnd: () => number, width: number, height: number, noise: Uint8Array): Promise<Buffer> {
  switch (kind) {
    case 'empty':
      return Buffer.alloc(0);
    case 'random-bytes': {
      const bytes = Buffer.alloc(1024 + ((rnd() * 63 * 1024) | 0));
      for (let i = 0; i < bytes.length; i++) bytes[i] = (rnd() * 256) | 0;
      return bytes;
    }
    case 'truncated': {
      const jpeg = await makeJpeg(rnd, width, height, noise);
      return jpeg.subarray(0, Math.floor(jpeg.length * (0.1 + rnd() * 0.6)));
    }
  }
}

/** Pick `k` distinct indices out of `n` (partial Fisher–Yates), sorted. */
function pickIndices(n: number, k: number, rnd: () => number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + ((rnd() * (n - i)) | 0);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}

async function prepareDir(dir: string, force: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  if (existing.length === 0) return;
  if (!force) throw new Error(`${dir} is not empty (pass --force to replace the img-*.jpg files of an earlier run)`);
  await Promise.all(existing.filter((n) => FILE_PATTERN.test(n)).map((n) => rm(join(dir, n))));
}

export async function generateDataset(options: DatasetOptions): Promise<DatasetSummary> {
  const { count, corrupt, seed = 1, width = 640, height = 480, concurrency = 8, force = false } = options;
  if (!Number.isInteger(count) || count < 0) throw new Error('--count must be a whole number');
  if (!Number.isInteger(corrupt) || corrupt < 0 || corrupt > count) throw new Error('--corrupt must be between 0 and --count');
  const started = performance.now();
  const dir = resolve(options.out);
  await prepareDir(dir, force);

  const digits = Math.max(5, String(count).length);
  const files = Array.from({ length: count }, (_, i) => `img-${String(i + 1).padStart(digits, '0')}.jpg`);
  const corruptKind = new Map<number, CorruptKind>();
  pickIndices(count, corrupt, prng(seed)).forEach((index, n) => corruptKind.set(index, CORRUPT_KINDS[n % CORRUPT_KINDS.length]!));

  const noise = noisePool(seed, width * height * 3);
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const rnd = streamFor(seed, index);
      const kind = corruptKind.get(index);
      const data = kind ? await makeCorrupt(kind, rnd, width, height, noise) : await makeJpeg(rnd, width, height, noise);
      bytes += data.length;
      await writeFile(join(dir, files[index]!), data);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));

  return {
    dir,
    files,
    corrupt: [...corruptKind].map(([index, kind]) => ({ name: files[index]!, kind })),
    images: count - corrupt,
    bytes,
    durationMs: Math.round(performance.now() - started),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '10000' },
      corrupt: { type: 'string', default: '0' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      width: { type: 'string', default: '640' },
      height: { type: 'string', default: '480' },
      concurrency: { type: 'string', default: '8' },
      force: { type: 'boolean', default: false },
    },
  });
  if (!values.out) throw new Error('--out <dir> is required');
  const summary = await generateDataset({
    out: values.out,
    count: Number(values.count),
    corrupt: Number(values.corrupt),
    seed: Number(values.seed),
    width: Number(values.width),
    height: Number(values.height),
    concurrency: Number(values.concurrency),
    force: values.force,
  });
  const kinds = CORRUPT_KINDS.map((k) => `${summary.corrupt.filter((c) => c.kind === k).length} ${k}`).join(', ');
  const mib = (summary.bytes / 1024 / 1024).toFixed(1);
  process.stdout.write(
    `Wrote ${summary.files.length} files (${mib} MiB) to ${summary.dir} in ${(summary.durationMs / 1000).toFixed(1)} s\n` +
      `  images:  ${summary.images} JPEG ${values.width}x${values.height}\n` +
      `  corrupt: ${summary.corrupt.length} (${kinds})\n` +
      `  seed:    ${values.seed}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`dataset: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
