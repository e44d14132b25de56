// The hops of an I/O request as steppable handlers (issue 5, "same for the management-OS and host-OS hops of an
// I/O request"): under each architecture a guest port access (trap-and-emulate, binary translation, hardware
// assist) or a paravirtual console_io walks the VMM handler, then each hop handler in its own layer, one named
// step per engine.step(); the serial byte appears at the step that performs the access; the layer stack shows
// the hop's layer on top of the VMM; the transitions recorded while stepping are those of a full-speed run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { ioPath } from '../../../src/emulator/vmm/architectures';
import { rootHandler } from '../../../src/emulator/vmm/handlerSteps';
import { createVmmEngine } from '../../../src/emulator/vmm/index';
import { ioPathPlan } from '../../../src/emulator/vmm/io/hopHandlers';
import { ARCHITECTURES, type Architecture } from '../../../src/emulator/vmm/layers';
import type { Transition } from '../../../src/emulator/vmm/transitions';
import { SAMPLES_VMM, buildKernel, scratchDir } from './tools';

const dir = scratchDir('io-hops');
const images = new Map<string, Uint8Array>();
function image(name: string): Uint8Array {
  let bytes = images.get(name);
  if (bytes === undefined) {
    bytes = new Uint8Array(readFileSync(buildKernel(path.join(SAMPLES_VMM, `${name}.asm`), dir)));
    images.set(name, bytes);
  }
  return bytes;
}

function boot(name: string, technique: string, architecture: Architecture) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image(name), { kernelName: name });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique, architecture });
  if (!created.ok) throw new Error(created.errors.join('; '));
  return { machine, engine: created.handle.engine, log: created.handle.log, serial: () => serial };
}

type Booted = ReturnType<typeof boot>;

/** Debugger steps until a handler is active whose root matches `isTarget` (bounded). */
function stepUntilHandler(b: Booted, isTarget: (name: string) => boolean, limit = 400_000): void {
  for (let n = 0; n < limit; n++) {
    const handler = b.engine.activeHandler();
    if (handler !== undefined && isTarget(rootHandler(handler).handler)) return;
    const stop = b.engine.step();
    assert.equal(stop.kind, 'step-done', `stopped before the access: ${JSON.stringify(stop)}`);
  }
  assert.fail('no matching handler within the step limit');
}

interface Position {
  readonly where: string;
  readonly stack: string;
}

/** Walks the active request to its end: each position (layer | handler | next step, layer stack), serial length after each step. */
function walk(b: Booted): { positions: Position[]; serialAfter: number[] } {
  const positions: Position[] = [];
  const serialAfter: number[] = [];
  for (let n = 0; n < 100 && b.engine.activeHandler() !== undefined; n++) {
    const h = b.engine.activeHandler()!;
    positions.push({ where: `${h.layer} | ${h.handler} | ${h.stepNames[h.nextStep]}`, stack: b.engine.saveState().stack.map((f) => f.layer).reverse().join(' > ') });
    assert.equal(b.engine.step().kind, 'step-done');
    serialAfter.push(b.serial().length);
  }
  return { positions, serialAfter };
}

const key = (t: Transition) => `${t.from}>${t.to} ${t.kind} ${t.reason} ${t.cost}`;

/** The first transitions of a full-speed run of the same guest, for comparison with a stepped prefix. */
function fullSpeedPrefix(name: string, technique: string, architecture: Architecture, count: number): string[] {
  const b = boot(name, technique, architecture);
  const keys: string[] = [];
  const off = b.log.onRecord((t) => { if (keys.length < count) keys.push(key(t)); });
  for (let n = 0; n < 10_000 && keys.length < count; n++) b.engine.run(1_000);
  off();
  return keys;
}

