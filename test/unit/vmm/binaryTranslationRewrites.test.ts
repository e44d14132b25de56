// Binary translation, instruction class by instruction class: small guest kernels (real nasm + ld, Multiboot)
// store what each sensitive instruction showed them into a results area; the area must be byte-identical under
// native and binary-translation, and the translation cache must show the rewrite the class calls for (IDENT,
// inline, callout). Also: self-modifying code invalidates translations, a store that keeps hitting translated
// pages becomes an adaptive callout, misbehaving guests are stopped, the debugger steps through a translation's
// named steps, and a snapshot restores the TC index.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EIP, SEG_BASE } from '../../../src/emulator/cpu/stateLayout';
import type { Ia32CpuAdapter } from '../../../src/emulator/machine/cpuAdapter';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import type { EngineStop } from '../../../src/emulator/vmm/engine';
import type { TranslatedInstruction } from '../../../src/emulator/vmm/inspection';
import { BinaryTranslationEngine } from '../../../src/emulator/vmm/binaryTranslation/engine';
import { TRANSLATION_STEPS } from '../../../src/emulator/vmm/binaryTranslation/translationSteps';
import { buildKernel, requireTool, scratchDir } from './tools';

const dir = scratchDir('bt-rewrites');
const RESULTS = 0x200000;
const RESULT_BYTES = 256;
let counter = 0;

/** A kernel with the standard GDT/IDT/TSS; `body` stores into [R + n]; it exits through the debug port. */
function kernel(body: string, extra = ''): Uint8Array {
  const source = path.join(dir, `guest${counter++}.asm`);
  writeFileSync(
    source,
    [
      'bits 32', '%include "multiboot.inc"', '%include "com1.inc"', '%include "pc.inc"', `R equ 0x${RESULTS.toString(16)}`, 'MULTIBOOT_HEADER', '_start:',
      '    STANDARD_BOOT fault', body, '    EXIT_QEMU EXIT_SUCCESS', 'fault:', '    mov dword [R + 252], 0xdeadfa17', '    EXIT_QEMU EXIT_FAILURE', extra,
      'PC_ROUTINES', 'STANDARD_TABLES', 'MULTIBOOT_END', '',
    ].join('\n'),
  );
  return new Uint8Array(readFileSync(buildKernel(source, dir)));
}

function bare(body: string): Uint8Array {
  const source = path.join(dir, `bare${counter++}.asm`);
  writeFileSync(source, ['bits 32', '%include "multiboot.inc"', 'MULTIBOOT_HEADER', '_start:', body, 'MULTIBOOT_END', ''].join('\n'));
  return new Uint8Array(readFileSync(buildKernel(source, dir)));
}

function boot(image: Uint8Array, technique: 'native' | 'binary-translation') {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
  const loaded = machine.boot(image, { kernelName: 'guest' });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique });
  assert.ok(created.ok);
  return { machine, engine: created.handle.engine, log: created.handle.log };
}

function run(image: Uint8Array, technique: 'native' | 'binary-translation', budget = 2_000_000) {
  const b = boot(image, technique);
  const stop: EngineStop = b.engine.run(budget);
  return { ...b, stop, results: Array.from(b.machine.memory.ram.subarray(RESULTS, RESULTS + RESULT_BYTES)) };
}

/** Runs natively and translated; asserts identical results and a clean exit; returns the BT run. */
function equivalent(body: string, extra = '') {
  const image = kernel(body, extra);
  const native = run(image, 'native');
  const bt = run(image, 'binary-translation');
  assert.deepEqual(native.stop, { kind: 'guest-exit', status: 33 }, 'the guest itself works natively');
  assert.deepEqual(bt.stop, native.stop);
  assert.deepEqual(bt.results, native.results);
  assert.ok(bt.engine instanceof BinaryTranslationEngine);
  return { ...bt, engine: bt.engine, native };
}

function translated(engine: BinaryTranslationEngine, original: RegExp): TranslatedInstruction {
  const found = engine.translationCache().translations.flatMap((t) => t.instructions).find((i) => original.test(i.original));
  assert.ok(found, `a translation holds ${original}`);
  return found;
}

