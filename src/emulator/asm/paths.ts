// Minimal POSIX-style path helpers for %include resolution (the emulator layer has no Node `path`).
// Backslashes are treated as separators too, so Windows paths handed in by the host still resolve.

export function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (i < 0) return '.';
  if (i === 0) return '/';
  return path.slice(0, i);
}

export function isAbsolute(path: string): boolean {
  return path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(path);
}

/** Joins and normalises `.` and `..` segments, keeping the separator style of `/`. */
export function joinPath(dir: string, rel: string): string {
  if (isAbsolute(rel)) return normalize(rel);
  return normalize(dir === '' || dir === '.' ? rel : `${dir}/${rel}`);
}

export function normalize(path: string): string {
  const drive = /^[A-Za-z]:/.test(path) ? path.slice(0, 2) : '';
  const rest = path.slice(drive.length);
  const absolute = rest.startsWith('/') || rest.startsWith('\\');
  const out: string[] = [];
  for (const part of rest.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !absolute) out.push(part);
  }
  const body = out.join('/');
  return drive + (absolute ? '/' : '') + (body === '' && !absolute ? '.' : body);
}
