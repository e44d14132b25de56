// What the binary translator does with each guest kernel instruction (Adams & Agesen, ASPLOS 2006, §3.1):
// IDENT (copied unchanged), an INLINE rewrite (control flow, PC-relative pushes, CS reads), or a CALLOUT into
// the VMM. The decision follows the instruction table's virtualization class and operands (Robin & Irvine's
// sensitive-but-unprivileged list, SDM Vol. 3A 5.9 privileged instructions, the IOPL rule of Vol. 1 18.2.1).
// Callouts are of four kinds: `exit` (an unchained branch to the next translation), `emulate` (the BT VMM
// computes the instruction on the virtual CPU: POPF, PUSHF, SGDT, SIDT, SLDT, STR, SMSW, MOV/PUSH from SS,
// LAR/LSL/VERR/VERW),
// `privileged` (trap-and-emulate's handler, entered by the callout instead of a #GP) and `in-place` (the VMM
// runs the one guest instruction at its own address at ring 1 and looks up the translation of wherever it
// went: indirect branches, far transfers, software interrupts, IRET to ring 3).

import type { DecodedInstruction } from '../../isa/decoder';
import type { InstructionForm } from '../../isa/types';

export type CalloutKind = 'exit' | 'emulate' | 'privileged' | 'in-place' | 'iret' | 'pte-write';

export type Action =
  | { readonly kind: 'ident'; readonly why: string }
  | { readonly kind: 'jump' }
  | { readonly kind: 'jcc'; readonly condition: number }
  | { readonly kind: 'loop' }
  | { readonly kind: 'call' }
  | { readonly kind: 'read-cs' }
  | { readonly kind: 'push-cs' }
  | { readonly kind: 'inline-tpr' }
  | { readonly kind: 'callout'; readonly callout: Exclude<CalloutKind, 'exit'>; readonly why: string; readonly endsUnit: boolean };

const SEGMENT_CS = 1;
const SEGMENT_SS = 2;

const PRIVILEGED_WHY = 'privileged: the VMM emulates it on the virtual CPU (trap-and-emulate\'s handler, reached by a callout instead of a #GP)';
const IO_WHY = 'IOPL-sensitive: the VMM performs the port access through the architecture\'s device path';
const INDIRECT_WHY = 'indirect branch: the VMM runs it at its guest address and looks up the translation of the target';

/** Privileged or IOPL-sensitive forms whose trap-and-emulate handler emulates them exactly. */
const PRIVILEGED_FORMS = new Set([
  'CLI', 'STI', 'HLT', 'CLTS', 'LGDT Ms', 'LIDT Ms', 'LLDT Ew', 'LTR Ew', 'MOV Cd,Rd', 'MOV Rd,Cd', 'INVLPG M', 'WBINVD', 'INVD',
  'IN AL,Ib', 'IN eAX,Ib', 'IN AL,DX', 'IN eAX,DX', 'OUT Ib,AL', 'OUT Ib,eAX', 'OUT DX,AL', 'OUT DX,eAX', 'POP SS',
]);

/** Sensitive-but-unprivileged reads and flag writes the BT VMM computes on the virtual CPU. */
const EMULATED_WHY: Readonly<Record<string, string>> = {
  PUSHFD: 'pushf is sensitive (Robin & Irvine): it would push the real IF and IOPL; the VMM pushes the virtual flags',
  PUSHF: 'pushf is sensitive (Robin & Irvine): it would push the real IF and IOPL; the VMM pushes the virtual flags',
  POPFD: 'popf is sensitive but unprivileged (Robin & Irvine): at CPL 1 it would silently keep IF; the VMM sets the virtual IF and IOPL',
  POPF: 'popf is sensitive but unprivileged (Robin & Irvine): at CPL 1 it would silently keep IF; the VMM sets the virtual IF and IOPL',
  'SGDT Ms': 'sgdt would reveal the VMM\'s GDT (red pill); the VMM stores the virtual GDTR',
  'SIDT Ms': 'sidt would reveal the VMM\'s IDT (red pill); the VMM stores the virtual IDTR',
  'SLDT Ev': 'sldt would show the real LDTR; the VMM stores the virtual one',
  'STR Ev': 'str would reveal the VMM\'s TSS selector; the VMM stores the virtual TR',
  'SMSW Ev': 'smsw would show the real CR0 bits; the VMM stores the virtual CR0',
  'PUSH SS': 'push ss would show RPL 1 (ring compression); the VMM pushes the guest\'s selector',
  'LAR Gv,Ew': 'lar would read the shadow GDT (guest ring-0 descriptors at DPL 1, the VMM\'s own beyond the guest\'s limit); the VMM answers from the virtual GDT/LDT at virtual CPL 0',
  'LSL Gv,Ew': 'lsl would read the shadow GDT (truncated limits, VMM descriptors); the VMM answers from the virtual GDT/LDT at virtual CPL 0',
  'VERR Ew': 'verr would check the shadow descriptor at the real CPL 1; the VMM checks the virtual GDT/LDT at virtual CPL 0',
  'VERW Ew': 'verw would check the shadow descriptor at the real CPL 1; the VMM checks the virtual GDT/LDT at virtual CPL 0',
};

