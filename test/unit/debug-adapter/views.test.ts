// SPDX-License-Identifier: MIT
// The views' custom DAP requests (src/debug-adapter/viewRequests.ts, viewProtocol.ts) through a DebugClient:
// the POPF lesson under trap-and-emulate stopped on its first VMM trap serves the activity (events located at
// the guest's .asm line, histogram by reason, cycles per layer), the layers diagram (type 1/2, the I/O path of
// the hosted architecture hop by hop), the sessionInfo event, and a headless comparison of techniques whose
// rows differ exactly as the lesson says. Translation cache and VMCS inspection light up by engine capability.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugRuntime } from '../../../src/debug-adapter/runtime';
import type { LaunchConfig } from '../../../src/debug-adapter/launchArgs';
import type { ActivityResponseBody, CompareResponseBody, LayersResponseBody, SessionInfoEventBody, TranslationCacheResponseBody, VmcsResponseBody } from '../../../src/debug-adapter/viewProtocol';
import { ViewRequests } from '../../../src/debug-adapter/viewRequests';
import type { TranslationCacheInfo } from '../../../src/emulator/vmm/inspection';
import { TransitionLog } from '../../../src/emulator/vmm/transitions';
import { expectError, launchStopped, startHarness } from './harness';

const POPF = join(__dirname, '..', '..', '..', 'samples', 'vmm', 'popf-demo.asm');
const BIN = { __OUTPUT_FORMAT__: 'bin' };

async function custom<T>(c: import('@vscode/debugadapter-testsupport').DebugClient, command: string, args: Record<string, unknown> = {}): Promise<T> {
  return (await c.customRequest(command, args)).body as T;
}

/** Launches the POPF lesson stopped on entry, then continues to the `times`-th VMM trap matching `condition`. */
async function popfAtTrap(c: import('@vscode/debugadapter-testsupport').DebugClient, architecture: string, condition: string, times = 1): Promise<void> {
  await launchStopped(c, { program: POPF, technique: 'trap-and-emulate', architecture, defines: BIN });
  await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'vmm-trap', condition }] });
  for (let i = 0; i < times; i++) {
    const stopped = c.waitForEvent('stopped', 20_000);
    await c.continueRequest({ threadId: 1 });
    assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'exception');
  }
}

