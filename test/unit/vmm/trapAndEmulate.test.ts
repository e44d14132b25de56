// Per-instruction trap-and-emulate behaviour against the SDM rules, on a fake guest CPU: what each privileged
// instruction does to the virtual CPU when the deprivileged kernel (real CPL 1) executes it, what is reflected
// through the guest's virtual IDT instead, and the named steps and costs of each handler.
import assert from 'node:assert/strict';
import type { AccessSize, PortBus } from '../../../src/emulator/hw/contracts';
import { TRAP_AND_EMULATE_STEPS } from '../../../src/emulator/vmm/handlerSteps';
import { decodeIo, decodeCrAccess } from '../../../src/emulator/vmm/exitQualification';
import type { GuestCpuAccess, GuestInstruction } from '../../../src/emulator/vmm/trapAndEmulate/guestAccess';
import { classifyTrap, reflectOutcome, trapAndEmulateDispatcher, type TrapContext } from '../../../src/emulator/vmm/trapAndEmulate/handlers';
import { VirtualCpu } from '../../../src/emulator/vmm/trapAndEmulate/virtualCpu';

const IF = 1 << 9;
const GDT = 0x1000;
const IDT = 0x2000;
const TSS = 0x3000;

/** A flat guest: linear = physical, every segment base 0; records port traffic and segment loads. */
class FakeGuest implements GuestCpuAccess {
  readonly memory = new Uint8Array(0x10000);
  readonly view = new DataView(this.memory.buffer);
  readonly gpr = new Int32Array(8);
  readonly selectors = [0x11, 0x09, 0x11, 0x11, 0x11, 0x11];
  readonly loads: [number, number][] = [];
  readonly portWrites: [number, AccessSize, number][] = [];
  eip = 0x8000;
  eflags = IF | 0x2;
  cpl = 1;
  readonly ports: PortBus = {
    read: (port) => (port === 0x60 ? 0xab : 0xff),
    write: (port, size, value) => void this.portWrites.push([port, size, value]),
  };
  getEip() { return this.eip; }
  setEip(v: number) { this.eip = v; }
  getGpr(r: number) { return this.gpr[r]! >>> 0; }
  setGpr(r: number, v: number) { this.gpr[r] = v; }
  getEflags() { return this.eflags; }
  setEflags(v: number) { this.eflags = v >>> 0; }
  getSelector(s: number) { return this.selectors[s]!; }
  getSegmentBase() { return 0; }
  loadSegment(s: number, sel: number) {
    if ((sel & ~3) === 0) return false;
    this.loads.push([s, sel]);
    this.selectors[s] = sel;
    if (s === 1) this.cpl = sel & 3;
    return true;
  }
  readLinear(a: number, size: AccessSize) {
    if (a + size > this.memory.length) return undefined;
    return size === 1 ? this.view.getUint8(a) : size === 2 ? this.view.getUint16(a, true) : this.view.getUint32(a, true);
  }
  writeLinear(a: number, size: AccessSize, v: number) {
    if (a + size > this.memory.length) return false;
    if (size === 4) this.view.setUint32(a, v >>> 0, true);
    else if (size === 2) this.view.setUint16(a, v, true);
    else this.view.setUint8(a, v);
    return true;
  }
  decodeAt(): GuestInstruction | undefined { return undefined; }

  /** The guest's own tables: GDT (null, 0x08 code DPL0, 0x10 data DPL0, 0x18 code DPL3, 0x20 data DPL3, 0x28 TSS), IDT, TSS. */
  installTables(vcpu: VirtualCpu): void {
    const descriptor = (index: number, base: number, limit: number, access: number, flags: number) => {
      const low = (limit & 0xffff) | ((base & 0xffff) << 16);
      const high = ((base >>> 16) & 0xff) | (access << 8) | (((limit >>> 16) & 0xf) << 16) | (flags << 20) | (base & 0xff000000);
      this.writeLinear(GDT + index * 8, 4, low);
      this.writeLinear(GDT + index * 8 + 4, 4, high);
    };
    descriptor(1, 0, 0xfffff, 0x9a, 0xc);
    descriptor(2, 0, 0xfffff, 0x92, 0xc);
    descriptor(3, 0, 0xfffff, 0xfa, 0xc);
    descriptor(4, 0, 0xfffff, 0xf2, 0xc);
    descriptor(5, TSS, 103, 0x89, 0);
    this.writeLinear(TSS + 4, 4, 0x9000); // ESP0
    this.writeLinear(TSS + 8, 2, 0x10); // SS0
    vcpu.gdtr = { base: GDT, limit: 6 * 8 - 1 };
    vcpu.idtr = { base: IDT, limit: 256 * 8 - 1 };
    vcpu.tr = 0x28;
  }

