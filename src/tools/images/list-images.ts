// The work list of a process_images call: the image files directly in inputDir (not subfolders), in name
// order, each with the output path it will be written to. Entries that must not be read (a symlink out
// of DATA_DIR, a broken link, two inputs that would write the same output) are kept as items with
// `refused` set, so they are counted and logged like any other failure.
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, parse } from 'node:path';
import { displayPath, isInside } from './confine-path.js';

/** Files with these extensions (any case) are treated as images; everything else in inputDir is skipped. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export interface ImageItem {
  /** The input relative to DATA_DIR, as shown to the client and written to errors.json. */
  readonly path: string;
  /** Real path to read. */
  readonly source: string;
  /** Absolute path of the output file. */
  readonly target: string;
  /** Set when the item must not be read; this text becomes its error. */
  readonly refused?: string;
}

export interface WorkList {
  items: ImageItem[];
  /** Entries in inputDir that are not image files (or are folders). */
  skipped: number;
}

export async function listImages(options: { rootReal: string; inputDir: string; outputDir: string; extension: string }): Promise<WorkList> {
  const { rootReal, inputDir, outputDir, extension } = options;
  const entries = (await readdir(inputDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const items: ImageItem[] = [];
  const outputOwner = new Map<string, string>();
  let skipped = 0;
  for (const entry of entries) {
    if (!IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase()) || !(entry.isFile() || entry.isSymbolicLink())) {
      skipped++;
      continue;
    }
    const absolute = join(inputDir, entry.name);
    const path = displayPath(rootReal, absolute);
    const target = join(outputDir, parse(entry.name).name + extension);
    let source = absolute;
    let refused: string | undefined;
    if (entry.isSymbolicLink()) ({ source, refused } = await followLink(rootReal, absolute));
    const owner = outputOwner.get(target);
    if (refused === undefined && owner !== undefined) {
      refused = `output ${displayPath(rootReal, target)} is already written from ${owner}`;
    }
    if (refused === undefined) outputOwner.set(target, path);
    items.push(refused === undefined ? { path, source, target } : { path, source, target, refused });
  }
  return { items, skipped };
}

/** A symlinked input is read through its real path, and only when that is a file inside DATA_DIR. */
async function followLink(rootReal: string, absolute: string): Promise<{ source: string; refused?: string }> {
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (err) {
    return { source: absolute, refused: `broken symlink (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` };
  }
  if (!isInside(rootReal, real)) return { source: absolute, refused: 'symlink points outside DATA_DIR' };
  if (!(await stat(real)).isFile()) return { source: absolute, refused: 'symlink does not point to a file' };
  return { source: real };
}
