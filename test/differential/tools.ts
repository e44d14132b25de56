// Host tools for tests that build NASM kernels and run them in QEMU. A missing tool fails the test with a
// message naming the Debian package (CI installs them via .ci/run); nothing is skipped silently.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const KERNELS_DIR = resolve(__dirname, '../kernels');
export const SAMPLE_HELLO = resolve(__dirname, '../../samples/hello/hello.asm');

function requireTool(tool: string, debianPackage: string): void {
  const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`${tool} is required for this test but was not found: apt-get install -y ${debianPackage}`);
}

let scratch: string | undefined;
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'hyperstep-kernels-'));
  return scratch;
}

/** Assemble and link test/kernels/<name>.asm as a Multiboot ELF (nasm -f elf32, ld -m elf_i386). */
export function buildKernel(name: string, defines: string[] = []): string {
  requireTool('nasm', 'nasm');
  requireTool('ld', 'binutils');
  const dir = scratchDir();
  const tag = [name, ...defines].join('_').replace(/[^A-Za-z0-9_]/g, '');
  const object = join(dir, `${tag}.o`);
  const elf = join(dir, `${tag}.elf`);
  execFileSync('nasm', [`-I${KERNELS_DIR}/`, '-f', 'elf32', ...defines.map((d) => `-D${d}`), '-o', object, join(KERNELS_DIR, `${name}.asm`)]);
  execFileSync('ld', ['-m', 'elf_i386', '--no-warn-rwx-segments', '-T', join(KERNELS_DIR, 'link.ld'), '-o', elf, object]);
  return elf;
}

/** Assemble a flat binary with nasm -f bin: test/kernels/<name>.asm, or the .asm file at an absolute path. */
export function buildFlat(nameOrPath: string): string {
  requireTool('nasm', 'nasm');
  const source = nameOrPath.endsWith('.asm') ? nameOrPath : join(KERNELS_DIR, `${nameOrPath}.asm`);
  const out = join(scratchDir(), `${source.replace(/^.*\//, '').replace(/\.asm$/, '')}.bin`);
  execFileSync('nasm', [`-I${KERNELS_DIR}/`, '-f', 'bin', '-o', out, source]);
  return out;
}

export function readImage(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

export interface QemuRun {
  readonly serial: string;
  readonly status: number | null;
  /** The `-d int` log (exceptions and interrupts, BIOS-time ones included). */
  readonly interruptLog: string;
}

/** Run a Multiboot kernel in qemu-system-i386 -kernel with isa-debug-exit, as the oracle. */
export function runQemu(elf: string, options: { memoryMiB?: number; append?: string; timeoutMs?: number } = {}): QemuRun {
  requireTool('qemu-system-i386', 'qemu-system-x86');
  const log = join(scratchDir(), `int-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const args = [
    '-kernel', elf, '-m', String(options.memoryMiB ?? 32), '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    '-nic', 'none', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-d', 'int,cpu_reset', '-D', log,
  ];
  if (options.append) args.push('-append', options.append);
  const result = spawnSync('qemu-system-i386', args, { encoding: 'latin1', timeout: options.timeoutMs ?? 60000 });
  let interruptLog = '';
  try {
    interruptLog = readFileSync(log, 'latin1');
  } catch {
    interruptLog = '';
  }
  return { serial: result.stdout, status: result.status, interruptLog };
}