describe('debug adapter: view requests (issue 8)', function () {
  this.timeout(60_000);

  it('serves the VMM activity of a trap-and-emulate session: located events, histogram by reason, cycles per layer', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const infos: SessionInfoEventBody[] = [];
      c.on('hyperstep.sessionInfo', (e: DebugProtocol.Event) => infos.push(e.body as SessionInfoEventBody));
      await popfAtTrap(c, 'monolithic', 'cli');
      const activity = await custom<ActivityResponseBody>(c, 'hyperstep.activity');
      assert.equal(activity.technique, 'trap-and-emulate');
      assert.ok(activity.events.length > 0, 'no transitions after a trap');
      const cli = activity.events.find((e) => e.kind === 'trap' && /#GP: cli/.test(e.reason));
      assert.ok(cli, `no #GP: cli trap among ${activity.events.map((e) => e.reason).join(' | ')}`);
      assert.ok(cli.location?.path.endsWith('popf-demo.asm'), `the cli trap is not located in the .asm: ${JSON.stringify(cli.location)}`);
      assert.equal(cli.location?.line, 59, 'the cli trap points at the cli line of popf-demo.asm');
      const cliCount = activity.histogram.find((r) => /#GP: cli/.test(r.reason))?.count;
      assert.equal(cliCount, 1, 'exactly one cli has trapped so far');
      assert.ok(activity.histogram.length >= 2 && activity.histogram[0]!.count >= activity.histogram[1]!.count, 'histogram is sorted by count');
      const vmm = activity.cyclesPerLayer.find((l) => l.layer === 'vmm');
      assert.ok(vmm !== undefined && vmm.cycles > 0, 'no VMM cycles after a trap');
      assert.equal(activity.totalCycles, activity.cyclesPerLayer.reduce((s, l) => s + l.cycles, 0));
      assert.ok(activity.guestInstructions > 0);
      // Incremental refresh: nothing newer than the newest event; `max` keeps the newest ones.
      const last = activity.events[activity.events.length - 1]!.seq;
      assert.equal((await custom<ActivityResponseBody>(c, 'hyperstep.activity', { sinceSeq: last })).events.length, 0);
      const two = await custom<ActivityResponseBody>(c, 'hyperstep.activity', { max: 2 });
      assert.deepEqual(two.events.map((e) => e.seq), [last - 1, last]);
      assert.match(await expectError(c.customRequest('hyperstep.activity', { max: 'lots' })), /'max' must be an integer/);
      // sessionInfo after launch and at each stop, with the newest transition's number.
      assert.ok(infos.length >= 2, `expected sessionInfo after launch and at stops, got ${infos.length}`);
      assert.deepEqual({ ...infos[0], lastTransitionSeq: 0 }, { technique: 'trap-and-emulate', architecture: 'monolithic', costModel: 'p4-2006', reverse: false, lastTransitionSeq: 0 });
      assert.equal(infos[infos.length - 1]!.lastTransitionSeq, last);
    } finally {
      await h.close();
    }
  });

  it('draws the layers of the configuration and the hosted I/O path hop by hop', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      // The second I/O trap: the first one's request has travelled the whole hosted path by then.
      await popfAtTrap(c, 'hosted', '30', 2);
      const layers = await custom<LayersResponseBody>(c, 'hyperstep.layers');
      assert.equal(layers.hypervisorType, 'type 2');
      assert.deepEqual(layers.layers.map((l) => l.layer), ['guest-user', 'guest-kernel', 'vmm', 'host-os-kernel', 'host-user-process', 'device']);
      assert.equal(layers.layers.find((l) => l.layer === 'guest-kernel')?.ring, 1, 'trap-and-emulate deprivileges the kernel to ring 1');
      assert.equal(layers.activePath[layers.activePath.length - 1], 'guest-kernel', `the guest kernel is the bottom of the active path: ${layers.activePath.join(' ← ')}`);
      console.log(`      active path at the stop: ${layers.activePath.join(' ← ')}`);
      assert.deepEqual(layers.lastIoPath, ['guest-kernel', 'vmm', 'host-os-kernel', 'host-user-process', 'host-os-kernel', 'device', 'host-os-kernel', 'host-user-process', 'host-os-kernel', 'vmm']);
      const tc = await custom<{ available: boolean; reason?: string }>(c, 'hyperstep.translationCache');
      assert.equal(tc.available, false);
      assert.match(tc.reason ?? '', /trap-and-emulate technique has no translation cache/);
      const vmcs = await custom<{ available: boolean; reason?: string }>(c, 'hyperstep.vmcs');
      assert.equal(vmcs.available, false);
      assert.match(vmcs.reason ?? '', /no VMCS/);
    } finally {
      await h.close();
    }
  });

  it('compares techniques headless: native keeps interrupts off, trap-and-emulate loses them and pays in traps', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: POPF, technique: 'trap-and-emulate', defines: BIN });
      const body = await custom<CompareResponseBody>(c, 'hyperstep.compare', { techniques: ['native', 'trap-and-emulate'], architectures: ['monolithic', 'hosted'] });
      assert.deepEqual(body.rows.map((r) => `${r.technique}/${r.architecture}`), ['native/monolithic', 'trap-and-emulate/monolithic', 'trap-and-emulate/hosted']);
      const [native, tae, hosted] = body.rows as [CompareResponseBody['rows'][number], CompareResponseBody['rows'][number], CompareResponseBody['rows'][number]];
      assert.equal(native.outcome, 'exit 0x21', native.serialOutput);
      assert.match(native.serialOutput, /interrupts stayed disabled/);
      assert.equal(tae.outcome, 'exit 0x25', tae.serialOutput);
      assert.match(tae.serialOutput, /interrupt state LOST/);
      assert.equal(native.countsByKind['trap'] ?? 0, 0, 'native has no VMM to trap into');
      assert.ok((tae.countsByKind['trap'] ?? 0) > 100, `trap-and-emulate traps on every port access: ${JSON.stringify(tae.countsByKind)}`);
      assert.ok((hosted.countsByKind['world-switch'] ?? 0) > 0 && (tae.countsByKind['world-switch'] ?? 0) === 0, 'only the hosted architecture world-switches');
      assert.ok(hosted.totalCycles > tae.totalCycles && tae.totalCycles > native.totalCycles, `cycles: native ${native.totalCycles}, T&E ${tae.totalCycles}, hosted ${hosted.totalCycles}`);
      assert.ok(tae.cyclesPerLayer.some((l) => l.layer === 'vmm' && l.cycles > 0));
      assert.match(await expectError(c.customRequest('hyperstep.compare', { techniques: ['warp-drive'] })), /'techniques' must be an array of techniques/);
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: translation cache and VMCS of live engines', function () {
  this.timeout(60_000);
  /** The POPF lesson under `technique`, stopped at the start of its critical section (after cli/popf ran). */
  async function atCriticalSection(c: import('@vscode/debugadapter-testsupport').DebugClient, technique: string): Promise<void> {
    await launchStopped(c, { program: POPF, technique, defines: BIN });
    const line = readFileSync(POPF, 'utf8').split('\n').findIndex((l) => /^\s*mov ebx, \[ticks\]/.test(l)) + 1;
    await c.setBreakpointsRequest({ source: { path: POPF }, breakpoints: [{ line }] });
    const hit = c.waitForEvent('stopped', 30_000);
    await c.continueRequest({ threadId: 1 });
    assert.equal(((await hit) as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
  }

  it('binary translation: the translation cache lists translations, rewritten instructions with their reasons', async () => {
    const h = await startHarness();
    try {
      // Guest breakpoints do not fire inside translated code yet, so stop at VMM traps (callouts) until the
      // translator has rewritten something.
      const c = h.client;
      await launchStopped(c, { program: POPF, technique: 'binary-translation', defines: BIN });
      await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'vmm-trap', condition: '' }] });
      let body = await custom<TranslationCacheResponseBody>(c, 'hyperstep.translationCache');
      const rewrites = (): number => (body.cache?.translations ?? []).flatMap((t) => t.instructions).filter((i) => i.rewrite !== 'ident').length;
      for (let stops = 0; stops < 50 && rewrites() === 0; stops++) {
        const stopped = c.waitForEvent('stopped', 20_000);
        await c.continueRequest({ threadId: 1 });
        await stopped;
        body = await custom<TranslationCacheResponseBody>(c, 'hyperstep.translationCache');
      }
      assert.equal(body.available, true, body.reason);
      const translations = body.cache!.translations;
      assert.ok(translations.length > 0, 'no translations after running guest kernel code');
      const rewritten = translations.flatMap((t) => t.instructions).filter((i) => i.rewrite !== 'ident');
      assert.ok(rewritten.length > 0, 'no instruction was rewritten');
      assert.ok(translations.every((t) => t.guestEnd > t.guestStart && t.tcEnd > t.tcStart), 'every translation has a guest and a TC range');
      assert.ok(rewritten.every((i) => i.why !== ''), 'every rewrite says why');
      assert.equal((await custom<{ available: boolean }>(h.client, 'hyperstep.vmcs')).available, false);
    } finally {
      await h.close();
    }
  });

  it('hardware assist: the VMCS is served grouped as the SDM groups its fields', async () => {
    const h = await startHarness();
    try {
      await atCriticalSection(h.client, 'hardware-assisted');
      const body = await custom<VmcsResponseBody>(h.client, 'hyperstep.vmcs');
      assert.equal(body.available, true, body.reason);
      const groups = body.vmcs!.groups.map((g) => g.name);
      assert.ok(groups.includes('Guest-state area') && groups.includes('VM-execution control fields'), `groups: ${groups.join(', ')}`);
      assert.equal(body.vmcs!.launchState, 'launched');
      assert.equal((await custom<{ available: boolean }>(h.client, 'hyperstep.translationCache')).available, false);
    } finally {
      await h.close();
    }
  });
});

