// The CLI's window on the host: output streams and files. Commands take a CliIo so tests can run them
// in-process with an in-memory file system.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Uint8Array | undefined;
  writeFile(path: string, data: Uint8Array | string): void;
  /** Absolute form of a path relative to the working directory. */
  resolve(path: string): string;
}

export function nodeIo(cwd = process.cwd()): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readFile: (path) => {
      const full = resolve(cwd, path);
      try {
        if (!existsSync(full) || !statSync(full).isFile()) return undefined;
        return readFileSync(full);
      } catch {
        return undefined;
      }
    },
    writeFile: (path, data) => writeFileSync(resolve(cwd, path), data),
    resolve: (path) => resolve(cwd, path),
  };
}