const HOPS: Record<Architecture, (what: string) => string[]> = {
  monolithic: (what) => [
    `vmm | device model in the VMM: ${what} | find the virtual device model of the port`,
    `vmm | device model in the VMM: ${what} | device model performs: ${what}`,
  ],
  microkernel: (what) => [
    `management-os | device-model back end: ${what} | receive the event-channel notification`,
    `management-os | device-model back end: ${what} | device model performs: ${what}`,
    `management-os | device-model back end: ${what} | write the ioreq response`,
    `management-os | device-model back end: ${what} | notify the VMM over the event channel`,
  ],
  hosted: (what) => [
    `host-os-kernel | VMM driver, world switch in: ${what} | restore the host world`,
    `host-os-kernel | VMM driver, world switch in: ${what} | return from the ioctl to the VM process`,
    `host-user-process | VM process: ${what} | read the request the VMM passed up`,
    `host-user-process | VM process: ${what} | issue the host system call`,
    `host-os-kernel | host kernel driver: ${what} | device driver performs: ${what}`,
    `host-os-kernel | host kernel driver: ${what} | return from the system call`,
    'host-user-process | VM process: request done | ioctl back into the VMM driver',
    'host-os-kernel | VMM driver, world switch out | world switch back to the VMM',
  ],
};

/** Index (in the walk) of the step that performs the access, per architecture. */
const DEVICE_STEP: Record<Architecture, number> = { monolithic: 1, microkernel: 1, hosted: 4 };

const HOP_STACKS: Record<Architecture, string[]> = {
  monolithic: ['vmm > guest-kernel', 'vmm > guest-kernel'],
  microkernel: Array(4).fill('management-os > vmm > guest-kernel'),
  hosted: [
    'host-os-kernel > vmm > guest-kernel', 'host-os-kernel > vmm > guest-kernel',
    'host-user-process > host-os-kernel > vmm > guest-kernel', 'host-user-process > host-os-kernel > vmm > guest-kernel',
    'host-os-kernel > host-user-process > host-os-kernel > vmm > guest-kernel', 'host-os-kernel > host-user-process > host-os-kernel > vmm > guest-kernel',
    'host-user-process > host-os-kernel > vmm > guest-kernel',
    'host-os-kernel > vmm > guest-kernel',
  ],
};