describe('view requests: inspection lights up by engine capability', () => {
  const config = { technique: 'binary-translation', architecture: 'monolithic', costPreset: 'p4-2006' } as unknown as LaunchConfig;
  const cache: TranslationCacheInfo = {
    capacityBytes: 65536, usedBytes: 12, counters: { translations: 1 },
    translations: [{ id: 0, guestStart: 0x100000, guestEnd: 0x100002, tcStart: 0xff0000, tcEnd: 0xff000c, chainedTo: [], hits: 3,
      instructions: [{ guestAddress: 0x100000, original: 'popf', translated: ['call vmm_popf'], rewrite: 'callout', why: 'popf is sensitive but unprivileged' }] }],
  };
  const runtimeWith = (engine: object | undefined): DebugRuntime =>
    ({ isLaunched: true, technique: 'binary-translation', vmmEngine: engine, retired: () => 0, layerFrames: () => [], lastStopInfo: undefined, program: undefined }) as unknown as DebugRuntime;

  it('serves an engine that implements translationCache() and vmcsInfo()', () => {
    const engine = { log: new TransitionLog(), translationCache: () => cache, vmcsInfo: () => ({ launchState: 'launched', groups: [] }) };
    const views = new ViewRequests(runtimeWith(engine), () => config);
    assert.deepEqual(views.translationCache(), { available: true, cache });
    assert.deepEqual(views.vmcs(), { available: true, vmcs: { launchState: 'launched', groups: [] } });
  });

  it('says why when the engine has no such structure, or no current VMCS yet', () => {
    const views = new ViewRequests(runtimeWith({ log: new TransitionLog(), vmcsInfo: () => undefined }), () => config);
    assert.equal(views.translationCache().available, false);
    assert.match(views.vmcs().reason ?? '', /no VMCS is current yet/);
  });
});