/** Decides what to do with one decoded guest kernel instruction. */
export function classify(form: InstructionForm, d: DecodedInstruction, adaptive: boolean, pageTableWriter = false, tprWriter = false): Action {
  const sdm = form.sdm;
  if (tprWriter && d.isMemory) return { kind: 'inline-tpr' };
  if (pageTableWriter && d.isMemory) {
    return { kind: 'callout', callout: 'pte-write', why: 'adaptive: it kept writing guest page tables (tracing faults), so the VMM now performs the traced write in a callout without the fault (A&A §3.2)', endsUnit: true };
  }
  if (adaptive) return { kind: 'callout', callout: 'in-place', why: 'adaptive: it kept writing to pages holding translated code, so it became a callout (A&A §3.2)', endsUnit: true };
  const emulatedWhy = EMULATED_WHY[sdm];
  if (emulatedWhy !== undefined) return { kind: 'callout', callout: 'emulate', why: emulatedWhy, endsUnit: true };
  if (PRIVILEGED_FORMS.has(sdm)) {
    return { kind: 'callout', callout: 'privileged', why: sdm.startsWith('IN ') || sdm.startsWith('OUT ') ? IO_WHY : PRIVILEGED_WHY, endsUnit: true };
  }
  if (sdm === 'MOV Ev,Sw') {
    if (d.reg === SEGMENT_CS) return { kind: 'read-cs' };
    if (d.reg === SEGMENT_SS) return { kind: 'callout', callout: 'emulate', why: 'mov from ss would show RPL 1 (ring compression); the VMM stores the guest\'s selector', endsUnit: true };
    return { kind: 'ident', why: '' };
  }
  if (sdm === 'MOV Sw,Ev' && d.reg === SEGMENT_SS) return { kind: 'callout', callout: 'privileged', why: 'mov ss with a ring-0 selector faults at CPL 1; the VMM loads it with ring compression', endsUnit: true };
  if (sdm === 'PUSH CS') return { kind: 'push-cs' };
  if (d.operandSize === 32) {
    if (sdm === 'JMP Jb' || sdm === 'JMP Jz') return { kind: 'jump' };
    if (sdm === 'CALL Jz') return { kind: 'call' };
    if (form.category === 'control' && (form.operands[0] === 'Jb' || form.operands[0] === 'Jz') && form.mnemonic.startsWith('j') && !form.mnemonic.startsWith('jecxz')) {
      return { kind: 'jcc', condition: form.opcode & 0x0f };
    }
  }
  if (sdm === 'LOOP Jb' || sdm === 'LOOPE Jb' || sdm === 'LOOPNE Jb' || sdm === 'JECXZ Jb') return d.operandSize === 32 ? { kind: 'loop' } : inPlace('16-bit branch target: executed at its guest address');
  if (sdm === 'IRETD' || sdm === 'IRET') return { kind: 'callout', callout: 'iret', why: 'iret: to the virtual kernel the VMM emulates it on the virtual CPU; to ring 3 it runs at its guest address', endsUnit: true };
  if (sdm === 'RET' || sdm === 'RET Iw' || sdm === 'CALL Ev' || sdm === 'JMP Ev') return inPlace(INDIRECT_WHY);
  if (sdm === 'INT Ib' || sdm === 'INT3' || sdm === 'INTO') return inPlace('software interrupt: delivered through the guest\'s virtual IDT by the VMM');
  if (sdm.endsWith(' Ap') || sdm.endsWith(' Mp') || sdm.startsWith('RETF')) {
    return { kind: 'callout', callout: 'emulate', why: 'far transfer: the VMM pushes and loads the guest\'s CS (RPL 0 for the guest, ring-compressed for the CPU), then looks up the target', endsUnit: true };
  }
  if (form.category === 'control' || form.blockBoundary && form.virtualization !== 'innocuous' && !sdm.startsWith('MOV Sw') && !sdm.startsWith('POP ')) {
    return inPlace(`${form.virtualization === 'innocuous' ? 'control flow' : form.virtualization}: executed at its guest address by the VMM`);
  }
  if (form.virtualization === 'sensitive-unprivileged' && !sdm.startsWith('PUSH ') && !sdm.startsWith('POP ') && !sdm.startsWith('MOV Sw')) {
    return { kind: 'callout', callout: 'in-place', why: `${form.mnemonic}: sensitive, executed at its guest address (its answer reflects the shadow descriptors)`, endsUnit: true };
  }
  if (form.virtualization === 'privileged' || form.virtualization === 'io-sensitive' || form.virtualization === 'vmx-exits' && form.privilege !== 'any') {
    return { kind: 'callout', callout: 'in-place', why: `${form.virtualization}: executed at its guest address, where it traps into the VMM as under trap-and-emulate`, endsUnit: true };
  }
  if (d.isMemory && d.segmentOverride === SEGMENT_CS) return { kind: 'callout', callout: 'in-place', why: 'cs: memory operand: the TC code segment is execute-only, so it runs at its guest address', endsUnit: true };
  if (sdm.startsWith('MOV Sw') || sdm.startsWith('POP ') || sdm.startsWith('PUSH ')) {
    return { kind: 'ident', why: 'segment register DS/ES/FS/GS: the shadow GDT already truncates the guest\'s descriptors, so the real load and store are the guest\'s own' };
  }
  return { kind: 'ident', why: '' };
}

function inPlace(why: string): Action {
  return { kind: 'callout', callout: 'in-place', why, endsUnit: true };
}

/** Length of the legacy prefixes before the opcode (SDM Vol. 2 2.1.1). */
export function prefixLength(bytes: Uint8Array | readonly number[], length: number): number {
  let n = 0;
  while (n < length && [0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67].includes(bytes[n]!)) n++;
  return n;
}
