// The symbols of guest sources that are not open in the editor: the .asm/.inc files the host finds under
// the workspace folders (the Node server walks the disk; the web worker has no disk and lists nothing).
// Each file is indexed once per modification time, so repeated workspace-symbol and signature-help
// requests read only what changed; the folder walk itself is reused for a few seconds, so a burst of
// requests (signature help fires on every space typed) walks the disk once.
import { indexDocument, type DocumentIndex } from './documentIndex';

export interface WorkspaceFile {
  readonly path: string;
  /** Modification time (or any value that changes when the file does). */
  readonly version: number;
}

export interface WorkspaceHost {
  /** Guest sources under the given folders (bounded by the host), or nothing without a file system. */
  readonly listWorkspaceFiles?: (folders: readonly string[]) => readonly WorkspaceFile[];
  readonly readFile?: (path: string) => string | undefined;
  /** How long one walk of the folders is reused (default LISTING_TTL_MS). */
  readonly listingTtlMs?: number;
}

export interface IndexedFile {
  readonly path: string;
  readonly index: DocumentIndex;
}

/** Guest-source file names the workspace features look at (the extension's language: .asm, .inc; also .s/.nasm). */
export const GUEST_SOURCE = /\.(asm|inc|nasm|s)$/i;

/** How long one walk of the workspace folders is reused. */
export const LISTING_TTL_MS = 3000;

export class WorkspaceIndex {
  private folders: readonly string[] = [];
  private listing: { readonly at: number; readonly files: readonly WorkspaceFile[] } | undefined;
  private readonly cache = new Map<string, { version: number; index: DocumentIndex }>();

  constructor(private readonly host: WorkspaceHost) {}

  setFolders(folders: readonly string[]): void {
    this.folders = folders;
    this.cache.clear();
    this.listing = undefined;
  }

  /** The indexed files on disk, skipping those for which `isOpen` is true (the editor's copy wins). */
  files(isOpen: (path: string) => boolean): IndexedFile[] {
    const list = this.host.listWorkspaceFiles;
    const read = this.host.readFile;
    if (!list || !read || this.folders.length === 0) return [];
    const result: IndexedFile[] = [];
    const seen = new Set<string>();
    const now = Date.now();
    if (!this.listing || now - this.listing.at >= (this.host.listingTtlMs ?? LISTING_TTL_MS)) this.listing = { at: now, files: list(this.folders) };
    for (const file of this.listing.files) {
      if (!GUEST_SOURCE.test(file.path) || isOpen(file.path)) continue;
      seen.add(file.path);
      let entry = this.cache.get(file.path);
      if (!entry || entry.version !== file.version) {
        const text = read(file.path);
        if (text === undefined) continue;
        entry = { version: file.version, index: indexDocument(text) };
        this.cache.set(file.path, entry);
      }
      result.push({ path: file.path, index: entry.index });
    }
    for (const path of this.cache.keys()) if (!seen.has(path)) this.cache.delete(path);
    return result;
  }
}
