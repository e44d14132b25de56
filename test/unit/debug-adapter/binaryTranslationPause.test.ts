// Pausing a binary-translation session usually lands inside the translation cache (the CPU runs translated
// code); the debugger must still show where the guest is — the guest source line and address — and stepping
// must continue from there (engine.guestAddressOf maps TC addresses back).
import { strict as assert } from 'node:assert';
import { launchStopped, lineOf, SPIN, startHarness, topFrame, type Harness } from './harness';

describe('debug adapter: pause and step under binary translation', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness(); });
  afterEach(async () => { await h.close(); });

  it('a pause inside translated code shows the guest line, and next moves on in the guest source', async function () {
    this.timeout(60_000);
    await launchStopped(h.client, { program: SPIN, technique: 'binary-translation' });
    await h.client.continueRequest({ threadId: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const paused = h.client.waitForEvent('stopped');
    await h.client.pauseRequest({ threadId: 1 });
    await paused;
    const spinLines = [lineOf(SPIN, 'BP-SPIN'), lineOf(SPIN, 'BP-SPIN') + 1];
    const frame = await topFrame(h.client);
    assert.equal(frame.source?.name, 'spin.asm', JSON.stringify(frame));
    assert.ok(spinLines.includes(frame.line), `paused at line ${frame.line}, expected one of ${spinLines}`);
    const address = Number(frame.instructionPointerReference);
    assert.ok(address >= 0x100000 && address < 0x101000, `guest address, got ${frame.instructionPointerReference}`);
    for (let k = 0; k < 3; k++) {
      const stepped = h.client.waitForEvent('stopped');
      await h.client.nextRequest({ threadId: 1 });
      await stepped;
      const next = await topFrame(h.client);
      assert.equal(next.source?.name, 'spin.asm');
      assert.ok(spinLines.includes(next.line), `step ${k} at line ${next.line}`);
    }
  });
});
