// Helpers for tests that use the real toolchain (nasm, ld, qemu-system-i386): locate each tool and fail with a
// clear message when it is missing (CI installs them via .ci/run); never skip silently.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const SAMPLES_VMM = path.join(REPO_ROOT, 'samples/vmm');
export const SAMPLES_INCLUDE = path.join(REPO_ROOT, 'samples/include');
export const LINK_SCRIPT = path.join(SAMPLES_VMM, 'link.ld');

export function requireTool(tool: string): void {
  const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new Error(`${tool} is required by this test but was not found on PATH (install it; CI does so via .ci/run)`);
  }
}

export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `hyperstep-${prefix}-`));
}

/** nasm with samples/include on the include path; returns the output file. Throws nasm's messages on failure. */
export function nasm(source: string, output: string, format: 'bin' | 'elf32', defines: readonly string[] = []): string {
  requireTool('nasm');
  const args = ['-f', format, '-I', `${SAMPLES_INCLUDE}/`, ...defines.map((d) => `-D${d}`), '-o', output, source];
  const result = spawnSync('nasm', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`nasm ${args.join(' ')} failed:\n${result.stderr}`);
  return output;
}

/** Assembles and links one sample into a Multiboot ELF kernel. */
export function buildKernel(source: string, dir: string, defines: readonly string[] = []): string {
  const base = path.basename(source, '.asm');
  const object = nasm(source, path.join(dir, `${base}.o`), 'elf32', defines);
  requireTool('ld');
  const elf = path.join(dir, `${base}.elf`);
  execFileSync('ld', ['-m', 'elf_i386', '--no-warn-rwx-segments', '-T', LINK_SCRIPT, '-o', elf, object]);
  return elf;
}

export interface QemuRun {
  readonly status: number | null;
  readonly serial: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Boots a kernel in qemu-system-i386 with the debug-exit device; bounded by `timeoutMs`. */
export function runInQemu(kernel: string, timeoutMs = 8000): QemuRun {
  requireTool('qemu-system-i386');
  const args = [
    '-kernel', kernel, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-nic', 'none', '-no-reboot',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ];
  const result = spawnSync('qemu-system-i386', args, { encoding: 'latin1', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const timedOut = result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  return { status: result.status, serial: result.stdout ?? '', stderr: result.stderr ?? '', timedOut };
}
