// The trap-and-emulate engine on the real machine (IA-32 core, PC devices, Multiboot loader): the VMM sample
// guests, assembled with the real nasm and linked with ld, run deprivileged in ring 1. Equivalence where the
// lesson says so (mini-kernel, I/O storm: the same serial output and exit status as natively in QEMU, see
// samples.test.ts), and the predicted misbehaviour where it does not (POPF loses the interrupt state; SIDT,
// SGDT, STR and CS reveal the VMM). Also: the transition trace, exit-reason counts, the architecture paths and
// determinism.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { Architecture } from '../../../src/emulator/vmm/layers';
import { TrapAndEmulateEngine } from '../../../src/emulator/vmm/trapAndEmulate/engine';
import { IDT_OFFSET } from '../../../src/emulator/vmm/trapAndEmulate/shadowTables';
import { TRAP_AND_EMULATE_STEPS } from '../../../src/emulator/vmm/handlerSteps';
import { SAMPLES_VMM, buildKernel, scratchDir } from './tools';

const dir = scratchDir('trap-and-emulate');
const kernels = new Map<string, Uint8Array>();

function kernel(name: string): Uint8Array {
  let image = kernels.get(name);
  if (image === undefined) {
    image = new Uint8Array(readFileSync(buildKernel(path.join(SAMPLES_VMM, `${name}.asm`), dir)));
    kernels.set(name, image);
  }
  return image;
}

function runUnderTrapAndEmulate(name: string, architecture: Architecture = 'monolithic') {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(kernel(name), { kernelName: name });
  if ('error' in loaded) throw new Error(loaded.error);
  const engine = new TrapAndEmulateEngine(machine, { architecture, costModel: new CostModel('p4-2006') });
  const stop = engine.run(20_000_000);
  const counts = new Map(engine.exitCounts().map((c) => [c.reason, c.count]));
  return { stop, serial, engine, counts, transitions: engine.log.list() };
}

const status = (value: number) => (value << 1) | 1;

