// `hyperstep asm` as a drop-in for nasm: options, default output names, listing, exit status and the
// `file:line: error: message` format, run in-process through the CLI's command table.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../../../src/cli/main';
import { nodeIo } from '../../../src/cli/io';
import { requireNasm } from './nasmOracle';

function capture(cwd: string): { io: ReturnType<typeof nodeIo>; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io = { ...nodeIo(cwd), stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
  return { io, out, err };
}

describe('hyperstep asm (CLI)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hs-cli-'));
    writeFileSync(join(dir, 'defs.inc'), 'VALUE equ 0x1234\n');
    writeFileSync(join(dir, 'prog.asm'), 'bits 32\n%include "defs.inc"\nglobal _start\n_start: mov eax, VALUE + EXTRA\n jmp _start\n');
    writeFileSync(join(dir, 'bad.asm'), 'bits 32\nnop\nmov eax, missing\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the same bin and elf32 files as nasm, with -D, -I, -o and default names', async () => {
    requireNasm();
    const { io } = capture(dir);
    assert.equal(await main(['asm', 'prog.asm', '-f', 'elf32', '-DEXTRA=3', `-I${dir}/`], io), 0);
    assert.ok(existsSync(join(dir, 'prog.o')), 'default elf32 output name is prog.o');
    assert.equal(await main(['asm', '-fbin', '-D', 'EXTRA=3', 'prog.asm', '-o', 'prog.bin', '-l', 'prog.lst'], io), 0);
    for (const [format, ours] of [['elf32', 'prog.o'], ['bin', 'prog.bin']] as const) {
      const r = spawnSync('nasm', ['-f', format, '-DEXTRA=3', '-o', `ref.${format}`, 'prog.asm'], { cwd: dir });
      assert.equal(r.status, 0, String(r.stderr));
      assert.deepEqual(readFileSync(join(dir, ours)), readFileSync(join(dir, `ref.${format}`)), `${format} differs from nasm`);
    }
    assert.match(readFileSync(join(dir, 'prog.lst'), 'utf8'), /^\s+4 00000000 B837120000\s+_start: mov eax, VALUE \+ EXTRA$/m);
  });

  it('prints errors as file:line: error: message and exits 1 without writing output', async () => {
    const { io, err } = capture(dir);
    assert.equal(await main(['asm', 'bad.asm', '-o', 'bad.bin'], io), 1);
    assert.equal(err.join(''), "bad.asm:3: error: symbol `missing' not defined\n");
    assert.equal(existsSync(join(dir, 'bad.bin')), false);
  });

  it('rejects unknown formats, missing inputs and unknown commands', async () => {
    const { io, err } = capture(dir);
    assert.equal(await main(['asm', 'prog.asm', '-f', 'win64'], io), 1);
    assert.equal(await main(['asm', 'nope.asm'], io), 1);
    assert.equal(await main(['asm'], io), 1);
    assert.equal(await main(['frobnicate'], io), 1);
    assert.match(err.join(''), /unrecognised output format `win64'/);
    assert.match(err.join(''), /unable to open input file `nope.asm'/);
    assert.match(err.join(''), /unknown command `frobnicate'/);
  });
});
