// Tests for the SDM exit-reason table, exit qualifications, VMCS encodings and the exit dispatcher.
import assert from 'node:assert/strict';
import { EXIT_REASONS, ExitReason, decodeExitReasonField, encodeExitReasonField, exitReasonName, HYPERSTEP_EXIT_SUBSET } from '../../../src/emulator/vmm/exitReasons';
import {
  decodeCrAccess, decodeEptViolation, decodeIo, decodeMovDr, describeCrAccess, describeEptViolation, describeIo,
  encodeCrAccess, encodeEptViolation, encodeIo, encodeMovDr,
} from '../../../src/emulator/vmm/exitQualification';
import {
  VMCS_FIELDS, VMCS_FIELD_GROUPS, decodeInterruptionInfo, decodeVmcsEncoding, encodeInterruptionInfo, vmcsField, vmcsFieldByName,
} from '../../../src/emulator/vmm/vmcsFields';
import { ExitDispatcher } from '../../../src/emulator/vmm/exitDispatcher';
import { step } from '../../../src/emulator/vmm/handlerSteps';
import { crAccessExit, exceptionExit, exitReasonForMnemonic, hypercallExit, ioExit, instructionExit } from '../../../src/emulator/vmm/vmExit';

describe('SDM basic exit reasons', () => {
  it('lists unique, ascending reasons with the numbers of Appendix C', () => {
    const numbers = EXIT_REASONS.map((r) => r.reason);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
    assert.equal(new Set(numbers).size, numbers.length);
    const expected: Record<number, string> = {
      0: 'EXCEPTION_NMI', 1: 'EXTERNAL_INTERRUPT', 2: 'TRIPLE_FAULT', 10: 'CPUID', 12: 'HLT', 14: 'INVLPG', 16: 'RDTSC',
      18: 'VMCALL', 19: 'VMCLEAR', 27: 'VMXON', 28: 'CR_ACCESS', 29: 'DR_ACCESS', 30: 'IO_INSTRUCTION', 31: 'MSR_READ',
      32: 'MSR_WRITE', 33: 'INVALID_STATE', 46: 'GDTR_IDTR', 47: 'LDTR_TR', 48: 'EPT_VIOLATION', 49: 'EPT_MISCONFIG',
      50: 'INVEPT', 53: 'INVVPID', 54: 'WBINVD',
    };
    for (const [reason, id] of Object.entries(expected)) assert.equal(EXIT_REASONS.find((r) => r.reason === Number(reason))?.id, id);
    for (const gap of [35, 38, 42]) assert.equal(EXIT_REASONS.some((r) => r.reason === gap), false);
    for (const reason of HYPERSTEP_EXIT_SUBSET) assert.ok(EXIT_REASONS.some((r) => r.reason === reason && !r.unverified));
  });

  it('names unknown reasons and splits the VM_EXIT_REASON field', () => {
    assert.equal(exitReasonName(30), 'I/O instruction');
    assert.equal(exitReasonName(35), 'unknown exit reason 35');
    const field = decodeExitReasonField(encodeExitReasonField(33, true));
    assert.deepEqual([field.basicReason, field.entryFailure], [33, true]);
    assert.equal(encodeExitReasonField(33, true), 0x80000021);
  });
});

