// LAR, LSL, VERR and VERW under binary translation answer exactly as on bare metal (issue 6: BT gives the
// equivalence trap-and-emulate cannot). A guest kernel (real nasm + ld) loads a GDT of its own with every kind of
// descriptor the queries distinguish (ring-0/1/3 code and data, conforming and execute-only code, read-only data,
// byte and page granularity, busy TSS, LDT, call gate) and an LDT, queries a list of selectors (null, RPL above
// DPL, beyond the GDT limit, in the LDT) with 32-bit, 16-bit and memory operands, and stores the values and ZF.
// The results must be byte-identical under native and binary-translation; trap-and-emulate, where the queries
// run at ring 1 against the shadow GDT, must still differ (the lesson). The TC must show them as callouts.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { BinaryTranslationEngine } from '../../../src/emulator/vmm/binaryTranslation/engine';
import { queryDescriptor } from '../../../src/emulator/vmm/binaryTranslation/descriptorQueries';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import type { Technique } from '../../../src/emulator/vmm/layers';
import { buildKernel, scratchDir } from './tools';

const RESULTS = 0x200000;
/** Selectors queried: GDT (standard, then the test's own entries), beyond the limit, LDT, RPL variations. */
const SELECTORS = [0x00, 0x03, 0x08, 0x0b, 0x10, 0x13, 0x1b, 0x23, 0x28, 0x2b, 0x30, 0x38, 0x39, 0x3b, 0x40, 0x43, 0x48, 0x50, 0x58, 0x60, 0x68, 0xf8, 0x04, 0x0c, 0x0f, 0x14, 0x17, 0x1c];
const SLOT = 16;

/** One slot per selector: LAR value, LSL value, then ZF of lar/lsl/verr/verw as bits 0..3 (EAX/EBX preset to a marker). */
function query(selector: number, slot: number): string {
  const at = `R + ${slot * SLOT}`;
  return `
    mov ecx, 0x${selector.toString(16)}
    xor edx, edx
    mov eax, 0x5a5a5a5a
    lar eax, ecx
    setz dl
    mov [${at}], eax
    mov eax, 0xa5a5a5a5
    lsl eax, cx
    setz dh
    mov [${at} + 4], eax
    shl dh, 1
    or dl, dh
    verr cx
    setz dh
    shl dh, 2
    or dl, dh
    mov [${at} + 12], cx
    verw [${at} + 12]
    setz dh
    shl dh, 3
    or dl, dh
    mov [${at} + 8], dl`;
}