  setGate(vector: number, handler: number, typeAttributes: number): void {
    this.writeLinear(IDT + vector * 8, 4, (handler & 0xffff) | (0x08 << 16));
    this.writeLinear(IDT + vector * 8 + 4, 4, (handler & 0xffff0000) | (typeAttributes << 8));
  }
}

function insn(text: string, mnemonic: string, bytes: number[], extra: Partial<GuestInstruction> = {}): GuestInstruction {
  return { address: 0x8000, bytes, text, mnemonic, length: bytes.length, ...extra };
}

/** What the engine does on a #GP (or int n): classify, dispatch, run every step, apply a reflection. */
function trap(guest: FakeGuest, vcpu: VirtualCpu, instruction: GuestInstruction | undefined, vector = 13, errorCode = 0, softwareInterrupt = false) {
  const dispatcher = trapAndEmulateDispatcher();
  const exit = classifyTrap(guest, instruction, vector, errorCode, softwareInterrupt);
  const context: TrapContext = instruction === undefined ? { guest, vcpu, notes: [] } : { guest, vcpu, instruction, notes: [] };
  const charged: string[] = [];
  const execution = dispatcher.dispatch(exit, context, (parameter) => charged.push(parameter));
  const outcome = execution.runToCompletion();
  let deliveryProblem: string | undefined;
  if (outcome.kind === 'reflect') deliveryProblem = reflectOutcome(context, outcome.vector, outcome.errorCode, softwareInterrupt);
  return { exit, outcome, steps: execution.executed.map((s) => s.name), charged, notes: context.notes, deliveryProblem };
}

function setup() {
  const guest = new FakeGuest();
  const vcpu = new VirtualCpu();
  vcpu.interruptFlag = true;
  guest.installTables(vcpu);
  return { guest, vcpu };
}

