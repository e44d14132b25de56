// SPDX-License-Identifier: MIT
// Reverse-debugging benchmark (issue 7 target: reverse step at 10 M recorded instructions ≤ 50 ms with
// ≤ 64 MiB of history). Drives HyperStepDebugSession in-process as VS Code's inline host does: launch the
// compute guest with the default 64 MiB history, continue to a breakpoint ~10.5 M instructions in (the
// runtime records checkpoints as it runs), then time stepBack request → stopped event, instruction and
// line granularity, and a reverse-continue across most of the history. Reports p50/p99 and the history's
// memory. Usage: npx tsx bench/reverse/run.ts [--steps N] [--iter ITERATIONS]
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { InlineClient } from '../inlineClient';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const STEPS = option('--steps', 100);
const ITER = option('--iter', 1_500_000);
const PROGRAM = join(__dirname, 'compute.asm');

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(c: InlineClient, command: string, body: unknown): Promise<{ ms: number; stop: DebugProtocol.StoppedEvent }> {
  const stopped = c.event('stopped');
  const t0 = performance.now();
  await c.request(command, body);
  const stop = (await stopped) as DebugProtocol.StoppedEvent;
  return { ms: performance.now() - t0, stop };
}

function summary(label: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  return `${label}: p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(2)} ms (${times.length} requests)`;
}

/** A session stopped at the entry with a breakpoint on `marker`. */
async function launch(historyMB: number): Promise<InlineClient> {
  const c = new InlineClient();
  await c.request('initialize', { adapterID: 'hyperstep', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = c.event('initialized');
  const entry = c.event('stopped');
  await c.request('launch', { program: PROGRAM, technique: 'native', stopOnEntry: true, defines: { ITER: String(ITER) }, reverseHistoryMB: historyMB });
  await initialized;
  await c.request('setFunctionBreakpoints', { breakpoints: [{ name: 'marker' }] });
  await c.request('configurationDone');
  await entry;
  return c;
}

async function main(): Promise<void> {
  const plain = await launch(0);
  const unrecorded = await timed(plain, 'continue', { threadId: 1 });
  console.log(`continue to marker without history: ${unrecorded.ms.toFixed(0)} ms`);
  await plain.request('disconnect', {});
  const c = await launch(64);
  const record = await timed(c, 'continue', { threadId: 1 });
  const rt = c.runtime;
  const recorded = rt.retired();
  const stats = rt.reverse.recorder!.stats();
  const mib = (b: number): string => (b / 1024 / 1024).toFixed(2);
  console.log(`recorded ${recorded} instructions in ${record.ms.toFixed(0)} ms (stop: ${record.stop.body.reason}); history: ${stats.checkpoints} checkpoints, ${stats.pageVersions} page versions, ${mib(stats.bytes)} MiB (full RAM copies would take ${mib(stats.fullCopyBytes)} MiB); oldest reachable instruction ${stats.oldest}`);

  const instruction: number[] = [];
  for (let k = 0; k < STEPS; k++) instruction.push((await timed(c, 'stepBack', { threadId: 1, granularity: 'instruction' })).ms);
  console.log(`first stepBack requests: ${instruction.slice(0, 5).map((t) => t.toFixed(1)).join(", ")} ms`);
  console.log(summary("stepBack (instruction)", instruction));
  if (rt.retired() !== recorded - STEPS) throw new Error(`expected instruction ${recorded - STEPS}, at ${rt.retired()}`);

  const line: number[] = [];
  for (let k = 0; k < Math.min(STEPS, 50); k++) line.push((await timed(c, 'stepBack', { threadId: 1, granularity: 'line' })).ms);
  console.log(`first line stepBack requests: ${line.slice(0, 5).map((t) => t.toFixed(1)).join(", ")} ms`);
  console.log(summary("stepBack (line)", line));

  // Reverse-continue with a breakpoint at the first loop instruction (hit every 7 instructions).
  await c.request('setFunctionBreakpoints', { breakpoints: [{ name: 'body' }] });
  const near = await timed(c, 'reverseContinue', { threadId: 1 });
  console.log(`reverseContinue to the previous loop pass: ${near.ms.toFixed(2)} ms (${near.stop.body.description})`);

  // Worst case for a single reverse step: travel to counts spread over the history, each far from any
  // checkpoint left by an earlier travel (restore + replay of up to a whole checkpoint interval). Targets stay
  // inside the recorded run: the guest exits through port 0xF4 three instructions after `marker`, so a count
  // past `recorded` cannot be reached by any replay (with --iter 300000 the old formula, 0.97 × recorded +
  // 77,777, asked for instruction 2,113,756 of a 2,100,007-instruction run).
  const history = rt.reverse.recorder!;
  const oldest = history.oldest ?? 0;
  const jumps: number[] = [];
  for (let k = 0; k < 40; k++) {
    const target = Math.min(recorded - 1, oldest + Math.floor((recorded - oldest) * (0.95 - k * 0.023)) + 77_777);
    const t0 = performance.now();
    rt.reverse.travel(history, target);
    jumps.push(performance.now() - t0);
    if (rt.retired() !== target) throw new Error(`travel to ${target} landed at ${rt.retired()}`);
  }
  console.log(summary('travel to a count up to one interval past its checkpoint (cold step back)', jumps));
  await timed(c, 'next', { threadId: 1, granularity: 'instruction' }); // back in the runtime's own flow

  // Reverse-continue with a breakpoint only passed at the entry: a scan of all the history left.
  await c.request('setFunctionBreakpoints', { breakpoints: [{ name: 'start' }] });
  const from = rt.retired();
  const far = await timed(c, 'reverseContinue', { threadId: 1 });
  console.log(`reverseContinue scanning ${from} instructions back to the entry: ${far.ms.toFixed(0)} ms (${far.stop.body.description})`);
  await c.request('disconnect', {});

  // The whole recording: a fresh session at the marker, reverse-continue to a breakpoint only the entry passes.
  const whole = await launch(64);
  await timed(whole, 'continue', { threadId: 1 });
  await whole.request('setFunctionBreakpoints', { breakpoints: [{ name: 'start' }] });
  const all = await timed(whole, 'reverseContinue', { threadId: 1 });
  console.log(`reverseContinue scanning all ${recorded} recorded instructions back to the entry: ${all.ms.toFixed(0)} ms`);
  await whole.request('disconnect', {});
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
