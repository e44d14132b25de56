// The built-in hardware-assisted VMM on the machine: the unmodified samples run in VMX non-root operation with
// their bare-metal (native) output and exit status; the POPF and red-pill lessons of trap-and-emulate
// disappear (the guest runs at ring 0 with its own tables); the launch controls change which exits happen.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { EngineStop, ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { createVmmEngine } from '../../../src/emulator/vmm';
import { HardwareAssistEngine } from '../../../src/emulator/vmm/hardwareAssist/engine';
import { parseControls, type HardwareAssistControls } from '../../../src/emulator/vmm/hardwareAssist/controls';
import { NativeEngine } from '../../../src/emulator/vmm/native/engine';
import { REPO_ROOT, SAMPLES_VMM, buildKernel, nasm, scratchDir } from '../vmm/tools';

const dir = scratchDir('hardware-assist');
const kernels = new Map<string, Uint8Array>();

function kernel(source: string): Uint8Array {
  let image = kernels.get(source);
  if (image === undefined) {
    // samples/hello is a flat `org` image (a.out kludge); the VMM samples link as ELF.
    const flat = readFileSync(source, 'utf8').includes('\norg ');
    image = new Uint8Array(readFileSync(flat ? nasm(source, path.join(dir, `${path.basename(source)}.bin`), 'bin') : buildKernel(source, dir)));
    kernels.set(source, image);
  }
  return image;
}

function run(source: string, make: (machine: ReturnType<typeof createPcMachine>) => ExecutionEngine) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(kernel(source), { kernelName: path.basename(source) });
  if ('error' in loaded) throw new Error(loaded.error);
  const engine = make(machine);
  let stop: EngineStop = engine.run(20_000_000);
  for (let i = 0; i < 200 && stop.kind === 'halt'; i++) stop = engine.run(20_000_000);
  const counts = new Map(engine.exitCounts().map((c) => [c.reason, c.count]));
  return { stop, serial, engine, counts };
}

const cost = new CostModel('p4-2006');
const native = (source: string) => run(source, (m) => new NativeEngine(m, cost));
const vtx = (source: string, controls?: Partial<HardwareAssistControls>) => {
  const parsed = parseControls(controls);
  assert.ok(parsed.ok);
  return run(source, (m) => new HardwareAssistEngine(m, { architecture: 'monolithic', costModel: cost, controls: parsed.controls }));
};
const SAMPLES = ['minikernel', 'popf-demo', 'redpill'].map((name) => path.join(SAMPLES_VMM, `${name}.asm`)).concat(path.join(REPO_ROOT, 'samples/hello/hello.asm'));

describe('hardware-assisted engine (VT-x on the CPU\'s VMX implementation)', function () {
  this.timeout(120000);

  for (const source of SAMPLES) {
    it(`${path.relative(REPO_ROOT, source)} gives the bare-metal output and status under hardware assist`, () => {
      const bare = native(source);
      const hw = vtx(source);
      assert.equal(hw.serial, bare.serial);
      assert.deepEqual(hw.stop, bare.stop);
      assert.ok((hw.counts.get(30) ?? 0) > 0, 'port accesses exited (unconditional I/O exiting)');
    });
  }

  it('the POPF and red-pill lessons disappear: no lost interrupt state, no visible VMM', () => {
    const popf = vtx(path.join(SAMPLES_VMM, 'popf-demo.asm'));
    assert.doesNotMatch(popf.serial, /LOST/);
    const pill = vtx(path.join(SAMPLES_VMM, 'redpill.asm'));
    assert.doesNotMatch(pill.serial, /DIFFERENT/);
  });

  it('controls change the exits: HLT exiting on gives exit 12, off gives none; I/O exiting off gives no exit 30', () => {
    const source = path.join(SAMPLES_VMM, 'minikernel.asm');
    const on = vtx(source, { hltExiting: true });
    const off = vtx(source, { hltExiting: false, io: 'none' });
    assert.ok((on.counts.get(12) ?? 0) >= 1);
    assert.equal(off.counts.get(12), undefined);
    assert.equal(off.counts.get(30), undefined);
    assert.equal(off.serial, on.serial);
    const bitmap = vtx(source, { io: 'bitmap', exitingPorts: [0x3f8] });
    assert.ok((bitmap.counts.get(30) ?? 0) > 0);
    assert.ok((bitmap.counts.get(30) ?? 0) < (on.counts.get(30) ?? 0), 'only COM1 data-port accesses exit');
  });

  it('external-interrupt exiting (exit 1, injected) and an exception bitmap with #GP (exit 0, reflected) keep the bare-metal output', () => {
    const source = path.join(SAMPLES_VMM, 'minikernel.asm');
    const bare = native(source);
    const hw = vtx(source, { externalInterruptExiting: true, exceptionBitmap: 1 << 13 });
    assert.equal(hw.serial, bare.serial);
    assert.deepEqual(hw.stop, bare.stop);
    assert.ok((hw.counts.get(1) ?? 0) >= 3, 'timer interrupts exited and were injected');
    assert.ok((hw.counts.get(0) ?? 0) >= 1, 'the user-mode cli #GP exited and was reflected');
    const kinds = new Set((hw.engine as HardwareAssistEngine).log.list().map((t) => t.kind));
    assert.ok(kinds.has('vm-exit') && kinds.has('vm-entry') && kinds.has('io-hop'));
  });

  it('the debugger steps into an exit handler and through its named steps, then the guest resumes', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    let serial = '';
    machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
    const loaded = machine.boot(kernel(path.join(REPO_ROOT, 'samples/hello/hello.asm')), { kernelName: 'hello' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new HardwareAssistEngine(machine, { architecture: 'monolithic', costModel: cost });
    let steps = 0;
    // With EPT (default) the first exits are EPT violations that map guest pages; step through them to the first I/O exit.
    while (engine.activeHandler()?.handler !== 'I/O instruction (reason 30)' && steps++ < 20000) assert.equal(engine.step().kind, 'step-done');
    const handler = engine.activeHandler()!;
    assert.equal(handler.handler, 'I/O instruction (reason 30)');
    assert.deepEqual(handler.stepNames, ['read exit reason and qualification (VMREAD)', 'perform the port access', 'advance guest RIP']);
    assert.equal(handler.nextStep, 0);
    assert.ok(engine.stack.topFirst().length >= 2, 'the VMM frame sits on the guest frame');
    engine.step();
    assert.equal(engine.activeHandler()!.nextStep, 1);
    engine.step(); // "perform the port access" hands the access to the device model in the VMM (src/emulator/vmm/io/)
    assert.match(engine.activeHandler()!.handler, /^device model in the VMM: port 0x[0-9a-f]+$/);
    engine.step();
    engine.step();
    engine.step(); // advance guest RIP
    assert.equal(engine.activeHandler(), undefined);
    let stop = engine.run(20_000_000);
    for (let i = 0; i < 200 && stop.kind === 'halt'; i++) stop = engine.run(20_000_000);
    assert.equal(serial, native(path.join(REPO_ROOT, 'samples/hello/hello.asm')).serial);
  });

  it('is created by createVmmEngine with vmxControls and rejects unknown controls with a message', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const made = createVmmEngine(machine, { technique: 'hardware-assisted', vmxControls: { hltExiting: false } });
    assert.ok(made.ok);
    const bad = createVmmEngine(machine, { technique: 'hardware-assisted', vmxControls: { hltExitting: true } });
    assert.ok(!bad.ok && /no option 'hltExitting'/.test(bad.errors[0]!));
  });
});
