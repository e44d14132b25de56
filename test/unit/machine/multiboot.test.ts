// The Multiboot loader against QEMU's -kernel: the same kernel (test/kernels/mbinfo.asm) is run in
// qemu-system-i386, which prints the information structure it received; HyperStep's loader must place the
// same values in guest memory. Also the a.out kludge, the entry state and clear errors for bad images.
import assert from 'node:assert/strict';
import { Machine } from '../../../src/emulator/machine/machine';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { buildFlat, buildKernel, readImage, runQemu } from '../../differential/tools';
import { ScriptedCpu } from './scriptedCpu';

function machine(memoryMiB = 32) {
  let cpu!: ScriptedCpu;
  const m = new Machine(defaultRecipe({ memoryMiB }), (mm) => (cpu = new ScriptedCpu(mm, [])));
  return { m, cpu };
}

const u32 = (m: Machine, a: number) =>
  (m.memory.ram[a] | (m.memory.ram[a + 1] << 8) | (m.memory.ram[a + 2] << 16) | (m.memory.ram[a + 3] << 24)) >>> 0;
const cString = (m: Machine, a: number) => {
  let s = '';
  while (m.memory.ram[a] !== 0) s += String.fromCharCode(m.memory.ram[a++]);
  return s;
};
const hex8 = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');

describe('Multiboot loader', function () {
  this.timeout(60000);

  for (const [memoryMiB, append] of [[32, ''], [128, 'console=ttyS0 quiet']] as const) {
    it(`hands over the same information structure as QEMU -kernel (${memoryMiB} MiB, append "${append}")`, () => {
      const elf = buildKernel('mbinfo');
      const qemu = runQemu(elf, { memoryMiB, append: append || undefined });
      assert.equal(qemu.status, 1, `QEMU should exit through isa-debug-exit with status 1: ${qemu.serial}`);
      const { m, cpu } = machine(memoryMiB);
      const loaded = m.boot(readImage(elf), { kernelName: elf, append });
      assert.ok(!('error' in loaded), JSON.stringify(loaded));
      const e = cpu.state.entry!;
      // Registers line: eax ebx esp eflags
      const lines = qemu.serial.split('\n');
      const regs = lines.find((l) => l.startsWith('eax ebx esp eflags:'))!;
      assert.equal(regs.split(': ')[1].trim(), [e.eax, e.ebx, e.esp, e.eflags].map(hex8).join(' '));
      const segs = lines.find((l) => l.startsWith('cs ds es ss fs gs:'))!;
      assert.equal(segs.split(': ')[1].trim(), [e.cs, e.ds, e.es, e.ss, e.fs, e.gs].map(hex8).join(' '));
      assert.equal(lines.find((l) => l.startsWith('cr0:'))!.split(': ')[1].trim(), hex8(e.cr0));
      const tables = lines.find((l) => l.startsWith('gdtr idtr:'))!;
      assert.equal(tables.split(': ')[1].trim(), [e.gdtLimit, e.gdtBase, e.idtLimit, e.idtBase].map(hex8).join(' '));
      // GDT entries as QEMU printed them (high dword, low dword), from HyperStep's guest memory
      const gdtLines = lines.slice(lines.indexOf(tables) + 1, lines.indexOf(tables) + 1 + (e.gdtLimit + 1) / 8);
      gdtLines.forEach((line, i) => assert.equal(line.trim(), `${hex8(u32(m, e.gdtBase + 8 * i + 4))} ${hex8(u32(m, e.gdtBase + 8 * i))}`));
      // Multiboot information: flags lower upper bootdev cmdline mods mmaplen mmapaddr name
      const mbi = lines.find((l) => l.startsWith('mbi flags'))!.split(': ')[1].trim();
      const b = e.ebx;
      assert.equal(mbi, [0, 4, 8, 12, 16, 20, 44, 48, 64].map((o) => hex8(u32(m, b + o))).join(' '));
      assert.equal(lines.find((l) => l.startsWith('cmdline:'))!.slice('cmdline: '.length), cString(m, u32(m, b + 16)));
      assert.equal(lines.find((l) => l.startsWith('loader:'))!.slice('loader: '.length), cString(m, u32(m, b + 64)));
      // The memory map, entry by entry
      const mapLines = lines.slice(lines.findIndex((l) => l.startsWith('cmdline:')) + 1, lines.findIndex((l) => l.startsWith('loader:')));
      const mapAt = u32(m, b + 48);
      assert.equal(mapLines.length, u32(m, b + 44) / 24);
      mapLines.forEach((line, i) => {
        const at = mapAt + 24 * i;
        assert.equal(line.trim(), [at, at + 8, at + 4, at + 16, at + 12, at + 20].map((a) => hex8(u32(m, a))).join(' '));
      });
    });
  }

  it('loads a flat binary through the a.out kludge addresses, zeroing bss', () => {
    const image = readImage(buildFlat('kludge'));
    const { m, cpu } = machine();
    m.memory.ram.fill(0xcc, 0x100000, 0x104000);
    const loaded = m.boot(image, { kernelName: 'kludge.bin' });
    assert.ok(!('error' in loaded), JSON.stringify(loaded));
    assert.equal(loaded.format, 'multiboot-aout-kludge');
    assert.equal(cpu.state.entry!.eip, 0x100020);
    assert.deepEqual([...m.memory.ram.subarray(0x100000, 0x100000 + image.length)], [...image]);
    assert.equal(m.memory.ram[0x100000 + image.length], 0, 'bss is zero');
    assert.equal(m.memory.ram[loaded.loadEnd - 1], 0);
    assert.equal(m.memory.ram[loaded.loadEnd], 0xcc, 'nothing past bss_end_addr is touched');
  });

  it('rejects garbage, ELF objects and images that do not fit, with a message', () => {
    const { m } = machine();
    const garbage = Uint8Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff);
    assert.match((m.boot(garbage, { kernelName: 'x' }) as { error: string }).error, /not a Multiboot kernel/);
    assert.match((m.boot(new Uint8Array(0), { kernelName: 'x' }) as { error: string }).error, /not a Multiboot kernel/);
    const elf = readImage(buildKernel('mbinfo'));
    const truncated = elf.slice(0, 600);
    assert.match((m.boot(truncated, { kernelName: 'x' }) as { error: string }).error, /past the end|Multiboot/);
    const small = machine(2);
    const big = readImage(buildKernel('mbinfo', ['BIG_BSS']));
    assert.match((small.m.boot(big, { kernelName: 'x' }) as { error: string }).error, /beyond the machine's 2 MiB/);
  });
});
