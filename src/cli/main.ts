// HyperStep command line: `hyperstep <command> ...`. Each command is a module exporting
// `(argv, io) => Promise<exitCode>`; adding a command is adding one row to COMMANDS.
import { asmCommand } from './asm';
import { CliIo, nodeIo } from './io';
import { runCommand } from './run';

export type Command = (argv: string[], io: CliIo) => Promise<number>;

export const COMMANDS: Readonly<Record<string, { readonly run: Command; readonly summary: string }>> = {
  run: { run: runCommand, summary: 'boot a guest natively, COM1 on stdout: run <file.asm|kernel.elf|flat.bin> [--memory MiB] [--instruction-limit n] [--time-limit s] [--dump]' },
  asm: { run: asmCommand, summary: 'assemble NASM-syntax source: asm <file> [-f bin|elf32] [-o out] [-l listing] [-I dir] [-D name=value]' },
};

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  const command = name !== undefined ? COMMANDS[name] : undefined;
  if (!command) {
    if (name !== undefined && name !== '--help' && name !== '-h') io.stderr(`hyperstep: unknown command \`${name}'\n`);
    io.stderr('usage: hyperstep <command> [options]\ncommands:\n');
    for (const [key, c] of Object.entries(COMMANDS)) io.stderr(`  ${key.padEnd(6)} ${c.summary}\n`);
    return name === undefined || name === '--help' || name === '-h' ? (name === undefined ? 1 : 0) : 1;
  }
  return command.run(rest, io);
}

if (require.main === module) {
  main(process.argv.slice(2), nodeIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`hyperstep: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
