// SPDX-License-Identifier: MIT
// Reverse debugging over DAP under binary translation (vmmReverse.ts with the BT engine's checkpoints: the
// translation cache index in the engine state, its fragments in the VMM region's RAM pages). Positions count the
// instructions the CPU retires, translated code included; they replay exactly because the translation cache does
// not depend on how the debugger drove the guest: breakpoints are mirrored onto TC addresses instead of
// re-translating (tcBreakpoints.ts), and single steps, chaining and full-speed slices translate and chain the
// same units (test/unit/reverse/btReplay.test.ts). Stepping back one instruction at a time across callouts
// (pushf/popf, out) and translations restores exactly the registers each step had, replays quietly, and
// reverseContinue goes back to the previous passes of a breakpoint set after those passes were translated.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { launchStopped, lineOf, startHarness, topFrame, type Harness } from '../debug-adapter/harness';
import { REVERSE_FIXTURES } from './guests';

const EXITS = join(REVERSE_FIXTURES, 'exits.asm');
const REGISTERS = ['eip', 'eax', 'ebx', 'ecx', 'edx', 'esi', 'esp', 'eflags'] as const;

async function value(h: Harness, expression: string): Promise<number> {
  const r = await h.client.evaluateRequest({ expression, context: 'watch', frameId: 0 });
  return Number(/^0x[0-9a-f]+/i.exec(r.body.result)![0]);
}

async function registers(h: Harness): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of REGISTERS) out[r] = await value(h, r);
  return out;
}

async function stopAfter(h: Harness, request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = h.client.waitForEvent('stopped');
  await request();
  return (await stopped) as DebugProtocol.StoppedEvent;
}

const TECHNIQUES: readonly { readonly name: string; readonly launch: Record<string, unknown>; readonly crossing: RegExp }[] = [
  { name: 'binary-translation', launch: { technique: 'binary-translation' }, crossing: /BT callout: (pushf|popf|out)/i },
];

for (const technique of TECHNIQUES) {
  describe(`reverse debugging under ${technique.name} (DAP)`, function () {
    this.timeout(60_000);
    let h: Harness;
    let trace: string[];
    beforeEach(async () => {
      h = await startHarness();
      trace = [];
      h.client.on('output', (e: DebugProtocol.OutputEvent) => {
        if (e.body.category === 'console') trace.push(e.body.output);
      });
    });
    afterEach(async () => h.close());

    it('steps back instruction by instruction across the VMM transitions of a loop pass, to exactly the registers each step had', async () => {
      await h.client.initializeRequest();
      await launchStopped(h.client, { program: EXITS, ...technique.launch, trace: true });
      const loop = lineOf(EXITS, 'BP-LOOP');
      await h.client.setBreakpointsRequest({ source: { path: EXITS }, breakpoints: [{ line: loop }] });
      await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
      await stopAfter(h, () => h.client.continueRequest({ threadId: 1 })); // the second pass
      await h.client.setBreakpointsRequest({ source: { path: EXITS }, breakpoints: [] });
      assert.equal((await topFrame(h.client)).line, loop);
      const states = [await registers(h)];
      const lines = [loop];
      const traced = trace.length;
      // Until the pass's inc ecx has run (after an exit, one step re-enters the guest and runs one instruction).
      while (states[states.length - 1]!.ecx !== states[0]!.ecx + 1) {
        await stopAfter(h, () => h.client.nextRequest({ threadId: 1, granularity: 'instruction' }));
        states.push(await registers(h));
        lines.push((await topFrame(h.client)).line);
        assert.ok(lines.length < 40, `runaway stepping: ${lines.join(',')}`);
      }
      const forward = trace.slice(traced);
      assert.ok(forward.some((t) => technique.crossing.test(t)), `the pass crossed VMM transitions: ${forward.join('')}`);
      assert.ok(lines.includes(lineOf(EXITS, 'BP-AFTER-CPUID')) && lines.includes(lineOf(EXITS, 'BP-OUT')), lines.join(','));
      const afterForward = trace.length;
      for (let i = states.length - 2; i >= 0; i--) {
        const stop = await stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity: 'instruction' }));
        assert.equal(stop.body.reason, 'step');
        assert.match(stop.body.description ?? '', /^Paused \(reverse\): /);
        assert.equal((await topFrame(h.client)).line, lines[i], `line after stepping back to state ${i} (lines forward: ${lines.join(',')})`);
        assert.deepEqual(await registers(h), states[i], `registers after stepping back to state ${i}`);
      }
      assert.equal(trace.length, afterForward, `stepping back traced nothing: ${trace.slice(afterForward).join('')}`);
      // Forward again through the same transitions: the same states.
      for (let i = 1; i < states.length; i++) {
        await stopAfter(h, () => h.client.nextRequest({ threadId: 1, granularity: 'instruction' }));
        assert.deepEqual(await registers(h), states[i], `forward again, state ${i}`);
      }
    });

    it('reverse-continues back over the OUT and CPUID transitions to the previous passes of a breakpoint', async () => {
      await h.client.initializeRequest();
      await launchStopped(h.client, { program: EXITS, ...technique.launch });
      const after = lineOf(EXITS, 'BP-AFTER-CPUID');
      await h.client.setBreakpointsRequest({ source: { path: EXITS }, breakpoints: [{ line: after }] });
      for (let pass = 0; pass < 4; pass++) {
        await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
        assert.equal(await value(h, 'ecx'), pass);
      }
      for (let pass = 2; pass >= 0; pass--) {
        const stop = await stopAfter(h, () => h.client.reverseContinueRequest({ threadId: 1 }));
        assert.equal(stop.body.reason, 'breakpoint');
        assert.match(stop.body.description ?? '', /^Paused \(reverse\): /);
        const frames = (await h.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
        assert.equal((await topFrame(h.client)).line, after, JSON.stringify(frames.map((f) => `${f.name}@${f.source?.path}:${f.line}`)));
        assert.equal(await value(h, 'ecx'), pass);
        assert.equal(await value(h, 'esi'), (pass * (pass - 1)) >> 1, 'the sum of the earlier passes');
      }
      await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
      assert.equal(await value(h, 'ecx'), 1, 'forward again: the next pass');
    });
  });
}
