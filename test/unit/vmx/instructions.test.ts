// VMX instructions and VM-entry failures on the common mistakes (SDM Vol. 3C 30.2-30.4, 26.2-26.3, 26.8):
// VMsucceed / VMfailInvalid (CF) / VMfailValid (ZF + VM-instruction error), #UD and #GP(0) preconditions,
// and invalid guest state as VM exit 33 with bit 31 set. Bochs agrees on the empty-VMCS case (error 7).

import { strict as assert } from 'node:assert';
import { F } from '../../../src/emulator/vmx/controls';
import { flatGuestAndHost, KIT, POINTERS, PROLOGUE, vmxMachine, write } from './vmmKit';

const CF = 1;
const ZF = 0x40;

/** Runs `body` after the prologue; the host stub halts; returns machine and the VM-instruction error. */
function run(body: string, prologue = PROLOGUE) {
  const m = vmxMachine(`${prologue}\n${body}\n pushfd\n pop edi\n hlt\nhost: mov esi, 0x600d\n hlt\nguest: hlt\n${POINTERS}\nbad_ptr: dd 0x21004, 0\nother_ptr: dd 0x26000, 0\n`);
  const stop = m.cpu.run(20000);
  const error = m.vmx.current?.read(F.VM_INSTRUCTION_ERROR) ?? -1;
  return { ...m, stop, flags: m.cpu.s[7]! & (CF | ZF), error };
}

describe('VMX instructions (SDM 30.3) and VM-entry failures', () => {
  it('VMLAUNCH on an empty VMCS fails VMfailValid with error 7 (invalid control fields), as Bochs does', () => {
    const r = run('vmlaunch');
    assert.equal(r.flags, ZF);
    assert.equal(r.error, 7);
  });

  it('VMRESUME of a clear VMCS is error 5; VMLAUNCH of a launched VMCS is error 4', () => {
    const resume = run(`${flatGuestAndHost('guest', 'host')}\n vmresume`);
    assert.deepEqual([resume.flags, resume.error], [ZF, 5]);
    const relaunch = run(`${flatGuestAndHost('guest', 'relaunch')}\n ${write(F.PROC_CONTROLS, 0x0401e172 | 0x80)}\n vmlaunch\nrelaunch: vmlaunch`);
    assert.deepEqual([relaunch.flags, relaunch.error], [ZF, 4]);
  });

  it('control bits outside the capability MSR are error 7; a null host CS is error 8', () => {
    const controls = run(`${flatGuestAndHost('guest', 'host')}\n ${write(F.PIN_CONTROLS, 0x16 | (1 << 30))}\n vmlaunch`);
    assert.deepEqual([controls.flags, controls.error], [ZF, 7]);
    const host = run(`${flatGuestAndHost('guest', 'host')}\n ${write(0x0c02, 0)}\n vmlaunch`);
    assert.deepEqual([host.flags, host.error], [ZF, 8]);
  });

  it('invalid guest state is VM exit 33 with bit 31 (entry failure): guest CR0 without PG, or a bad VMCS link pointer (qualification 4)', () => {
    const cr0 = run(`${flatGuestAndHost('guest', 'host')}\n ${write(F.GUEST_CR0, 0x11)}\n vmlaunch`);
    assert.equal(cr0.cpu.s[6], 0x600d, 'the host continues at HOST_RIP');
    assert.equal(cr0.vmx.current!.read(F.EXIT_REASON), 0x80000021);
    assert.match(cr0.vmx.lastEntryFailure, /CR0/);
    const link = run(`${flatGuestAndHost('guest', 'host')}\n ${write(0x2800, 0)}\n vmlaunch`);
    assert.equal(link.vmx.current!.read(F.EXIT_REASON), 0x80000021);
    assert.equal(link.vmx.current!.read(F.EXIT_QUALIFICATION), 4);
    const cs = run(`${flatGuestAndHost('guest', 'host')}\n ${write(0x4816, 0xc093)}\n vmlaunch`);
    assert.match(cs.vmx.lastEntryFailure, /CS access rights/);
  });

  it('VMREAD/VMWRITE: unsupported component is error 12, writing an exit-information field is error 13, values round-trip with 16-bit masking', () => {
    assert.deepEqual([run('mov eax, 0x1234\n vmread ebx, eax').error], [12]);
    assert.deepEqual([run(`${write(F.EXIT_REASON, 5)}`).error], [13]);
    const r = run(`${write(0x0800, 0x12345678)}\n mov eax, 0x0800\n vmread ebx, eax\n mov [0x9100], ebx`);
    assert.equal(r.flags, 0);
    assert.equal(new DataView(r.ram.buffer).getUint32(0x9100, true), 0x5678);
  });

  it('VMPTRLD: misaligned address error 9, VMXON pointer error 10, wrong revision error 11; VMPTRST stores the current pointer', () => {
    assert.equal(run('vmptrld [bad_ptr]').error, 9);
    assert.equal(run('vmptrld [vmxon_ptr]').error, 10);
    assert.equal(run('vmptrld [other_ptr]').error, 11); // region 0x26000 has revision 0
    const st = run('vmptrst [0x9200]');
    assert.equal(new DataView(st.ram.buffer).getUint32(0x9200, true), KIT.vmcs);
  });

  it('VMCLEAR of the VMXON region is error 3; VMCLEAR of the current VMCS makes it invalid (VMREAD then VMfailInvalid)', () => {
    assert.equal(run('vmclear [vmxon_ptr]').error, 3);
    const r = run('vmclear [vmcs_ptr]\n mov eax, 0x4402\n vmread ebx, eax');
    assert.equal(r.flags, CF);
  });

  it('VMXON twice is VMfailValid 15; VMCALL in root operation is error 1; VMXOFF leaves VMX operation (VMREAD is then #UD)', () => {
    assert.equal(run('vmxon [vmxon_ptr]').error, 15);
    assert.equal(run('vmcall').error, 1);
    const off = run('vmxoff\n mov eax, 0x4402\n vmread ebx, eax');
    assert.equal(off.vmx.inVmxOperation, false);
    assert.equal(off.cpu.lastFaultReason, 'vmread outside VMX operation');
  });

  it('VMXON is #GP(0) while IA32_FEATURE_CONTROL is unlocked, and VMfailInvalid with a wrong revision identifier', () => {
    const unlocked = PROLOGUE.replace('mov eax, 5\n', 'mov eax, 4\n');
    const r = run('', unlocked);
    assert.equal(r.vmx.inVmxOperation, false);
    assert.match(r.cpu.lastFaultReason, /IA32_FEATURE_CONTROL/);
    const revision = run('', PROLOGUE.replace(`mov [${KIT.vmxon}], eax`, `mov dword [${KIT.vmxon}], 0x2b`).replace('vmxon [vmxon_ptr]', 'vmxon [vmxon_ptr]\n pushfd\n pop edi\n hlt'));
    assert.equal(revision.vmx.inVmxOperation, false);
    assert.equal(revision.flags, CF);
  });
});
