// One image → one resized output, with sharp. Files are opened with O_NOFOLLOW on both ends, so a
// symlink swapped in after the work list was built cannot make us read or write outside DATA_DIR.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type Sharp from 'sharp';

export type ImageFormat = 'webp' | 'jpeg' | 'png';

/** Output file extension per format. */
export const FORMAT_EXTENSION: Readonly<Record<ImageFormat, string>> = { webp: '.webp', jpeg: '.jpg', png: '.png' };

/** Larger inputs are refused before they are read into memory (several are in flight at once). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** Decoded size limit per image (sharp's default is 268 Mpx, too much with several in flight). */
const MAX_INPUT_PIXELS = 100_000_000;

let loading: Promise<typeof Sharp> | undefined;

/**
 * sharp, loaded on first use: importing the package (or registering other tools) must not load a native
 * image library. A batch reads each file once, so libvips' operation cache only holds memory; sharp's
 * threads per image stay at its default (1 on glibc), parallelism comes from several images in flight.
 */
function loadSharp(): Promise<typeof Sharp> {
  return (loading ??= import('sharp').then((m) => {
    m.default.cache(false);
    return m.default;
  }));
}

export async function convertImage(source: string, target: string, width: number, format: ImageFormat): Promise<void> {
  const sharp = await loadSharp();
  const input = await readNoFollow(source);
  let output: Buffer;
  try {
    output = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate() // honour EXIF orientation before measuring the width
      .resize({ width })
      .toFormat(format)
      .toBuffer();
  } catch (err) {
    throw new Error(decoderMessage(err));
  }
  await writeNoFollow(target, output);
}

/** libvips repeats lines and says only "Warning treated as error" for damaged data; make it readable. */
function decoderMessage(err: unknown): string {
  const lines = [...new Set(String(err instanceof Error ? err.message : err).split('\n').map((l) => l.trim()).filter(Boolean))];
  const text = lines.join('; ') || 'cannot decode image';
  return /failOn/.test(text) ? 'corrupt or truncated image data (decoder warning)' : text;
}

async function readNoFollow(path: string): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const info = await file.stat();
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_INPUT_BYTES) throw new Error(`file is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`);
    return await file.readFile();
  } finally {
    await file.close();
  }
}

/** Write a whole file without following a symlink at `path` (an existing regular file is replaced). */
export async function writeNoFollow(path: string, data: string | Uint8Array): Promise<void> {
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    await file.writeFile(data);
  } finally {
    await file.close();
  }
}
