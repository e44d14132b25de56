// SPDX-License-Identifier: MIT
// Step over the paravirtual iret hypercall (int 0x82 with EAX = 23): it never returns to the instruction after
// it but to the frame on the guest kernel stack, so `next` on it is a plain step that lands where the event
// upcall interrupted the guest — not a run to the next breakpoint or the guest's end (stepping.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { launchStopped, lineOf, startHarness, topFrame } from './harness';

const PV = join(__dirname, '..', 'reverse', 'fixtures', 'pv.asm');

describe('debug adapter: step over the paravirtual iret hypercall', function () {
  this.timeout(60_000);

  for (const granularity of ['line', 'instruction'] as const) {
    it(`next (${granularity}) on HYPERVISOR_iret returns to the interrupted loop`, async () => {
      const h = await startHarness();
      try {
        const c = h.client;
        await launchStopped(c, { program: PV, technique: 'paravirtual' });
        const iretLine = lineOf(PV, 'restores EAX');
        await c.setBreakpointsRequest({ source: { path: PV }, breakpoints: [{ line: iretLine }] });
        let stopped = c.waitForEvent('stopped');
        await c.continueRequest({ threadId: 1 });
        await stopped;
        assert.equal((await topFrame(c)).line, iretLine);
        await c.setBreakpointsRequest({ source: { path: PV }, breakpoints: [] });
        // The macro is `mov eax, 23` then `int 0x82`: one line step, or two instruction steps.
        for (let i = 0; i < (granularity === 'line' ? 1 : 2); i++) {
          stopped = c.waitForEvent('stopped', 20_000);
          await c.nextRequest({ threadId: 1, granularity });
          assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'step');
        }
        const line = (await topFrame(c)).line;
        assert.ok(line >= lineOf(PV, 'BP-LOOP') && line <= lineOf(PV, 'BP-JB'), `landed on line ${line}, not in the loop the upcall interrupted`);
      } finally {
        await h.close();
      }
    });
  }
});
