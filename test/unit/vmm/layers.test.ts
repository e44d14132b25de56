// Tests for the layer vocabulary, transition log, named-step handlers and the layer stack.
import assert from 'node:assert/strict';
import { guestKernelRing, layersOf, LAYERS, LAYER_INFO, isLayer } from '../../../src/emulator/vmm/layers';
import {
  TransitionLog,
  faultReason,
  hypercallReason,
  worldSwitchReason,
  vectorName,
  type TransitionInput,
} from '../../../src/emulator/vmm/transitions';
import { HandlerExecution, MAX_STEPS_PER_HANDLER, step, type HandlerDefinition } from '../../../src/emulator/vmm/handlerSteps';
import { LayerStack, MAX_LAYER_DEPTH } from '../../../src/emulator/vmm/layerStack';
import type { Layer } from '../../../src/emulator/vmm/layers';
import type { TransitionKind } from '../../../src/emulator/vmm/transitions';
import { ioPath } from '../../../src/emulator/vmm/architectures';
import { CostModel } from '../../../src/emulator/vmm/costModel';

function input(from: Layer, to: Layer, kind: TransitionKind, reason = 'r', address?: number): TransitionInput {
  return {
    cycle: 0,
    from,
    to,
    kind,
    reason,
    details: {},
    cost: 0,
    ...(address === undefined ? {} : { instruction: { address, bytes: [0xfa], text: 'cli' } }),
  };
}

describe('vmm layers and reasons', () => {
  it('describes every layer', () => {
    for (const layer of LAYERS) assert.equal(LAYER_INFO[layer].layer, layer);
    assert.ok(isLayer('vmm'));
    assert.ok(!isLayer('hypervisor'));
  });

  it('lists the layers of each architecture', () => {
    assert.deepEqual(layersOf('native', 'hosted'), ['guest-user', 'guest-kernel', 'device']);
    assert.ok(layersOf('trap-and-emulate', 'hosted').includes('host-user-process'));
    assert.ok(layersOf('paravirtual', 'microkernel').includes('management-os'));
    assert.ok(!layersOf('paravirtual', 'monolithic').includes('management-os'));
  });

  it('deprivileges the guest kernel to ring 1 only for trap-and-emulate and paravirtual', () => {
    assert.equal(guestKernelRing('native'), 0);
    assert.equal(guestKernelRing('trap-and-emulate'), 1);
    assert.equal(guestKernelRing('paravirtual'), 1);
    assert.equal(guestKernelRing('hardware-assisted'), 0);
  });

  it('writes reasons in the vocabulary of the literature', () => {
    assert.equal(faultReason(13, 'cli', 1), '#GP: cli at CPL1');
    assert.equal(hypercallReason(18, 'console_io'), 'hypercall 18 console_io');
    assert.equal(worldSwitchReason('vmm', 'host-os-kernel'), 'world switch VMM→host');
    assert.equal(vectorName(14), '#PF');
    assert.equal(vectorName(0x20), 'vector 0x20');
  });
});

describe('TransitionLog', () => {
  it('numbers transitions and keeps the most recent within capacity', () => {
    const log = new TransitionLog(3);
    const seen: number[] = [];
    log.onRecord((t) => seen.push(t.seq));
    for (let i = 0; i < 5; i++) log.record({ ...input('guest-kernel', 'vmm', 'trap'), cycle: i * 10 });
    assert.equal(log.total, 5);
    assert.deepEqual(log.list().map((t) => t.seq), [2, 3, 4]);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.equal(log.get(1), undefined);
    assert.equal(log.get(4)?.cycle, 40);
  });

  it('round-trips through JSON', () => {
    const log = new TransitionLog(2);
    for (let i = 0; i < 3; i++) log.record(input('guest-kernel', 'vmm', 'trap', `t${i}`));
    const copy = TransitionLog.fromJSON(JSON.parse(JSON.stringify(log)));
    assert.deepEqual(copy.toJSON(), log.toJSON());
    assert.equal(copy.record(input('vmm', 'guest-kernel', 'resume')).seq, 3);
  });
});