describe('trap-and-emulate engine on the machine', function () {
  this.timeout(120000);

  it('runs the mini-kernel deprivileged with the same output and status as bare metal', () => {
    const r = runUnderTrapAndEmulate('minikernel');
    assert.equal(
      r.serial,
      'minikernel: booting\nminikernel: 3 timer ticks\nuser: hello from ring 3\nuser: sum 1..100 = 5050\n' +
        'minikernel: #GP from ring 3 (cli), skipped\nuser: the timer kept ticking\nminikernel: user program exited with status 0\n',
    );
    assert.deepEqual(r.stop, { kind: 'guest-exit', status: status(0x10) });
    // lgdt + lidt (46), ltr (47), hlt (12) and every port access (30) trapped and were emulated
    assert.equal(r.counts.get(46), 2);
    assert.equal(r.counts.get(47), 1);
    assert.ok((r.counts.get(12) ?? 0) >= 1);
    assert.ok((r.counts.get(30) ?? 0) > 300);
    const reasons = new Set(r.transitions.map((t) => `${t.kind}: ${t.reason}`));
    assert.ok(reasons.has('trap: #GP: cli at CPL1'), 'the kernel\'s cli trapped');
    assert.ok(reasons.has('trap: #GP: cli at CPL3'), 'the user\'s cli trapped');
    assert.ok([...reasons].some((x) => x.startsWith('fault-reflection: reflect #GP: cli at CPL3')), 'and was reflected, not emulated');
    assert.ok(reasons.has('trap: int 0x80 (system call) at CPL3'));
    assert.ok([...reasons].some((x) => x.startsWith('interrupt-injection: inject vector 0x20')));
    const out = r.transitions.find((t) => t.reason === '#GP: out dx, al at CPL1');
    assert.ok(out);
    assert.equal(out.details['exitReason'], 30);
    assert.equal(out.instruction?.text, 'out dx, al');
    assert.deepEqual(out.instruction?.bytes, [0xee]);
  });

  it('POPF cannot clear the interrupt flag: the critical section is interrupted (the predicted misbehaviour)', () => {
    const r = runUnderTrapAndEmulate('popf-demo');
    const lines = r.serial.split('\n');
    assert.equal(lines[1], 'popf-demo: after cli, pushf shows IF=1');
    assert.equal(lines[2], 'popf-demo: after popf, pushf shows IF=1');
    const count = /critical section: (\d+)$/.exec(lines[3] ?? '');
    assert.ok(count && Number(count[1]) > 0, lines[3]);
    assert.match(lines[4]!, /interrupt state LOST/);
    assert.deepEqual(r.stop, { kind: 'guest-exit', status: status(0x12) });
    // No transition at the popfd: it never reached the VMM.
    assert.ok(!r.transitions.some((t) => t.instruction?.text.startsWith('popf')));
  });

  it('the red pill sees the VMM: SIDT/SGDT/STR return the VMM\'s tables and CS shows RPL 1', () => {
    const r = runUnderTrapAndEmulate('redpill');
    const lines = r.serial.split('\n');
    const vmmIdt = `0x${(r.engine.vmmBase + IDT_OFFSET).toString(16).padStart(8, '0')}`;
    assert.match(lines[0]!, new RegExp(`^redpill: sidt base=${vmmIdt} limit=0x000007ff, loaded base=0x[0-9a-f]{8} limit=0x000007ff: DIFFERENT$`));
    assert.match(lines[1]!, /^redpill: sgdt .*: DIFFERENT$/);
    assert.equal(lines[2], 'redpill: str=0x00000810, loaded 0x00000028: DIFFERENT');
    assert.equal(lines[4], 'redpill: cs=0x00000009, RPL 1: DIFFERENT');
    assert.deepEqual(r.stop, { kind: 'guest-exit', status: status(0x12) });
    assert.equal(r.engine.vcpu.idtr.limit, 0x7ff, 'the virtual IDTR holds what the guest loaded');
  });

  const expectedChain: Record<Architecture, string[]> = {
    monolithic: ['vmm>device:io-hop', 'device>vmm:io-hop'],
    microkernel: ['vmm>management-os:io-hop', 'management-os>device:io-hop', 'device>management-os:io-hop', 'management-os>vmm:io-hop'],
    hosted: [
      'vmm>host-os-kernel:world-switch', 'host-os-kernel>host-user-process:io-hop', 'host-user-process>host-os-kernel:trap',
      'host-os-kernel>device:io-hop', 'device>host-os-kernel:io-hop', 'host-os-kernel>host-user-process:resume',
      'host-user-process>host-os-kernel:io-hop', 'host-os-kernel>vmm:world-switch',
    ],
  };

  it('the I/O storm gives the native result; every port access is exit 30 with the exact chain of its architecture; hosted costs most, monolithic least', () => {
    const totals: Record<string, number> = {};
    for (const architecture of ['monolithic', 'microkernel', 'hosted'] as const) {
      const r = runUnderTrapAndEmulate('iostorm', architecture);
      assert.match(r.serial, /iostorm: 2000 writes to port 0x80, 500 reads of the PIC mask \(0xfb\)\n/);
      assert.match(r.serial, /iostorm: done\n$/);
      assert.deepEqual(r.stop, { kind: 'guest-exit', status: status(0x10) });
      assert.ok((r.counts.get(30) ?? 0) >= 2500 + 17);
      totals[architecture] = r.engine.ledger.total;
      // The exact chain of one guest port access (the first OUT to the POST port 0x80).
      const first = r.transitions.findIndex((t) => t.reason === '#GP: out 0x80, al at CPL1');
      assert.ok(first >= 0);
      const chain = r.transitions.slice(first, first + expectedChain[architecture].length + 2).map((t) => `${t.from}>${t.to}:${t.kind}`);
      assert.deepEqual(chain, ['guest-kernel>vmm:trap', ...expectedChain[architecture], 'vmm>guest-kernel:resume']);
      if (architecture === 'hosted') {
        assert.ok(r.transitions.some((t) => t.reason === 'world switch VMM→host'));
        assert.ok(r.engine.ledger.cyclesIn('host-user-process') > 0);
      }
      if (architecture === 'microkernel') assert.ok(r.engine.ledger.cyclesIn('management-os') > 0);
    }
    assert.ok(totals['monolithic']! < totals['microkernel']!);
    assert.ok(totals['microkernel']! < totals['hosted']!);
  });

  it('lets a debugger step through the VMM handler of a trap, one named step at a time', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(kernel('minikernel'), { kernelName: 'minikernel' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    let guard = 0;
    while (engine.activeHandler() === undefined && guard++ < 100) assert.deepEqual(engine.step(), { kind: 'step-done' });
    const handler = engine.activeHandler();
    assert.ok(handler, 'the first privileged instruction (lgdt) stopped at its handler');
    assert.deepEqual(handler.stepNames.slice(0, 6), [...TRAP_AND_EMULATE_STEPS]);
    assert.equal(handler.nextStep, 0);
    const top = engine.stack.topFirst()[0]!;
    assert.equal(top.layer, 'vmm');
    assert.match(top.reason, /^#GP: lgdt \[.*\] at CPL1$/);
    assert.equal(top.handler?.handler.startsWith('lgdt'), true);
    const gdtrBefore = engine.virtualCpu().gdtr;
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(engine.activeHandler()!.stepNames[engine.activeHandler()!.nextStep]!);
      engine.step();
    }
    assert.deepEqual(seen, ['save guest state', 'decode faulting instruction', 'check', 'emulate on the virtual CPU']);
    assert.notDeepEqual(engine.virtualCpu().gdtr, gdtrBefore, 'the virtual GDTR changed at the emulate step');
    const eip = machine.cpu.summary().registers['eip'];
    engine.step(); // advance guest EIP
    assert.notEqual(machine.cpu.summary().registers['eip'], eip);
    engine.step(); // resume
    assert.equal(engine.activeHandler(), undefined);
    assert.equal(engine.stack.current, 'guest-kernel');
    assert.deepEqual(engine.run(20_000_000), { kind: 'guest-exit', status: status(0x10) });
  });

  it('is deterministic: two runs give the same transitions and costs', () => {
    const a = runUnderTrapAndEmulate('minikernel');
    const b = runUnderTrapAndEmulate('minikernel');
    assert.equal(a.engine.log.total, b.engine.log.total);
    assert.deepEqual(a.engine.ledger.toJSON(), b.engine.ledger.toJSON());
    assert.deepEqual(a.transitions.slice(-50), b.transitions.slice(-50));
  });
});
