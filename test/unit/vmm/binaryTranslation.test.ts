// The binary-translation engine on the real machine with the VMM sample guests (assembled with the real nasm,
// linked with ld): guest kernel code runs only as translations in the TC, user code directly. Equivalence with
// native — the same serial output and exit status — for the mini-kernel, the I/O storm and, unlike
// trap-and-emulate, the POPF and red-pill lessons; plus the transition trace of translations and callouts, the
// TC inspection data, chaining, and determinism.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import type { EngineStop, ExecutionEngine } from '../../../src/emulator/vmm/engine';
import type { Transition } from '../../../src/emulator/vmm/transitions';
import { BinaryTranslationEngine } from '../../../src/emulator/vmm/binaryTranslation/engine';
import { TRANSLATION_STEPS } from '../../../src/emulator/vmm/binaryTranslation/translationSteps';
import { SAMPLES_VMM, buildKernel, scratchDir } from './tools';

const dir = scratchDir('binary-translation');
const kernels = new Map<string, Uint8Array>();

function kernel(name: string): Uint8Array {
  let image = kernels.get(name);
  if (image === undefined) {
    image = new Uint8Array(readFileSync(buildKernel(path.join(SAMPLES_VMM, `${name}.asm`), dir)));
    kernels.set(name, image);
  }
  return image;
}

interface Run {
  readonly stop: EngineStop;
  readonly serial: string;
  readonly engine: ExecutionEngine;
  readonly transitions: readonly Transition[];
}

function runSample(name: string, technique: 'native' | 'binary-translation' | 'trap-and-emulate'): Run {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(kernel(name), { kernelName: name });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique });
  assert.ok(created.ok, created.ok ? '' : created.errors.join('; '));
  const engine = created.handle.engine;
  const stop = engine.run(30_000_000);
  return { stop, serial, engine, transitions: created.handle.log.list() };
}

const status = (value: number) => (value << 1) | 1;

describe('binary-translation engine on the machine', function () {
  this.timeout(120000);

  for (const name of ['minikernel', 'iostorm', 'popf-demo', 'redpill']) {
    it(`${name}: the same serial output and exit status as native`, () => {
      const native = runSample(name, 'native');
      const translated = runSample(name, 'binary-translation');
      assert.equal(translated.serial, native.serial);
      assert.deepEqual(translated.stop, native.stop);
      assert.deepEqual(native.stop, { kind: 'guest-exit', status: status(0x10) });
      assert.ok(translated.engine instanceof BinaryTranslationEngine);
      const tc = translated.engine.translationCache?.();
      assert.ok(tc !== undefined && tc.translations.length > 0, 'kernel code ran from the translation cache');
    });
  }

  it('popf-demo: trap-and-emulate loses the interrupt state where binary translation keeps it', () => {
    const te = runSample('popf-demo', 'trap-and-emulate');
    const bt = runSample('popf-demo', 'binary-translation');
    assert.match(te.serial, /interrupt state LOST/);
    assert.match(bt.serial, /popf-demo: after popf, pushf shows IF=0\n/);
    assert.match(bt.serial, /critical section: 0\n/);
    // The popfd reached the VMM as a callout (it never did under trap-and-emulate).
    const popf = bt.transitions.find((t) => /^BT callout: popfd?$/.test(t.reason));
    assert.ok(popf, 'a callout for popfd');
    assert.equal(popf.kind, 'trap');
    assert.equal(popf.details['source'], 'bt-callout');
    assert.match(String(popf.details['why']), /Robin & Irvine/);
    assert.ok(!te.transitions.some((t) => t.instruction?.text.startsWith('popf')));
  });

  it('redpill: sidt/sgdt/str/smsw/mov from cs report the virtual CPU; the real CPU still holds the VMM\'s tables', () => {
    const bt = runSample('redpill', 'binary-translation');
    const lines = bt.serial.split('\n');
    for (const line of lines.slice(0, 5)) assert.match(line, /: same$/);
    assert.equal(lines[4], 'redpill: cs=0x00000008, RPL 0: same');
    const engine = bt.engine as BinaryTranslationEngine;
    assert.notEqual(engine.vcpu.idtr.base, engine.vmmBase + 0x1000, 'the virtual IDTR is the guest\'s');
    const reasons = new Set(bt.transitions.map((t) => t.reason));
    for (const text of ['sidt [dword 0x', 'sgdt [dword 0x', 'str eax', 'smsw eax']) {
      assert.ok([...reasons].some((r) => r.startsWith(`BT callout: ${text}`)), `callout for ${text}`);
    }
    const tc = engine.translationCache();
    const movCs = tc.translations.flatMap((t) => t.instructions).find((i) => i.original === 'mov eax, cs');
    assert.ok(movCs, 'mov eax, cs was translated');
    assert.equal(movCs.rewrite, 'inline');
    assert.deepEqual(movCs.translated, ['mov eax, 0x8']);
  });

  it('records translations with named steps and costs, chains direct branches, and inspects the TC', () => {
    const bt = runSample('minikernel', 'binary-translation');
    const engine = bt.engine as BinaryTranslationEngine;
    const translations = bt.transitions.filter((t) => t.kind === 'translation' && t.reason.startsWith('translate the guest unit'));
    assert.ok(translations.length > 10);
    assert.ok(translations.every((t) => t.from === 'guest-kernel' && t.to === 'vmm'));
    const tc = engine.translationCache();
    assert.ok(tc.usedBytes > 0 && tc.usedBytes <= tc.capacityBytes);
    assert.ok(engine.tcBase >= engine.vmmBase && engine.tcBase + tc.capacityBytes <= engine.vmmBase + engine.vmmRegion.size, 'the TC is VMM-region memory');
    assert.ok(tc.counters['chainedExits']! > 0 && tc.counters['translations']! === tc.translations.length);
    for (const t of tc.translations) {
      assert.ok(t.tcStart >= engine.tcBase && t.tcEnd <= engine.tcBase + tc.capacityBytes, 'fragments live in the TC');
      assert.ok(t.instructions.length >= 1 && t.instructions.length <= 12);
      for (const i of t.instructions) assert.ok(i.translated.length >= 1, `${i.original} has emitted code`);
    }
    const chained = tc.translations.find((t) => t.chainedTo.some((id) => id !== undefined));
    assert.ok(chained);
    const exitLine = chained.instructions.flatMap((i) => i.translated).find((line) => / chained to #\d+$/.test(line));
    assert.ok(exitLine?.startsWith('jmp '), exitLine);
    assert.ok(tc.translations.some((t) => t.hits > 1));
    // The ledger charged the translator.
    const ledger = (engine as unknown as { ledger: { total: number } }).ledger;
    assert.ok(ledger.total > 0);
    assert.deepEqual([...TRANSLATION_STEPS], ['decode guest block', 'emit IDENT', 'rewrite sensitive and control-flow instructions', 'chain', 'enter TC']);
  });

  it('is deterministic: two runs give the same trace and the same translation cache', () => {
    const a = runSample('popf-demo', 'binary-translation');
    const b = runSample('popf-demo', 'binary-translation');
    assert.equal(a.transitions.length, b.transitions.length);
    assert.deepEqual(a.transitions.slice(-50), b.transitions.slice(-50));
    assert.deepEqual(a.engine.translationCache?.(), b.engine.translationCache?.());
  });
});
