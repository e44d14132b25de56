// SPDX-License-Identifier: MIT
// Debug-adapter benchmark inside the VMM (issue 7): under trap-and-emulate with the VM-exit filter on OUT,
// times continue to the next trap (the stop lands at the first step of the VMM handler), `next` through the
// handler's named steps, and step out back to the guest, in-process as VS Code's inline host drives it.
// Usage: npx tsx bench/debug-adapter/vmm.ts
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { InlineClient } from '../inlineClient';
const client = new InlineClient();
const request = (command: string, body: unknown = {}): Promise<DebugProtocol.Response> => client.request(command, body);
const event = (name: string): Promise<DebugProtocol.Event> => client.event(name);

async function timed(command: string, body: unknown): Promise<number> {
  const stopped = event('stopped');
  const t0 = performance.now();
  await request(command, body);
  await stopped;
  return performance.now() - t0;
}

function percentile(times: readonly number[], q: number): string {
  const sorted = [...times].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))]!.toFixed(3);
}

async function main(): Promise<void> {
  await request('initialize', { adapterID: 'hyperstep', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = event('initialized');
  const entry = event('stopped');
  await request('launch', { program: join(__dirname, '..', '..', 'test', 'unit', 'debug-adapter', 'fixtures', 'kernel.asm'), technique: 'trap-and-emulate', stopOnEntry: true });
  await initialized;
  await request('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'vmm-trap', condition: 'out' }] });
  await request('configurationDone');
  await entry;
  const continues: number[] = [];
  const steps: number[] = [];
  const outs: number[] = [];
  for (let k = 0; k < 25; k++) {
    continues.push(await timed('continue', { threadId: 1 }));
    await request('stackTrace', { threadId: 1 });
    for (let j = 0; j < 3; j++) {
      steps.push(await timed('next', { threadId: 1 }));
      await request('stackTrace', { threadId: 1 });
    }
    outs.push(await timed('stepOut', { threadId: 1 }));
  }
  console.log(`continue to the next OUT trap (filter on): p50 ${percentile(continues, 50)} ms, p99 ${percentile(continues, 99)} ms`);
  console.log(`next inside the VMM handler: p50 ${percentile(steps, 50)} ms, p99 ${percentile(steps, 99)} ms`);
  console.log(`step out to the guest: p50 ${percentile(outs, 50)} ms, p99 ${percentile(outs, 99)} ms`);
  await request('disconnect', {});
}

void main();
