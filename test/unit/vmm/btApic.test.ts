// Binary translation and the local APIC (A&A's cr8wr, apicAccess.ts): guest kernel loads and stores on the xAPIC
// page fault in translated code (the guest's segments end below the VMM region) and the VMM performs them on the
// machine's local APIC; a TPR store that keeps faulting is re-translated into an inline update of the virtual TPR,
// after which it costs a few instruction cycles — less than the native APIC access (A&A Fig. 4: BT 35 < native
// ≈ 140). Guest-visible results equal native (TPR written and read back, another register read, the APIC's TPR at
// the end), an interrupt arriving inside the inline sequence is rolled back to a precise guest state, and the
// nanobenchmark shows BT < native.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NANOBENCHMARKS, measureNanobench } from '../../../bench/techniques/harness';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { BinaryTranslationEngine } from '../../../src/emulator/vmm/binaryTranslation/engine';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import type { Technique } from '../../../src/emulator/vmm/layers';
import { buildKernel, scratchDir } from './tools';

const RESULTS = 0x200000;
const dir = scratchDir('bt-apic');
let counter = 0;

function kernel(body: string, extra = '', defines: readonly string[] = []): Uint8Array {
  const source = path.join(dir, `apic${counter++}.asm`);
  writeFileSync(source, [
    'bits 32', '%include "multiboot.inc"', '%include "com1.inc"', '%include "pc.inc"', `R equ 0x${RESULTS.toString(16)}`,
    'APIC_TPR equ 0xFEE00080', 'APIC_VERSION equ 0xFEE00030', 'MULTIBOOT_HEADER', '_start:', '    STANDARD_BOOT fault', body,
    '    EXIT_QEMU EXIT_SUCCESS', 'fault:', '    mov dword [R + 252], 0xdeadfa17', '    EXIT_QEMU EXIT_FAILURE', extra, 'PC_ROUTINES', 'STANDARD_TABLES', 'MULTIBOOT_END', '',
  ].join('\n'));
  return new Uint8Array(readFileSync(buildKernel(source, dir, defines)));
}

function run(image: Uint8Array, technique: Technique) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
  const loaded = machine.boot(image, { kernelName: 'guest' });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique });
  assert.ok(created.ok);
  const stop = created.handle.engine.run(5_000_000);
  const view = new DataView(machine.memory.ram.buffer, machine.memory.ram.byteOffset + RESULTS, 256);
  return { stop, engine: created.handle.engine, results: Array.from({ length: 64 }, (_, i) => view.getUint32(i * 4, true)), apicTpr: machine.memory.mmio.read(0xfee00080, 4) };
}

/** 40 passes: write TPR = pass × 16 (register and immediate forms), read it back, sum the reads; read the version. */
const TPR_LOOP = `
    xor ecx, ecx
    xor esi, esi
.pass:
    mov eax, ecx
    shl eax, 4
    and eax, 0xf0
    mov [APIC_TPR], eax
    mov ebx, [APIC_TPR]
    add esi, ebx
    inc ecx
    cmp ecx, 40
    jb .pass
    mov [R + 0], esi
    mov dword [APIC_TPR], 0x20
    mov eax, [APIC_TPR]
    mov [R + 4], eax
    mov eax, [APIC_VERSION]
    mov [R + 8], eax
    mov [R + 12], esp
    mov [R + 16], fs`;

