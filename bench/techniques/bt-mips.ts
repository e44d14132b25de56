// Guest MIPS of a compute loop under binary translation vs native, in guest kernel mode (the loop runs from the
// translation cache: IDENT instructions plus a chained exit) and in guest user mode (the loop runs directly),
// in the same run. The guest is generated here, built with the real nasm + ld (bench/techniques/harness.ts),
// and counts its own iterations, so "guest instructions" are exactly ITERATIONS × 5 whatever the engine adds.
// Usage: npx tsx bench/techniques/bt-mips.ts [millions of iterations, default 4] [rounds, default 9]
// After one warm-up run each, every round runs each technique with a short (1/4) and the full loop (rotating
// order); the loop's MIPS is the extra instructions over the extra CPU time, so the fixed cost of a run (machine
// creation, boot, the set-up code's translations and callouts: ~35 ms under BT, ~8 ms natively on this host)
// does not dilute it. CPU time is process.cpuUsage (wall time swings 2x on the shared host). The figure is the
// median of the per-round BT / native ratios: best-of-N compares two maxima of noisy samples (71-87 % last
// session), while a ratio within one round cancels the load both runs of the round saw.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildGuest, runGuest } from './harness';
import type { Technique } from '../../src/emulator/vmm/layers';

const iterations = Math.round(Number(process.argv[2] ?? 4) * 1_000_000);
const repetitions = Math.max(1, Number(process.argv[3] ?? 9));
const LOOP_INSTRUCTIONS = 5;
/** BT_MIPS_TECHNIQUES=native,trap-and-emulate,binary-translation adds techniques to the comparison. */
const techniques = (process.env.BT_MIPS_TECHNIQUES?.split(',') ?? ['native', 'binary-translation']) as Technique[];

const source = (user: boolean, count: number) => `bits 32
%include "multiboot.inc"
%include "com1.inc"
%include "pc.inc"
MULTIBOOT_HEADER
_start:
    STANDARD_BOOT fault
    mov al, 0xff                        ; every IRQ masked: nothing but the loop runs
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov eax, finish
    mov ebx, 0x80
    mov dl, GATE_INT_DPL3
    call set_gate
%if ${user ? 1 : 0}
    push dword STD_USER_DS
    push dword user_stack_top
    push dword 0x002
    push dword STD_USER_CS
    push dword compute
    iretd
%endif
compute:
    mov ecx, ${count}
.loop:
    add eax, ecx
    xor ebx, eax
    lea edx, [eax + ebx * 2]
    dec ecx
    jnz .loop
    int 0x80
finish:
    EXIT_QEMU EXIT_SUCCESS
fault:
    EXIT_QEMU EXIT_FAILURE
PC_ROUTINES
STANDARD_TABLES
    section .bss
alignb 16
    resb 4096
user_stack_top:
MULTIBOOT_END
`;

const dir = mkdtempSync(path.join(tmpdir(), 'hyperstep-bt-mips-'));
const rows: string[] = [];
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 === 1 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};
/** CPU microseconds of one whole run (machine, boot, engine, guest) of `image` under `technique`. */
function cpuMicros(image: Uint8Array, technique: Technique, loopIterations: number, mode: string): number {
  const cpuBefore = process.cpuUsage();
  const run = runGuest(image, technique, 'p4-2006', loopIterations * LOOP_INSTRUCTIONS * 3 + 1_000_000);
  const cpu = process.cpuUsage(cpuBefore);
  if (run.stop.kind !== 'guest-exit' || run.stop.status !== 33) throw new Error(`${technique} ${mode}: ${JSON.stringify(run.stop)}`);
  return cpu.user + cpu.system;
}
const shortIterations = Math.max(1, Math.round(iterations / 4));
for (const mode of ['kernel', 'user'] as const) {
  const build = (count: number) => {
    const file = path.join(dir, `loop-${mode}-${count}.asm`);
    writeFileSync(file, source(mode === 'user', count));
    return buildGuest(file);
  };
  const long = build(iterations);
  const short = build(shortIterations);
  const mips: Partial<Record<Technique, number[]>> = {};
  const fixed: Partial<Record<Technique, number[]>> = {};
  const ratios: Partial<Record<Technique, number[]>> = {};
  for (const technique of techniques) cpuMicros(long, technique, iterations, mode); // warm up the host JIT
  for (let r = 0; r < repetitions; r++) {
    // One round runs every technique back to back (rotating order), each with the short and the long loop: the
    // difference is the loop's own speed (boot, translation of the set-up code and engine creation cancel out,
    // as in harness.ts's nanobenchmarks), compared with native's in the same round.
    const order = techniques.map((_, i) => techniques[(i + r) % techniques.length]!);
    const round: Partial<Record<Technique, number>> = {};
    for (const technique of order) {
      const shortMicros = cpuMicros(short, technique, shortIterations, mode);
      const longMicros = cpuMicros(long, technique, iterations, mode);
      const loopMips = ((iterations - shortIterations) * LOOP_INSTRUCTIONS) / Math.max(1, longMicros - shortMicros);
      round[technique] = loopMips;
      (mips[technique] ??= []).push(loopMips);
      (fixed[technique] ??= []).push((shortMicros - (shortIterations * LOOP_INSTRUCTIONS) / loopMips) / 1000);
    }
    for (const technique of techniques) (ratios[technique] ??= []).push(round[technique]! / round.native!);
  }
  if (process.env.BT_MIPS_TECHNIQUES !== undefined) {
    for (const technique of techniques) {
      console.log(mode, technique.padEnd(20), `loop MIPS ${mips[technique]!.map((m) => m.toFixed(0)).join(' ')}`, `vs native ${ratios[technique]!.map((q) => (100 * q).toFixed(0)).join(' ')} %`, `fixed cost ${median(fixed[technique]!).toFixed(1)} ms`);
    }
  }
  const bt = 'binary-translation';
  const spread = ratios[bt]!.map((q) => (100 * q).toFixed(0));
  rows.push(`| guest ${mode} | ${median(mips.native!).toFixed(1)} | ${median(mips[bt]!).toFixed(1)} | ${(100 * median(ratios[bt]!)).toFixed(0)} % | ${spread.join(', ')} | ${median(fixed.native!).toFixed(1)} / ${median(fixed[bt]!).toFixed(1)} ms |`);
}
console.log(`Compute loop (add, xor, lea, dec, jnz), ${shortIterations.toLocaleString('en')} and ${iterations.toLocaleString('en')} iterations, ${repetitions} interleaved rounds, per CPU second of this process:`);
console.log('| loop in | native loop MIPS (median) | binary-translation loop MIPS (median) | BT / native (median of per-round ratios) | per-round ratios | fixed cost per run, native / BT |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
