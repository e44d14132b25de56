// The VMX guest-side demo (samples/vmx/guest-exits.asm): the same serial output natively and under the
// hardware-assisted VMM, while the exits follow the controls exactly as the sample's table says (SDM Vol. 3C
// 26.1): CPUID always (reason 10), RDTSC only with RDTSC exiting (16), MOV CR3 with EPT only with CR3-load
// exiting (28) and without EPT always, IN/OUT with I/O exiting (30), HLT only with HLT exiting (12), and
// EPT violations (48) once per guest page first touched, including the 8 pages touched with paging on.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { EngineStop, ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { HardwareAssistEngine } from '../../../src/emulator/vmm/hardwareAssist/engine';
import { parseControls, type HardwareAssistControls } from '../../../src/emulator/vmm/hardwareAssist/controls';
import { NativeEngine } from '../../../src/emulator/vmm/native/engine';
import { REPO_ROOT, buildKernel, runInQemu, scratchDir } from '../vmm/tools';

const SOURCE = path.join(REPO_ROOT, 'samples/vmx/guest-exits.asm');
let cached: Uint8Array | undefined;
const image = () => (cached ??= new Uint8Array(readFileSync(buildKernel(SOURCE, scratchDir('guest-exits')))));
const cost = new CostModel('p4-2006');

function run(make: (machine: ReturnType<typeof createPcMachine>) => ExecutionEngine) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image(), { kernelName: 'guest-exits' });
  if ('error' in loaded) throw new Error(loaded.error);
  const engine = make(machine);
  let stop: EngineStop = engine.run(20_000_000);
  for (let i = 0; i < 500 && stop.kind === 'halt'; i++) stop = engine.run(20_000_000);
  const counts = new Map(engine.exitCounts().map((c) => [c.reason, c.count]));
  return { stop, serial, counts, engine };
}

function vtx(controls: Partial<HardwareAssistControls>) {
  const parsed = parseControls(controls);
  assert.ok(parsed.ok);
  return run((m) => new HardwareAssistEngine(m, { architecture: 'monolithic', costModel: cost, controls: parsed.controls }));
}

describe('VMX guest-side demo (samples/vmx/guest-exits.asm)', function () {
  this.timeout(120000);
  const EXPECTED = [
    'guest-exits: cpuid vendor GenuineIntel', 'guest-exits: rdtsc advances', 'guest-exits: cr3 reloaded 4 times',
    'guest-exits: COM1 line status 0x00000060', 'guest-exits: 2 timer ticks after hlt', 'guest-exits: paging on, checksum 0x000093e0', '',
  ].join('\n');

  it('natively prints every group and exits with status 33', () => {
    const bare = run((m) => new NativeEngine(m, cost));
    assert.equal(bare.serial, EXPECTED);
    assert.deepEqual(bare.stop, { kind: 'guest-exit', status: 33 });
  });

  it('prints the same in qemu-system-i386 -kernel (status 33)', () => {
    const qemu = runInQemu(buildKernel(SOURCE, scratchDir('guest-exits-qemu')), 15000);
    assert.equal(qemu.serial, EXPECTED);
    assert.equal(qemu.status, 33);
  });

  it('default controls (EPT, HLT and I/O exiting): CPUID, HLT, I/O and EPT-violation exits, none for RDTSC or CR3', () => {
    const hw = vtx({});
    assert.equal(hw.serial, EXPECTED);
    assert.deepEqual(hw.stop, { kind: 'guest-exit', status: 33 });
    assert.equal(hw.counts.get(10), 4, 'four CPUIDs');
    assert.equal(hw.counts.get(16), undefined);
    assert.equal(hw.counts.get(28), undefined);
    assert.ok((hw.counts.get(12) ?? 0) >= 1, 'HLT exits');
    assert.ok((hw.counts.get(30) ?? 0) > EXPECTED.length, 'every character is an I/O exit');
    const stats = (hw.engine as HardwareAssistEngine).memoryStats();
    assert.equal(stats.counters['eptFills'], hw.counts.get(48));
    assert.ok((hw.counts.get(48) ?? 0) >= 8 + 2, 'the 8 touched pages and the guest page tables were mapped on first touch');
  });

  it('switching controls changes exactly the exits the table names', () => {
    const hw = vtx({ rdtscExiting: true, cr3LoadExiting: true, hltExiting: false, io: 'bitmap', exitingPorts: [0x3fd] });
    assert.equal(hw.serial, EXPECTED);
    assert.equal(hw.counts.get(16), 4, 'four RDTSCs');
    assert.equal(hw.counts.get(28), 4 + 1 + 8, 'MOV to CR3: the 4 reloads, the load before paging, the 8 reloads between touches');
    assert.equal(hw.counts.get(12), undefined, 'HLT runs in non-root operation');
    assert.ok((hw.counts.get(30) ?? 0) > 0, 'only LSR reads exit');
    const noEpt = vtx({ ept: false });
    assert.equal(noEpt.serial, EXPECTED, 'without EPT: shadow paging, same output');
    // Without EPT every CR3 access exits (CR3 is virtual): 4 + 1 loads before paging, the MOV to CR0 setting PG
    // and the one clearing it (PG is host-owned), and in the paging loop 8 MOV from CR3 plus 8 MOV to CR3.
    assert.equal(noEpt.counts.get(28), 4 + 1 + 1 + 1 + 8 + 8);
    assert.equal(noEpt.counts.get(48), undefined, 'no EPT violations without EPT');
    assert.equal((noEpt.engine as HardwareAssistEngine).memoryStats().counters['hiddenFaults'], noEpt.counts.get(0), 'each #PF exit was a hidden fault');
  });
});