function guestSource(): string {
  const queries = SELECTORS.map((selector, slot) => query(selector, slot)).join('\n');
  const before = SELECTORS.length;
  return [
    'bits 32', '%include "multiboot.inc"', '%include "com1.inc"', '%include "pc.inc"', `R equ 0x${RESULTS.toString(16)}`, 'MULTIBOOT_HEADER', '_start:',
    // The accessed bits of the standard descriptors are set up front: on bare metal the segment loads below set
    // them in the guest's GDT, under a VMM in the shadow GDT only (a known gap of shadow descriptor tables, not
    // of the queries, which report whatever the guest's descriptor holds).
    ...[1, 2, 3, 4].map((k) => `    or byte [std_gdt + ${k * 8 + 5}], 1`),
    '    STANDARD_BOOT fault',
    // The standard GDT first (its limit ends at 0x2f: 0x30 and up must look invalid, even though the VMM's
    // shadow GDT has descriptors there).
    query(0x30, before), query(0x08, before + 1), query(0x10, before + 2),
    // Then the test's GDT: a copy of the standard six entries plus its own, and an LDT.
    '    mov esi, std_gdt', '    mov edi, test_gdt', '    mov ecx, 12', '    cld', '    rep movsd',
    // The copied TSS descriptor is marked busy as LTR marks it on bare metal (trap-and-emulate's LTR handler
    // loads the virtual TR without writing the busy bit into the guest's GDT: a gap of that handler).
    '    or byte [test_gdt + 0x28 + 5], 2',
    '    mov eax, test_ldt', '    mov [test_gdt + 0x30 + 2], ax', '    shr eax, 16', '    mov [test_gdt + 0x30 + 4], al', '    mov [test_gdt + 0x30 + 7], ah',
    '    lgdt [test_gdtr]', '    mov ax, 0x30', '    lldt ax',
    queries,
    // 16-bit destinations keep their upper half.
    '    mov eax, 0x12345678', '    mov cx, 0x10', '    lar ax, cx', `    mov [R + ${(before + 3) * SLOT}], eax`,
    '    mov eax, 0x12345678', '    mov cx, 0x58', '    lsl ax, cx', `    mov [R + ${(before + 3) * SLOT} + 4], eax`,
    '    EXIT_QEMU EXIT_SUCCESS',
    'fault:', '    EXIT_QEMU EXIT_FAILURE',
    'PC_ROUTINES', 'STANDARD_TABLES',
    '    section .data', 'align 8',
    'test_gdt:', '    times 6 dq 0',
    '    dq 0x0000820000000017                  ; 0x30 LDT, limit 0x17 (base patched)',
    '    dq 0x00CFB2000000FFFF                  ; 0x38 data DPL 1, writable',
    '    dq 0x00CF9E000000FFFF                  ; 0x40 conforming code DPL 0, readable',
    '    dd 0x00081000, 0x00008C00              ; 0x48 32-bit call gate DPL 0',
    '    dq 0x00CFF8000000FFFF                  ; 0x50 code DPL 3, execute-only',
    '    dq 0x0040900000001234                  ; 0x58 data DPL 0, read-only, byte granular',
    '    dq 0x00CF9A000000FFFF                  ; 0x60 code DPL 0 (beyond the limit: the GDTR ends at 0x5f)',
    'test_gdt_end_visible:',
    'test_gdtr:', '    dw 0x5f', '    dd test_gdt',
    'align 8',
    'test_ldt:', '    dq 0', '    dq 0x0040920000000FFF                  ; LDT 0x0c data DPL 0', '    dq 0x00CFF2000000FFFF                  ; LDT 0x14 data DPL 3',
    'MULTIBOOT_END', '',
  ].join('\n');
}

let image: Uint8Array | undefined;
function guest(): Uint8Array {
  if (image !== undefined) return image;
  const dir = scratchDir('bt-descriptor-queries');
  const source = path.join(dir, 'queries.asm');
  writeFileSync(source, guestSource());
  image = new Uint8Array(readFileSync(buildKernel(source, dir)));
  return image;
}

function run(technique: Technique) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
  const loaded = machine.boot(guest(), { kernelName: 'guest' });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique });
  assert.ok(created.ok);
  const stop = created.handle.engine.run(2_000_000);
  const bytes = machine.memory.ram.subarray(RESULTS, RESULTS + (SELECTORS.length + 4) * SLOT);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slot = (n: number) => ({ lar: view.getUint32(n * SLOT, true), lsl: view.getUint32(n * SLOT + 4, true), zf: view.getUint8(n * SLOT + 8) });
  return { stop, engine: created.handle.engine, bytes: Array.from(bytes), slot };
}

