// SPDX-License-Identifier: MIT
// Interrupt separators inside the guest's own call stack (src/debug-adapter/guestStack.ts) carry a real,
// adapter-served source — the IRET frame as it sits on the guest stack — instead of none, which VS Code shows
// as "Unknown Source 0". Both runs reach the handler at full speed, so the frame is recovered from the stack by
// its shape; natively the CPU reported the delivery (vector known), under trap-and-emulate the VMM made it.
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { IRQ, launchStopped, lineOf, startHarness } from './harness';

/** Runs irq.asm to the breakpoint in the timer handler's helper and returns the call stack there. */
async function stackInTimerHandler(c: DebugClient, technique: string): Promise<DebugProtocol.StackFrame[]> {
  await launchStopped(c, { program: IRQ, technique });
  await c.setBreakpointsRequest({ source: { path: IRQ }, breakpoints: [{ line: lineOf(IRQ, 'BP-TICK') }] });
  const stopped = c.waitForEvent('stopped');
  await c.continueRequest({ threadId: 1 });
  assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
  return (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
}

describe('debug adapter: guest interrupt separators have a source', function () {
  this.timeout(60_000);

  const cases: [technique: string, label: RegExp, howKnown: RegExp][] = [
    ['native', /^hardware interrupt, vector 0x8 .* → handler above$/, /^how known: {3}found by the stack scan .*; the CPU reported delivering vector 8 to return there$/m],
    ['trap-and-emulate', /^interrupt or exception \(recovered from the stack\) → handler above$/, /^how known: {3}found by the stack scan .*; the delivery was not seen/m],
  ];
  for (const [technique, label, howKnown] of cases) {
    it(`${technique}: the separator under the timer handler points at a listing of the IRET frame`, async () => {
      const h = await startHarness();
      try {
        const c = h.client;
        const frames = await stackInTimerHandler(c, technique);
        const dump = frames.map((f) => `${f.presentationHint ?? '-'} | ${f.name} | ${f.source?.name ?? 'no source'}:${f.line}`).join('\n');
        assert.deepEqual(frames.slice(0, 2).map((f) => f.name), ['tick', 'irq0'], dump);
        for (const f of frames.filter((x) => x.presentationHint === 'label')) {
          assert.ok(f.source !== undefined && (f.source.sourceReference ?? 0) > 0 && f.line >= 1, `separator without a source (VS Code: "Unknown Source 0"): ${f.name}\n${dump}`);
        }
        const separator = frames.find((f) => label.test(f.name));
        assert.ok(separator, `no interrupt separator matching ${label}:\n${dump}`);
        assert.match(separator.source!.name ?? '', /^interrupt frame @0x[0-9a-f]{8}$/);
        const text = (await c.sourceRequest({ sourceReference: separator.source!.sourceReference!, source: separator.source! })).body.content;
        assert.match(text, howKnown, text);
        // The frame below the separator is the interrupted hlt loop; the frame holds its EIP, the flat code selector, IF set.
        const interrupted = frames[frames.indexOf(separator) + 1]!;
        assert.equal(interrupted.line, lineOf(IRQ, 'BP-AFTER-HLT'), dump);
        assert.match(text, /^EIP: {9}start\.wait\+0x1 \(0x[0-9a-f]+\)$/m, text);
        assert.match(text, /^CS: {10}0x0008 \(index 1, RPL 0\)$/m, text);
        assert.match(text, /^EFLAGS: {6}0x00000202 \[ .*\bIF\b.* \]$/m, text);
      } finally {
        await h.close();
      }
    });
  }
});
