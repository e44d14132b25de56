// Test helpers around the snippets file and the real tools (nasm, ld, qemu-system-i386) the snippet tests use.
// A missing tool fails the test with the package to install; it never skips.
import { strict as assert } from 'node:assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Snippet {
  prefix: string;
  description: string;
  body: string[];
}

export const snippetsPath = join(__dirname, '..', '..', 'snippets', 'hyperstep-nasm.code-snippets');

export function loadSnippets(): Record<string, Snippet> {
  return JSON.parse(readFileSync(snippetsPath, 'utf8')) as Record<string, Snippet>;
}

export function snippetBody(prefix: string): string[] {
  const found = Object.values(loadSnippets()).find((s) => s.prefix === prefix);
  assert.ok(found, `no snippet with prefix ${prefix}`);
  return found.body;
}

export function runTool(tool: string, args: string[], timeoutMs = 20000): SpawnSyncReturns<string> {
  const result = spawnSync(tool, args, { encoding: 'utf8', timeout: timeoutMs });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(`${tool} is required for this test (Debian: apt-get install nasm binutils qemu-system-x86)`);
  }
  return result;
}

/** nasm -f elf32, then ld -m elf_i386 -Ttext 0x100000 (the build line the Multiboot snippet documents). */
export function buildKernel(dir: string, source: string): string {
  const asm = join(dir, 'kernel.asm');
  writeFileSync(asm, source);
  const nasm = runTool('nasm', ['-f', 'elf32', '-o', join(dir, 'kernel.o'), asm]);
  assert.equal(nasm.status, 0, `nasm:\n${nasm.stderr}`);
  const elf = join(dir, 'kernel.elf');
  const ld = runTool('ld', ['-m', 'elf_i386', '-Ttext', '0x100000', '-o', elf, join(dir, 'kernel.o')]);
  assert.equal(ld.status, 0, `ld:\n${ld.stderr}`);
  return elf;
}

/** Boots a Multiboot kernel the way oracles.md prescribes; returns COM1 output and the exit status. */
export function bootInQemu(elf: string): { serial: string; status: number | null } {
  const qemu = runTool('qemu-system-i386', [
    '-kernel', elf, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-nic', 'none', '-no-reboot',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ], 30000);
  assert.equal(qemu.signal, null, `qemu did not exit by itself (killed by ${qemu.signal}); serial: ${qemu.stdout}`);
  return { serial: qemu.stdout, status: qemu.status };
}