describe('binary translation: lar, lsl, verr, verw answer from the virtual descriptor tables', function () {
  this.timeout(60000);

  it('every query, operand form and table gives what the bare-metal CPU gives', () => {
    const native = run('native');
    const bt = run('binary-translation');
    assert.deepEqual(native.stop, { kind: 'guest-exit', status: 33 });
    assert.deepEqual(bt.stop, native.stop);
    // Spot-check the native answers against the SDM so the comparison is not between two wrong runs.
    const at = (selector: number) => native.slot(SELECTORS.indexOf(selector));
    assert.deepEqual(at(0x08), { lar: 0x00c09b00, lsl: 0xffffffff, zf: 0b0111 }, 'kernel code: readable, not writable');
    assert.deepEqual(at(0x10).zf, 0b1111, 'kernel data: everything visible');
    assert.equal(at(0x0b).zf, 0, 'RPL 3 above DPL 0: nothing visible');
    assert.equal(at(0x38).lar, 0x00c0b200, 'DPL 1 data shows DPL 1');
    assert.equal(at(0x43).zf, 0b0111, 'conforming code ignores RPL');
    assert.equal(at(0x48).zf, 0b0001, 'a call gate: LAR only');
    assert.equal(at(0x28).zf, 0b0011, 'busy TSS: LAR and LSL');
    assert.equal(at(0x50).zf, 0b0011, 'execute-only code: not readable');
    assert.deepEqual(at(0x58), { lar: 0x00409000, lsl: 0x1234, zf: 0b0111 }, 'read-only byte-granular data');
    assert.equal(at(0x60).zf, 0, 'beyond the GDT limit');
    assert.equal(at(0x0c).lsl, 0xfff, 'LDT entry');
    assert.equal(at(0x1c).zf, 0, 'beyond the LDT limit');
    const standard = SELECTORS.length;
    assert.equal(native.slot(standard).zf, 0, '0x30 lies beyond the standard GDT');
    assert.equal(native.slot(standard + 3).lar, 0x12349300, 'lar ax keeps the upper half of EAX');
    assert.equal(native.slot(standard + 3).lsl, 0x12341234, 'lsl ax keeps the upper half of EAX');
    // The equivalence itself, selector by selector for a readable failure.
    for (let n = 0; n < SELECTORS.length + 4; n++) assert.deepEqual(bt.slot(n), native.slot(n), `slot ${n} (selector 0x${(SELECTORS[n] ?? -1).toString(16)})`);
    assert.deepEqual(bt.bytes, native.bytes);
    assert.ok(bt.engine instanceof BinaryTranslationEngine);
    const instructions = bt.engine.translationCache().translations.flatMap((t) => t.instructions);
    for (const mnemonic of ['lar', 'lsl', 'verr', 'verw']) {
      const found = instructions.find((i) => i.original.startsWith(`${mnemonic} `));
      assert.ok(found, `a translation holds ${mnemonic}`);
      assert.equal(found.rewrite, 'callout');
      assert.match(found.why, /virtual GDT\/LDT at virtual CPL 0/);
    }
  });

  it('trap-and-emulate keeps the lesson: the queries run at ring 1 against the shadow GDT and answer differently', () => {
    const native = run('native');
    const te = run('trap-and-emulate');
    assert.deepEqual(te.stop, { kind: 'guest-exit', status: 33 });
    const kernelCode = SELECTORS.indexOf(0x08);
    assert.equal(te.slot(kernelCode).lar & 0x6000, 0x2000, 'the shadow descriptor of guest ring-0 code has DPL 1');
    assert.notDeepEqual(te.slot(kernelCode), native.slot(kernelCode));
  });

  it('the query itself follows the SDM on hand-made tables (null, LDT without a valid LDTR, granularity)', () => {
    const memory = new Map<number, number>();
    const put = (address: number, low: number, high: number) => {
      memory.set(address, low >>> 0);
      memory.set(address + 4, high >>> 0);
    };
    put(0x1000 + 8, 0x0000ffff, 0x00cf9a00); // code DPL 0
    put(0x1000 + 16, 0x2000000f, 0x00008200); // LDT at 0x2000, limit 0xf
    put(0x2000 + 8, 0x00000001, 0x00c0f200); // LDT data DPL 3, 4 KiB granular, limit 1 → 0x1fff
    const tables = (ldtr: number) => ({ gdtBase: 0x1000, gdtLimit: 0x17, ldtr, readLinear: (address: number) => memory.get(address) });
    assert.deepEqual(queryDescriptor('lar', 0, 0, tables(0)), { zf: false, value: 0 });
    assert.deepEqual(queryDescriptor('lar', 8, 0, tables(0)), { zf: true, value: 0x00c09a00 });
    assert.equal(queryDescriptor('lar', 8, 3, tables(0)).zf, false, 'CPL 3 sees no DPL 0 code');
    assert.equal(queryDescriptor('lsl', 0x0f, 3, tables(0)).zf, false, 'no LDT while the LDTR is null');
    assert.deepEqual(queryDescriptor('lsl', 0x0f, 3, tables(0x10)), { zf: true, value: 0x1fff });
    assert.equal(queryDescriptor('verw', 0x0f, 3, tables(0x10)).zf, true);
    assert.equal(queryDescriptor('verr', 0x10, 0, tables(0x10)).zf, false, 'an LDT descriptor is not a segment');
    assert.equal(queryDescriptor('lsl', 0x18, 0, tables(0x10)).zf, false, 'beyond the GDT limit');
  });
});
