// Guest descriptor-table tracing under trap-and-emulate and binary translation (issue 5 / VMware's "tracing"):
// descriptor-tracing.guest.asm rewrites a live GDT descriptor's base (paging off and on) and an LDT descriptor's
// base with plain stores, reloads FS and prints what FS reads. QEMU and the native engine print the new bases'
// bytes; the VMMs must too (before tracing, T&E printed the old base's byte after each reload), with exactly one
// traced write per store, each recorded as a transition naming the store, and counted in memoryStats().
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import { buildKernel, runInQemu, scratchDir } from './tools';

const dir = scratchDir('descriptor-tracing');
const kernelPath = buildKernel(path.join(__dirname, 'descriptor-tracing.guest.asm'), dir);
const image = new Uint8Array(readFileSync(kernelPath));
const EXPECTED = 'descriptor tracing: ABAC\nAD\n';
const EXIT_SUCCESS = (0x10 << 1) | 1;

function run(technique: string) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image, { kernelName: 'descriptor-tracing' });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique, architecture: 'monolithic' });
  if (!created.ok) throw new Error(created.errors.join('; '));
  const engine = created.handle.engine;
  const stop = engine.run(5_000_000);
  return { serial, stop, engine, transitions: created.handle.log.list() };
}

/** Steps the engine one debugger step at a time to the end (bounded). */
function stepped(technique: string) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image, { kernelName: 'descriptor-tracing' });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique, architecture: 'monolithic' });
  if (!created.ok) throw new Error(created.errors.join('; '));
  let stop = created.handle.engine.step();
  for (let n = 0; n < 200_000 && stop.kind === 'step-done'; n++) stop = created.handle.engine.step();
  return { serial, stop, engine: created.handle.engine };
}

describe('descriptor-table tracing (trap-and-emulate, binary translation)', function () {
  this.timeout(120_000);

  it('QEMU and the native engine see each rewritten descriptor at the next segment load', () => {
    const qemu = runInQemu(kernelPath);
    assert.equal(qemu.serial, EXPECTED, qemu.stderr);
    assert.equal(qemu.status, EXIT_SUCCESS);
    const native = run('native');
    assert.equal(native.serial, EXPECTED);
    assert.deepEqual(native.stop, { kind: 'guest-exit', status: EXIT_SUCCESS });
  });

  for (const technique of ['trap-and-emulate', 'binary-translation']) {
    it(`${technique}: the same output as native; each store to the live GDT/LDT is one traced write`, () => {
      const r = run(technique);
      assert.equal(r.serial, EXPECTED);
      assert.deepEqual(r.stop, { kind: 'guest-exit', status: EXIT_SUCCESS });
      const traces = r.transitions.filter((t) => t.reason.startsWith('tracing: '));
      assert.deepEqual(traces.map((t) => `${t.from}>${t.to} ${t.kind} ${t.details['tracing']}`), [
        'guest-kernel>vmm trap GDT', 'guest-kernel>vmm trap LDT', 'guest-kernel>vmm trap GDT',
      ]);
      for (const t of traces) assert.match(t.instruction?.text ?? '', /^mov word \[(dword )?0x[0-9a-f]+\], 0x[0-9a-f]+$/);
      assert.ok(traces.every((t) => t.cost > 0));
      assert.equal(r.engine.memoryStats?.().counters['descriptorTableTraces'], 3);
    });
  }

  it('trap-and-emulate under debugger steps traces the same writes (the step ends at the store)', () => {
    const r = stepped('trap-and-emulate');
    assert.equal(r.serial, EXPECTED);
    assert.deepEqual(r.stop, { kind: 'guest-exit', status: EXIT_SUCCESS });
    assert.equal(r.engine.memoryStats?.().counters['descriptorTableTraces'], 3);
  });

  it('hardware assist needs no tracing (the guest owns its GDT in non-root mode) and prints the same', () => {
    const r = run('hardware-assisted');
    assert.equal(r.serial, EXPECTED);
  });
});
