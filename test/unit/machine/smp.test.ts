// The multiprocessor machine: samples/smp/spinlock.asm (INIT-SIPI-SIPI, a real-mode trampoline, a spinlock
// with xchg, lock xadd, a fixed IPI back to the BSP) assembled by HyperStep's assembler (byte-identical to nasm)
// and run with 2 and 4 vCPUs; its order-independent output equals qemu-system-i386 -smp N. Plus: every run is
// identical, a snapshot taken mid-run replays exactly, how a run is chopped into calls does not change the
// interleaving, stepping one CPU, and recipe validation.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { assemble } from '../../../src/emulator/asm';
import type { Machine, MachineStop } from '../../../src/emulator/machine/machine';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CpuRunState } from '../../../src/emulator/machine/smpScheduler';

const SAMPLE = resolve(__dirname, '../../../samples/smp/spinlock.asm');

function requireTool(tool: string, debianPackage: string): void {
  if (spawnSync(tool, ['--version']).error) throw new Error(`${tool} is required for this test but was not found: apt-get install -y ${debianPackage}`);
}

function ourImage(cpus: number): Uint8Array {
  return assembleSample(cpus).output;
}

function assembleSample(cpus: number): ReturnType<typeof assemble> {
  const result = assemble(
    { path: SAMPLE, text: readFileSync(SAMPLE, 'utf8') },
    {
      format: 'bin',
      defines: { __OUTPUT_FORMAT__: 'bin', CPUS: String(cpus) },
      listing: false,
      readFile: (path) => { try { return readFileSync(path, 'utf8'); } catch { return undefined; } },
    },
  );
  assert.equal(result.ok, true, JSON.stringify(result.diagnostics.slice(0, 3)));
  return result;
}

function nasmImage(cpus: number): string {
  requireTool('nasm', 'nasm');
  const out = join(mkdtempSync(join(tmpdir(), 'hyperstep-smp-')), `spinlock${cpus}.bin`);
  execFileSync('nasm', ['-f', 'bin', `-DCPUS=${cpus}`, '-o', out, SAMPLE], { cwd: dirname(SAMPLE) });
  return out;
}

