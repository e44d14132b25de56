// The Node server's view of the disk: reading %include files and finding the guest sources under the
// workspace folders for workspace symbols (bounded: no dot folders or node_modules, at most a few
// thousand files, a limited depth), so a huge folder cannot stall the server.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkspaceFile } from './analysis/workspaceIndex';
import { GUEST_SOURCE } from './analysis/workspaceIndex';

const MAX_FILES = 5000;
const MAX_DEPTH = 12;
const SKIPPED = new Set(['node_modules', 'dist', 'out']);

export function readFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function listWorkspaceFiles(folders: readonly string[]): WorkspaceFile[] {
  const files: WorkspaceFile[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (files.length >= MAX_FILES) return;
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth < MAX_DEPTH && !SKIPPED.has(entry.name)) walk(path, depth + 1);
      } else if (entry.isFile() && GUEST_SOURCE.test(entry.name)) {
        try {
          files.push({ path, version: statSync(path).mtimeMs });
        } catch {
          // vanished between the listing and the stat
        }
      }
    }
  };
  for (const folder of folders) walk(folder, 0);
  return files;
}
