// `hyperstep asm`: a drop-in for `nasm` in Makefiles and graders. Options keep NASM's meanings:
// -f bin|elf32 (also -felf32), -o out (default: input name without extension, `.o` for elf32), -l listing,
// -I dir (also -Idir), -D name[=value] (also -Dname). Errors print as `file:line: error: message` on
// stderr and exit with status 1, as NASM does (NASM manual 2.1).
import { assemble, formatDiagnostic } from '../emulator/asm';
import type { CliIo } from './io';

interface AsmArguments {
  input: string;
  format: 'bin' | 'elf32';
  output?: string;
  listing?: string;
  includePaths: string[];
  defines: Record<string, string>;
}

function parseArguments(argv: readonly string[]): AsmArguments | string {
  const args: Partial<AsmArguments> & { includePaths: string[]; defines: Record<string, string> } = { includePaths: [], defines: {}, format: 'bin' };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    const takeValue = (flag: string): string | undefined => (a.length > flag.length ? a.slice(flag.length) : argv[++k]);
    if (a.startsWith('-f')) {
      const f = takeValue('-f');
      if (f !== 'bin' && f !== 'elf32' && f !== 'elf') return `unrecognised output format \`${f ?? ''}' - use -hf for a list (supported: bin, elf32)`;
      args.format = f === 'bin' ? 'bin' : 'elf32';
    } else if (a.startsWith('-o')) args.output = takeValue('-o');
    else if (a.startsWith('-l')) args.listing = takeValue('-l');
    else if (a.startsWith('-I') || a.startsWith('-i')) {
      const dir = takeValue('-I');
      if (dir !== undefined) args.includePaths.push(dir);
    } else if (a.startsWith('-D') || a.startsWith('-d')) {
      const def = takeValue('-D');
      if (def !== undefined) {
        const eq = def.indexOf('=');
        if (eq < 0) args.defines[def] = '';
        else args.defines[def.slice(0, eq)] = def.slice(eq + 1);
      }
    } else if (a === '-O0' || a === '-O1' || a === '-Ox' || a === '-O2' || a === '-w+all' || a.startsWith('-w')) {
      // Accepted for compatibility; HyperStep always behaves like NASM's default -Ox.
    } else if (a.startsWith('-') && a !== '-') return `unrecognised option \`${a}'`;
    else if (args.input === undefined) args.input = a;
    else return `more than one input file specified`;
  }
  if (args.input === undefined) return 'no input file specified';
  return args as AsmArguments;
}

function defaultOutputName(input: string, format: 'bin' | 'elf32'): string {
  const slash = input.lastIndexOf('/');
  const dot = input.lastIndexOf('.');
  const stem = dot > slash ? input.slice(0, dot) : input;
  return format === 'elf32' ? `${stem}.o` : stem === input ? `${input}.bin` : stem;
}

export async function asmCommand(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArguments(argv);
  if (typeof parsed === 'string') {
    io.stderr(`hyperstep asm: error: ${parsed}\n`);
    return 1;
  }
  const bytes = io.readFile(parsed.input);
  if (!bytes) {
    io.stderr(`hyperstep asm: fatal: unable to open input file \`${parsed.input}'\n`);
    return 1;
  }
  const text = new TextDecoder().decode(bytes);
  const result = assemble(
    { path: parsed.input, text },
    {
      format: parsed.format,
      includePaths: parsed.includePaths.map((p) => (p.endsWith('/') ? p.slice(0, -1) : p)),
      defines: parsed.defines,
      readFile: (path) => {
        const data = io.readFile(path);
        return data ? new TextDecoder().decode(data) : undefined;
      },
      readBinaryFile: (path) => io.readFile(path),
      listing: parsed.listing !== undefined,
    },
  );
  for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
  if (parsed.listing !== undefined) io.writeFile(parsed.listing, result.listing);
  if (!result.ok) return 1;
  io.writeFile(parsed.output ?? defaultOutputName(parsed.input, parsed.format), result.output);
  return 0;
}