describe('I/O hops as steppable handlers', function () {
  this.timeout(180_000);

  it('each architecture plan records every hop of ioPath once, in order, and performs the access once', () => {
    for (const architecture of ARCHITECTURES) {
      const plan = ioPathPlan(architecture, 'out dx, al');
      const actions = [...plan.entry, ...plan.handlers.flatMap((h) => h.steps.flatMap((s) => s.actions))];
      assert.deepEqual(actions.filter((a) => a !== 'access'), ioPath(architecture, 'x').map((_hop, i) => i), architecture);
      assert.equal(actions.filter((a) => a === 'access').length, 1, architecture);
    }
  });

  for (const technique of ['trap-and-emulate', 'binary-translation'] as const) {
    for (const architecture of ARCHITECTURES) {
      it(`${technique}/${architecture}: out to COM1 walks the VMM handler, then the hop handlers in their layers; the byte appears at the device step`, () => {
        const b = boot('minikernel', technique, architecture);
        const logBefore = b.log.total;
        const { positions, serialAfter, serialBefore } = walkFirstComByte(b, 'I/O: out dx, al');
        const vmm = (step: string) => `vmm | I/O: out dx, al | ${step}`;
        assert.deepEqual(positions.map((p) => p.where), [
          vmm('save guest state'), vmm('decode faulting instruction'), vmm('check'), vmm('emulate on the virtual CPU'),
          ...HOPS[architecture]('out dx, al'),
          vmm('advance guest EIP'), vmm('resume'),
        ]);
        assert.deepEqual(positions.slice(4, 4 + HOP_STACKS[architecture].length).map((p) => p.stack), HOP_STACKS[architecture]);
        const device = 4 + DEVICE_STEP[architecture];
        assert.equal(serialAfter[device - 1], serialBefore, 'nothing reached COM1 before the device step');
        assert.equal(serialAfter[device], serialBefore + 1, 'the byte reached COM1 at the device step');
        assert.equal(b.engine.saveState().stack.at(-1)?.layer, 'guest-kernel');
        // The same transitions (and costs) as a full-speed run of the same guest.
        const stepped = b.log.list().map(key);
        assert.ok(b.log.total > logBefore + ioPath(architecture, 'x').length);
        assert.deepEqual(stepped, fullSpeedPrefix('minikernel', technique, architecture, stepped.length));
      });
    }
  }

  for (const architecture of ARCHITECTURES) {
    it(`hardware-assisted/${architecture}: an I/O exit walks "perform the port access" through the hop handlers`, () => {
      const b = boot('minikernel', 'hardware-assisted', architecture);
      const { positions, serialAfter, serialBefore } = walkFirstComByte(b, 'I/O instruction (reason 30)');
      const vmm = (step: string) => `vmm | I/O instruction (reason 30) | ${step}`;
      assert.deepEqual(positions.map((p) => p.where), [vmm('read exit reason and qualification (VMREAD)'), vmm('perform the port access'), ...HOPS[architecture]('port 0x3f8'), vmm('advance guest RIP')]);
      assert.deepEqual(positions.slice(2, 2 + HOP_STACKS[architecture].length).map((p) => p.stack), HOP_STACKS[architecture]);
      const device = 2 + DEVICE_STEP[architecture];
      assert.equal(serialAfter[device - 1], serialBefore);
      assert.equal(serialAfter[device], serialBefore + 1);
      const stepped = b.log.list().map(key);
      assert.deepEqual(stepped, fullSpeedPrefix('minikernel', 'hardware-assisted', architecture, stepped.length));
    });
  }

  for (const architecture of ARCHITECTURES) {
    it(`paravirtual/${architecture}: console_io write walks the hop handlers; the hypercall's resume is recorded after them`, () => {
      const b = boot('minikernel-pv', 'paravirtual', architecture);
      stepUntilHandler(b, (name) => name.includes('console_io write'));
      const first = b.engine.activeHandler()!;
      const what = /: (console_io write \d+ bytes)$/.exec(first.handler)?.[1] ?? /(console_io write \d+ bytes)/.exec(first.handler)?.[1];
      assert.ok(what !== undefined, first.handler);
      const bytes = Number(/(\d+) bytes/.exec(what)![1]);
      const serialBefore = b.serial().length;
      const { positions, serialAfter } = walk(b);
      assert.deepEqual(positions.map((p) => p.where), HOPS[architecture](what));
      assert.equal(serialAfter[DEVICE_STEP[architecture] - 1], serialBefore);
      assert.equal(serialAfter[DEVICE_STEP[architecture]], serialBefore + bytes);
      const transitions = b.log.list();
      assert.equal(transitions[transitions.length - 1]!.kind === 'resume' || transitions.some((t) => t.reason.startsWith('return from hypercall')), true);
      const stepped = transitions.map(key);
      assert.deepEqual(stepped, fullSpeedPrefix('minikernel-pv', 'paravirtual', architecture, stepped.length));
    });
  }
});

/** The trapped instruction writes COM1's data register (EDX = 0x3f8). */
function isComData(b: Booted): boolean {
  return (b.machine.cpu.summary().registers['edx']! & 0xffff) === 0x3f8;
}

/** Steps to the first out to COM1's data port that transmits a byte (not a divisor-latch write) and walks it. */
function walkFirstComByte(b: Booted, handlerName: string): ReturnType<typeof walk> & { serialBefore: number } {
  for (let attempt = 0; attempt < 4; attempt++) {
    stepUntilHandler(b, (name) => name === handlerName && isComData(b));
    const serialBefore = b.serial().length;
    const walked = walk(b);
    if (walked.serialAfter[walked.serialAfter.length - 1] !== serialBefore) return { ...walked, serialBefore };
  }
  return assert.fail('no byte reached COM1');
}
