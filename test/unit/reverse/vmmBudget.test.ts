// SPDX-License-Identifier: MIT
// The reverse history's memory budget under a VMM (vmmReverse.ts): engine-state copies are charged to
// reverseHistoryMB with their checkpoints, the oldest checkpoints are evicted with their engine states, and
// stepping or reverse-continuing back to the start of what is left restores a checkpoint that still has its
// engine state (the guest is at the oldest recorded instruction, not at the entry, and can run forward again).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { launchStopped, startHarness, type Harness } from '../debug-adapter/harness';

const COMPUTE = join(__dirname, '..', '..', '..', 'bench', 'reverse', 'compute.asm');

async function stopAfter(h: Harness, request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = h.client.waitForEvent('stopped');
  await request();
  return (await stopped) as DebugProtocol.StoppedEvent;
}

describe('reverse debugging under trap-and-emulate within a 1 MiB history (DAP)', function () {
  this.timeout(120_000);
  it('evicts the oldest checkpoints with their engine states and travels back to the oldest one left', async () => {
    const h = await startHarness();
    try {
      await h.client.initializeRequest();
      // ~1.4 M instructions storing into 64 pages: well over 1 MiB of page versions and engine states.
      await launchStopped(h.client, { program: COMPUTE, technique: 'trap-and-emulate', defines: { ITER: '200000' }, reverseHistoryMB: 1 });
      await h.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'marker' }] });
      await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
      await h.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'start' }] }); // passed only at the entry
      let stop = await stopAfter(h, () => h.client.reverseContinueRequest({ threadId: 1 }));
      for (let guard = 0; guard < 30 && !/start of the recorded history/.test(stop.body.description ?? ''); guard++) {
        stop = await stopAfter(h, () => h.client.reverseContinueRequest({ threadId: 1 }));
      }
      assert.equal(stop.body.reason, 'entry', stop.body.description);
      const oldest = Number(/instruction (\d+)/.exec(stop.body.description ?? '')![1]);
      assert.ok(oldest > 100_000, `the oldest checkpoints were evicted: history starts at instruction ${oldest}`);
      const back = await stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity: 'instruction' }));
      assert.match(back.body.description ?? '', new RegExp(`start of the recorded history \\(instruction ${oldest}\\)`));
      // Forward again from there, to the marker.
      await h.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'marker' }] });
      const again = await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
      assert.equal(again.body.reason, 'function breakpoint');
    } finally {
      await h.close();
    }
  });
});
