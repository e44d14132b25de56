// The VMM sample guests are real Multiboot kernels: assembled with the real nasm, linked with ld and the
// samples' link script, and run natively in qemu-system-i386 (isa-debug-exit), asserting serial output and
// exit status. This proves the guests before HyperStep runs them under its techniques. Each QEMU run is a few
// seconds at most; missing tools fail with a clear message (tools.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { SAMPLES_VMM, buildKernel, nasm, requireTool, runInQemu, scratchDir } from './tools';

/** QEMU isa-debug-exit: writing v to port 0xF4 exits with (v << 1) | 1. */
const status = (value: number) => (value << 1) | 1;
const EXIT_SUCCESS = 0x10;
const EXIT_LESSON = 0x12;

function sample(name: string): string {
  return path.join(SAMPLES_VMM, `${name}.asm`);
}

function symbol(elf: string, name: string): number {
  requireTool('nm');
  const line = execFileSync('nm', [elf], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith(` ${name}`));
  assert.ok(line, `symbol ${name} in ${elf}`);
  return parseInt(line.split(' ')[0]!, 16);
}

const hex = (value: number) => `0x${value.toString(16).padStart(8, '0')}`;

describe('VMM sample guests, natively in qemu-system-i386', function () {
  this.timeout(60000);
  const dir = scratchDir('vmm-samples');

  const minikernelOutput = [
    'minikernel: booting',
    'minikernel: 3 timer ticks',
    'user: hello from ring 3',
    'user: sum 1..100 = 5050',
    'minikernel: #GP from ring 3 (cli), skipped',
    'user: the timer kept ticking',
    'minikernel: user program exited with status 0',
    '',
  ].join('\n');

  it('minikernel: COM1 output, PIT ticks, ring-3 system calls, a reflected #GP, exit 0x10 (ELF)', () => {
    const run = runInQemu(buildKernel(sample('minikernel'), dir));
    assert.equal(run.timedOut, false, 'QEMU timed out');
    assert.equal(run.serial, minikernelOutput);
    assert.equal(run.status, status(EXIT_SUCCESS));
  });

  it('minikernel: the same as a flat binary (a.out kludge header)', () => {
    const run = runInQemu(nasm(sample('minikernel'), path.join(dir, 'minikernel.bin'), 'bin'));
    assert.equal(run.serial, minikernelOutput);
    assert.equal(run.status, status(EXIT_SUCCESS));
  });

  it('popf-demo: on bare metal POPF disables interrupts and PUSHF shows IF=0', () => {
    const run = runInQemu(buildKernel(sample('popf-demo'), dir));
    assert.equal(
      run.serial,
      [
        'popf-demo: timer running',
        'popf-demo: after cli, pushf shows IF=0',
        'popf-demo: after popf, pushf shows IF=0',
        'popf-demo: timer interrupts inside the critical section: 0',
        'popf-demo: verdict: interrupts stayed disabled (as on bare metal)',
        '',
      ].join('\n'),
    );
    assert.equal(run.status, status(EXIT_SUCCESS));
  });

  it('popf-demo: detects lost interrupt state when IF stays set (what trap-and-emulate does)', () => {
    const lostDir = scratchDir('popf-lost');
    const run = runInQemu(buildKernel(sample('popf-demo'), lostDir, ['SIMULATE_LOST_IF']));
    const lines = run.serial.split('\n');
    assert.equal(lines[1], 'popf-demo: after cli, pushf shows IF=1');
    assert.equal(lines[2], 'popf-demo: after popf, pushf shows IF=1');
    const count = /^popf-demo: timer interrupts inside the critical section: (\d+)$/.exec(lines[3] ?? '');
    assert.ok(count, lines[3]);
    assert.ok(Number(count[1]) > 0, 'the critical section spans at least one timer period');
    assert.match(lines[4]!, /interrupt state LOST/);
    assert.equal(run.status, status(EXIT_LESSON));
  });

  it('redpill: SIDT/SGDT/STR/SMSW/CS agree with what the kernel loaded on bare metal', () => {
    const elf = buildKernel(sample('redpill'), dir);
    const run = runInQemu(elf);
    const idt = hex(symbol(elf, 'idt'));
    const gdt = hex(symbol(elf, 'std_gdt'));
    const lines = run.serial.split('\n');
    assert.equal(lines[0], `redpill: sidt base=${idt} limit=0x000007ff, loaded base=${idt} limit=0x000007ff: same`);
    assert.equal(lines[1], `redpill: sgdt base=${gdt} limit=0x0000002f, loaded base=${gdt} limit=0x0000002f: same`);
    assert.equal(lines[2], 'redpill: str=0x00000028, loaded 0x00000028: same');
    assert.match(lines[3]!, /^redpill: smsw=(0x[0-9a-f]{8}), mov from cr0 low word=\1: same$/);
    assert.equal(lines[4], 'redpill: cs=0x00000008, RPL 0: same');
    assert.equal(lines[5], 'redpill: verdict: no VMM visible (bare metal, or a VMM that virtualizes these instructions)');
    assert.equal(run.status, status(EXIT_SUCCESS));
  });

  it('redpill: reports the VMM when the real IDTR is not the one the kernel loaded', () => {
    const vmmDir = scratchDir('redpill-vmm');
    const elf = buildKernel(sample('redpill'), vmmDir, ['SIMULATE_VMM_IDT']);
    const run = runInQemu(elf);
    const idt = hex(symbol(elf, 'idt'));
    const lines = run.serial.split('\n');
    assert.equal(lines[0], `redpill: sidt base=${idt} limit=0x000000ff, loaded base=${idt} limit=0x000007ff: DIFFERENT`);
    assert.match(lines[5]!, /a VMM is visible/);
    assert.equal(run.status, status(EXIT_LESSON));
  });

  it('iostorm: thousands of port accesses with a deterministic report', () => {
    const run = runInQemu(buildKernel(sample('iostorm'), dir));
    const dots = '.'.repeat(40);
    const expected = [
      ...Array.from({ length: 32 }, (_, i) => `iostorm: line ${String(i + 1).padStart(2, '0')} of 32 ${dots}`),
      'iostorm: 2000 writes to port 0x80, 500 reads of the PIC mask (0xfb)',
      'iostorm: port accesses: 2500 in the loops, 17 in setup, 2 per printed character',
      'iostorm: done',
      '',
    ].join('\n');
    assert.equal(run.serial, expected);
    assert.equal(run.status, status(EXIT_SUCCESS));
  });

  it('minikernel-pv: assembles and links; hypercalls replace every privileged kernel instruction', () => {
    const elf = buildKernel(sample('minikernel-pv'), dir);
    nasm(sample('minikernel-pv'), path.join(dir, 'minikernel-pv.bin'), 'bin');
    requireTool('objdump');
    // From _start on: the Multiboot header before it is data, not code.
    const start = `--start-address=0x${symbol(elf, '_start').toString(16)}`;
    const disassembly = execFileSync('objdump', ['-d', '-M', 'intel', start, elf], { encoding: 'utf8' });
    const mnemonics = disassembly
      .split('\n')
      .map((line) => /^\s+[0-9a-f]+:\s+(?:[0-9a-f]{2} )+\s*(\S+)/.exec(line)?.[1])
      .filter((m): m is string => m !== undefined);
    for (const privileged of ['lgdt', 'lidt', 'ltr', 'hlt', 'in', 'out', 'sti', 'popf', 'popfd']) {
      assert.equal(mnemonics.includes(privileged), false, `${privileged} in the paravirtual kernel`);
    }
    assert.equal(mnemonics.filter((m) => m === 'cli').length, 1, 'only the user program\'s deliberate cli');
    assert.ok((disassembly.match(/int\s+0x82/g) ?? []).length >= 15, 'hypercalls via int 0x82');
    const lines = disassembly.split('\n');
    const movCr = lines.filter((l) => /\bmov\s+\w*,?\s*cr\d|mov\s+cr\d/.test(l));
    assert.deepEqual(movCr, []);
  });
});