describe('HandlerExecution (named steps)', () => {
  interface Ctx { trace: string[]; allowed: boolean }
  const definition: HandlerDefinition<Ctx> = {
    name: '#GP handler',
    layer: 'vmm',
    steps: [
      step('save guest state', (c) => void c.trace.push('save'), 'vmmEntry'),
      step('decode faulting instruction', (c) => void c.trace.push('decode'), 'emulationStep'),
      step('check', (c) => (c.allowed ? undefined : { goto: 'reflect #GP' })),
      step('emulate on the virtual CPU', (c) => void c.trace.push('emulate'), 'emulationStep'),
      step('resume', () => ({ finish: { kind: 'resume' } }), 'vmmExit'),
      step('reflect #GP', () => ({ finish: { kind: 'reflect', vector: 13, errorCode: 0 } })),
    ],
  };

  it('runs one named step at a time and charges each step its cost parameter', () => {
    const charged: string[] = [];
    const context: Ctx = { trace: [], allowed: true };
    const execution = new HandlerExecution(definition, context, (parameter) => charged.push(parameter));
    assert.equal(execution.nextStepName, 'save guest state');
    execution.step();
    assert.deepEqual(context.trace, ['save']);
    assert.equal(execution.nextStepName, 'decode faulting instruction');
    assert.equal(execution.finished, false);
    assert.deepEqual(execution.runToCompletion(), { kind: 'resume' });
    assert.deepEqual(charged, ['vmmEntry', 'emulationStep', 'emulationStep', 'vmmExit']);
    assert.deepEqual(execution.executed.map((s) => s.name), [
      'save guest state', 'decode faulting instruction', 'check', 'emulate on the virtual CPU', 'resume',
    ]);
    assert.equal(execution.step(), undefined);
  });

  it('jumps to a named step when a check fails', () => {
    const execution = new HandlerExecution(definition, { trace: [], allowed: false });
    assert.deepEqual(execution.runToCompletion(), { kind: 'reflect', vector: 13, errorCode: 0 });
    assert.deepEqual(execution.executed.map((s) => s.index), [0, 1, 2, 5]);
    const state = JSON.parse(JSON.stringify(execution.snapshot()));
    assert.equal(state.nextStep, 6);
    assert.equal(state.outcome.vector, 13);
  });

  it('reports a goto to a missing step and a looping handler as stops, not exceptions', () => {
    const missing = new HandlerExecution({ name: 'h', layer: 'vmm', steps: [step('a', () => ({ goto: 'nowhere' }))] }, {});
    assert.equal(missing.runToCompletion().kind, 'stop');
    const looping = new HandlerExecution({ name: 'h', layer: 'vmm', steps: [step('a', () => ({ goto: 'a' }))] }, {});
    assert.equal(looping.runToCompletion().kind, 'stop');
    assert.equal(looping.executed.length, MAX_STEPS_PER_HANDLER);
  });
});

