// The bytes an instruction line assembles to, for hover ("its encoding at that line"): the document is
// assembled with its includes by the real assembler (output kept, flat binary), and the source map gives the
// address and size of what the line produced. One assembly per document version, cached; a document with
// errors has no output, and the hover says so instead of guessing.
import { assemble } from '../../emulator/asm/index';

export type LineEncoding =
  | { readonly kind: 'bytes'; readonly address: number; readonly bytes: readonly number[] }
  | { readonly kind: 'unavailable'; readonly reason: string };

interface Assembled {
  readonly key: string;
  readonly byLine: ReadonlyMap<number, { address: number; bytes: number[] }>;
  readonly error?: string;
}

/** At most this many bytes are shown for one line (a `times` or data line can produce far more). */
const MAX_SHOWN_BYTES = 16;

export class EncodingCache {
  private last: Assembled | undefined;

  /** Encoding of 0-based `line` of the document at `path`, assembled from `text` (version-keyed). */
  encodingAt(path: string, version: number, text: string, line: number, readFile: (path: string) => string | undefined, includePaths: readonly string[]): LineEncoding {
    const key = `${path}\u0000${version}\u0000${includePaths.join('\u0000')}`;
    if (this.last?.key !== key) this.last = assembleLines(key, path, text, readFile, includePaths);
    if (this.last.error !== undefined) return { kind: 'unavailable', reason: this.last.error };
    const found = this.last.byLine.get(line + 1);
    return found === undefined ? { kind: 'unavailable', reason: 'this line produces no bytes here (inside a false %if, or a macro body)' } : { kind: 'bytes', ...found };
  }
}

function assembleLines(key: string, path: string, text: string, readFile: (path: string) => string | undefined, includePaths: readonly string[]): Assembled {
  const result = assemble({ path, text }, { format: 'bin', listing: false, includePaths, readFile });
  if (!result.ok) return { key, byLine: new Map(), error: 'the file has assembly errors, so no encoding (fix them to see the bytes)' };
  const byLine = new Map<number, { address: number; bytes: number[] }>();
  for (const entry of result.sourceMap) {
    // Bytes produced by a macro expansion belong to the line that invoked it (file/line of the entry).
    if (entry.file !== path || entry.size === 0) continue;
    const section = result.sections.find((s) => s.name === entry.section);
    if (section === undefined || !section.progbits) continue;
    const offset = entry.address - section.address;
    const slot = byLine.get(entry.line) ?? { address: entry.address, bytes: [] };
    if (slot.bytes.length < MAX_SHOWN_BYTES) slot.bytes.push(...section.bytes.subarray(offset, offset + Math.min(entry.size, MAX_SHOWN_BYTES - slot.bytes.length)));
    byLine.set(entry.line, slot);
  }
  return { key, byLine };
}

/** Markdown paragraph for the hover. */
export function describeEncoding(encoding: LineEncoding): string {
  if (encoding.kind === 'unavailable') return `*Encoding:* ${encoding.reason}.`;
  const hex = encoding.bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
  return `*Encoding at this line:* \`${hex}\` at 0x${encoding.address.toString(16).toUpperCase().padStart(8, '0')} (${encoding.bytes.length} byte${encoding.bytes.length === 1 ? '' : 's'})`;
}
