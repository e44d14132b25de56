// SPDX-License-Identifier: MIT
// FileAccess over Node's file system, for the standalone adapter (dist/debugAdapter.js) and tests.
// The extension supplies its own FileAccess over vscode.workspace.fs instead.
import { readFile } from 'node:fs/promises';
import type { FileAccess } from './fileAccess';

export const nodeFileAccess: FileAccess = {
  async readFile(path: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(path));
    } catch {
      return undefined;
    }
  },
};