describe('LayerStack', () => {
  function applyAll(stack: LayerStack, log: TransitionLog, steps: TransitionInput[]): void {
    for (const s of steps) assert.deepEqual(stack.apply(log.record(s)), { ok: true });
  }

  it('follows a trap-and-emulate system call: trap, reflection, guest iret', () => {
    const log = new TransitionLog();
    const stack = new LayerStack('guest-user');
    applyAll(stack, log, [input('guest-user', 'vmm', 'trap', 'int 0x80 (system call) at CPL3', 0x400010)]);
    assert.deepEqual(stack.topFirst().map((f) => f.layer), ['vmm', 'guest-user']);
    assert.equal(stack.topFirst()[0]!.returnAddress, 0x400010);
    applyAll(stack, log, [input('vmm', 'guest-kernel', 'fault-reflection', 'reflect int 0x80')]);
    assert.deepEqual(stack.topFirst().map((f) => f.layer), ['guest-kernel', 'guest-user']);
    applyAll(stack, log, [input('guest-kernel', 'guest-user', 'resume', 'iret')]);
    assert.deepEqual(stack.topFirst().map((f) => f.layer), ['guest-user']);
  });

  it('follows the hosted I/O path down to the device and back', () => {
    const log = new TransitionLog();
    const stack = new LayerStack('guest-kernel');
    applyAll(stack, log, [
      input('guest-kernel', 'vmm', 'trap', '#GP: out dx, al at CPL1'),
      input('vmm', 'host-os-kernel', 'world-switch', 'world switch VMM→host'),
      input('host-os-kernel', 'host-user-process', 'io-hop'),
      input('host-user-process', 'host-os-kernel', 'trap', 'write() system call'),
      input('host-os-kernel', 'device', 'io-hop'),
    ]);
    assert.deepEqual(stack.topFirst().map((f) => f.layer), [
      'device', 'host-os-kernel', 'host-user-process', 'host-os-kernel', 'vmm', 'guest-kernel',
    ]);
    applyAll(stack, log, [
      input('device', 'host-os-kernel', 'io-hop'),
      input('host-os-kernel', 'host-user-process', 'resume'),
      input('host-user-process', 'host-os-kernel', 'io-hop', 'ioctl back into the VMM driver'),
    ]);
    // The ioctl re-enters the host kernel frame that started the process hop.
    assert.deepEqual(stack.topFirst().map((f) => f.layer), ['host-os-kernel', 'vmm', 'guest-kernel']);
    applyAll(stack, log, [input('host-os-kernel', 'vmm', 'world-switch'), input('vmm', 'guest-kernel', 'resume')]);
    assert.deepEqual(stack.topFirst().map((f) => f.layer), ['guest-kernel']);
  });

  it('reports inconsistent transitions without changing the stack', () => {
    const log = new TransitionLog();
    const stack = new LayerStack('guest-kernel');
    const wrongStart = stack.apply(log.record(input('vmm', 'guest-kernel', 'resume')));
    assert.equal(wrongStart.ok, false);
    const nothingBelow = stack.apply(log.record(input('guest-kernel', 'vmm', 'resume')));
    assert.equal(nothingBelow.ok, false);
    assert.equal(stack.depth, 1);
  });

  it('bounds its depth', () => {
    const log = new TransitionLog();
    const stack = new LayerStack('guest-kernel');
    let last = { ok: true } as { ok: boolean };
    for (let i = 0; i < MAX_LAYER_DEPTH + 2 && last.ok; i++) last = stack.apply(log.record(input('guest-kernel', 'guest-kernel', 'trap')));
    assert.equal(last.ok, false);
    assert.equal(stack.depth, MAX_LAYER_DEPTH);
  });

  it('carries the running handler and round-trips through JSON', () => {
    const log = new TransitionLog();
    const stack = new LayerStack('guest-kernel');
    stack.apply(log.record(input('guest-kernel', 'vmm', 'trap', '#GP: cli at CPL1')));
    const execution = new HandlerExecution({ name: '#GP', layer: 'vmm', steps: [step('save guest state', () => undefined)] }, {});
    stack.setHandler(execution.snapshot());
    const copy = LayerStack.fromJSON(JSON.parse(JSON.stringify(stack)));
    assert.equal(copy.topFirst()[0]!.handler?.stepNames[0], 'save guest state');
    assert.equal(copy.topFirst()[0]!.reason, '#GP: cli at CPL1');
    copy.setHandler(undefined);
    assert.equal(copy.topFirst()[0]!.handler, undefined);
  });
});

describe('architecture I/O paths', () => {
  for (const architecture of ['monolithic', 'microkernel', 'hosted'] as const) {
    it(`${architecture}: the hop chain leaves from the VMM, reaches the device and returns to the VMM on the layer stack`, () => {
      const log = new TransitionLog();
      const stack = new LayerStack('guest-kernel');
      stack.apply(log.record(input('guest-kernel', 'vmm', 'trap', '#GP: out dx, al at CPL1')));
      const hops = ioPath(architecture, 'out 0x3f8');
      let reachedDevice = false;
      for (const hop of hops) {
        assert.deepEqual(stack.apply(log.record({ ...input(hop.from, hop.to, hop.kind, hop.reason) })), { ok: true }, hop.reason);
        if (hop.to === 'device') reachedDevice = true;
      }
      assert.ok(reachedDevice);
      assert.deepEqual(stack.topFirst().map((f) => f.layer), ['vmm', 'guest-kernel']);
    });
  }

  it('orders the architectures by the cost of one forwarded access (p4-2006)', () => {
    const model = new CostModel('p4-2006');
    const cost = (a: 'monolithic' | 'microkernel' | 'hosted') => ioPath(a, 'x').reduce((sum, hop) => sum + model.pathCycles(hop.costs), 0);
    assert.ok(cost('monolithic') < cost('microkernel'));
    assert.ok(cost('microkernel') < cost('hosted'));
    assert.equal(cost('hosted'), 2 * 4465 + 3 * 1500 + 100);
    assert.ok(ioPath('hosted', 'x').some((hop) => hop.reason === 'world switch VMM→host'));
  });
});