/** Address of a label in the last built kernel image (nm on the ELF written for it). */
function symbol(image: Uint8Array, name: string): number {
  requireTool('nm');
  const elf = path.join(dir, `symbols${counter++}.elf`);
  writeFileSync(elf, image);
  const line = execFileSync('nm', [elf], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith(` ${name}`));
  assert.ok(line, `symbol ${name}`);
  return parseInt(line.split(' ')[0]!, 16);
}

const word = (results: readonly number[], offset: number) => (results[offset]! | (results[offset + 1]! << 8) | (results[offset + 2]! << 16) | (results[offset + 3]! << 24)) >>> 0;

describe('binary translation: rewrites per instruction class (native equivalence)', function () {
  this.timeout(60000);

  it('interrupt flag: cli, sti, pushf and popf see and change the virtual IF/IOPL (callouts)', () => {
    const r = equivalent(`
    cli
    pushfd
    pop dword [R + 0]
    sti
    pushfd
    pop dword [R + 4]
    pushfd
    pop eax
    and eax, ~0x200
    push eax
    popfd
    pushfd
    pop dword [R + 8]
    push dword 0x3002
    popfd
    pushfd
    pop dword [R + 12]
    push dword 0x0002
    popfd`);
    assert.equal(word(r.results, 0) & 0x200, 0, 'cli then pushf shows IF = 0');
    assert.equal(word(r.results, 4) & 0x200, 0x200);
    assert.equal(word(r.results, 8) & 0x200, 0, 'popf cleared IF');
    assert.equal(word(r.results, 12) & 0x3000, 0x3000, 'popf at virtual CPL 0 sets IOPL');
    for (const [text, why] of [[/^cli$/, /privileged/], [/^sti$/, /privileged/], [/^pushf$/, /virtual flags/], [/^popf$/, /Robin & Irvine/]] as const) {
      const i = translated(r.engine, text);
      assert.equal(i.rewrite, 'callout');
      assert.match(i.why, why);
      assert.match(i.translated[0]!, /^int 0xbc ; callout/);
    }
  });

  it('descriptor tables and CR0: sgdt, sidt, sldt, str, smsw report the virtual CPU (callouts)', () => {
    const r = equivalent(`
    sgdt [R + 16]
    sidt [R + 24]
    sldt eax
    mov [R + 32], eax
    str eax
    mov [R + 36], eax
    smsw eax
    mov [R + 40], eax
    mov eax, cr0
    mov [R + 44], eax
    mov dword [R + 48], 0xaaaaaaaa
    smsw [R + 48]`);
    assert.equal(word(r.results, 36), 0x28, 'str shows the guest\'s TSS selector');
    for (const text of [/^sgdt/, /^sidt/, /^sldt/, /^str/, /^smsw eax/, /^mov eax, cr0/]) assert.equal(translated(r.engine, text).rewrite, 'callout');
  });

  it('segment registers: cs reads are inlined with the guest selector; ss reads are callouts; ds loads are IDENT', () => {
    const r = equivalent(`
    mov eax, cs
    mov [R + 52], eax
    mov eax, 0xffffffff
    mov ax, ss
    mov [R + 56], eax
    push cs
    pop dword [R + 60]
    push ss
    pop dword [R + 64]
    mov dword [R + 68], 0xaaaaaaaa
    mov [R + 68], cs
    mov ax, ds
    mov ds, ax
    mov [R + 72], ax`);
    assert.equal(word(r.results, 52), 0x08);
    assert.equal(word(r.results, 56), 0xffff0010);
    assert.equal(translated(r.engine, /^mov eax, cs$/).rewrite, 'inline');
    assert.deepEqual(translated(r.engine, /^push cs$/).translated, ['push dword 0x8']);
    assert.deepEqual(translated(r.engine, /^mov \[dword 0x200044\], cs$/).translated, ['mov word [dword 0x200044], 0x8']);
    assert.equal(translated(r.engine, /^mov ax, ss$/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^push ss$/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^mov ds, eax$/).rewrite, 'ident');
  });

  it('control flow: direct branches become chainable exits, calls push the guest return address, ret is a lookup', () => {
    const r = equivalent(
      `
    mov ecx, 5
    xor eax, eax
.sum:
    add eax, ecx
    loop .sum
    mov [R + 76], eax
    call probe
    mov [R + 80], ebx
    mov edx, .target
    jmp edx
    mov dword [R + 84], 0xbad
.target:
    mov dword [R + 88], 1
    xor ecx, ecx
    jecxz .zero
    mov dword [R + 92], 0xbad
.zero:
    cmp ecx, 1
    jb .below
    mov dword [R + 96], 0xbad
.below:
    mov dword [R + 100], 2`,
      'probe:\n    mov ebx, [esp]\n    ret',
    );
    assert.equal(word(r.results, 76), 15);
    assert.ok(word(r.results, 80) >= 0x100000 && word(r.results, 80) < r.engine.tcBase, 'the pushed return address is a guest address');
    assert.equal(translated(r.engine, /^call /).rewrite, 'inline');
    assert.match(translated(r.engine, /^call /).translated[0]!, /^push dword 0x/);
    assert.equal(translated(r.engine, /^ret$/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^jmp edx$/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^loop /).rewrite, 'inline');
    assert.ok(r.engine.translationCache().counters['chainedExits']! > 0);
  });

  it('I/O, software interrupts and far transfers: emulated or delivered through the virtual IDT', () => {
    const r = equivalent(
      `
    in al, 0x21
    mov [R + 104], al
    mov eax, int_handler
    mov ebx, 0x30
    mov dl, GATE_INT_DPL0
    call set_gate
    int 0x30
    call 0x08:far_probe
    mov [R + 112], eax
    jmp 0x08:.far_done
.far_done:
    mov eax, cs
    mov [R + 116], eax`,
      'int_handler:\n    mov eax, [esp + 4]\n    mov [R + 108], eax\n    iretd\nfar_probe:\n    mov eax, [esp + 4]\n    retf',
    );
    assert.equal(word(r.results, 108), 0x08, 'the int frame shows the guest\'s CS');
    assert.equal(word(r.results, 112), 0x08, 'the far call pushed the guest\'s CS');
    assert.equal(translated(r.engine, /^in al, 0x21$/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^int 0x30$/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^call 0x8:/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^retf$/).rewrite, 'callout');
    assert.equal(translated(r.engine, /^iret/).rewrite, 'callout');
  });

  it('self-modifying code: a write to translated bytes invalidates the translation and the new code runs', () => {
    const r = equivalent(
      `
    mov ecx, 3
    xor esi, esi
.again:
    call patched
    add esi, eax
    inc dword [patched + 1]
    loop .again
    mov [R + 120], esi`,
      'patched:\n    mov eax, 0x100\n    ret',
    );
    assert.equal(word(r.results, 120), 0x303);
    const tc = r.engine.translationCache();
    assert.ok(tc.counters['invalidations']! >= 2);
    const stale = tc.translations.filter((t) => t.invalidated !== undefined && /changed the translated bytes/.test(t.invalidated));
    // Each version of the patched instruction was translated, ran once, and was invalidated by the next inc.
    assert.deepEqual(stale.map((t) => t.instructions[0]!.original), ['mov eax, 0x100', 'mov eax, 0x101', 'mov eax, 0x102']);
    assert.ok(r.log.list().some((t) => t.kind === 'translation' && t.reason.startsWith('invalidate translation #')));
  });

  it('adaptive translation: a store that keeps hitting a page with translated code becomes a callout', () => {
    const r = equivalent(
      `
    mov ecx, 40
.count:
    inc dword [counter_in_text]
    dec ecx
    jnz .count
    mov eax, [counter_in_text]
    mov [R + 124], eax`,
      'counter_in_text: dd 0',
    );
    assert.equal(word(r.results, 124), 40);
    const tc = r.engine.translationCache();
    assert.ok(tc.counters['adaptiveRetranslations']! >= 1);
    const store = tc.translations.filter((t) => t.invalidated === undefined).flatMap((t) => t.instructions).find((i) => /^inc dword/.test(i.original));
    assert.ok(store);
    assert.equal(store.rewrite, 'callout');
    assert.match(store.why, /adaptive/);
    assert.ok(tc.counters['writeChecks']! >= 40);
    for (const t of tc.translations) if (t.invalidated !== undefined) assert.match(t.invalidated, /^adaptive re-translation/, 'the counter\'s bytes never changed code');
  });
});

