// Determinism of the whole machine with the real IA-32 core: the same kernel gives the same final state hash
// on every run, and a run resumed from a saved state ends in the same state as an uninterrupted run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CYCLES_PER_PIT_TICK } from '../../../src/emulator/machine/layout';
import type { Machine, MachineStop } from '../../../src/emulator/machine/machine';
import { buildFlat, SAMPLE_HELLO } from '../../differential/tools';

function bootHello(): Machine {
  const m = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
  const loaded = m.boot(new Uint8Array(readFileSync(buildFlat(SAMPLE_HELLO))), { kernelName: 'hello.bin' });
  assert.ok(!('error' in loaded));
  return m;
}

function runToEnd(m: Machine): MachineStop {
  let stop: MachineStop;
  do stop = m.run(100_000);
  while (stop.reason === 'budget');
  return stop;
}

describe('machine determinism (real CPU)', function () {
  this.timeout(30000);

  it('gives the same final state hash, output and virtual time on every run', () => {
    const results = [0, 1, 2].map(() => {
      const m = bootHello();
      let out = '';
      m.onSerialOutput((b) => (out += String.fromCharCode(b)));
      const stop = runToEnd(m);
      return { hash: m.stateHash(), out, now: m.now(), stop: stop.reason };
    });
    assert.equal(results[0].stop, 'guest-exit');
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[2], results[0]);
    // Five 100 Hz ticks: five PIT periods of virtual time (~50 ms at ~1 GHz) although only ~2000 instructions ran.
    assert.ok(results[0].now >= 5 * Math.floor(1193182 / 100) * CYCLES_PER_PIT_TICK, `virtual cycles ${results[0].now}`);
  });

  it('stops at an execution breakpoint in the debug loop only, and continues past it', () => {
    const m = bootHello();
    const timerHandler = 0x100000 + readFileSync(buildFlat(SAMPLE_HELLO)).indexOf(Buffer.from([0x60, 0xff, 0x05])); // pushad; inc dword [..]
    m.cpu.setBreakpoint(timerHandler);
    const fast = bootHello();
    fast.cpu.setBreakpoint(timerHandler);
    assert.equal(runToEnd(fast).reason, 'guest-exit', 'the fast loop ignores breakpoints');
    let hits = 0;
    let stop: MachineStop;
    do {
      stop = m.run(1_000_000, { debug: true });
      if (stop.reason === 'breakpoint') {
        hits++;
        assert.equal(m.cpu.summary().registers['eip'], timerHandler);
      }
    } while (stop.reason === 'breakpoint' || stop.reason === 'budget');
    assert.equal(stop.reason, 'guest-exit');
    assert.equal(hits, 5, 'one stop per timer interrupt');
  });

  it('resumes from a snapshot taken between timer interrupts to the same final state', () => {
    const straight = bootHello();
    runToEnd(straight);
    const first = bootHello();
    first.run(300); // inside the tick loop
    const snapshot = structuredClone(first.saveState());
    const resumed = bootHello();
    resumed.loadState(snapshot);
    runToEnd(resumed);
    assert.equal(resumed.stateHash(), straight.stateHash());
  });
});