function qemuSmp(image: string, cpus: number): { serial: string; status: number | null } {
  requireTool('qemu-system-i386', 'qemu-system-x86');
  const r = spawnSync('qemu-system-i386', [
    '-smp', String(cpus), '-kernel', image, '-m', '32', '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    '-nic', 'none', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ], { encoding: 'latin1', timeout: 60000 });
  return { serial: r.stdout, status: r.status };
}

function boot(image: Uint8Array, vcpus: number): { machine: Machine; serial: () => string } {
  const machine = createPcMachine(defaultRecipe({ vcpus }));
  const loaded = machine.boot(image, { kernelName: 'spinlock.bin' });
  if ('error' in loaded) throw new Error(loaded.error);
  machine.limits.instructionLimit = 20_000_000;
  const bytes: number[] = [];
  machine.onSerialOutput((b) => bytes.push(b));
  return { machine, serial: () => String.fromCharCode(...bytes) };
}

function runToEnd(machine: Machine, chunk = 1_000_000): MachineStop {
  let stop: MachineStop;
  do stop = machine.run(chunk);
  while (stop.reason === 'budget');
  return stop;
}

const sortedLines = (text: string): string[] => text.split('\n').filter((l) => l !== '').sort();

describe('multiprocessor machine', function () {
  this.timeout(180000);

  for (const cpus of [2, 4]) {
    it(`spinlock.asm on ${cpus} vCPUs: nasm's bytes, and the output of qemu-system-i386 -smp ${cpus}`, () => {
      const image = ourImage(cpus);
      const reference = nasmImage(cpus);
      assert.deepEqual(Buffer.from(image), readFileSync(reference), 'HyperStep assembles the sample as nasm does');
      const qemu = qemuSmp(reference, cpus);
      const { machine, serial } = boot(image, cpus);
      const stop = runToEnd(machine);
      assert.equal(stop.reason, 'guest-exit', stop.detail);
      assert.equal(stop.exitStatus, qemu.status);
      const total = cpus * 20000;
      assert.match(qemu.serial, new RegExp(`total ${total} under the spinlock, ${total} with lock xadd`), qemu.serial);
      assert.deepEqual(sortedLines(serial()), sortedLines(qemu.serial));
      assert.equal(serial().split('\n')[0], 'BSP: waking the other CPUs with INIT-SIPI-SIPI');
      for (const cpu of machine.cpus) assert.ok(cpu.retired() > 100_000, 'every CPU did its share');
    });
  }

  it('is deterministic: same output and state hash in every run, whatever the call chunking', () => {
    const image = ourImage(2);
    const a = boot(image, 2);
    runToEnd(a.machine);
    const b = boot(image, 2);
    runToEnd(b.machine, 777);
    assert.equal(b.serial(), a.serial());
    assert.equal(b.machine.stateHash(), a.machine.stateHash());
    assert.deepEqual(b.machine.cpus.map((c) => c.retired()), a.machine.cpus.map((c) => c.retired()));
  });

  it('a snapshot taken mid-run (during the lock contention) replays exactly', () => {
    const image = ourImage(2);
    const a = boot(image, 2);
    a.machine.run(300_000);
    assert.equal(a.machine.smp.runState[1], CpuRunState.RUNNING, 'the AP was started by then');
    const snapshot = structuredClone(a.machine.saveState());
    const outputSoFar = a.serial();
    runToEnd(a.machine);
    const b = boot(image, 2);
    b.machine.loadState(snapshot);
    runToEnd(b.machine);
    assert.equal(outputSoFar + b.serial(), a.serial());
    assert.equal(b.machine.stateHash(), a.machine.stateHash());
  });

  it('the AP waits for a start-up IPI, then starts in real mode at vector × 0x1000', () => {
    const { machine } = boot(ourImage(2), 2);
    assert.equal(machine.smp.runState[1], CpuRunState.WAIT_FOR_SIPI);
    const started = (): boolean => machine.smp.runState[1] === CpuRunState.RUNNING;
    while (!started()) machine.run(1);
    const ap = machine.cpus[1]!.summary();
    assert.equal(ap.registers['cs'], 0x0800);
    assert.equal(ap.registers['eip'], 0);
    assert.equal(ap.registers['cr0']! & 1, 0, 'real mode');
    assert.equal(machine.cpus[1]!.retired(), 0);
  });

  it('stepCpu runs until that CPU retires one instruction, the others taking their turns', () => {
    const { machine } = boot(ourImage(2), 2);
    machine.run(200_000);
    for (const target of [0, 1, 1, 0, 1]) {
      const before = machine.cpus.map((c) => c.retired());
      const stop = machine.run(100_000, { stepCpu: target });
      assert.equal(stop.reason, 'budget');
      assert.equal(machine.cpus[target]!.retired(), before[target]! + 1);
    }
  });

  it('a breakpoint stops every CPU at every pass through it', () => {
    const sample = assembleSample(2);
    const unlock = sample.symbols.find((sym) => sym.name === 'spin_unlock')!.value;
    const { machine, serial } = boot(sample.output, 2);
    for (const cpu of machine.cpus) cpu.setBreakpoint(unlock);
    const hits = [0, 0];
    let stop: MachineStop;
    for (;;) {
      stop = machine.run(10_000_000, { debug: true });
      if (stop.reason !== 'breakpoint') break;
      hits[machine.smp.current]!++;
      assert.equal(machine.cpus[machine.smp.current]!.summary().registers['eip'], unlock);
    }
    assert.equal(stop.reason, 'guest-exit', stop.detail);
    assert.match(serial(), /total 40000/);
    // spin_unlock: once per iteration, once for each CPU's "done" line, and twice for the BSP's locked_puts.
    assert.deepEqual(hits, [20000 + 1 + 2, 20000 + 1]);
  });

  it("a CPU whose turn begins at a breakpoint stops there before executing it", () => {
    const { machine } = boot(ourImage(2), 2);
    machine.run(300_000);
    while (machine.smp.current !== 1) machine.run(1);
    while (machine.smp.current === 1) machine.run(1); // CPU 1's turn ended: its next turn begins at `resumeAt`
    const resumeAt = machine.cpus[1]!.summary().registers['eip']!;
    const retiredAtSwitch = machine.cpus[1]!.retired();
    for (const cpu of machine.cpus) cpu.setBreakpoint(resumeAt);
    for (let k = 0; k < 100; k++) {
      const stop = machine.run(1_000_000, { debug: true });
      assert.equal(stop.reason, 'breakpoint', stop.detail);
      if (machine.smp.current === 1) break; // CPU 0 may pass the same address first
    }
    assert.equal(machine.smp.current, 1);
    assert.equal(machine.cpus[1]!.retired(), retiredAtSwitch, 'CPU 1 stopped at the first instruction of its turn');
  });

  for (const [what, icr, detail] of [
    ['an NMI IPI', '0x00044400', /NMI IPIs are not modelled/],
    ['INIT to the bootstrap processor', '0x00044500', /INIT sent to the bootstrap processor/],
  ] as const) {
    it(`${what} ends the run with a reason`, () => {
      const source = [
        '%include "../include/multiboot.inc"', 'MULTIBOOT_HEADER', 'bits 32', '_start:',
        `    mov dword [0xFEE00300], ${icr}`, '    mov eax, 1', '    hlt', 'MULTIBOOT_END',
      ].join('\n');
      const result = assemble({ path: join(dirname(SAMPLE), 'ipi.asm'), text: source }, {
        format: 'bin', defines: { __OUTPUT_FORMAT__: 'bin' }, listing: false,
        readFile: (path) => { try { return readFileSync(path, 'utf8'); } catch { return undefined; } },
      });
      assert.equal(result.ok, true, JSON.stringify(result.diagnostics.slice(0, 2)));
      const { machine } = boot(result.output, 2);
      const stop = runToEnd(machine);
      assert.equal(stop.reason, 'shutdown');
      assert.match(stop.detail, detail);
      assert.equal(machine.cpu.summary().registers['eax'], 0x2badb002, 'the run stopped right after the ICR write');
    });
  }

  it('recipe validation: 1 to 8 vCPUs, and more than one needs local APICs', () => {
    assert.throws(() => createPcMachine(defaultRecipe({ vcpus: 9 })), /vcpus must be a whole number between 1 and 8/);
    assert.throws(() => createPcMachine(defaultRecipe({ vcpus: 0 })), /vcpus must be/);
    assert.throws(() => createPcMachine(defaultRecipe({ vcpus: 2, devices: ['pic', 'pit', 'com1'] })), /needs the 'lapic' device/);
    assert.equal(createPcMachine(defaultRecipe({ vcpus: 8 })).cpus.length, 8);
  });

  it('with one vCPU the sample waits for an AP that never comes, and the machine says why it stopped', () => {
    const { machine, serial } = boot(ourImage(2), 1);
    const stop = runToEnd(machine);
    assert.equal(stop.reason, 'halt');
    assert.match(serial(), /cpu 0 done/);
    assert.doesNotMatch(serial(), /total/);
  });
});
