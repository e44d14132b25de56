// SPDX-License-Identifier: MIT
// Breakpoints on translated guest kernel code over DAP (binary translation mirrors them onto TC addresses,
// tcBreakpoints.ts): a breakpoint on the first instruction of a translation unit — reached through the loop's
// exit, where the engine enters the TC exactly at the breakpoint — stops there (the runtime compares the guest
// address the TC address stands for), on a plain continue and on a watched (filtered) continue; a breakpoint in
// the middle of a unit stops on every loop pass.
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { launchStopped, startHarness, topFrame, type Harness } from './harness';

const COMPUTE = join(__dirname, '..', '..', '..', 'bench', 'reverse', 'compute.asm');
/** 1-based line of the first line of compute.asm that starts with `text` (after indentation). */
const lineOf = (text: string): number => readFileSync(COMPUTE, 'utf8').split('\n').findIndex((l) => l.trim().startsWith(text)) + 1;

async function stopAfter(h: Harness, request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = h.client.waitForEvent('stopped');
  await request();
  return (await stopped) as DebugProtocol.StoppedEvent;
}

async function ecx(h: Harness): Promise<number> {
  const r = await h.client.evaluateRequest({ expression: 'ecx', context: 'watch', frameId: 0 });
  return Number(/^0x[0-9a-f]+/i.exec(r.body.result)![0]);
}

describe('debug adapter: breakpoints on translated code under binary translation', function () {
  this.timeout(60_000);

  for (const watched of [false, true]) {
    it(`a function breakpoint on a unit's first instruction stops there${watched ? ' (with a virtualization-event filter on)' : ''}`, async () => {
      const h = await startHarness();
      try {
        await h.client.initializeRequest();
        await launchStopped(h.client, { program: COMPUTE, technique: 'binary-translation', defines: { ITER: '300' } });
        if (watched) await h.client.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'hypercall' }] });
        await h.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'marker' }] });
        const stop = await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
        assert.equal(stop.body.reason, 'function breakpoint', JSON.stringify(stop.body));
        assert.equal((await topFrame(h.client)).line, lineOf('marker:') + 1);
        assert.equal(await ecx(h), 0, 'after the last loop pass');
      } finally {
        await h.close();
      }
    });
  }

  it('a line breakpoint inside a translated loop stops on every pass', async () => {
    const h = await startHarness();
    try {
      await h.client.initializeRequest();
      await launchStopped(h.client, { program: COMPUTE, technique: 'binary-translation', defines: { ITER: '300' } });
      const line = lineOf('and esi, 0xFFFF');
      await h.client.setBreakpointsRequest({ source: { path: COMPUTE }, breakpoints: [{ line }] });
      for (let pass = 0; pass < 4; pass++) {
        const stop = await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
        assert.equal(stop.body.reason, 'breakpoint');
        assert.equal((await topFrame(h.client)).line, line);
        assert.equal(await ecx(h), 300 - pass);
      }
    } finally {
      await h.close();
    }
  });
});