describe('binary translation: local APIC accesses and the inline virtual-TPR update (cr8wr)', function () {
  this.timeout(120_000);

  it('TPR writes and reads and other APIC registers give native results; the TPR store becomes an inline update', () => {
    const image = kernel(TPR_LOOP);
    const native = run(image, 'native');
    const bt = run(image, 'binary-translation');
    assert.deepEqual(native.stop, { kind: 'guest-exit', status: 33 });
    assert.deepEqual(bt.stop, native.stop);
    assert.equal(native.results[1], 0x20, 'the TPR reads back what was written');
    assert.deepEqual(bt.results, native.results);
    assert.equal(bt.apicTpr, native.apicTpr, 'the machine\'s local APIC ends with the TPR the guest wrote');
    assert.ok(bt.engine instanceof BinaryTranslationEngine);
    const instructions = bt.engine.translationCache().translations.filter((t) => t.invalidated === undefined).flatMap((t) => t.instructions);
    const store = instructions.find((i) => /^mov \[0xfee00080\], eax$/.test(i.original));
    assert.ok(store, instructions.map((i) => i.original).join('\n'));
    assert.equal(store.rewrite, 'inline');
    assert.match(store.why, /virtual TPR inline/);
    assert.ok(store.translated.some((t) => /^pop fs/.test(t)), store.translated.join(' | '));
    assert.ok(bt.engine.translationCache().counters.adaptiveRetranslations >= 1);
    const load = instructions.find((i) => /^mov ebx, \[(dword )?0xfee00080\]$/.test(i.original));
    assert.equal(load?.rewrite, 'ident', 'a load keeps faulting and is emulated (it is not what cr8wr measures)');
  });

  it('a timer interrupt that arrives inside the inline sequence is rolled back: ESP, FS and the results stay exact', () => {
    // The PIT at ~24 kHz (divisor 50) with IF = 1 while 100,000 TPR writes run; the handler counts ticks.
    const image = kernel(`
    call pic_remap
    mov eax, tick
    mov ebx, IRQ0_VECTOR
    mov dl, GATE_INT_DPL0
    call set_gate
    mov eax, STD_USER_DS
    mov fs, ax                          ; a selector of its own in FS: the rollback must bring it back
    call pit_start
    sti
    mov edi, esp
    xor ecx, ecx
.again:
    mov eax, ecx
    and eax, 0xf0
    mov [APIC_TPR], eax
    cmp esp, edi
    jne .broken
    inc ecx
    cmp ecx, 100000
    jb .again
    cli
    mov [R + 0], ecx
    mov eax, [APIC_TPR]
    mov [R + 4], eax
    mov [R + 8], fs
    mov eax, [ticks]
    mov [R + 12], eax
    jmp .done
.broken:
    mov dword [R + 20], 0xbad
.done:`, `tick:
    inc dword [ticks]
    PIC_EOI
    iretd
ticks: dd 0`, ['PIT_DIVISOR=50']);
    const native = run(image, 'native');
    assert.deepEqual(native.stop, { kind: 'guest-exit', status: 33 });
    const bt = run(image, 'binary-translation');
    assert.deepEqual(bt.stop, { kind: 'guest-exit', status: 33 });
    assert.equal(bt.results[0], 100000);
    assert.equal(bt.results[5], 0, 'ESP never changed inside the loop');
    assert.equal(bt.results[1], native.results[1], 'the last TPR value');
    assert.equal(bt.results[2], native.results[2], 'FS as the guest loaded it');
    assert.ok(bt.results[3]! > 5, `the timer interrupted the loop (${bt.results[3]} ticks)`);
    assert.ok(bt.engine instanceof BinaryTranslationEngine);
    assert.ok(bt.engine.translationCache().counters.inlineRollbacks > 0, 'some interrupt landed inside an inline sequence and was rolled back');
  });

  it('A&A cr8wr: under binary translation a TPR write costs less than the native APIC access', () => {
    const cr8wr = NANOBENCHMARKS.find((b) => b.name === 'cr8wr')!;
    const native = measureNanobench(cr8wr, 'native');
    const bt = measureNanobench(cr8wr, 'binary-translation');
    assert.ok(native.cycles !== undefined && bt.cycles !== undefined, `${native.problem ?? ''} ${bt.problem ?? ''}`);
    assert.ok(bt.cycles < native.cycles, `BT ${bt.cycles} < native ${native.cycles}`);
    assert.equal(bt.vmmEntriesPerOp, 0, 'after the adaptive re-translation no TPR write enters the VMM');
  });
});
