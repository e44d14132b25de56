// The machine's run loop with a scripted stand-in CPU: timer interrupts at exact virtual times, HLT
// skipping time, stop reasons (guest exit, shutdown, halt, limits, budget), firmware state, snapshots
// and determinism (same script → same state hash).
import assert from 'node:assert/strict';
import { Machine } from '../../../src/emulator/machine/machine';
import { CYCLES_PER_PIT_TICK } from '../../../src/emulator/machine/layout';
import { defaultRecipe, type MachineRecipe } from '../../../src/emulator/machine/recipe';
import { type ScriptOp, ScriptedCpu } from './scriptedCpu';

function build(script: ScriptOp[], recipe: Partial<MachineRecipe> = {}) {
  let cpu!: ScriptedCpu;
  const m = new Machine(defaultRecipe(recipe), (mm) => (cpu = new ScriptedCpu(mm, script)));
  const serial: number[] = [];
  m.onSerialOutput((b) => serial.push(b));
  return { m, cpu: () => cpu, serial };
}

/** Remap the PIC to 0x20/0x28, unmask IRQ0 only, program the PIT for `count` in mode 2. */
function timerSetup(count: number): ScriptOp[] {
  return [
    { op: 'out', port: 0x20, value: 0x11 }, { op: 'out', port: 0x21, value: 0x20 },
    { op: 'out', port: 0x21, value: 0x04 }, { op: 'out', port: 0x21, value: 0x01 },
    { op: 'out', port: 0x21, value: 0xfe },
    { op: 'out', port: 0x43, value: 0x34 }, { op: 'out', port: 0x40, value: count & 0xff }, { op: 'out', port: 0x40, value: count >> 8 },
  ];
}

