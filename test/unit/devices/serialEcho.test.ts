// Serial input end to end: samples/hello/echo.asm reads lines from COM1 and answers in upper case. The same
// bytes piped to qemu-system-i386's COM1 and given to `hyperstep run --input` (native and under
// trap-and-emulate) must produce the same serial output and exit status — including QEMU's loss of the byte
// that arrived before the guest reset its receive FIFO (16550A FCR bit 1).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { nodeIo } from '../../../src/cli/io';
import { runCommand } from '../../../src/cli/run';
import { nasm, requireTool, scratchDir } from '../vmm/tools';

const REPO = resolve(__dirname, '../../..');
const ECHO = join(REPO, 'samples/hello/echo.asm');
const INPUT = 'hello\rWorld 42\rbye\r';

async function hyperstep(extra: string[]): Promise<{ out: string; status: number }> {
  let out = '';
  const io = { ...nodeIo(REPO), stdout: (t: string) => void (out += t), stderr: () => {} };
  const status = await runCommand([ECHO, '--input', INPUT, ...extra], io);
  return { out, status };
}

describe('serial input: the echo sample', function () {
  this.timeout(60_000);

  it('answers the same under QEMU, natively and under trap-and-emulate', async () => {
    requireTool('qemu-system-i386');
    const bin = nasm(ECHO, join(scratchDir('echo'), 'echo.bin'), 'bin');
    const qemu = spawnSync('qemu-system-i386', ['-kernel', bin, '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
      '-nic', 'none', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'], { input: INPUT, encoding: 'latin1', timeout: 20_000, killSignal: 'SIGKILL' });
    assert.equal(qemu.status, 33, `qemu: ${qemu.stderr}`);
    assert.equal(qemu.stdout, 'echo> ello\r\nELLO\r\necho> World 42\r\nWORLD 42\r\necho> bye\r\nbye\r\n');
    const native = await hyperstep([]);
    assert.equal(native.status, 33);
    assert.ok(native.out.startsWith(qemu.stdout), `native output:\n${native.out}`);
    const trapped = await hyperstep(['--technique', 'trap-and-emulate']);
    assert.equal(trapped.status, 33);
    assert.ok(trapped.out.startsWith(qemu.stdout), `trap-and-emulate output:\n${trapped.out}`);
  });
});
