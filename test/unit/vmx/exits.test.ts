// Exit tests (issue 6): a root-mode VMM written in NASM runs on HyperStep's CPU with VMX enabled, launches a
// flat ring-0 guest with one control changed, and the test checks that the guest instruction produced exactly
// the SDM's basic exit reason (Appendix C), exit qualification (27.2.1 Tables 27-3/27-4/27-5), instruction
// length and interruption information — or, with the control off, no exit at all.

import { strict as assert } from 'node:assert';
import { F } from '../../../src/emulator/vmx/controls';
import { flatGuestAndHost, KIT, POINTERS, PROLOGUE, vmxMachine, write } from './vmmKit';

const PRIMARY_DEFAULT = 0x0401e172; // IA32_VMX_PROCBASED_CTLS allowed-0 of this CPU (includes CR3-load/store exiting)

interface Scenario {
  guest: string;
  setup?: string;
}

/** Assemble VMM + guest, run, and return the unit after the first exit (the host halts at once). */
function runGuest({ guest, setup = '' }: Scenario) {
  const m = vmxMachine(`${PROLOGUE}\n${flatGuestAndHost('guest', 'host')}\n${setup}\n vmlaunch\n mov esi, 0xbad\n hlt\n` +
    `host: mov esi, 0x600d\n hlt\nguest:\n${guest}\n hlt\ndata: dd 0, 0\n${POINTERS}`);
  const stop = m.cpu.run(20000);
  return { ...m, stop };
}

function exitOf(scenario: Scenario) {
  const m = runGuest(scenario);
  assert.equal(m.vmx.lastEntryFailure, '', 'VM entry failed');
  assert.ok(m.vmx.lastExit !== null, `no VM exit (stop ${m.stop})`);
  assert.equal(m.cpu.s[6], 0x600d, 'the host continued at HOST_RIP');
  return m.vmx.lastExit!;
}

const primary = (bits: number): string => write(F.PROC_CONTROLS, (PRIMARY_DEFAULT | bits) >>> 0);

