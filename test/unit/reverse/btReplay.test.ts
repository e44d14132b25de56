// SPDX-License-Identifier: MIT
// The precondition of reverse debugging under binary translation (vmmReverse.ts): after restoring a checkpoint
// (machine + engine state with the translation cache index; the fragments come back with the VMM region's RAM
// pages), replaying on the debugger's one-instruction grid (engine.run(1)) meets the recorded run — taken in
// slices, as the debugger runs at full speed — at the same retired count, transition count, guest RAM, CPU state
// and engine state, even when breakpoints were set on translated code between the recording and the replay
// (they are mirrored onto TC addresses and do not change the translations). Guests: a PIT guest (callouts,
// timer reflection, TC growth) and minikernel (paging on shadow page tables, ring 3, system calls).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { copyEngineState, VmmPageWrites } from '../../../src/debug-adapter/vmmReverse';
import { ExecutionHistory } from '../../../src/emulator/debug/history';
import type { Machine } from '../../../src/emulator/machine/machine';
import { hashBytes } from '../../../src/emulator/machine/stateHash';
import type { ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { BinaryTranslationEngine } from '../../../src/emulator/vmm/binaryTranslation/engine';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import type { TransitionLog } from '../../../src/emulator/vmm/transitions';
import { bootGuest, PIT_GUEST } from './guests';

const MINIKERNEL = join(__dirname, '..', '..', '..', 'samples', 'vmm', 'minikernel.asm');

type Engine = ExecutionEngine & { readonly log: TransitionLog };

interface Outcome {
  readonly retired: number;
  readonly transitions: number;
  readonly guestRam: string;
  readonly cpu: string;
  readonly now: number;
  readonly serial: string;
}

function runInSlices(machine: Machine, engine: Engine, instructions: number): void {
  const target = machine.cpu.retired() + instructions;
  for (let guard = 0; guard < 4 * instructions + 1000 && machine.cpu.retired() < target; guard++) {
    const stop = engine.run(Math.min(997, target - machine.cpu.retired()));
    if (stop.kind === 'guest-exit' || stop.kind === 'stop' || stop.kind === 'shutdown') break;
  }
}

/** Grid steps up to the position (retired, transitions) as vmmReverse.ts travels: never past it. */
function runOnGrid(machine: Machine, engine: Engine, retired: number, transitions: () => number, wanted: number): void {
  for (let guard = 0; guard < 4 * retired + 1000; guard++) {
    const now = machine.cpu.retired();
    if (now > retired || (now === retired && transitions() >= wanted)) break;
    const stop = engine.run(1);
    if (stop.kind === 'guest-exit' || stop.kind === 'stop' || stop.kind === 'shutdown') break;
  }
}

/** Records `span` instructions after `before`, sets `breakpoints` (guest addresses in translated code), replays on the grid. */
function replay(guest: string, before: number, span: number, memoryMiB: number, breakpoints: (engine: BinaryTranslationEngine) => number[]): { first: Outcome; second: Outcome; placed: number } {
  const machine = bootGuest(guest, {}, memoryMiB);
  let serial = '';
  machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
  const created = createVmmEngine(machine, { technique: 'binary-translation' });
  assert.ok(created.ok);
  const engine = created.handle.engine as Engine;
  assert.ok(engine instanceof BinaryTranslationEngine);
  assert.equal(engine.attach(), undefined);
  const writes = new VmmPageWrites(machine);
  writes.setRegion(engine);
  const history = new ExecutionHistory(machine, { budgetBytes: 64 << 20, interval: 10_000, writes });
  runInSlices(machine, engine, before);
  assert.equal(engine.activeHandler(), undefined);
  history.checkpoint(true);
  const saved = copyEngineState(engine);
  const transitionsAt = engine.log.total;
  const serialAt = serial.length;
  const outcome = (transitionsFrom: number): Outcome => ({
    retired: machine.cpu.retired(),
    transitions: engine.log.total - transitionsFrom,
    guestRam: hashBytes([machine.memory.ram.subarray(0, engine.vmmBase)]),
    cpu: JSON.stringify(machine.cpu.saveState(), (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v)),
    now: machine.now(),
    serial: serial.slice(serialAt),
  });
  runInSlices(machine, engine, span);
  const first = outcome(transitionsAt);
  const addresses = breakpoints(engine);
  for (const address of addresses) machine.cpu.setBreakpoint(address);
  history.restore(0);
  engine.loadState(saved);
  const transitionsBefore = engine.log.total;
  serial = serial.slice(0, serialAt);
  runOnGrid(machine, engine, first.retired, () => engine.log.total - transitionsBefore, first.transitions);
  return { first, second: outcome(transitionsBefore), placed: addresses.length };
}

function assertSame(result: { first: Outcome; second: Outcome }, what: string): void {
  const { first, second } = result;
  assert.ok(first.transitions >= 10, `${what}: the span crosses ${first.transitions} transitions`);
  assert.equal(second.retired, first.retired, `${what}: retired count`);
  assert.equal(second.transitions, first.transitions, `${what}: transitions`);
  assert.equal(second.serial, first.serial, `${what}: serial output`);
  assert.equal(second.guestRam, first.guestRam, `${what}: guest RAM`);
  assert.equal(second.cpu, first.cpu, `${what}: CPU`);
  assert.equal(second.now, first.now, `${what}: virtual time`);
}

/** Guest addresses of every third instruction of the live translations (the kernel code the span ran). */
function translatedAddresses(engine: BinaryTranslationEngine): number[] {
  const all = engine.translationCache().translations.filter((t) => t.invalidated === undefined).flatMap((t) => t.instructions.map((i) => i.guestAddress));
  return [...new Set(all)].filter((_, i) => i % 3 === 0);
}

describe('binary translation: a replay on the debugger\'s grid meets the recorded run', function () {
  this.timeout(120_000);

  it('PIT guest, recorded in slices, replayed one instruction at a time', () => {
    assertSame(replay(PIT_GUEST, 3_000, 40_000, 4, () => []), 'PIT guest');
  });

  it('PIT guest with breakpoints set on translated code between the recording and the replay', () => {
    const result = replay(PIT_GUEST, 3_000, 40_000, 4, translatedAddresses);
    assert.ok(result.placed >= 5, `${result.placed} breakpoints`);
    assertSame(result, 'PIT guest with breakpoints');
  });

  it('minikernel (paging, ring 3, system calls) with breakpoints set before the replay', () => {
    const result = replay(MINIKERNEL, 20_000, 200_000, 32, translatedAddresses);
    assert.ok(result.placed >= 5, `${result.placed} breakpoints`);
    assertSame(result, 'minikernel with breakpoints');
  });
});
