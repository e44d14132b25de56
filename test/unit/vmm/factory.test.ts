// createVmmEngine: launch-option validation (never throws) and the engine per technique.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import { SAMPLES_VMM, buildKernel, scratchDir } from './tools';

describe('createVmmEngine', function () {
  this.timeout(60000);

  it('reports every bad launch option as a message', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
    const result = createVmmEngine(machine, { technique: 'emulate', architecture: 'type3', costModel: 'p4-2006', costOverrides: { vmExt: 1 } });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.errors.length, 3);
    assert.match(result.errors[0]!, /technique must be one of/);
    assert.match(result.errors[1]!, /architecture must be one of/);
    assert.match(result.errors[2]!, /did you mean 'vmExit'/);
    const bt = createVmmEngine(machine, { technique: 'binary-translation' });
    assert.ok(bt.ok && bt.handle.engine.technique === 'binary-translation');
  });

  it('creates each implemented technique with the chosen cost model and overrides', () => {
    for (const technique of ['native', 'trap-and-emulate', 'paravirtual'] as const) {
      const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
      const result = createVmmEngine(machine, { technique, architecture: 'hosted', costModel: 'modern', costOverrides: { worldSwitch: 9000 } });
      assert.ok(result.ok);
      assert.equal(result.handle.engine.technique, technique);
      assert.equal(result.handle.costModel.cycles('worldSwitch'), 9000);
      assert.equal(result.handle.costModel.cycles('vmExit'), 250);
    }
  });

  it('native: the I/O storm runs with its bare-metal output and only guest instructions in the ledger', () => {
    const image = new Uint8Array(readFileSync(buildKernel(path.join(SAMPLES_VMM, 'iostorm.asm'), scratchDir('factory'))));
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    let serial = '';
    machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
    const loaded = machine.boot(image, { kernelName: 'iostorm' });
    if ('error' in loaded) throw new Error(loaded.error);
    const result = createVmmEngine(machine, { technique: 'native' });
    assert.ok(result.ok);
    assert.deepEqual(result.handle.engine.run(10_000_000), { kind: 'guest-exit', status: 33 });
    assert.match(serial, /iostorm: done\n$/);
    assert.equal(result.handle.ledger.cyclesIn('vmm'), 0);
    assert.ok(result.handle.ledger.cyclesIn('guest-kernel') > 0);
  });
});
