// SPDX-License-Identifier: MIT
// The guest program as the debugger knows it: the bootable image plus, for .asm guests, the assembler's
// source map (address ↔ file:line:column, instruction starts only), symbols and the per-file sets of lines
// that hold instructions (for verifying and moving breakpoints). `.asm` programs are assembled in memory;
// %include files are fetched through the injected FileAccess (assemble, fetch what it asked for, repeat),
// so the synchronous assembler works over asynchronous file systems such as vscode.workspace.fs.
import { assemble, formatDiagnostic, type AssemblyResult } from '../emulator/asm';
import { disassembleOne } from '../emulator/disasm/disassembler';
import { readElfSymbols } from './elfSymbols';
import { type FileAccess, joinPath } from './fileAccess';

/** A source position of an instruction (1-based line and column, as the assembler reports them). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One instruction the assembler emitted. */
export interface InstructionSite extends SourceLocation {
  readonly address: number;
  readonly size: number;
}

export interface ProgramSymbol {
  readonly name: string;
  readonly address: number;
  readonly location?: SourceLocation;
}

/** Per file: line → instruction addresses on it, and the sorted lines that hold instructions. */
interface FileLines {
  readonly byLine: Map<number, number[]>;
  readonly sortedLines: number[];
}

export class Program {
  private readonly byAddress = new Map<number, InstructionSite>();
  private readonly files = new Map<string, FileLines>();
  private readonly symbolsByName = new Map<string, ProgramSymbol>();
  private readonly symbolsByAddress = new Map<number, ProgramSymbol>();
  /** Label addresses sorted ascending (for "nearest label at or below"). */
  private readonly labelAddresses: number[] = [];

  constructor(
    readonly image: Uint8Array,
    readonly mainFile: string | undefined,
    sites: readonly InstructionSite[],
    symbols: readonly ProgramSymbol[],
  ) {
    for (const site of sites) {
      this.byAddress.set(site.address, site);
      let file = this.files.get(site.file);
      if (file === undefined) {
        file = { byLine: new Map(), sortedLines: [] };
        this.files.set(site.file, file);
      }
      const list = file.byLine.get(site.line);
      if (list === undefined) file.byLine.set(site.line, [site.address]);
      else list.push(site.address);
    }
    for (const file of this.files.values()) file.sortedLines.push(...[...file.byLine.keys()].sort((a, b) => a - b));
    for (const sym of symbols) {
      this.symbolsByName.set(sym.name, sym);
      if (!this.symbolsByAddress.has(sym.address)) this.symbolsByAddress.set(sym.address, sym);
    }
    this.labelAddresses = [...this.symbolsByAddress.keys()].sort((a, b) => a - b);
  }

  /** The source of the instruction starting at `address`, if the program has one there. */
  siteAt(address: number): InstructionSite | undefined {
    return this.byAddress.get(address >>> 0);
  }

  get hasSource(): boolean {
    return this.byAddress.size > 0;
  }

  /** Source files that hold instructions. */
  sourceFiles(): string[] {
    return [...this.files.keys()];
  }

  /**
   * The instruction line a breakpoint on `line` binds to: the line itself or the next line below it that
   * holds an instruction (as debuggers move breakpoints on comments and labels); undefined when none follows.
   */
  resolveLine(file: string, line: number): { line: number; addresses: readonly number[] } | undefined {
    const lines = this.fileLines(file);
    if (lines === undefined) return undefined;
    const next = lines.sortedLines.find((l) => l >= line);
    if (next === undefined) return undefined;
    return { line: next, addresses: lines.byLine.get(next)! };
  }

  /** Every instruction line of a file within [from, to]. */
  instructionLines(file: string, from: number, to: number): number[] {
    return (this.fileLines(file)?.sortedLines ?? []).filter((l) => l >= from && l <= to);
  }

  private fileLines(file: string): FileLines | undefined {
    const exact = this.files.get(file);
    if (exact !== undefined) return exact;
    const normal = normalizePath(file);
    for (const [name, lines] of this.files) if (normalizePath(name) === normal) return lines;
    return undefined;
  }

  symbol(name: string): ProgramSymbol | undefined {
    return this.symbolsByName.get(name);
  }

  symbolNames(): string[] {
    return [...this.symbolsByName.keys()];
  }

  /** "label" at the exact address, "label+0x12" within the nearest label below, or undefined. */
  symbolize(address: number, exactOnly = false): string | undefined {
    const exact = this.symbolsByAddress.get(address >>> 0);
    if (exact !== undefined) return exact.name;
    if (exactOnly) return undefined;
    const below = this.labelBelow(address);
    if (below === undefined) return undefined;
    const offset = (address >>> 0) - below.address;
    return offset < 0x10000 ? `${below.name}+0x${offset.toString(16)}` : undefined;
  }

