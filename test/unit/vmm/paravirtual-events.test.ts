// Event-channel corner cases of the paravirtual engine (issue 5): serial input raises a port bound to
// VIRQ_CONSOLE; a pending event on a port masked in evtchn_mask wakes sched_op(block) but is not delivered;
// EVTCHNOP_unmask of a pending port makes the upcall due (as Xen's unmask), and it runs when the hypercall
// returns; console_io read hands the input to the guest. Guest: paravirtual-events.guest.asm.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import { ParavirtualEngine } from '../../../src/emulator/vmm/paravirtual/engine';
import { buildKernel, scratchDir } from './tools';

describe('paravirtual events: VIRQ_CONSOLE, masked ports, unmask', function () {
  this.timeout(60000);
  const elf = buildKernel(path.join(__dirname, 'paravirtual-events.guest.asm'), scratchDir('pv-events'));

  function run(input: string) {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    let serial = '';
    machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
    const loaded = machine.boot(new Uint8Array(readFileSync(elf)), { kernelName: 'k' });
    if ('error' in loaded) throw new Error(loaded.error);
    machine.serialInput([...input].map((c) => c.charCodeAt(0)));
    const engine = new ParavirtualEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    return { stop: engine.run(2_000_000), serial, engine };
  }

  it('a masked pending port wakes block without an upcall; unmask delivers it and console_io read gets the input', () => {
    const r = run('hello');
    assert.deepEqual(r.stop, { kind: 'guest-exit', status: 33 });
    assert.equal(r.serial, 'masked: pending=1 upcalls=0\nunmasked: upcalls=1 input=hello\n');
    const upcalls = r.engine.log.list().filter((t) => t.kind === 'interrupt-injection');
    assert.equal(upcalls.length, 1);
    assert.match(upcalls[0]!.reason, /VIRQ_CONSOLE/);
  });

  it('without input and without a timer, block is a diagnosed stop (the guest would sleep forever)', () => {
    const r = run('');
    assert.equal(r.stop.kind, 'stop');
    assert.match((r.stop as { message: string }).message, /sleep forever/);
  });
});
