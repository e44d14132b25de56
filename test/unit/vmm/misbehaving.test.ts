// Guests that fault, loop, enable paging or flood are stopped and reported under the VMM engines, never with
// a host exception and never by silently misbehaving (issue 5). Each guest is a few lines of NASM assembled
// with the real nasm into a Multiboot kernel.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import type { EngineStop } from '../../../src/emulator/vmm/engine';
import { buildKernel, scratchDir } from './tools';

const dir = scratchDir('misbehaving');

function guest(name: string, body: string): Uint8Array {
  const source = path.join(dir, `${name}.asm`);
  writeFileSync(source, ['bits 32', '%include "multiboot.inc"', 'MULTIBOOT_HEADER', '_start:', body, 'MULTIBOOT_END', ''].join('\n'));
  return new Uint8Array(readFileSync(buildKernel(source, dir)));
}

function run(image: Uint8Array, technique: 'trap-and-emulate' | 'paravirtual', budget = 200_000): EngineStop {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
  const loaded = machine.boot(image, { kernelName: 'guest' });
  if ('error' in loaded) throw new Error(loaded.error);
  const result = createVmmEngine(machine, { technique });
  assert.ok(result.ok);
  return result.handle.engine.run(budget);
}

describe('misbehaving guests under the VMM', function () {
  this.timeout(60000);

  it('a guest that faults with no usable IDT is stopped with the reason', () => {
    const stop = run(guest('ud', '    lidt [empty_idt]\n    ud2\nempty_idt: dw 0\n    dd 0'), 'trap-and-emulate');
    assert.equal(stop.kind, 'stop');
    assert.match(stop.kind === 'stop' ? stop.message : '', /cannot deliver vector 6/);
  });

  it('a guest that enables paging over an empty page directory is stopped with the reason (shadow paging finds no mapping)', () => {
    const stop = run(guest('paging', '    mov eax, cr0\n    or eax, 0x80000000\n    mov cr0, eax\n    hlt'), 'trap-and-emulate');
    assert.equal(stop.kind, 'stop');
    assert.match(stop.kind === 'stop' ? stop.message : '', /cannot deliver vector 14/);
  });

  it('a looping guest returns control when its budget is used up', () => {
    assert.deepEqual(run(guest('loop', '    jmp $'), 'trap-and-emulate', 50_000), { kind: 'budget' });
  });

  it('a guest halting with interrupts disabled is stopped for good', () => {
    const stop = run(guest('cli-hlt', '    cli\n    hlt'), 'trap-and-emulate');
    assert.deepEqual(stop, { kind: 'stop', message: 'HLT with virtual interrupts disabled: the guest is stopped for good' });
  });

  it('a paravirtual guest that blocks with no event source is stopped', () => {
    const stop = run(guest('pv-block', '%include "hypercall.inc"\n    HYPERVISOR_block\n    jmp $'), 'paravirtual');
    assert.equal(stop.kind, 'stop');
    assert.match(stop.kind === 'stop' ? stop.message : '', /sleep forever/);
  });

  it('a paravirtual guest that switches to an empty page directory (new_baseptr) stops with the #PF reason (a triple fault: the IDT is unmapped too)', () => {
    const stop = run(guest('pv-paging', '%include "hypercall.inc"\n    HYPERVISOR_new_baseptr 0x200\n    jmp $'), 'paravirtual');
    assert.equal(stop.kind, 'stop');
    assert.match(stop.kind === 'stop' ? stop.message : '', /triple fault: vector 14 could not be delivered/);
  });

  it('random bytes as guest kernel code never raise a host exception (30 seeds per technique)', () => {
    const image = guest('random', '    times 512 nop\n    jmp $');
    let seed = 0x12345678;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const outcomes = new Map<string, number>();
    for (const technique of ['trap-and-emulate', 'paravirtual'] as const) {
      for (let round = 0; round < 30; round++) {
        const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
        const loaded = machine.boot(image, { kernelName: 'random' });
        if ('error' in loaded) throw new Error(loaded.error);
        for (let i = 0; i < 512; i++) machine.pokePhysical(loaded.entry.eip + i, next());
        const result = createVmmEngine(machine, { technique });
        assert.ok(result.ok);
        const stop = result.handle.engine.run(20_000);
        outcomes.set(stop.kind, (outcomes.get(stop.kind) ?? 0) + 1);
      }
    }
    assert.equal([...outcomes.values()].reduce((a, b) => a + b, 0), 60);
  });
});