  /** The nearest label at or below an address (the "function" a frame is in). */
  labelBelow(address: number): ProgramSymbol | undefined {
    const a = address >>> 0;
    const list = this.labelAddresses;
    let lo = 0;
    let hi = list.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! <= a) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best < 0 ? undefined : this.symbolsByAddress.get(list[best]!);
  }
}

/** Compares paths the way the client may spell them: '/' separators, no '.'/'..' segments, drive letter case. */
function normalizePath(path: string): string {
  const p = path.replace(/\\/g, '/');
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '.') continue;
    if (part === '..' && parts.length > 1 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(part);
  }
  const joined = parts.join('/');
  return /^[A-Za-z]:\//.test(joined) ? joined[0]!.toLowerCase() + joined.slice(1) : joined;
}

/** Lines whose statement is data (db/dw/…/incbin), never an instruction even if the bytes decode. */
const DATA_STATEMENT = /^\s*(?:[A-Za-z_.?$@][\w.?$@#~]*:?\s+)?(?:d[bwdqt]|incbin|res[bwdqt])\b/i;

export interface AssembleProgramOptions {
  readonly includePaths: readonly string[];
  readonly defines: Readonly<Record<string, string>>;
}

export type ProgramLoad = { readonly program: Program; readonly warnings: readonly string[] } | { readonly error: string };

const MAX_INCLUDE_ROUNDS = 64;

/** Assembles a .asm guest in memory (flat Multiboot image) and builds its Program. */
export async function assembleProgram(path: string, files: FileAccess, options: AssembleProgramOptions): Promise<ProgramLoad> {
  const decoder = new TextDecoder('utf-8');
  const texts = new Map<string, string | undefined>();
  const load = async (p: string): Promise<void> => {
    const bytes = await files.readFile(p);
    texts.set(p, bytes === undefined ? undefined : decoder.decode(bytes));
  };
  await load(path);
  const mainText = texts.get(path);
  if (mainText === undefined) return { error: `cannot read the program ${path}` };
  let result: AssemblyResult | undefined;
  for (let round = 0; round < MAX_INCLUDE_ROUNDS; round++) {
    const missing = new Set<string>();
    result = assemble({ path, text: mainText }, {
      format: 'bin',
      includePaths: [...options.includePaths],
      defines: options.defines,
      listing: false,
      readFile: (p) => {
        if (!texts.has(p)) missing.add(p);
        return texts.get(p);
      },
    });
    if (missing.size === 0) break;
    await Promise.all([...missing].map(load));
  }
  if (result === undefined) return { error: 'the assembler did not run' };
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (!result.ok) {
    const shown = errors.slice(0, 10).map((d) => formatDiagnostic(d));
    const more = errors.length > 10 ? `\n… and ${errors.length - 10} more` : '';
    return { error: `${path} did not assemble:\n${shown.join('\n')}${more}` };
  }
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning').map((d) => formatDiagnostic(d));
  const image = result.output;
  const origin = result.origin;
  const sites: InstructionSite[] = [];
  for (const entry of result.sourceMap) {
    const offset = entry.address - origin;
    if (offset < 0 || offset >= image.length) continue;
    const lineText = texts.get(entry.file)?.split(/\r?\n/)[entry.line - 1] ?? '';
    if (DATA_STATEMENT.test(lineText)) continue;
    // Split an entry into the instructions it holds (`times 3 nop`, macros emitting several on one line).
    let at = 0;
    while (at < entry.size) {
      const insn = disassembleOne(image, offset + at, entry.address + at);
      if (insn.formIndex < 0 || at + insn.length > entry.size) break;
      sites.push({ address: entry.address + at, size: insn.length, file: entry.file, line: entry.line, column: entry.column });
      at += insn.length;
    }
  }
  const symbols: ProgramSymbol[] = result.symbols
    .filter((s) => s.kind === 'label' || s.kind === 'local')
    .map((s) => ({ name: s.name, address: s.value >>> 0, location: { file: s.file, line: s.line, column: s.column } }));
  return { program: new Program(image, path, sites, symbols), warnings };
}

/** A prebuilt Multiboot ELF32 kernel (with its symbol table's labels) or flat image: no source map. */
export async function loadBinaryProgram(path: string, files: FileAccess): Promise<ProgramLoad> {
  const bytes = await files.readFile(path);
  if (bytes === undefined) return { error: `cannot read the program ${path}` };
  const symbols = readElfSymbols(bytes).map((s) => ({ name: s.name, address: s.address }));
  return { program: new Program(bytes, undefined, [], symbols), warnings: [] };
}

export function isAssemblySource(path: string): boolean {
  return /\.(asm|nasm|s|inc)$/i.test(path);
}

/** Resolves the launch `program` against `cwd`. */
export function resolveProgramPath(program: string, cwd: string | undefined): string {
  return cwd === undefined ? program : joinPath(cwd, program);
}