describe('trap-and-emulate: privileged instructions of the virtual kernel (real CPL 1)', () => {
  it('cli clears only the virtual IF, through the six named steps, and advances EIP', () => {
    const { guest, vcpu } = setup();
    const r = trap(guest, vcpu, insn('cli', 'cli', [0xfa]));
    assert.equal(r.exit.reason, 0);
    assert.deepEqual(r.outcome, { kind: 'resume' });
    assert.deepEqual(r.steps, [...TRAP_AND_EMULATE_STEPS]);
    assert.deepEqual(r.charged, ['vmmEntry', 'emulationStep', 'emulationStep', 'emulationStep', 'emulationStep', 'vmmExit']);
    assert.equal(vcpu.interruptFlag, false);
    assert.equal(guest.eflags & IF, IF, 'the real IF stays set');
    assert.equal(guest.eip, 0x8001);
  });

  it('sti sets the virtual IF', () => {
    const { guest, vcpu } = setup();
    vcpu.interruptFlag = false;
    trap(guest, vcpu, insn('sti', 'sti', [0xfb]));
    assert.equal(vcpu.interruptFlag, true);
  });

  it('out dx, al is exit reason 30 with the Table 28-5 qualification and reaches the device path', () => {
    const { guest, vcpu } = setup();
    guest.gpr[2] = 0x3f8;
    guest.gpr[0] = 0x12345641;
    const r = trap(guest, vcpu, insn('out dx, al', 'out', [0xee], { io: { port: 'dx', size: 1, isIn: false } }));
    assert.equal(r.exit.reason, 30);
    assert.deepEqual(decodeIo(r.exit.qualification), { size: 1, isIn: false, isString: false, isRep: false, immediatePort: false, port: 0x3f8 });
    assert.deepEqual(guest.portWrites, [[0x3f8, 1, 0x41]]);
    assert.equal(guest.eip, 0x8001);
  });

  it('in al, imm8 merges the byte into AL only', () => {
    const { guest, vcpu } = setup();
    guest.gpr[0] = 0x11223344;
    trap(guest, vcpu, insn('in al, 0x60', 'in', [0xe4, 0x60], { io: { port: 0x60, size: 1, isIn: true } }));
    assert.equal(guest.getGpr(0), 0x112233ab);
    assert.equal(guest.eip, 0x8002);
  });

  it('lidt loads the virtual IDTR from memory (reason 46); lgdt marks the shadow GDT dirty', () => {
    const { guest, vcpu } = setup();
    guest.writeLinear(0x4000, 2, 0x7ff);
    guest.writeLinear(0x4002, 4, 0x00105000);
    const r = trap(guest, vcpu, insn('lidt [0x4000]', 'lidt', [0x0f, 0x01, 0x1d, 0, 0x40, 0, 0], { memoryAddress: 0x4000 }));
    assert.equal(r.exit.reason, 46);
    assert.deepEqual(vcpu.idtr, { base: 0x105000, limit: 0x7ff });
    vcpu.tablesDirty = false;
    trap(guest, vcpu, insn('lgdt [0x4000]', 'lgdt', [0x0f, 0x01, 0x15, 0, 0x40, 0, 0], { memoryAddress: 0x4000 }));
    assert.deepEqual(vcpu.gdtr, { base: 0x105000, limit: 0x7ff });
    assert.equal(vcpu.tablesDirty, true);
  });

  it('ltr ax loads the virtual TR (reason 47)', () => {
    const { guest, vcpu } = setup();
    guest.gpr[0] = 0x28;
    const r = trap(guest, vcpu, insn('ltr ax', 'ltr', [0x0f, 0x00, 0xd8], { register: 0 }));
    assert.equal(r.exit.reason, 47);
    assert.equal(vcpu.tr, 0x28);
  });

  it('mov cr3, ebx and mov eax, cr3 use the virtual CR3 (reason 28, Table 28-3)', () => {
    const { guest, vcpu } = setup();
    guest.gpr[3] = 0x7000;
    const r = trap(guest, vcpu, insn('mov cr3, ebx', 'mov-cr', [0x0f, 0x22, 0xdb], { controlRegister: 3, register: 3, toControlRegister: true }));
    assert.equal(r.exit.reason, 28);
    assert.equal(decodeCrAccess(r.exit.qualification).accessType, 'mov-to-cr');
    assert.equal(vcpu.cr3, 0x7000);
    trap(guest, vcpu, insn('mov eax, cr3', 'mov-cr', [0x0f, 0x20, 0xd8], { controlRegister: 3, register: 0, toControlRegister: false }));
    assert.equal(guest.getGpr(0), 0x7000);
  });

  it('setting CR0.PG stops with "needs memory virtualization", never misbehaves silently', () => {
    const { guest, vcpu } = setup();
    guest.gpr[0] = 0x80000011;
    const r = trap(guest, vcpu, insn('mov cr0, eax', 'mov-cr', [0x0f, 0x22, 0xc0], { controlRegister: 0, register: 0, toControlRegister: true }));
    assert.equal(r.outcome.kind, 'stop');
    assert.match(r.outcome.kind === 'stop' ? r.outcome.message : '', /memory virtualization/);
    assert.equal(vcpu.cr0, 0x11);
  });

  it('hlt halts the virtual CPU when the virtual IF is 1, and stops the guest when it is 0', () => {
    const { guest, vcpu } = setup();
    const r = trap(guest, vcpu, insn('hlt', 'hlt', [0xf4]));
    assert.equal(r.exit.reason, 12);
    assert.equal(vcpu.halted, true);
    vcpu.interruptFlag = false;
    vcpu.halted = false;
    const stopped = trap(guest, vcpu, insn('hlt', 'hlt', [0xf4]));
    assert.deepEqual(stopped.outcome, { kind: 'stop', message: 'HLT with virtual interrupts disabled: the guest is stopped for good' });
  });

  it('mov ss, ax with a ring-0 selector is loaded with RPL 1 (ring compression)', () => {
    const { guest, vcpu } = setup();
    guest.gpr[0] = 0x10;
    trap(guest, vcpu, insn('mov ss, ax', 'mov-sreg', [0x8e, 0xd0], { register: 0, segmentRegister: 2 }));
    assert.deepEqual(guest.loads, [[2, 0x11]]);
  });

  it('pop ss loads the popped ring-0 selector with RPL 1 and pops 4 bytes', () => {
    const { guest, vcpu } = setup();
    guest.gpr[4] = 0x8800;
    guest.writeLinear(0x8800, 4, 0x10);
    trap(guest, vcpu, insn('pop ss', 'pop-sreg', [0x17], { segmentRegister: 2 }));
    assert.deepEqual(guest.loads, [[2, 0x11]]);
    assert.equal(guest.getGpr(4), 0x8804);
  });

  it('iret back to the virtual kernel pops EIP, CS, EFLAGS and takes IF from the frame', () => {
    const { guest, vcpu } = setup();
    guest.gpr[4] = 0x8800;
    guest.writeLinear(0x8800, 4, 0x101234);
    guest.writeLinear(0x8804, 4, 0x08);
    guest.writeLinear(0x8808, 4, 0x202);
    vcpu.interruptFlag = false;
    const r = trap(guest, vcpu, insn('iretd', 'iretd', [0xcf]));
    assert.deepEqual(r.outcome, { kind: 'resume' });
    assert.equal(guest.eip, 0x101234);
    assert.equal(guest.getGpr(4), 0x880c);
    assert.deepEqual(guest.loads, [[1, 0x09]]);
    assert.equal(vcpu.interruptFlag, true);
    assert.ok(!r.steps.includes('advance guest EIP'));
  });
});