describe('Machine run loop', () => {
  it('leaves the devices as QEMU firmware does: PIC at 0x08/0x70, IMR B8/8E, nothing pending, PIT mode 2 at 18.2 Hz', () => {
    const { m } = build([]);
    const pic = m.devices.pic!.inspect();
    assert.deepEqual([pic.master.vectorBase, pic.slave.vectorBase, pic.master.imr, pic.slave.imr, pic.master.irr], [0x08, 0x70, 0xb8, 0x8e, 0x00]);
    assert.equal(m.devices.pic!.inspect().master.isr, 0);
    assert.equal(m.nextDeadline(), (65536 + 1) * CYCLES_PER_PIT_TICK, 'first IRQ0 one full period after entry');
    assert.deepEqual(m.devices.pit!.inspect()[0].mode, 2);
    assert.equal(m.ports.read(0x3fc, 1), 0x08);
  });

  it('skips virtual time on HLT and delivers PIT interrupts exactly one period apart', () => {
    const count = 1000;
    const script: ScriptOp[] = [...timerSetup(count), { op: 'sti' }, { op: 'hlt' }, { op: 'eoi' }, { op: 'jmp', to: timerSetup(0).length + 1 }];
    const { m, cpu } = build(script);
    m.limits.instructionLimit = 200;
    const stop = m.run(1_000_000);
    assert.equal(stop.reason, 'instruction-limit');
    const { vectors, interruptTimes } = cpu().state;
    // One interrupt per programmed period, exactly.
    assert.ok(vectors.length >= 50, `got ${vectors.length} interrupts`);
    assert.ok(vectors.every((v) => v === 0x20));
    const gaps = interruptTimes.slice(1).map((t, i) => t - interruptTimes[i]);
    assert.ok(gaps.every((g) => g === count * CYCLES_PER_PIT_TICK), `gaps ${gaps.slice(0, 5)}`);
    assert.equal(m.now() > 50 * count * CYCLES_PER_PIT_TICK, true, 'virtual time advanced while halted');
  });

  it('delivers timer interrupts to a busy guest on time even when it reprograms the PIT mid-slice', () => {
    const count = 500;
    const setup = timerSetup(count);
    const script: ScriptOp[] = [...setup, { op: 'sti' }, { op: 'nop' }, { op: 'eoi' }, { op: 'jmp', to: setup.length + 1 }];
    const { m, cpu } = build(script);
    m.run(20 * count * CYCLES_PER_PIT_TICK); // one huge slice request: the PIT write must cut it short
    const { interruptTimes } = cpu().state;
    assert.ok(interruptTimes.length >= 18, `got ${interruptTimes.length} interrupts`);
    const gaps = interruptTimes.slice(1).map((t, i) => t - interruptTimes[i]);
    assert.ok(gaps.every((g) => g === count * CYCLES_PER_PIT_TICK), `gaps ${gaps.slice(0, 5)}`);
  });

  it('ends with the debug-exit status and reports the same stop on every later run', () => {
    const { m, cpu } = build([{ op: 'out', port: 0x3f8, value: 0x41 }, { op: 'out', port: 0xf4, value: 0x10, size: 4 }, { op: 'nop' }, { op: 'nop' }]);
    const stop = m.run(100);
    assert.equal(stop.reason, 'guest-exit');
    assert.equal(stop.exitStatus, 33);
    assert.equal(cpu().state.retired, 2, 'the CPU stopped right after the OUT');
    assert.deepEqual(m.run(100), stop);
  });

  it('stops a flooding guest at the output limit without delivering the excess', () => {
    const { m, serial } = build([{ op: 'out', port: 0x3f8, value: 0x58 }, { op: 'jmp', to: 0 }]);
    m.limits.outputLimit = 10;
    const stop = m.run(1_000_000);
    assert.equal(stop.reason, 'output-limit');
    assert.equal(serial.length, 10);
  });

  it('reports HLT with interrupts disabled as a final halt, and a budget stop as resumable', () => {
    const halted = build([{ op: 'cli' }, { op: 'hlt' }]);
    assert.equal(halted.m.run(100).reason, 'halt');
    const busy = build([{ op: 'nop' }, { op: 'jmp', to: 0 }]);
    assert.equal(busy.m.run(1000).reason, 'budget');
    assert.equal(busy.m.run(1000).reason, 'budget');
    assert.equal(busy.cpu().state.retired, 2000);
  });

  it('reports "nothing will wake it" when halted with IF=1 and no timer running', () => {
    const { m } = build([{ op: 'out', port: 0x43, value: 0x30 }, { op: 'sti' }, { op: 'hlt' }, { op: 'hlt' }]);
    const stop = m.run(1_000_000);
    assert.equal(stop.reason, 'halt');
    assert.match(stop.detail, /no device will ever raise one/);
  });

  it('reports a guest halted with IF=1 whose interrupts are all masked instead of skipping time forever', () => {
    const { m } = build([{ op: 'out', port: 0x21, value: 0xff }, { op: 'sti' }, { op: 'hlt' }, { op: 'hlt' }]);
    const stop = m.run(1_000_000);
    assert.equal(stop.reason, 'halt');
    assert.match(stop.detail, /masked or blocked/);
  });

  it('shuts down on the Bochs "Shutdown" sequence', () => {
    const { m } = build([...'Shutdown'].map((c) => ({ op: 'out' as const, port: 0x8900, value: c.charCodeAt(0) })));
    assert.equal(m.run(100).reason, 'shutdown');
  });

  it('is deterministic and resumes identically from a saved state', () => {
    const script: ScriptOp[] = [...timerSetup(300), { op: 'sti' }, { op: 'out', port: 0x3f8, value: 0x2e }, { op: 'hlt' }, { op: 'eoi' }, { op: 'in', port: 0x40 }, { op: 'jmp', to: 9 }];
    const small = { memoryMiB: 4 };
    const a = build(script, small);
    const b = build(script, small);
    a.m.run(5_000);
    b.m.run(5_000);
    assert.equal(a.m.stateHash(), b.m.stateHash());
    const snapshot = structuredClone(a.m.saveState());
    a.m.run(7_000);
    const c = build(script, small);
    c.m.loadState(snapshot);
    c.m.run(7_000);
    assert.equal(c.m.stateHash(), a.m.stateHash());
    assert.notEqual(c.m.stateHash(), b.m.stateHash());
  });

  it('peeks and pokes RAM without side effects and refuses addresses outside RAM', () => {
    const { m } = build([]);
    assert.equal(m.pokePhysical(0x1234, 0x1ab), true);
    assert.equal(m.peekPhysical(0x1234), 0xab);
    assert.equal(m.peekPhysical(m.memory.ram.length), undefined);
    assert.equal(m.memory.isMmio(m.memory.ram.length, 4), true);
    assert.equal(m.memory.mmioRead(0xfec00000, 4), 0xffffffff); // no I/O APIC: unbacked (0xFEE00000 is the local APIC)
  });

  it('rejects an invalid recipe up front', () => {
    assert.throws(() => build([], { memoryMiB: 0 }), /memory must be/);
    assert.throws(() => build([], { devices: ['pit'] }), /need a 'pic'/);
  });
});
