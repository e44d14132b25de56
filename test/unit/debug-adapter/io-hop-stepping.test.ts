// SPDX-License-Identifier: MIT
// Stepping through the hops of an I/O request over DAP (issue 5/7): from a guest `out` under the microkernel and
// hosted architectures, step in enters the VMM handler, further steps walk its named steps and then each hop
// handler in its own layer (management OS; host OS kernel and host user process) — the top frame is that
// layer's frame, its adapter-served listing shows the hop handler's steps with ▶ on the current one — and the
// serial byte appears only once the device step ran. Step out from inside a hop returns to the guest, step
// over treats the whole request as transparent, and step back after it still works (trap-and-emulate).
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineOf, startHarness, topFrame } from './harness';

/** A guest that writes two bytes to COM1 (each `out` traps: IOPL 0 < CPL 1, or an I/O exit), then exits. */
const GUEST = `bits 32
org 0x100000
multiboot_header:
    dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003)
    dd multiboot_header, multiboot_header, load_end, bss_end, start

start:
    mov esp, stack_top
    mov dx, 0x3f8
    mov al, 'H'
    out dx, al                          ; BP-OUT
    mov al, 'i'                         ; BP-AFTER-OUT
    out dx, al
    mov al, 0
    out 0xF4, al
.halt:
    hlt
    jmp .halt
load_end:

section .bss follows=.text
alignb 16
        resb 4096
stack_top:
bss_end:
`;
const PROGRAM = join(mkdtempSync(join(tmpdir(), 'hyperstep-io-hop-')), 'out.asm');
writeFileSync(PROGRAM, GUEST);

