// Path confinement for tools that touch files: a client-supplied path must resolve, after every symlink
// is followed, to DATA_DIR or something below it. Anything else is refused with -32602 so a model can
// never read or write outside the folder the operator chose.
import { mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { RpcCode, RpcError } from '../../errors.js';

/** The resolved root every tool path must stay inside. */
export interface DataRoot {
  /** DATA_DIR made absolute (relative to the working directory at startup). */
  readonly configured: string;
  /** Its real path (symlinks resolved); undefined until `realRoot()` found it. */
  real?: string;
}

/** True when `path` is `root` or below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of DATA_DIR; a missing DATA_DIR is a server-side problem (plain Error → isError result). */
export async function realRoot(root: DataRoot): Promise<string> {
  if (root.real !== undefined) return root.real;
  try {
    root.real = await realpath(root.configured);
    return root.real;
  } catch {
    throw new Error('The server has no data folder: DATA_DIR does not exist. Ask the operator to create it.');
  }
}

/** A path shown to the client: relative to DATA_DIR, with forward slashes ("." for the root itself). */
export function displayPath(realRootPath: string, absolutePath: string): string {
  const rel = relative(realRootPath, absolutePath);
  return rel === '' ? '.' : rel.split(sep).join('/');
}

function refuse(argument: string, given: string, why: string): RpcError {
  return new RpcError(RpcCode.INVALID_PARAMS, `Invalid params: ${argument} "${given}" ${why}`, { argument, path: given });
}

/**
 * Lexical check first: `..` and absolute paths elsewhere are refused before the filesystem is touched.
 * An absolute path may name DATA_DIR as configured or by its real path.
 */
function lexicallyInside(root: DataRoot, rootReal: string, argument: string, given: string): string {
  if (given.includes('\0')) throw refuse(argument, given, 'contains a NUL byte');
  const absolute = resolve(root.configured, given);
  if (!isInside(root.configured, absolute) && !isInside(rootReal, absolute)) {
    throw refuse(argument, given, isAbsolute(given) ? 'is an absolute path outside DATA_DIR' : 'escapes DATA_DIR');
  }
  return absolute;
}

/** An existing directory inside DATA_DIR (symlinks followed); returns its real path. */
export async function existingDirInside(root: DataRoot, argument: string, given: string): Promise<string> {
  const rootReal = await realRoot(root);
  const absolute = lexicallyInside(root, rootReal, argument, given);
  let real: string;
  try {
    real = await realpath(absolute);
  } catch {
    throw refuse(argument, given, 'does not exist in DATA_DIR');
  }
  if (!isInside(rootReal, real)) throw refuse(argument, given, 'resolves (through a symlink) outside DATA_DIR');
  if (!(await stat(real)).isDirectory()) throw refuse(argument, given, 'is not a directory');
  return real;
}

/**
 * A directory inside DATA_DIR that is created if missing; returns its real path. The deepest existing
 * ancestor is checked before anything is created, and the result is checked again afterwards.
 */
export async function creatableDirInside(root: DataRoot, argument: string, given: string): Promise<string> {
  const rootReal = await realRoot(root);
  const absolute = lexicallyInside(root, rootReal, argument, given);
  let existing = absolute;
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!isInside(rootReal, real)) throw refuse(argument, given, 'resolves (through a symlink) outside DATA_DIR');
      break;
    } catch (err) {
      if (err instanceof RpcError) throw err;
      const parent = dirname(existing);
      if (parent === existing) throw refuse(argument, given, 'cannot be created');
      existing = parent;
    }
  }
  try {
    await mkdir(absolute, { recursive: true });
  } catch (err) {
    throw refuse(argument, given, `cannot be created (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const real = await realpath(absolute);
  if (!isInside(rootReal, real)) throw refuse(argument, given, 'resolves (through a symlink) outside DATA_DIR');
  return real;
}
