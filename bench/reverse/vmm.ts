// SPDX-License-Identifier: MIT
// Reverse-debugging benchmark across techniques in one run (issue 7 target: a reverse step at 10 M recorded
// instructions ≤ 50 ms with ≤ 64 MiB of history). For each technique, records compute.asm up to `marker`
// (~10.5 M instructions with the default ITER) with the default 64 MiB history, then times stepBack request →
// stopped event (instruction and line granularity) and a reverse-continue to the previous loop pass. Under a
// VMM (src/debug-adapter/vmmReverse.ts) a step back restores a checkpoint with the engine state and replays
// through the engine. Drives the session in-process as VS Code's inline host does.
// Usage: npx tsx bench/reverse/vmm.ts [--steps N] [--iter ITERATIONS] [--techniques native,trap-and-emulate,…]
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { InlineClient } from '../inlineClient';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const STEPS = Number(option('--steps', '100'));
const ITER = Number(option('--iter', '1500000'));
const TECHNIQUES = option('--techniques', 'native,trap-and-emulate,binary-translation,hardware-assisted,paravirtual').split(',');
const PROGRAM = join(__dirname, 'compute.asm');

async function timed(client: InlineClient, command: string, body: unknown): Promise<{ ms: number; stop: DebugProtocol.StoppedEvent }> {
  const stopped = client.event('stopped');
  const t0 = performance.now();
  await client.request(command, body);
  const stop = (await stopped) as DebugProtocol.StoppedEvent;
  return { ms: performance.now() - t0, stop };
}

function summary(label: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const p = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))]!;
  return `${label}: p50 ${p(50).toFixed(2)} ms, p99 ${p(99).toFixed(2)} ms, first ${times[0]!.toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(2)} ms (${times.length} requests)`;
}

async function measure(technique: string): Promise<void> {
  const client = new InlineClient();
  await client.request('initialize', { adapterID: 'hyperstep', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = client.event('initialized');
  const entry = client.event('stopped');
  await client.request('launch', { program: PROGRAM, technique, stopOnEntry: true, defines: { ITER: String(ITER) }, reverseHistoryMB: 64 });
  await initialized;
  await client.request('setFunctionBreakpoints', { breakpoints: [{ name: 'marker' }] });
  await client.request('configurationDone');
  await entry;
  const record = await timed(client, 'continue', { threadId: 1 });
  const rt = client.runtime;
  const recorded = rt.retired();
  const stats = rt.reverse.recorder!.stats();
  console.log(`${technique}: recorded ${recorded} instructions in ${record.ms.toFixed(0)} ms (stop: ${record.stop.body.reason}); ${stats.checkpoints} checkpoints, ${stats.pageVersions} page versions, history ${(stats.bytes / 1048576).toFixed(2)} MiB`);
  const instruction: number[] = [];
  for (let k = 0; k < STEPS; k++) instruction.push((await timed(client, 'stepBack', { threadId: 1, granularity: 'instruction' })).ms);
  console.log(`  ${summary('stepBack (instruction)', instruction)}`);
  if (args.includes("--slow")) console.log(`  slow: ${instruction.map((t, k) => [k, t] as const).filter(([, t]) => t > 10).map(([k, t]) => `#${k} ${t.toFixed(0)} ms`).join(", ")}`);
  if (rt.retired() !== recorded - STEPS) throw new Error(`${technique}: expected instruction ${recorded - STEPS} after ${STEPS} step backs, at ${rt.retired()}`);
  const line: number[] = [];
  for (let k = 0; k < Math.min(STEPS, 50); k++) line.push((await timed(client, 'stepBack', { threadId: 1, granularity: 'line' })).ms);
  console.log(`  ${summary('stepBack (line)', line)}`);
  await client.request('setFunctionBreakpoints', { breakpoints: [{ name: 'body' }] });
  const near = await timed(client, 'reverseContinue', { threadId: 1 });
  console.log(`  reverseContinue to the previous loop pass: ${near.ms.toFixed(2)} ms (${near.stop.body.description})`);
  const after = rt.reverse.recorder!.stats();
  console.log(`  history after the reverse steps: ${after.checkpoints} checkpoints, ${(after.bytes / 1048576).toFixed(2)} MiB`);
  await client.request('disconnect', {});
}

async function main(): Promise<void> {
  for (const technique of TECHNIQUES) await measure(technique);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
