// `hyperstep run` in-process with an in-memory CliIo: assembling and booting the hello sample, exit
// statuses for every kind of ending, limits, --dump, and clear errors for bad input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliIo } from '../../../src/cli/io';
import { RUN_STATUS, runCommand } from '../../../src/cli/run';
import { buildKernel } from '../../differential/tools';

const REPO = resolve(__dirname, '../../..');

function memoryIo(files: Record<string, Uint8Array | string>): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => {
      const f = files[p] ?? files[resolve('/', p)];
      if (f === undefined) return undefined;
      return typeof f === 'string' ? new TextEncoder().encode(f) : f;
    },
    writeFile: () => {},
    resolve: (p: string) => resolve('/', p),
  };
  return io;
}

const hello = readFileSync(resolve(REPO, 'samples/hello/hello.asm'), 'utf8');

/** A tiny kludge-format guest written in place: `body` runs right after the header. */
function guest(body: string): string {
  return `bits 32
org 0x100000
hdr: dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003), hdr, hdr, end, end, start
start:
${body}
end:
`;
}

describe('hyperstep run', function () {
  this.timeout(30000);

  it('assembles and runs the hello sample: five ticks on stdout, status 1, reason on stderr', async () => {
    const io = memoryIo({ '/hello.asm': hello });
    const status = await runCommand(['hello.asm'], io);
    assert.equal(status, 1);
    assert.match(io.out, /^Hello from a bare-metal guest!\ntick 1\n.*tick 5\nFive timer/s);
    assert.match(io.err, /^hyperstep run: guest-exit: .*status 1/);
    assert.equal(io.err.trim().split('\n').length, 1, 'one line on stderr');
  });

  it('runs a prebuilt ELF kernel and passes --append to the Multiboot command line', async () => {
    const elf = buildKernel('mbinfo');
    const io = memoryIo({ '/k.elf': readFileSync(elf) });
    assert.equal(await runCommand(['k.elf', '--append', 'verbose=1'], io), 1);
    assert.match(io.out, /cmdline: k\.elf verbose=1\n/);
  });

  it('gives distinct even statuses for shutdown, halt, instruction, output and time limits', async () => {
    const cases: Array<[string, string[], number, RegExp]> = [
      [guest('lidt [zero]\nint3\nzero: dw 0\ndd 0'), [], RUN_STATUS.shutdown, /shutdown: triple fault/],
      [guest('cli\nhlt'), [], RUN_STATUS.halted, /halt: HLT with interrupts disabled/],
      [guest('jmp $'), ['--instruction-limit', '1000'], RUN_STATUS.instructionLimit, /instruction-limit: .*1000/],
      [guest('mov dx, 0x3f8\nl: out dx, al\njmp l'), ['--output-limit', '100'], RUN_STATUS.outputLimit, /output-limit/],
      [guest('jmp $'), ['--time-limit', '0.3'], RUN_STATUS.timeLimit, /time limit: time limit of 0.3 s/],
    ];
    for (const [source, args, expected, reason] of cases) {
      const io = memoryIo({ '/g.asm': source });
      assert.equal(await runCommand(['g.asm', ...args], io), expected, io.err);
      assert.match(io.err, reason);
    }
  });

  it('feeds --input to the guest through the UART receive FIFO (an echo guest upper-cases it)', async () => {
    const echo = guest(`mov ecx, 5
next:
    mov dx, 0x3fd
wait:
    in al, dx
    test al, 1                ; LSR.DR: a byte has arrived
    jz wait
    mov dx, 0x3f8
    in al, dx
    sub al, 0x20
    out dx, al
    loop next
    mov al, 0
    out 0xf4, al`);
    const io = memoryIo({ '/echo.asm': echo });
    assert.equal(await runCommand(['echo.asm', '--input', 'hello'], io), 1, io.err);
    assert.equal(io.out, 'HELLO');
  });

  it('prints the final state with --dump', async () => {
    const io = memoryIo({ '/g.asm': guest('mov eax, 0x12345678\nmov al, 3\nout 0xf4, al') });
    assert.equal(await runCommand(['g.asm', '--dump'], io), 7);
    assert.match(io.err, /eax=0x12345603/);
    assert.match(io.err, /state-hash=[0-9a-f]{16}/);
  });

  it('explains bad input instead of crashing: garbage, missing files, assembly errors, bad options', async () => {
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) & 0xff);
    const io = memoryIo({ '/junk.bin': garbage, '/bad.asm': 'mov eax,\nfrobnicate\n', '/low.asm': 'bits 32\ndd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003), 0, 0, 0, 0, 0\n' });
    assert.equal(await runCommand(['junk.bin'], io), RUN_STATUS.usage);
    assert.match(io.err, /junk\.bin: not a Multiboot kernel/);
    assert.equal(await runCommand(['missing.elf'], io), RUN_STATUS.usage);
    assert.match(io.err, /cannot read missing\.elf/);
    assert.equal(await runCommand(['bad.asm'], io), RUN_STATUS.usage);
    assert.match(io.err, /bad\.asm:1: error/);
    assert.equal(await runCommand(['low.asm'], io), RUN_STATUS.usage);
    assert.match(io.err, /below 1 MiB.*see samples\/hello\/hello\.asm/);
    assert.equal(await runCommand(['junk.bin', '--memory', 'lots'], io), RUN_STATUS.usage);
    assert.match(io.err, /--memory needs a number/);
    assert.equal(await runCommand([], io), RUN_STATUS.usage);
  });
});
