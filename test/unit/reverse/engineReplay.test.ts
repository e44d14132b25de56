// SPDX-License-Identifier: MIT
// Is replay exact under every VMM engine? The precondition for reverse debugging under a technique
// (src/debug-adapter/vmmReverse.ts): boot a guest under the engine, run N instructions, take a machine
// checkpoint (ExecutionHistory, as the debugger does) with ExecutionEngine.saveState beside it, run M more
// (across VM exits, BT callouts, hypercalls), note the machine hash, serial bytes, transition count and
// engine state; restore checkpoint and engine state, run the same M again: everything must be identical.
// Paravirtual carries its event channels, callbacks and timer in its engine state (paravirtual/eventState.ts);
// before it did, a replay of minikernel-pv bound VIRQ_TIMER to port 2 where the recorded run got port 1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { copyEngineState, VmmPageWrites } from '../../../src/debug-adapter/vmmReverse';
import { ExecutionHistory } from '../../../src/emulator/debug/history';
import type { Machine } from '../../../src/emulator/machine/machine';
import { hashBytes } from '../../../src/emulator/machine/stateHash';
import type { ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { createVmmEngine, type VmmLaunchOptions } from '../../../src/emulator/vmm/index';
import type { TransitionLog } from '../../../src/emulator/vmm/transitions';
import { bootGuest, PIT_GUEST } from './guests';

const REPO = join(__dirname, '..', '..', '..');
const GUEST_EXITS = join(REPO, 'samples/vmx/guest-exits.asm');
const MINIKERNEL = join(REPO, 'samples/vmm/minikernel.asm');
const MINIKERNEL_PV = join(REPO, 'samples/vmm/minikernel-pv.asm');

/** JSON of a snapshot with typed arrays as plain arrays. (The CPU's stateBytes() also holds its TLB, which a restore flushes.) */
function snapshotJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v));
}

/**
 * The CPU snapshot without the EPT TLB statistics (tlbMisses, walk references): a restore flushes the TLB,
 * so the replay refills it once more than the recorded run did; reported, not asserted.
 */
function cpuJson(machine: Machine): string {
  const snapshot = machine.cpu.saveState() as { vmx?: { ept?: { counters?: unknown } } };
  if (snapshot.vmx?.ept !== undefined) snapshot.vmx.ept = { ...snapshot.vmx.ept, counters: undefined };
  return snapshotJson(snapshot);
}

type Engine = ExecutionEngine & { readonly log: TransitionLog };

/**
 * The engine state as compared: layer frames entered during the span name their transition by its number in
 * the log, which keeps counting across a restore, so those are made relative to the span's first transition;
 * hardware assist's chargedWalkReferences mirrors the EPT TLB-miss statistics (a ledger figure that does not
 * move virtual time; the restore flushes the TLB), reported, not asserted, as in cpuJson.
 */
function engineJson(engine: Engine, spanStart: number): string {
  const state = structuredClone(engine.saveState()) as unknown as { stack: { transitionSeq?: number }[]; extra?: { chargedWalkReferences?: number } };
  for (const frame of state.stack) if (frame.transitionSeq !== undefined && frame.transitionSeq >= spanStart) frame.transitionSeq -= spanStart;
  if (state.extra?.chargedWalkReferences !== undefined) delete state.extra.chargedWalkReferences;
  return JSON.stringify(state);
}

interface Outcome {
  /** RAM hash and the architectural machine state: CPU snapshot (registers, counters, VMX unit), devices, time. */
  readonly hash: string;
  /** The VMM-owned region at the top of RAM (its tables, translation cache, EPT), reported, not asserted. */
  readonly vmmRam: string;
  readonly cpu: string;
  readonly devices: string;
  readonly now: number;
  readonly serial: string;
  readonly transitions: number;
  readonly retired: number;
  readonly engineState: string;
}