describe('exit qualifications', () => {
  it('decodes a MOV to CR3 from EBX and a LMSW (Table 28-3)', () => {
    // mov cr3, ebx: CR 3, access 0, GPR 3 → 0x303
    assert.deepEqual(decodeCrAccess(0x303), { controlRegister: 3, accessType: 'mov-to-cr', lmswMemoryOperand: false, gpr: 3, lmswSourceData: 0 });
    assert.equal(describeCrAccess(decodeCrAccess(0x303)), 'mov cr3, ebx');
    assert.equal(describeCrAccess(decodeCrAccess(0x0010)), 'mov eax, cr0');
    assert.equal(decodeCrAccess(0x20).accessType, 'clts');
    const lmsw = decodeCrAccess(0x00010070);
    assert.deepEqual([lmsw.accessType, lmsw.lmswMemoryOperand, lmsw.lmswSourceData], ['lmsw', true, 1]);
    for (const q of [0x303, 0x10, 0x20, 0x00010070, 0x00000814]) assert.equal(encodeCrAccess(decodeCrAccess(q)), q);
  });

  it('decodes I/O qualifications as KVM handle_io does (Table 28-5)', () => {
    const outDx = decodeIo(0x03f80000)!; // out dx, al to 0x3f8
    assert.deepEqual(outDx, { size: 1, isIn: false, isString: false, isRep: false, immediatePort: false, port: 0x3f8 });
    assert.equal(describeIo(outDx), 'out dx, al (port 0x3f8)');
    const inImm = decodeIo(0x00600048 | 0)!; // in al, 0x60
    assert.equal(describeIo(inImm), 'in al, 0x60');
    const repOutsd = decodeIo(0x03f80033)!;
    assert.equal(describeIo(repOutsd), 'rep outsd (port 0x3f8)');
    assert.equal(decodeIo(0x2), undefined);
    for (const q of [0x03f80000, 0x00600048, 0x03f80033, 0xfffe0009]) assert.equal(encodeIo(decodeIo(q)!), q);
  });

  it('decodes MOV DR and EPT violations (Tables 28-4, 28-7)', () => {
    assert.deepEqual(decodeMovDr(0x317), { debugRegister: 7, fromDr: true, gpr: 3 });
    assert.equal(encodeMovDr(decodeMovDr(0x317)), 0x317);
    const write = decodeEptViolation(0x18a); // write, readable, linear valid, final access
    assert.deepEqual([write.write, write.readable, write.writable, write.linearAddressValid, write.finalTranslation], [true, true, false, true, true]);
    assert.equal(describeEptViolation(write), 'write denied by EPT permissions r-- (final access)');
    assert.equal(decodeEptViolation(0x100).finalTranslation, false); // bit 8 means nothing without bit 7
    assert.equal(describeEptViolation(decodeEptViolation(0x81)), 'read denied by EPT permissions --- (guest page-table walk)');
    for (const q of [0x18a, 0x81, 0x1004]) assert.equal(encodeEptViolation(decodeEptViolation(q)), q);
  });
});

describe('VMCS field encodings (Appendix B)', () => {
  it('agree with the width and type bits of every encoding', () => {
    for (const group of VMCS_FIELD_GROUPS) {
      for (const [encoding, name] of group.rows) {
        const parts = decodeVmcsEncoding(encoding);
        assert.ok(parts, name);
        assert.equal(parts.width, group.width, `${name} width`);
        assert.equal(parts.type, group.type, `${name} type`);
        assert.equal(parts.highAccess, false, `${name} is listed by its full encoding`);
      }
    }
    assert.equal(new Set(VMCS_FIELDS.map((f) => f.encoding)).size, VMCS_FIELDS.length);
  });

  it('resolves names, encodings and high halves of 64-bit fields', () => {
    assert.equal(vmcsFieldByName('GUEST_RIP')?.encoding, 0x681e);
    assert.equal(vmcsFieldByName('VM_EXIT_REASON')?.encoding, 0x4402);
    assert.equal(vmcsFieldByName('EXIT_QUALIFICATION')?.encoding, 0x6400);
    assert.equal(vmcsField(0x201b)?.name, 'EPT_POINTER');
    assert.equal(vmcsField(0x4003), undefined); // high access is only for 64-bit fields
    assert.equal(decodeVmcsEncoding(0x1000), undefined);
  });

  it('round-trips interruption information', () => {
    const gp = { vector: 13, type: 3, errorCodeValid: true, nmiUnblockingByIret: false, valid: true };
    assert.equal(encodeInterruptionInfo(gp), 0x80000b0d);
    assert.deepEqual(decodeInterruptionInfo(0x80000b0d), gp);
  });
});

