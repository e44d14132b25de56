// SPDX-License-Identifier: MIT
// Debug-adapter benchmark (issue 7 targets: step p50 ≤ 1 ms, p99 ≤ 5 ms; continue to a breakpoint 100 M
// instructions away ≤ 1 s). Drives HyperStepDebugSession in-process exactly as VS Code's inline host does
// (handleMessage / onDidSendMessage, no transport) and measures request → stopped event.
// Usage: npx tsx bench/debug-adapter/run.ts [--steps N] [--loop ITERATIONS] [--technique T] [--watch]
// --technique runs the guest under a VMM engine (default native); --watch turns on a virtualization-event
// filter that never matches (vmm-trap, reason 99), which makes continue advance by debugger steps (the
// cost of stopping exactly inside a VMM handler).
import { join } from 'node:path';
import { InlineClient } from '../inlineClient';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const STEPS = option('--steps', 300);
const LOOP = option('--loop', 33_333_333);
const PROGRAM = join(__dirname, 'loop.asm');
const TECHNIQUE = args.includes('--technique') ? args[args.indexOf('--technique') + 1]! : 'native';
const WATCH = args.includes('--watch');

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function launch(loop: number): Promise<InlineClient> {
  const c = new InlineClient();
  await c.request('initialize', { adapterID: 'hyperstep', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = c.event('initialized');
  const entry = c.event('stopped');
  await c.request('launch', { program: PROGRAM, technique: TECHNIQUE, stopOnEntry: true, defines: { LOOP_COUNT: loop } });
  await initialized;
  if (WATCH) await c.request('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'vmm-trap', condition: '99' }] });
  await c.request('configurationDone');
  await entry;
  return c;
}

async function stepLatency(granularity: 'line' | 'instruction'): Promise<number[]> {
  const c = await launch(1_000_000_000);
  const times: number[] = [];
  const WARMUP = 50; // let the JIT settle; these steps are not counted
  for (let k = 0; k < STEPS + WARMUP; k++) {
    const stopped = c.event('stopped');
    const t0 = performance.now();
    await c.request('next', { threadId: 1, granularity });
    await stopped;
    if (k >= WARMUP) times.push(performance.now() - t0);
    if (k % 20 === 0) await c.request('stackTrace', { threadId: 1 }); // as the UI does after a stop
  }
  await c.request('disconnect');
  return times.sort((a, b) => a - b);
}

async function continueToBreakpoint(): Promise<{ ms: number; instructions: number }> {
  const c = await launch(LOOP);
  const lines = (await import('node:fs')).readFileSync(PROGRAM, 'utf8').split('\n');
  const doneLine = lines.findIndex((l) => l.startsWith('done:')) + 2;
  await c.request('setBreakpoints', { source: { path: PROGRAM }, breakpoints: [{ line: doneLine }] });
  const before = c.session as unknown as { runtime: { retired(): number } };
  const start = before.runtime.retired();
  const stopped = c.event('stopped');
  const t0 = performance.now();
  await c.request('continue', { threadId: 1 });
  await stopped;
  const ms = performance.now() - t0;
  const instructions = before.runtime.retired() - start;
  await c.request('disconnect');
  return { ms, instructions };
}

async function main(): Promise<void> {
  console.log(`technique ${TECHNIQUE}${WATCH ? ', with a VM-exit filter on (watched continue)' : ''}`);
  for (const g of ['line', 'instruction'] as const) {
    const t = await stepLatency(g);
    console.log(`  slowest: ${t.slice(-6).map((x) => x.toFixed(1)).join(", ")} ms`);
    console.log(`step (${g}) ×${t.length}: p50 ${percentile(t, 50).toFixed(3)} ms, p99 ${percentile(t, 99).toFixed(3)} ms, max ${t[t.length - 1]!.toFixed(3)} ms`);
  }
  const run = await continueToBreakpoint();
  console.log(`continue to breakpoint: ${(run.instructions / 1e6).toFixed(1)} M instructions in ${run.ms.toFixed(0)} ms (${(run.instructions / run.ms / 1e3).toFixed(1)} MIPS)`);
}

void main();