/** Runs `instructions` guest instructions through the engine in run(1) grid steps and small slices, as the debugger does. */
function advance(machine: Machine, engine: Engine, instructions: number): void {
  const target = machine.cpu.retired() + instructions;
  for (let guard = 0; guard < 4 * instructions + 1000 && machine.cpu.retired() < target; guard++) {
    const stop = engine.run(Math.min(997, target - machine.cpu.retired()));
    if (stop.kind === 'guest-exit' || stop.kind === 'stop' || stop.kind === 'shutdown') break;
  }
}

/** The debugger's replay grid (vmmReverse.ts): one guest instruction, or one trapped instruction with its whole handler, per run(1). */
function advanceOnGrid(machine: Machine, engine: Engine, instructions: number): void {
  const target = machine.cpu.retired() + instructions;
  for (let guard = 0; guard < 4 * instructions + 1000 && machine.cpu.retired() < target; guard++) {
    const stop = engine.run(1);
    if (stop.kind === 'guest-exit' || stop.kind === 'stop' || stop.kind === 'shutdown') break;
  }
}

/**
 * Records `span` instructions after `before` in slices, restores the checkpoint and runs the span again: in the
 * same slices, or (`replay` = 'grid') on the debugger's one-instruction grid, which must meet the same states.
 */
function replayCheck(guest: string, options: VmmLaunchOptions, before: number, span: number, memoryMiB = 32, replay: 'slices' | 'grid' = 'slices'): { first: Outcome; second: Outcome } {
  const machine = bootGuest(guest, {}, memoryMiB);
  let serial = '';
  machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
  const created = createVmmEngine(machine, options);
  assert.ok(created.ok, created.ok ? '' : created.errors.join('; '));
  const engine = created.handle.engine as Engine;
  assert.equal(engine.attach(), undefined, `${options.technique} attaches`);
  const vmmBase = (engine as unknown as { readonly vmmBase?: number }).vmmBase ?? machine.memory.ram.length;
  const writes = new VmmPageWrites(machine);
  writes.setRegion(engine);
  const history = new ExecutionHistory(machine, { budgetBytes: 64 << 20, interval: 10_000, writes });
  advance(machine, engine, before);
  assert.equal(engine.activeHandler(), undefined);
  history.checkpoint(true);
  const saved = copyEngineState(engine);
  const transitionsAt = engine.log.total;
  const serialAt = serial.length;
  let spanStart = engine.log.total;
  const outcome = (): Outcome => ({
    hash: hashBytes([machine.memory.ram.subarray(0, vmmBase)]), vmmRam: hashBytes([machine.memory.ram.subarray(vmmBase)]), cpu: cpuJson(machine), devices: JSON.stringify(machine.saveState().devices),
    now: machine.now(), serial: serial.slice(serialAt), transitions: engine.log.total - transitionsAt,
    retired: machine.cpu.retired(), engineState: engineJson(engine, spanStart),
  });
  advance(machine, engine, span);
  const first = outcome();
  history.restore(0);
  engine.loadState(saved);
  const transitionsBefore = engine.log.total;
  spanStart = transitionsBefore;
  serial = serial.slice(0, serialAt);
  (replay === 'grid' ? advanceOnGrid : advance)(machine, engine, span);
  const second = { ...outcome(), transitions: engine.log.total - transitionsBefore };
  return { first, second };
}

function assertExact(result: { first: Outcome; second: Outcome }, what: string, minTransitions: number): void {
  const { first, second } = result;
  assert.ok(first.transitions >= minTransitions, `${what}: the replayed span crosses ${first.transitions} VMM transitions (want ≥ ${minTransitions})`);
  assert.equal(second.retired, first.retired, `${what}: retired count`);
  assert.equal(second.transitions, first.transitions, `${what}: transitions in the span`);
  assert.equal(second.serial, first.serial, `${what}: serial output`);
  assert.equal(second.hash, first.hash, `${what}: guest RAM (below the VMM region)`);
  assert.equal(second.cpu, first.cpu, `${what}: CPU`);
  assert.equal(second.devices, first.devices, `${what}: devices`);
  assert.equal(second.now, first.now, `${what}: virtual time`);
  assert.equal(second.engineState, first.engineState, `${what}: engine state`);
}