describe('ExitDispatcher', () => {
  interface Ctx { log: string[] }

  function dispatcher(): ExitDispatcher<Ctx> {
    return new ExitDispatcher<Ctx>()
      .on(ExitReason.IoInstruction, 'emulate I/O', (exit) => ({
        name: 'I/O handler',
        layer: 'vmm',
        steps: [
          step('save guest state', (c: Ctx) => void c.log.push(`io ${exit.qualification.toString(16)}`), 'vmmEntry'),
          step('emulate on the virtual device', () => undefined, 'emulationStep'),
          step('advance guest EIP', () => undefined),
        ],
      }))
      .on(ExitReason.ExceptionOrNmi, 'reflect or emulate', (exit) => ({
        name: 'exception handler',
        layer: 'vmm',
        steps: [step('reflect', () => ({ finish: { kind: 'reflect', vector: exit.vector ?? 0, errorCode: exit.errorCode ?? 0 } }))],
      }))
      .on(ExitReason.Vmcall, 'hypercall', (exit) => ({
        name: `hypercall ${exit.hypercall}`,
        layer: 'vmm',
        steps: [step('run hypercall', (c: Ctx) => void c.log.push(`hypercall ${exit.hypercall}`))],
      }));
  }

  it('routes each exit to the handler of its SDM reason, one step at a time', () => {
    const d = dispatcher();
    const context: Ctx = { log: [] };
    const charged: string[] = [];
    const instruction = { address: 0x100040, bytes: [0xee], text: 'out dx, al' };
    const execution = d.dispatch(ioExit({ source: 'trap', cpl: 1, instruction }, 0x3f8, 1, false, false), context, (p) => charged.push(p));
    assert.equal(execution.nextStepName, 'save guest state');
    execution.step();
    assert.deepEqual(context.log, ['io 3f80000']);
    assert.deepEqual(execution.runToCompletion(), { kind: 'resume' });
    assert.deepEqual(charged, ['vmmEntry', 'emulationStep']);

    const gp = d.dispatch(exceptionExit({ source: 'trap', cpl: 1 }, 13, 0), context);
    assert.deepEqual(gp.runToCompletion(), { kind: 'reflect', vector: 13, errorCode: 0 });
    d.dispatch(hypercallExit({ source: 'hypercall', cpl: 1 }, 18), context).runToCompletion();
    assert.deepEqual(context.log, ['io 3f80000', 'hypercall 18']);
    assert.deepEqual(d.exitCounts().map((c) => [c.reason, c.count]), [[0, 1], [18, 1], [30, 1]]);
  });

  it('stops cleanly on an exit without a handler', () => {
    const d = dispatcher();
    const execution = d.dispatch(crAccessExit({ source: 'vmx', cpl: 0 }, 'mov-to-cr', 3, 0), { log: [] });
    assert.deepEqual(execution.runToCompletion(), { kind: 'stop', message: 'unhandled VM exit 28 (Control-register accesses)' });
  });

  it('rejects unknown and duplicate registrations at construction time', () => {
    const build = () => ({ name: 'x', layer: 'vmm' as const, steps: [] });
    assert.throws(() => new ExitDispatcher<Ctx>().on(35, 'none', build), /no SDM basic exit reason 35/);
    assert.throws(() => dispatcher().on(30, 'again', build), /already has a handler/);
  });

  it('maps trapped privileged instructions to the VT-x exit they correspond to', () => {
    assert.equal(exitReasonForMnemonic('hlt'), 12);
    assert.equal(exitReasonForMnemonic('OUT'), 30);
    assert.equal(exitReasonForMnemonic('lidt'), 46);
    assert.equal(exitReasonForMnemonic('cli'), 0);
    assert.equal(instructionExit({ source: 'trap', cpl: 1, instruction: { address: 0, bytes: [0xf4], text: 'hlt' } }, 12).instructionLength, 1);
  });
});
