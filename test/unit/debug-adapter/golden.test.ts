// SPDX-License-Identifier: MIT
// Golden transcripts of the layered call stack (issue 7, "Tests"): every sample in samples/vmm and
// samples/hello, under every technique the VMM implements and every architecture, runs to its first VMM
// stop (the VM-exit/trap and hypercall filters on, all reasons) and, in a second run, to its first I/O hop
// out of the VMM (where the architectures differ: device model in the VMM, management OS, host OS); the
// stack trace at each stop — separators, the VMM/host frame with its marked handler step or hop, the guest
// frames with file:line — is compared with the JSON under
// test/golden/debug-adapter. A difference fails with the combinations that changed, expected next to
// actual. To accept new behaviour: UPDATE_GOLDEN=1 npx mocha --no-config -r tsx/cjs --extension ts
// test/unit/debug-adapter/golden.test.ts (then review the JSON diff before committing it).
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IMPLEMENTED_TECHNIQUES } from '../../../src/emulator/vmm/index';
import { ARCHITECTURES } from '../../../src/emulator/vmm/layers';
import { startHarness } from './harness';

const ROOT = join(__dirname, '..', '..', '..');
const GOLDEN_DIR = join(ROOT, 'test', 'golden', 'debug-adapter');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
/** Bound on guest instructions before the first VMM stop (the samples stop within a few thousand). */
const INSTRUCTION_LIMIT = 20_000_000;

const SAMPLES = [
  ...readdirSync(join(ROOT, 'samples', 'vmm')).filter((f) => f.endsWith('.asm')).sort().map((f) => join(ROOT, 'samples', 'vmm', f)),
  join(ROOT, 'samples', 'hello', 'hello.asm'),
];
const TECHNIQUES = IMPLEMENTED_TECHNIQUES.filter((t) => t !== 'native');

/** What one sample does under one technique and architecture up to its first VMM stop. */
type Transcript =
  | { readonly outcome: 'stopped'; readonly exception: string; readonly stack: readonly string[] }
  | { readonly outcome: 'ended'; readonly exitCode: number }
  | { readonly outcome: 'refused'; readonly message: string };

/** One row per frame: "hint | name | where", where is file:line or the marked line of an adapter listing. */
async function frameRow(c: DebugClient, f: DebugProtocol.StackFrame): Promise<string> {
  const hint = f.presentationHint ?? 'normal';
  if (f.source?.path !== undefined) return `${hint} | ${f.name} | ${basename(f.source.path)}:${f.line}`;
  if (f.source?.sourceReference !== undefined && f.source.sourceReference > 0 && hint !== 'label') {
    const text = (await c.sourceRequest({ sourceReference: f.source.sourceReference, source: f.source })).body.content;
    // Cycle costs (cost-model presets) and transition numbers are left out: the goldens are about structure.
    const marked = (text.split('\n')[f.line - 1] ?? '').trim().replace(/ \(\d+ cycles\)/g, '').replace(/#\d+ /g, '#… ');
    return `${hint} | ${f.name} | ${f.source.name ?? ''} @ ${marked}`;
  }
  return `${hint} | ${f.name}`;
}

/** The two stops recorded per combination: the first VMM entry, and the first I/O hop out of the VMM. */
const SCENARIOS: Readonly<Record<string, readonly { filterId: string }[]>> = {
  'first VMM entry': [{ filterId: 'vmm-trap' }, { filterId: 'hypercall' }],
  'first I/O hop': [{ filterId: 'io-hop' }],
};

async function transcript(program: string, technique: string, architecture: string, filterOptions: readonly { filterId: string }[]): Promise<Transcript> {
  const h = await startHarness();
  try {
    const c = h.client;
    const event = Promise.race([
      c.waitForEvent('stopped', 60_000).then((e) => ({ stopped: e as DebugProtocol.StoppedEvent })),
      c.waitForEvent('exited', 60_000).then((e) => ({ exited: e as DebugProtocol.ExitedEvent })),
    ]);
    const init = c.waitForEvent('initialized').then(async () => {
      await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [...filterOptions] });
      await c.configurationDoneRequest();
    });
    try {
      await c.launch({ program, technique, architecture, instructionLimit: INSTRUCTION_LIMIT });
    } catch (e) {
      return { outcome: 'refused', message: (e instanceof Error ? e.message : String(e)).replace(ROOT, '<repo>') };
    }
    await init;
    const first = await event;
    if ('exited' in first) return { outcome: 'ended', exitCode: first.exited.body.exitCode };
    const frames = (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    const stack: string[] = [];
    for (const f of frames) stack.push(await frameRow(c, f));
    return { outcome: 'stopped', exception: first.stopped.body.text ?? first.stopped.body.reason, stack };
  } finally {
    await h.close();
  }
}

function render(t: Transcript | undefined): string {
  if (t === undefined) return '    (no golden entry)';
  if (t.outcome === 'stopped') return [`    stopped: ${t.exception}`, ...t.stack.map((s) => `      ${s}`)].join('\n');
  return t.outcome === 'ended' ? `    ended with exit status ${t.exitCode} before any VMM stop` : `    refused: ${t.message}`;
}

describe('debug adapter: golden layered stack traces (samples × techniques × architectures)', function () {
  this.timeout(600_000);
  for (const sample of SAMPLES) {
    const name = basename(sample, '.asm');
    it(`${name}: the stack at the first VMM stop matches test/golden/debug-adapter/${name}.json`, async () => {
      const actual: Record<string, Transcript> = {};
      for (const technique of TECHNIQUES) {
        for (const architecture of ARCHITECTURES) {
          for (const [scenario, filters] of Object.entries(SCENARIOS)) actual[`${technique}/${architecture}: ${scenario}`] = await transcript(sample, technique, architecture, filters);
        }
      }
      const file = join(GOLDEN_DIR, `${name}.json`);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
        return;
      }
      assert.ok(existsSync(file), `no golden transcript ${file}: run UPDATE_GOLDEN=1 on this test to record it`);
      const expected = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Transcript>;
      const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
      const changed = keys.filter((k) => JSON.stringify(expected[k]) !== JSON.stringify(actual[k]));
      const report = changed.map((k) => `  ${k}\n  expected:\n${render(expected[k])}\n  actual:\n${render(actual[k])}`).join('\n\n');
      assert.equal(changed.length, 0, `${name}: the layered stack differs from the golden transcript in ${changed.length} combination(s):\n\n${report}\n\nIf the new stack is right, regenerate with UPDATE_GOLDEN=1 (see the header of this test) and review the JSON diff.`);
    });
  }
});