describe('replay after restoring a checkpoint with the engine state is exact under every VMM technique', function () {
  this.timeout(120_000);

  it('trap-and-emulate (PIT guest: cli/sti/out/hlt traps, IRQ0 reflection)', () => {
    assertExact(replayCheck(PIT_GUEST, { technique: 'trap-and-emulate' }, 3_000, 40_000, 4), 'trap-and-emulate', 10);
  });

  it('binary-translation (PIT guest: translated blocks, callouts, translation-cache growth)', () => {
    assertExact(replayCheck(PIT_GUEST, { technique: 'binary-translation' }, 3_000, 40_000, 4), 'binary-translation', 10);
  });

  it('binary-translation (minikernel: paging, rings, shadow page tables)', () => {
    assertExact(replayCheck(MINIKERNEL, { technique: 'binary-translation' }, 20_000, 200_000), 'binary-translation minikernel', 10);
  });

  it('paravirtual (minikernel-pv: hypercalls, VIRQ_TIMER upcalls, iret hypercalls, ring 3, fast system calls)', () => {
    // From 950 k to the guest's exit (~1.97 M): the user program's two timer upcalls (into ring 3), console_io, exit.
    assertExact(replayCheck(MINIKERNEL_PV, { technique: 'paravirtual' }, 950_000, 1_100_000), 'paravirtual', 10);
  });

  it('paravirtual, boot: the replay binds the same port and meets every tick of the boot sequence', () => {
    assertExact(replayCheck(MINIKERNEL_PV, { technique: 'paravirtual' }, 100, 2_000), 'paravirtual boot', 20);
  });

  it('hardware-assisted (guest-exits: CPUID, I/O with io all, HLT exits, EPT violations)', () => {
    const options: VmmLaunchOptions = { technique: 'hardware-assisted', vmxControls: { io: 'all', hltExiting: true } };
    assertExact(replayCheck(GUEST_EXITS, options, 200, 300_000), 'hardware-assisted', 10);
  });

  it('hardware-assisted without EPT (shadow paging assist)', () => {
    const options: VmmLaunchOptions = { technique: 'hardware-assisted', vmxControls: { ept: false, io: 'all' } };
    assertExact(replayCheck(GUEST_EXITS, options, 200, 300_000), 'hardware-assisted without EPT', 10);
  });
});

// vmmReverse.ts relies on this twice: replays cross long stretches at full speed (fastForward) and then
// continue on the grid, and the recorded run itself went in slices.
describe('a run in slices and the debugger\'s one-instruction replay grid meet the same state', function () {
  this.timeout(120_000);

  it('paravirtual: timer upcalls, the event mask cleared by a plain store, hypercalls', () => {
    assertExact(replayCheck(MINIKERNEL_PV, { technique: 'paravirtual' }, 100, 2_000, 32, 'grid'), 'paravirtual boot on the grid', 20);
    assertExact(replayCheck(MINIKERNEL_PV, { technique: 'paravirtual' }, 950_000, 1_100_000, 32, 'grid'), 'paravirtual user program on the grid', 10);
  });

  it('trap-and-emulate (PIT guest)', () => {
    assertExact(replayCheck(PIT_GUEST, { technique: 'trap-and-emulate' }, 3_000, 40_000, 4, 'grid'), 'trap-and-emulate on the grid', 10);
  });

  it('hardware-assisted, with EPT and with shadow paging (guest-exits)', () => {
    const options: VmmLaunchOptions = { technique: 'hardware-assisted', vmxControls: { io: 'all', hltExiting: true } };
    assertExact(replayCheck(GUEST_EXITS, options, 200, 100_000, 32, 'grid'), 'hardware-assisted on the grid', 10);
    const shadow: VmmLaunchOptions = { technique: 'hardware-assisted', vmxControls: { ept: false, io: 'all' } };
    assertExact(replayCheck(GUEST_EXITS, shadow, 200, 100_000, 32, 'grid'), 'hardware-assisted without EPT on the grid', 10);
  });
});
