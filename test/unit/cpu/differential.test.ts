// Differential test at user level against qemu-i386 (see /work/shared/reference/oracles.md): random
// instruction streams over registers and a shared memory buffer (ALU, shifts/rotates, multiply, bit ops, SETcc/CMOVcc, LEA, MOVZX/
// MOVSX, XCHG/XADD/CMPXCHG/BSWAP, conversions, flag ops, memory forms, string ops with REP/REPE/REPNE,
// 8/16/32-bit forms) run single-stepped in QEMU and
// in HyperStep; EAX..EDI (ESP excluded: the stacks differ), EIP and EFLAGS are compared after every
// instruction, with the flags the instruction table marks undefined masked. Seeds are fixed and printed.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecodedInstruction, decodeInstruction } from '../../../src/emulator/isa/decoder';
import { INSTRUCTION_FORMS } from '../../../src/emulator/isa/table';
import { readEflags, writeEflags } from '../../../src/emulator/cpu/lazyFlags';
import { EIP } from '../../../src/emulator/cpu/stateLayout';
import { enterFlatProtectedMode } from '../../../src/emulator/cpu/reset';
import { createMachine } from './harness';
import { randomInstruction } from './randomInstructions';

const TEXT = 0x1000000;
/** A zeroed, writable 256-byte buffer at the same address in both runs (QEMU: the .data section). */
const BUFFER = 0x1100000;

function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

function tool(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: 'pipe' });
  } catch (e) {
    const error = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (error.code === 'ENOENT') throw new Error(`${command} is not installed: the differential CPU test needs nasm, ld and qemu-i386`);
    throw new Error(`${command} failed: ${error.stderr?.toString() ?? String(e)}`);
  }
}

interface Trace { regs: number[]; eip: number; eflags: number }

function qemuTrace(program: string, dir: string): Trace[] {
  writeFileSync(join(dir, 'u.asm'), `bits 32\nglobal _start\nbuffer equ 0x${BUFFER.toString(16)}\nsection .text\n_start:\n${program}\n  mov eax, 1\n  xor ebx, ebx\n  int 0x80\nsection .data\n  times 256 db 0\n`);
  tool('nasm', ['-f', 'elf32', '-o', join(dir, 'u.o'), join(dir, 'u.asm')]);
  tool('ld', ['-m', 'elf_i386', `-Ttext=0x${TEXT.toString(16)}`, `-Tdata=0x${BUFFER.toString(16)}`, '-e', '_start', '-o', join(dir, 'u'), join(dir, 'u.o')]);
  tool('qemu-i386', ['-singlestep', '-d', 'cpu,nochain', '-D', join(dir, 'trace.log'), join(dir, 'u')]);
  const log = readFileSync(join(dir, 'trace.log'), 'utf8');
  const traces: Trace[] = [];
  const re = /EAX=([0-9a-f]{8}) EBX=([0-9a-f]{8}) ECX=([0-9a-f]{8}) EDX=([0-9a-f]{8})\nESI=([0-9a-f]{8}) EDI=([0-9a-f]{8}) EBP=([0-9a-f]{8}) ESP=([0-9a-f]{8})\nEIP=([0-9a-f]{8}) EFL=([0-9a-f]{8})/g;
  for (const m of log.matchAll(re)) {
    const v = m.slice(1).map((h) => parseInt(h, 16));
    // HyperStep order: EAX ECX EDX EBX ESP EBP ESI EDI
    traces.push({ regs: [v[0]!, v[2]!, v[3]!, v[1]!, v[7]!, v[6]!, v[4]!, v[5]!], eip: v[8]!, eflags: v[9]! });
  }
  return traces;
}

const INIT = (next: () => number): string => [
  ...['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'].map((r) => `mov ${r}, ${next() | 0}`),
  `push dword ${(next() & 0x8d5) | 0x202}`, 'popfd',
].join('\n');

describe('cpu differential vs qemu-i386 (user level)', function () {
  this.timeout(120000);
  // A larger run: HYPERSTEP_DIFF_SEEDS=40 npx mocha test/unit/cpu/differential.test.ts
  const seedCount = Number(process.env.HYPERSTEP_DIFF_SEEDS ?? 4);
  const SEEDS = Array.from({ length: seedCount }, (_, i) => i + 1);
  const LENGTH = 250;
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${LENGTH} random instructions match QEMU after every step`, () => {
      const next = rng(seed * 0x9e3779b1);
      const lines = [INIT(next)];
      for (let i = 0; i < LENGTH; i++) lines.push(randomInstruction(next));
      const program = lines.join('\n');
      const dir = mkdtempSync(join(tmpdir(), 'hyperstep-diff-'));
      try {
        const expected = qemuTrace(program, dir);
        writeFileSync(join(dir, 'b.asm'), `bits 32\norg 0x${TEXT.toString(16)}\nbuffer equ 0x${BUFFER.toString(16)}\n${program}\n  mov eax, 1\n  xor ebx, ebx\n  int 0x80\n`);
        tool('nasm', ['-f', 'bin', '-o', join(dir, 'b.bin'), join(dir, 'b.asm')]);
        const code = new Uint8Array(readFileSync(join(dir, 'b.bin')));
        const m = createMachine(BUFFER + 0x1000);
        m.ram.set(code, TEXT);
        enterFlatProtectedMode(m.cpu, { eip: TEXT, esp: 0x8000 });
        for (const r of [0, 1, 2, 3, 5, 6, 7]) m.cpu.s[r] = expected[0]!.regs[r]!;
        writeEflags(m.cpu.s, expected[0]!.eflags);
        const decoded = new DecodedInstruction();
        let compared = 0;
        // QEMU single-steps each REP iteration as its own step (EIP unchanged); HyperStep completes the
        // string instruction in one step, so the QEMU trace skips ahead to the next EIP.
        let i = 0;
        while (i + 1 < expected.length) {
          const eip = m.cpu.s[EIP]! >>> 0;
          assert.equal(eip, expected[i]!.eip, `step ${i}: EIP`);
          decodeInstruction(m.ram, eip, eip + 15, 32, decoded);
          const form = INSTRUCTION_FORMS[decoded.formIndex]!;
          if (form.mnemonic === 'int') break; // the exit system call
          const text = Buffer.from(m.ram.subarray(eip, eip + decoded.length)).toString('hex');
          m.cpu.run(1);
          let j = i + 1;
          while (j + 1 < expected.length && expected[j]!.eip === eip && form.category === 'string') j++;
          const after = expected[j]!;
          const where = `seed ${seed} step ${i}: ${form.sdm} (${text})`;
          for (const r of [0, 1, 2, 3, 5, 6, 7]) assert.equal(m.cpu.s[r]! >>> 0, after.regs[r], `${where}: register ${r}`);
          const mask = ~form.flagsUndefined & 0x8d5;
          assert.equal((readEflags(m.cpu.s) & mask).toString(16), (after.eflags & mask).toString(16), `${where}: EFLAGS`);
          if (process.env.HYPERSTEP_DIFF_VERBOSE && (readEflags(m.cpu.s) & 0x8d5) !== (after.eflags & 0x8d5)) {
            console.log(`${where}: undefined flags differ: ours ${(readEflags(m.cpu.s) & 0x8d5).toString(16)} qemu ${(after.eflags & 0x8d5).toString(16)}`);
          }
          // Undefined flags must not cascade into later comparisons: continue from QEMU's values.
          writeEflags(m.cpu.s, after.eflags);
          compared++;
          i = j;
        }
        assert.ok(compared >= LENGTH, `compared ${compared} instructions`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
