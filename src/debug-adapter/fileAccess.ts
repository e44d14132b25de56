// SPDX-License-Identifier: MIT
// The runtime reaches files only through this small interface, so the same runtime runs in Node (the
// standalone adapter, tests), in the desktop extension host and in the web extension host (where the
// extension supplies vscode.workspace.fs). Paths are plain strings with '/' or '\' separators.

/** Read-only file access injected into the runtime. */
export interface FileAccess {
  /** The file's bytes, or undefined when it does not exist or cannot be read. */
  readFile(path: string): Promise<Uint8Array | undefined>;
}

/** True for an absolute POSIX path, a Windows drive path or a UNC path. */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/** Joins a base directory and a relative path (absolute paths are returned unchanged). */
export function joinPath(base: string, path: string): string {
  if (isAbsolutePath(path) || base === '') return path;
  const sep = base.includes('\\') && !base.includes('/') ? '\\' : '/';
  return base.endsWith('/') || base.endsWith('\\') ? `${base}${path}` : `${base}${sep}${path}`;
}

/** The directory part of a path ('' when there is none). */
export function dirnameOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? '' : cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
}

/** The last path component. */
export function basenameOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return path.slice(cut + 1);
}
