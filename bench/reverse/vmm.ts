// SPDX-License-Identifier: MIT
// Reverse-debugging benchmark under trap-and-emulate (src/debug-adapter/vmmReverse.ts): records compute.asm
// up to `marker` under the VMM, then times stepBack (instruction and line) and reverseContinue, which restore
// a checkpoint with the engine state and replay through the engine. Drives the session in-process as VS
// Code's inline host does. Usage: npx tsx bench/reverse/vmm.ts [--steps N] [--iter ITERATIONS]
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { InlineClient } from '../inlineClient';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const STEPS = option('--steps', 50);
const ITER = option('--iter', 100_000);
const PROGRAM = join(__dirname, 'compute.asm');

const client = new InlineClient();
const request = (command: string, body: unknown = {}): Promise<DebugProtocol.Response> => client.request(command, body);
const event = (name: string): Promise<DebugProtocol.Event> => client.event(name);

async function timed(command: string, body: unknown): Promise<{ ms: number; stop: DebugProtocol.StoppedEvent }> {
  const stopped = event('stopped');
  const t0 = performance.now();
  await request(command, body);
  const stop = (await stopped) as DebugProtocol.StoppedEvent;
  return { ms: performance.now() - t0, stop };
}

function summary(label: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const p = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))]!;
  return `${label}: p50 ${p(50).toFixed(2)} ms, p99 ${p(99).toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(2)} ms (${times.length} requests)`;
}

async function main(): Promise<void> {
  await request('initialize', { adapterID: 'hyperstep', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = event('initialized');
  const entry = event('stopped');
  await request('launch', { program: PROGRAM, technique: 'trap-and-emulate', stopOnEntry: true, defines: { ITER: String(ITER) }, reverseHistoryMB: 64 });
  await initialized;
  await request('setFunctionBreakpoints', { breakpoints: [{ name: 'marker' }] });
  await request('configurationDone');
  await entry;
  const record = await timed('continue', { threadId: 1 });
  const rt = client.runtime;
  const stats = rt.reverse.recorder!.stats();
  console.log(`trap-and-emulate: recorded ${rt.retired()} instructions in ${record.ms.toFixed(0)} ms (stop: ${record.stop.body.reason}); ${stats.checkpoints} checkpoints, ${(stats.bytes / 1048576).toFixed(2)} MiB`);
  const instruction: number[] = [];
  for (let k = 0; k < STEPS; k++) instruction.push((await timed('stepBack', { threadId: 1, granularity: 'instruction' })).ms);
  console.log(summary('stepBack (instruction) under the VMM', instruction));
  const line: number[] = [];
  for (let k = 0; k < Math.min(STEPS, 20); k++) line.push((await timed('stepBack', { threadId: 1, granularity: 'line' })).ms);
  console.log(summary('stepBack (line) under the VMM', line));
  await request('setFunctionBreakpoints', { breakpoints: [{ name: 'body' }] });
  const near = await timed('reverseContinue', { threadId: 1 });
  console.log(`reverseContinue to the previous loop pass: ${near.ms.toFixed(2)} ms (${near.stop.body.description})`);
  await request('disconnect', {});
}

void main();