describe('VMX exits: each control gives the SDM exit reason and qualification', () => {
  it('HLT exiting on: reason 12, length 1; off: the guest halts in non-root operation', () => {
    const on = exitOf({ guest: 'hlt', setup: primary(1 << 7) });
    assert.deepEqual([on.reason, on.instructionLength], [12, 1]);
    const off = runGuest({ guest: 'hlt' });
    assert.equal(off.stop, 'halt');
    assert.equal(off.vmx.lastExit, null);
    assert.equal(off.vmx.nonRoot, true);
  });

  it('CPUID always exits (reason 10, length 2); VMCALL is reason 18', () => {
    assert.deepEqual([exitOf({ guest: 'cpuid' }).reason, exitOf({ guest: 'cpuid' }).instructionLength], [10, 2]);
    assert.equal(exitOf({ guest: 'vmcall' }).reason, 18);
  });

  it('RDTSC exiting: reason 16 only when set', () => {
    assert.equal(exitOf({ guest: 'rdtsc\ncpuid', setup: primary(1 << 12) }).reason, 16);
    assert.equal(exitOf({ guest: 'rdtsc\ncpuid' }).reason, 10);
  });

  it('CR3-load exiting: reason 28, qualification CR3 / MOV to CR / EAX; a CR3-target value does not exit', () => {
    const load = exitOf({ guest: `mov eax, ${KIT.pageDirectory}\nmov cr3, eax` });
    assert.deepEqual([load.reason, load.qualification], [28, 0x003]);
    const targeted = exitOf({
      guest: `mov eax, ${KIT.pageDirectory}\nmov cr3, eax\ncpuid`,
      setup: `${write(F.CR3_TARGET_COUNT, 1)}\n${write(F.CR3_TARGET0, KIT.pageDirectory)}`,
    });
    assert.equal(targeted.reason, 10);
  });

  it('CR3-store exiting: MOV EBX, CR3 gives qualification 0x313 (CR3, MOV from CR, EBX)', () => {
    const q = exitOf({ guest: 'mov ebx, cr3' });
    assert.deepEqual([q.reason, q.qualification], [28, 0x313]);
  });

  it('CR0 guest/host mask: reads return the read shadow, a write that changes an owned bit exits', () => {
    const m = runGuest({
      guest: 'mov eax, cr0\nmov edi, eax\nand eax, ~8\nmov cr0, eax',
      setup: `${write(F.CR0_MASK, 8)}\n${write(F.CR0_SHADOW, 0x80000039)}`,
    });
    assert.equal(m.vmx.lastExit!.reason, 28);
    assert.equal(m.vmx.lastExit!.qualification, 0x000); // CR0, MOV to CR, EAX
    assert.equal((m.cpu.s[7]! & 8) >>> 0, 8, 'MOV from CR0 saw the shadow TS = 1 while the real TS is 0');
  });

  it('unconditional I/O exiting: OUT 0x80, AL and IN AL, DX with the Table 27-5 qualification', () => {
    const out = exitOf({ guest: 'out 0x80, al', setup: primary(1 << 24) });
    assert.deepEqual([out.reason, out.qualification, out.instructionLength], [30, 0x00800040, 2]);
    const input = exitOf({ guest: 'mov dx, 0x3f8\nin al, dx', setup: primary(1 << 24) });
    assert.deepEqual([input.reason, input.qualification], [30, 0x03f80008]);
    const dword = exitOf({ guest: 'mov dx, 0xcf8\nout dx, eax', setup: primary(1 << 24) });
    assert.equal(dword.qualification, 0x0cf80003);
  });

  it('I/O bitmaps override unconditional exiting: only ports with a set bit exit', () => {
    const setup = `${primary((1 << 24) | (1 << 25))}\n${write(F.IO_BITMAP_A, KIT.ioBitmapA)}\n${write(F.IO_BITMAP_B, KIT.ioBitmapB)}\n` +
      `mov byte [${KIT.ioBitmapA + (0x3f8 >> 3)}], 1`;
    const m = runGuest({ guest: 'out 0x80, al\nmov dx, 0x3f8\nout dx, al', setup });
    assert.equal(m.vmx.lastExit!.reason, 30);
    assert.equal(m.vmx.lastExit!.qualification, 0x03f80000);
    assert.deepEqual(m.ports.writes.map(([port]) => port), [0x80]); // port 0x80 ran in the guest
  });

  it('MOV-DR exiting: MOV DR7, EAX gives reason 29, qualification 7', () => {
    const q = exitOf({ guest: 'mov dr7, eax', setup: primary(1 << 23) });
    assert.deepEqual([q.reason, q.qualification], [29, 0x007]);
    const from = exitOf({ guest: 'mov ecx, dr6', setup: primary(1 << 23) });
    assert.deepEqual([from.reason, from.qualification], [29, 0x116]);
  });

  it('INVLPG exiting: reason 14 with the linear address as qualification', () => {
    const q = exitOf({ guest: 'invlpg [0x1234]', setup: primary(1 << 9) });
    assert.deepEqual([q.reason, q.qualification], [14, 0x1234]);
  });

  it('RDMSR/WRMSR exit without MSR bitmaps (31/32); with an all-clear bitmap they run in the guest', () => {
    assert.equal(exitOf({ guest: 'mov ecx, 0x174\nrdmsr' }).reason, 31);
    assert.equal(exitOf({ guest: 'mov ecx, 0x174\nwrmsr' }).reason, 32);
    const bitmap = exitOf({ guest: 'mov ecx, 0x174\nrdmsr\ncpuid', setup: `${primary(1 << 28)}\n${write(F.MSR_BITMAP, 0x25000)}` });
    assert.equal(bitmap.reason, 10);
  });

  it('descriptor-table exiting (secondary control): SGDT is reason 46, LTR reason 47', () => {
    const secondary = `${primary(1 << 31)}\n${write(F.PROC2_CONTROLS, 1 << 2)}`;
    const sgdt = exitOf({ guest: 'sgdt [data]', setup: secondary });
    assert.equal(sgdt.reason, 46);
    assert.equal((sgdt.instructionInfo >>> 28) & 3, 0); // SGDT identity
    const ltr = exitOf({ guest: 'mov ax, 0x28\nltr ax', setup: secondary });
    assert.equal(ltr.reason, 47);
    assert.equal((ltr.instructionInfo >>> 28) & 3, 3); // LTR identity
    assert.equal(exitOf({ guest: 'sgdt [data]\ncpuid' }).reason, 10); // control off: SGDT runs
  });

  it('exception bitmap: #UD exits as reason 0 with interruption information 0x80000306', () => {
    const q = exitOf({ guest: 'ud2', setup: write(F.EXCEPTION_BITMAP, 1 << 6) });
    assert.deepEqual([q.reason, q.interruptionInfo >>> 0], [0, 0x80000306]);
    const gp = exitOf({ guest: 'mov ax, 0x13\nmov ds, ax', setup: write(F.EXCEPTION_BITMAP, 1 << 13) });
    assert.deepEqual([gp.reason, gp.interruptionInfo >>> 0, gp.interruptionErrorCode], [0, 0x80000b0d, 0x10]);
  });

  it('a triple fault in the guest is exit reason 2', () => {
    assert.equal(exitOf({ guest: 'mov eax, 0\nlidt [eax]\nint3' }).reason, 2);
  });

  it('CLTS with TS owned and set in the shadow exits (access type 2); LMSW changing an owned bit exits with the source data', () => {
    const clts = exitOf({ guest: 'clts', setup: `${write(F.CR0_MASK, 8)}\n${write(F.CR0_SHADOW, 0x80000039)}` });
    assert.deepEqual([clts.reason, clts.qualification], [28, 0x20]);
    const lmsw = exitOf({ guest: 'mov ax, 0x13\nlmsw ax', setup: `${write(F.CR0_MASK, 2)}\n${write(F.CR0_SHADOW, 0x80000031)}` });
    assert.deepEqual([lmsw.reason, lmsw.qualification >>> 0], [28, 0x00130030]);
  });

  it('REP OUTSB exits with the string and REP bits, the port, and the guest-linear address of the source', () => {
    const q = exitOf({ guest: 'mov esi, 0x9300\nmov ecx, 2\nmov dx, 0x80\nrep outsb', setup: primary(1 << 24) });
    assert.deepEqual([q.reason, q.qualification >>> 0, q.guestLinearAddress], [30, 0x00800030, 0x9300]);
  });

  it('external-interrupt exiting with "acknowledge interrupt on exit" reports the vector in the exit interruption information', () => {
    const m = vmxMachine(`${PROLOGUE}\n${flatGuestAndHost('guest', 'host')}\n${write(F.PIN_CONTROLS, 0x17)}\n` +
      `mov ecx, 0x483\n rdmsr\n or eax, 1 << 15\n mov ebx, eax\n mov eax, ${F.EXIT_CONTROLS}\n vmwrite eax, ebx\n vmlaunch\n hlt\n` +
      `host: mov esi, 0x600d\n hlt\nguest: sti\n nop\n nop\n hlt\n${POINTERS}`);
    m.interrupts.queue.push(0x30);
    m.cpu.run(20000);
    assert.equal(m.vmx.lastExit!.reason, 1);
    assert.equal(m.vmx.lastExit!.interruptionInfo >>> 0, 0x80000030);
    assert.equal(m.interrupts.queue.length, 0, 'the VM exit acknowledged the controller');
  });

  it('RESET leaves VMX operation: no non-root handlers afterwards', () => {
    const m = runGuest({ guest: 'hlt' });
    assert.equal(m.vmx.nonRoot, true);
    m.cpu.reset();
    assert.deepEqual([m.vmx.nonRoot, m.vmx.inVmxOperation, m.vmx.current], [false, false, null]);
  });
});