describe('binary translation: misbehaving guests, stepping, snapshots', function () {
  this.timeout(60000);

  it('stops a faulting guest with no usable IDT, a halted guest with interrupts off, and paging over an empty directory', () => {
    const ud = run(bare('    lidt [empty_idt]\n    ud2\nempty_idt: dw 0\n    dd 0'), 'binary-translation').stop;
    assert.equal(ud.kind, 'stop');
    assert.match(ud.kind === 'stop' ? ud.message : '', /cannot deliver vector 6/);
    assert.deepEqual(run(bare('    cli\n    hlt'), 'binary-translation').stop, { kind: 'stop', message: 'HLT with virtual interrupts disabled: the guest is stopped for good' });
    const paging = run(bare('    mov eax, cr0\n    or eax, 0x80000000\n    mov cr0, eax\n    hlt'), 'binary-translation').stop;
    assert.equal(paging.kind, 'stop');
    assert.match(paging.kind === 'stop' ? paging.message : '', /cannot deliver vector 14/, 'shadow paging finds no mapping; the #PF cannot be delivered');
  });

  it('returns control from a looping guest (a self-chained translation) when its budget is used up', () => {
    const r = run(bare('    jmp $'), 'binary-translation', 50_000);
    assert.deepEqual(r.stop, { kind: 'budget' });
    const tc = (r.engine as BinaryTranslationEngine).translationCache();
    const loop = tc.translations.find((t) => t.instructions[0]!.original.startsWith('jmp'));
    assert.ok(loop);
    assert.deepEqual(loop.chainedTo, [loop.id], 'the loop\'s exit jumps to its own translation');
  });

  it('the debugger steps through a translation\'s named steps, then through translated code', () => {
    const { engine } = boot(bare('    mov eax, 1\n    add eax, 2\n    cli\n    hlt'), 'binary-translation');
    assert.deepEqual(engine.step(), { kind: 'step-done' });
    const handler = engine.activeHandler();
    assert.ok(handler);
    assert.deepEqual(handler.stepNames, [...TRANSLATION_STEPS]);
    assert.match(handler.handler, /^BT: translate the unit at 0x/);
    const seen: string[] = [];
    for (let i = 0; i < 5 && engine.activeHandler() !== undefined; i++) {
      engine.step();
      const executed = engine.activeHandler()?.executed;
      if (executed !== undefined) seen.push(executed[executed.length - 1]!.name);
    }
    assert.equal(engine.activeHandler(), undefined);
    assert.deepEqual(seen.slice(0, 3), ['decode guest block', 'emit IDENT', 'rewrite sensitive and control-flow instructions']);
    engine.step(); // mov eax, 1 in the TC
    engine.step(); // add eax, 2
    assert.equal(engine.translationCache?.().translations.length, 1);
  });

  it('a debugger breakpoint on translated kernel code stops there on every pass, without changing the translation', () => {
    const image = kernel('    mov ecx, 3\nbp_again:\n    nop\nbp_target:\n    inc dword [R + 136]\n    loop bp_again\n    mov dword [R + 140], 1');
    const { machine, engine } = boot(image, 'binary-translation');
    // As the debug adapter does (runtime.ts): every machine slice first checks the PC against the breakpoints
    // (except the address the debugger resumes from), then runs the CPU's breakpoint-honouring loop.
    const core = (machine.cpu as Ia32CpuAdapter).core;
    const breakpoints = new Set<number>();
    let skip = -1;
    const run = machine.run.bind(machine);
    machine.run = (budget: number) => {
      const pc = (core.s[SEG_BASE + 1]! + core.s[EIP]!) >>> 0;
      if (pc !== skip && breakpoints.has(pc)) return { reason: 'breakpoint', detail: 'execution breakpoint' };
      skip = -1;
      return run(budget, { debug: true });
    };
    engine.run(200); // boot and translate some kernel code first
    const bt = engine as BinaryTranslationEngine;
    const liveIds = () => bt.translationCache().translations.filter((t) => t.invalidated === undefined).map((t) => t.id);
    const address = symbol(image, 'bp_target');
    const invalidationsBefore = bt.translationCache().counters.invalidations;
    breakpoints.add(address);
    machine.cpu.setBreakpoint(address);
    const stops: EngineStop[] = [];
    for (let i = 0; i < 10; i++) {
      const stop = engine.run(1_000_000);
      stops.push(stop);
      if (stop.kind !== 'breakpoint') break;
      skip = stop.address;
      assert.equal(word(Array.from(machine.memory.ram.subarray(RESULTS, RESULTS + RESULT_BYTES)), 136), i, 'stopped before the inc ran');
    }
    assert.deepEqual(stops, [...Array(3).fill({ kind: 'breakpoint', address }), { kind: 'guest-exit', status: 33 }]);
    const inc = bt.translationCache().translations.filter((t) => t.invalidated === undefined).flatMap((t) => t.instructions).find((i) => i.guestAddress === address);
    assert.ok(inc);
    assert.equal(inc.rewrite, 'ident', 'the breakpoint is a CPU breakpoint on the TC address, the instruction stays IDENT');
    assert.equal(bt.translationCache().counters.invalidations, invalidationsBefore, 'setting the breakpoint invalidated nothing');
    assert.ok(liveIds().length > 0);
  });

  it('the translation cache is the same whatever breakpoints are set (reverse debugging replays meet recorded positions)', () => {
    const image = kernel('    mov ecx, 50\nbp_loop:\n    nop\nbp_mid:\n    inc dword [R + 136]\n    jmp bp_next\nbp_next:\n    loop bp_loop\n    mov dword [R + 140], 1');
    const runWith = (breakpoints: readonly string[]) => {
      const { machine, engine } = boot(image, 'binary-translation');
      for (const name of breakpoints) machine.cpu.setBreakpoint(symbol(image, name));
      const stop = engine.run(2_000_000); // without the debug loop: only the TC layout matters here
      const bt = engine as BinaryTranslationEngine;
      return { stop, retired: machine.cpu.retired(), translations: bt.translationCache().translations.map((t) => `${t.guestStart}:${t.tcStart}:${t.instructions.map((i) => i.translated.join(";")).join("|")}`) };
    };
    const plain = runWith([]);
    const withBreakpoints = runWith(['bp_mid', 'bp_next', 'bp_loop']);
    assert.deepEqual(plain.stop, { kind: 'guest-exit', status: 33 });
    assert.deepEqual(withBreakpoints, plain);
  });

  it('saveState/loadState carry the TC index: a restored run continues identically', () => {
    const image = kernel('    mov ecx, 2000\n.l:\n    call bump\n    loop .l\n    mov eax, [R + 128]\n    mov [R + 132], eax', 'bump:\n    inc dword [R + 128]\n    ret');
    const first = boot(image, 'binary-translation');
    assert.deepEqual(first.engine.run(3000), { kind: 'budget' });
    const machineState = first.machine.saveState();
    const engineState = JSON.parse(JSON.stringify(first.engine.saveState()));
    const straight = first.engine.run(2_000_000);
    const expected = Array.from(first.machine.memory.ram.subarray(RESULTS, RESULTS + RESULT_BYTES));
    const second = boot(image, 'binary-translation');
    second.engine.run(1); // attach
    second.machine.loadState(machineState);
    second.engine.loadState(engineState);
    assert.deepEqual(second.engine.translationCache?.().translations.map((t) => t.id), first.engine.translationCache?.().translations.map((t) => t.id).slice(0, engineState.extra.cache.translations.length));
    assert.deepEqual(second.engine.run(2_000_000), straight);
    assert.deepEqual(Array.from(second.machine.memory.ram.subarray(RESULTS, RESULTS + RESULT_BYTES)), expected);
    assert.equal(word(expected, 132), 2000);
  });
});