async function stack(c: DebugClient): Promise<DebugProtocol.StackFrame[]> {
  return (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
}

async function listing(c: DebugClient, frame: DebugProtocol.StackFrame): Promise<string> {
  const reference = frame.source?.sourceReference;
  assert.ok(reference !== undefined && reference > 0, `frame "${frame.name}" has no adapter-served source`);
  return (await c.sourceRequest({ sourceReference: reference, source: frame.source! })).body.content;
}

async function step(c: DebugClient, request: 'next' | 'stepIn' | 'stepOut' | 'stepBack'): Promise<DebugProtocol.StoppedEvent> {
  const stop = c.waitForEvent('stopped');
  if (request === 'next') await c.nextRequest({ threadId: 1 });
  else if (request === 'stepIn') await c.stepInRequest({ threadId: 1 });
  else if (request === 'stepOut') await c.stepOutRequest({ threadId: 1 });
  else await c.stepBackRequest({ threadId: 1, granularity: 'instruction' });
  return (await stop) as DebugProtocol.StoppedEvent;
}

/** Launches stopped on entry and steps over to the `out` line; returns the output collected so far (live). */
async function atOut(c: DebugClient, technique: string, architecture: string): Promise<string[]> {
  const output: string[] = [];
  c.on('output', (e: DebugProtocol.OutputEvent) => { if (e.body.category !== 'console' && e.body.category !== 'telemetry') output.push(e.body.output); });
  const entry = c.waitForEvent('stopped');
  await Promise.all([c.configurationSequence(), c.launch({ technique, architecture, program: PROGRAM, stopOnEntry: true })]);
  await entry;
  for (let k = 0; k < 5 && (await topFrame(c)).line !== lineOf(PROGRAM, 'BP-OUT'); k++) await step(c, 'next');
  assert.equal((await topFrame(c)).line, lineOf(PROGRAM, 'BP-OUT'));
  return output;
}

/** "layer: handler — next step" of the top frame after each step in, until the guest runs again. */
async function walkToGuest(c: DebugClient, output: string[]): Promise<{ frames: string[]; outputAt: number[]; listings: string[] }> {
  const frames: string[] = [];
  const outputAt: number[] = [];
  const listings: string[] = [];
  for (let k = 0; k < 40; k++) {
    const top = (await stack(c))[0]!;
    if (top.source?.path === PROGRAM) return { frames, outputAt, listings };
    frames.push(top.name);
    const text = await listing(c, top);
    listings.push(text);
    assert.match(text.split('\n')[top.line - 1] ?? '', /^▶ +\d+\. /, `the frame's line is the marked step:\n${text}`);
    await step(c, 'stepIn');
    outputAt.push(output.join('').length);
  }
  return assert.fail('the request did not return to the guest within 40 steps');
}

const EXPECTED: Record<string, string[]> = {
  microkernel: [
    'management OS: device-model back end: out dx, al — receive the event-channel notification',
    'management OS: device-model back end: out dx, al — device model performs: out dx, al',
    'management OS: device-model back end: out dx, al — write the ioreq response',
    'management OS: device-model back end: out dx, al — notify the VMM over the event channel',
  ],
  hosted: [
    'host OS kernel: VMM driver, world switch in: out dx, al — restore the host world',
    'host OS kernel: VMM driver, world switch in: out dx, al — return from the ioctl to the VM process',
    'host user process: VM process: out dx, al — read the request the VMM passed up',
    'host user process: VM process: out dx, al — issue the host system call',
    'host OS kernel: host kernel driver: out dx, al — device driver performs: out dx, al',
    'host OS kernel: host kernel driver: out dx, al — return from the system call',
    'host user process: VM process: request done — ioctl back into the VMM driver',
    'host OS kernel: VMM driver, world switch out — world switch back to the VMM',
  ],
};

describe('debug adapter: stepping through the I/O hops of the management OS and host OS', function () {
  this.timeout(60_000);

  for (const architecture of ['microkernel', 'hosted'] as const) {
    it(`trap-and-emulate/${architecture}: step in walks the VMM handler, then every hop handler in its layer; the byte appears at the device step`, async () => {
      const h = await startHarness();
      try {
        const c = h.client;
        const output = await atOut(c, 'trap-and-emulate', architecture);
        const into = await step(c, 'stepIn');
        assert.match(into.body.description ?? '', /entered the VMM — "I\/O: out dx, al"/);
        const { frames, outputAt, listings } = await walkToGuest(c, output);
        const vmm = (next: string) => `VMM: I/O: out dx, al — ${next}`;
        assert.deepEqual(frames, [
          vmm('save guest state'), vmm('decode faulting instruction'), vmm('check'), vmm('emulate on the virtual CPU'),
          ...EXPECTED[architecture]!,
          vmm('advance guest EIP'), vmm('resume'),
        ]);
        const device = frames.findIndex((f) => / performs: /.test(f));
        assert.ok(!output.join('').slice(0, outputAt[device - 1]).includes('H'), 'no byte before the device step');
        assert.ok(output.join('').includes('H'), `the byte reached the console: ${JSON.stringify(output)}`);
        assert.ok(outputAt[device]! > outputAt[device - 1]!, 'the byte appeared at the device step');
        assert.match(listings[4]!, /works for the VMM handler "I\/O: out dx, al", waiting at its step "emulate on the virtual CPU"/);
        assert.equal((await topFrame(c)).line, lineOf(PROGRAM, 'BP-AFTER-OUT'));
      } finally {
        await h.close();
      }
    });
  }

  it('trap-and-emulate/hosted: inside a hop the stack shows host OS kernel → host user process → … → VMM → guest; step out returns to the guest; step back still works', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await atOut(c, 'trap-and-emulate', 'hosted');
      await step(c, 'stepIn');
      for (let k = 0; k < 8; k++) await step(c, 'next'); // 4 VMM steps, then into the VM process's write()
      const frames = await stack(c);
      const dump = frames.map((f) => `${f.presentationHint ?? '-'} | ${f.name}`).join('\n');
      const layers = frames.filter((f) => f.presentationHint !== 'label');
      assert.deepEqual(layers.slice(0, 4).map((f) => f.name.split(':')[0]), ['host OS kernel', 'host user process', 'host OS kernel', 'VMM'], dump);
      assert.match(frames[0]!.name, /^host OS kernel: host kernel driver: out dx, al — device driver performs/, dump);
      assert.equal(layers[4]!.source?.path, PROGRAM, dump);
      assert.equal(layers[4]!.line, lineOf(PROGRAM, 'BP-OUT'), dump);
      const out = await step(c, 'stepOut');
      assert.match(out.body.description ?? '', /^Step out: "I\/O: out dx, al" finished; the guest continues at /);
      assert.equal((await topFrame(c)).line, lineOf(PROGRAM, 'BP-AFTER-OUT'));
      const back = await step(c, 'stepBack');
      assert.equal(back.body.reason, 'step');
      assert.equal((await topFrame(c)).line, lineOf(PROGRAM, 'BP-OUT'), 'step back returns to the out');
    } finally {
      await h.close();
    }
  });

  it('trap-and-emulate/microkernel: step over the out treats the VMM and the management OS as transparent', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const output = await atOut(c, 'trap-and-emulate', 'microkernel');
      await step(c, 'next');
      assert.equal((await topFrame(c)).line, lineOf(PROGRAM, 'BP-AFTER-OUT'));
      assert.ok(!(await stack(c)).some((f) => /^(VMM|management OS): /.test(f.name)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(output.join('').includes('H'), JSON.stringify(output));
    } finally {
      await h.close();
    }
  });

  it('hardware-assisted/hosted: an I/O exit walks the host hops too; step out returns to the guest', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await atOut(c, 'hardware-assisted', 'hosted');
      const into = await step(c, 'stepIn');
      assert.match(into.body.description ?? '', /entered the VMM — "I\/O instruction \(reason 30\)"/);
      await step(c, 'next'); // read exit reason
      await step(c, 'next'); // perform the port access: the request leaves for the host
      const top = (await stack(c))[0]!;
      assert.equal(top.name, 'host OS kernel: VMM driver, world switch in: port 0x3f8 — restore the host world');
      assert.match(await listing(c, top), /works for the VMM handler "I\/O instruction \(reason 30\)", waiting at its step "perform the port access"/);
      const out = await step(c, 'stepOut');
      assert.match(out.body.description ?? '', /^Step out: "I\/O instruction \(reason 30\)" finished; the guest continues at /);
      const after = await stack(c);
      assert.ok(!after.some((f) => /^(host OS kernel|host user process): /.test(f.name)), after.map((f) => f.name).join('\n'));
      // Back in the guest: the VMRESUME ends the handler's last step, so the top frame is the guest's .asm line.
      assert.match(after[0]!.source?.path ?? '', /\.asm$/, after.map((f) => f.name).join('\n'));
      assert.ok(!after.some((f) => f.presentationHint === 'label'), `no layer separator left:\n${after.map((f) => f.name).join('\n')}`);
    } finally {
      await h.close();
    }
  });
});
