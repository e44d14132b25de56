// The paravirtual engine running samples/vmm/minikernel-pv.asm (the hypercall port of minikernel.asm):
// equivalence with the bare-metal mini-kernel (same serial output and exit status as minikernel.asm in QEMU),
// hypercalls in place of traps, fast system calls that never enter the VMM, event upcalls for the timer, and
// far fewer VMM entries and VMM cycles than trap-and-emulate running the unmodified kernel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HYPERCALLS } from '../../../src/emulator/vmm/hypercalls';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { Architecture } from '../../../src/emulator/vmm/layers';
import { MAX_LAYER_DEPTH } from '../../../src/emulator/vmm/layerStack';
import { ParavirtualEngine } from '../../../src/emulator/vmm/paravirtual/engine';
import { TrapAndEmulateEngine } from '../../../src/emulator/vmm/trapAndEmulate/engine';
import { REPO_ROOT, SAMPLES_INCLUDE, SAMPLES_VMM, buildKernel, scratchDir } from './tools';

const MINIKERNEL_OUTPUT =
  'minikernel: booting\nminikernel: 3 timer ticks\nuser: hello from ring 3\nuser: sum 1..100 = 5050\n' +
  'minikernel: #GP from ring 3 (cli), skipped\nuser: the timer kept ticking\nminikernel: user program exited with status 0\n';

describe('paravirtual engine', function () {
  this.timeout(60000);
  const dir = scratchDir('paravirtual');
  const pvImage = new Uint8Array(readFileSync(buildKernel(path.join(SAMPLES_VMM, 'minikernel-pv.asm'), dir)));
  const nativeImage = new Uint8Array(readFileSync(buildKernel(path.join(SAMPLES_VMM, 'minikernel.asm'), dir)));

  function run(image: Uint8Array, engineKind: 'pv' | 'te', architecture: Architecture = 'monolithic') {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    let serial = '';
    machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
    const loaded = machine.boot(image, { kernelName: 'k' });
    if ('error' in loaded) throw new Error(loaded.error);
    const options = { architecture, costModel: new CostModel('p4-2006') };
    const engine = engineKind === 'pv' ? new ParavirtualEngine(machine, options) : new TrapAndEmulateEngine(machine, options);
    const stop = engine.run(20_000_000);
    return { serial, stop, engine, transitions: engine.log.list() };
  }

  // Each run boots a whole kernel: run each configuration once and share it between the tests.
  const cache = new Map<string, ReturnType<typeof run>>();
  function once(image: Uint8Array, engineKind: 'pv' | 'te', architecture: Architecture = 'monolithic') {
    const key = `${image === pvImage ? 'pv-image' : 'native-image'}/${engineKind}/${architecture}`;
    let result = cache.get(key);
    if (result === undefined) {
      result = run(image, engineKind, architecture);
      cache.set(key, result);
    }
    return result;
  }

  it('runs the paravirtual mini-kernel with the bare-metal output and exit status (equivalence)', () => {
    const r = once(pvImage, 'pv');
    assert.equal(r.serial, MINIKERNEL_OUTPUT);
    assert.deepEqual(r.stop, { kind: 'guest-exit', status: 33 });
    assert.equal(r.engine.technique, 'paravirtual');
  });

  it('enters the VMM by hypercalls (VMCALL, reason 18), never by privileged-instruction traps', () => {
    const r = once(pvImage, 'pv');
    const kinds = new Set(r.transitions.map((t) => t.kind));
    assert.ok(kinds.has('hypercall'));
    const reasons = new Set(r.transitions.map((t) => t.reason));
    for (const expected of ['hypercall 18 console_io', 'hypercall 0 set_trap_table', 'hypercall 3 stack_switch', 'hypercall 4 set_callbacks', 'hypercall 15 set_timer_op', 'hypercall 29 sched_op', 'hypercall 23 iret', 'hypercall 32 event_channel_op']) {
      assert.ok(reasons.has(expected), expected);
    }
    assert.ok(!r.transitions.some((t) => t.kind === 'trap' && t.from === 'guest-kernel' && t.reason.startsWith('#')), 'no kernel faults');
    const counts = new Map(r.engine.exitCounts().map((c) => [c.reason, c.count]));
    assert.ok((counts.get(18) ?? 0) > 10);
    assert.equal(counts.get(0), 1, 'only the user program\'s deliberate cli faults');
    assert.ok(r.transitions.some((t) => t.kind === 'fault-reflection' && t.reason.includes('#GP: cli at CPL3')));
  });

  it('takes int 0x80 system calls through the fast trap gate: no VMM entry at all', () => {
    const r = once(pvImage, 'pv');
    assert.ok(!r.transitions.some((t) => t.reason.startsWith('int 0x80')));
    const te = once(nativeImage, 'te');
    assert.ok(te.transitions.filter((t) => t.reason === 'int 0x80 (system call) at CPL3').length > 10, 'trap-and-emulate traps every one');
  });

  it('delivers timer ticks as event upcalls', () => {
    const r = once(pvImage, 'pv');
    const upcalls = r.transitions.filter((t) => t.kind === 'interrupt-injection' && t.reason === 'event upcall (port 1, VIRQ_TIMER)');
    assert.ok(upcalls.length >= 5, `${upcalls.length} upcalls`);
    assert.ok(upcalls.every((t) => t.from === 'vmm' && t.to === 'guest-kernel'));
    assert.ok(r.engine.stack.depth < MAX_LAYER_DEPTH);
  });

  it('costs far fewer VMM entries and VMM cycles than trap-and-emulate running the unmodified kernel', () => {
    const pv = once(pvImage, 'pv');
    const te = once(nativeImage, 'te');
    assert.equal(te.serial, pv.serial);
    assert.ok(pv.engine.log.total * 10 < te.engine.log.total, `${pv.engine.log.total} vs ${te.engine.log.total} transitions`);
    assert.ok(pv.engine.ledger.cyclesIn('vmm') * 10 < te.engine.ledger.cyclesIn('vmm'));
  });

  it('forwards console output along the architecture path: one hop chain per string, not per byte', () => {
    const hosted = once(pvImage, 'pv', 'hosted');
    assert.equal(hosted.serial, MINIKERNEL_OUTPUT);
    const switches = hosted.transitions.filter((t) => t.reason === 'world switch VMM→host').length;
    const consoleCalls = hosted.transitions.filter((t) => t.reason === 'hypercall 18 console_io').length;
    assert.equal(switches, consoleCalls);
  });

  it('documents every hypercall: a named macro in hypercall.inc and a row in docs/vmm/hypercall-abi.md', () => {
    const include = readFileSync(path.join(SAMPLES_INCLUDE, 'hypercall.inc'), 'utf8');
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/vmm/hypercall-abi.md'), 'utf8');
    for (const call of HYPERCALLS) {
      const byName = new RegExp(`^%macro HYPERVISOR_\\w+[^\\n]*\\n(?:(?!%endmacro)[^\\n]*\\n)*?\\s+(?:HYPERCALL ${call.name}\\b|mov eax, __HYPERVISOR_${call.name}\\b)`, 'm');
      assert.match(include, byName, `no HYPERVISOR_* macro calls ${call.name}`);
      assert.ok(doc.includes(`| ${call.number} | \`${call.name}\``), `docs table row for ${call.name}`);
    }
  });
});