describe('trap-and-emulate: reflection through the virtual IDT', () => {
  it('a cli from guest user code is not emulated but reflected as #GP(0), with a TSS stack switch', () => {
    const { guest, vcpu } = setup();
    guest.cpl = 3;
    guest.selectors[1] = 0x1b;
    guest.selectors[2] = 0x23;
    guest.gpr[4] = 0x7ff0;
    guest.eip = 0x400100;
    guest.setGate(13, 0x101000, 0x8e);
    const r = trap(guest, vcpu, insn('cli', 'cli', [0xfa]));
    assert.equal(r.exit.reason, 0);
    assert.deepEqual(r.outcome, { kind: 'reflect', vector: 13, errorCode: 0 });
    assert.equal(r.deliveryProblem, undefined);
    assert.equal(guest.eip, 0x101000);
    assert.equal(vcpu.cpl, 0);
    assert.equal(vcpu.interruptFlag, false, 'interrupt gate clears the virtual IF');
    assert.deepEqual(guest.loads, [[2, 0x11], [1, 0x09]]);
    const esp = guest.getGpr(4);
    assert.equal(esp, 0x9000 - 24);
    const frame = [0, 4, 8, 12, 16, 20].map((o) => guest.readLinear(esp + o, 4));
    assert.deepEqual(frame, [0, 0x400100, 0x1b, IF | 0x2, 0x7ff0, 0x23]); // error code, EIP, CS, EFLAGS, ESP, SS
  });

  it('int 0x80 from ring 3 through a DPL-3 gate reaches the guest handler', () => {
    const { guest, vcpu } = setup();
    guest.cpl = 3;
    guest.selectors[1] = 0x1b;
    guest.gpr[4] = 0x7ff0;
    guest.eip = 0x400102; // after the 2-byte int 0x80
    guest.setGate(0x80, 0x102000, 0xee);
    const r = trap(guest, vcpu, undefined, 0x80, -1, true);
    assert.deepEqual(r.outcome, { kind: 'reflect', vector: 0x80 });
    assert.equal(guest.eip, 0x102000);
    assert.equal(guest.readLinear(guest.getGpr(4), 4), 0x400102, 'no error code; EIP after the int');
  });

  it('int 0x80 through a DPL-0 gate from ring 3 becomes #GP(0x80 * 8 + 2) (SDM 6.12.1.1)', () => {
    const { guest, vcpu } = setup();
    guest.cpl = 3;
    guest.selectors[1] = 0x1b;
    guest.gpr[4] = 0x7ff0;
    guest.setGate(0x80, 0x102000, 0x8e);
    guest.setGate(13, 0x101000, 0x8e);
    trap(guest, vcpu, undefined, 0x80, -1, true);
    assert.equal(guest.eip, 0x101000);
    assert.equal(guest.readLinear(guest.getGpr(4), 4), 0x80 * 8 + 2);
  });

  it('a fault in the virtual kernel is delivered on the same stack with the virtual CS and IF', () => {
    const { guest, vcpu } = setup();
    guest.gpr[4] = 0x8f00;
    guest.setGate(0, 0x103000, 0x8f); // trap gate: IF unchanged
    vcpu.interruptFlag = false;
    guest.eflags = IF | 0x2; // the real IF is always 1 under the VMM
    const r = trap(guest, vcpu, undefined, 0, -1, false);
    assert.equal(r.deliveryProblem, undefined);
    const esp = guest.getGpr(4);
    assert.equal(esp, 0x8f00 - 12);
    assert.deepEqual([0, 4, 8].map((o) => guest.readLinear(esp + o, 4)), [0x8000, 0x08, 0x2]); // EIP, CS RPL 0, EFLAGS with virtual IF 0
  });

  it('reports a missing gate instead of throwing', () => {
    const { guest, vcpu } = setup();
    vcpu.idtr = { base: IDT, limit: 0x7f };
    const r = trap(guest, vcpu, undefined, 0x20, -1, false);
    assert.match(r.deliveryProblem ?? '', /cannot deliver vector 32/);
  });
});
