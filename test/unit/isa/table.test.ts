// The instruction table's metadata against the literature it encodes: Robin & Irvine's sensitive
// unprivileged list, CPL-0-only and IOPL-sensitive instructions, unconditional VT-x exits, SDM flag rules,
// block boundaries, docs for the hover, and the decoder's fault reporting.

import { strict as assert } from 'node:assert';
import { DecodedInstruction, DecodeFault, decodeInstruction, Prefix, Segment } from '../../../src/emulator/isa/decoder';
import { docFor, MNEMONIC_DOCS } from '../../../src/emulator/isa/docs';
import { FORMS_BY_MNEMONIC, INSTRUCTION_FORMS, allMnemonicSpellings, canonicalMnemonic } from '../../../src/emulator/isa/table';
import { Flag, STATUS_FLAGS, type VirtualizationClass } from '../../../src/emulator/isa/types';

function classesOf(mnemonic: string): Set<VirtualizationClass> {
  return new Set((FORMS_BY_MNEMONIC.get(mnemonic) ?? []).map((f) => f.virtualization));
}

function form(sdm: string) {
  const found = INSTRUCTION_FORMS.find((f) => f.sdm === sdm);
  assert.ok(found, `no form ${sdm}`);
  return found;
}

function decode(bytes: number[], bits: 16 | 32 = 32): DecodedInstruction {
  const code = Uint8Array.from(bytes);
  return decodeInstruction(code, 0, code.length, bits, new DecodedInstruction());
}

describe('isa table', () => {
  it('indexes every form by its position and covers the mnemonics of issue 3', () => {
    INSTRUCTION_FORMS.forEach((f, i) => assert.equal(f.index, i));
    const required = ('mov movzx movsx lea xchg xadd cmpxchg bswap cmovz setz push pop pusha popa pushf popf lahf sahf cbw ' +
      'cwde cwd cdq enter leave add adc sub sbb cmp and or xor test inc dec neg not mul imul div idiv shl sal shr sar rol ' +
      'ror rcl rcr shld shrd bt bts btr btc bsf bsr jmp jz call ret retf loop loope loopne jecxz int int3 into iret movsb ' +
      'movsw movsd stosb lodsd cmpsb scasw cld std cli sti hlt clts lgdt lidt sgdt sidt lldt sldt ltr str lmsw smsw lar lsl ' +
      'verr verw arpl invlpg invd wbinvd cpuid rdtsc rdmsr wrmsr in out insb outsd sysenter sysexit ud2 nop pause vmxon ' +
      'vmxoff vmclear vmptrld vmptrst vmread vmwrite vmlaunch vmresume vmcall invept invvpid').split(' ');
    const missing = required.filter((m) => !FORMS_BY_MNEMONIC.has(m));
    assert.deepEqual(missing, []);
    assert.equal(canonicalMnemonic('je'), 'jz');
    assert.equal(canonicalMnemonic('pushfd'), 'pushf');
    assert.ok(allMnemonicSpellings().includes('cmovge'));
  });

  it('classifies Robin & Irvine\'s sensitive unprivileged instructions', () => {
    for (const m of ['popf', 'pushf', 'sgdt', 'sidt', 'sldt', 'str', 'smsw', 'lar', 'lsl', 'verr', 'verw', 'retf', 'iret', 'int']) {
      assert.ok(classesOf(m).has('sensitive-unprivileged'), m);
    }
    for (const sdm of ['MOV Ev,Sw', 'PUSH CS', 'PUSH SS', 'CALL Ap', 'CALL Mp', 'JMP Ap', 'JMP Mp']) {
      assert.equal(form(sdm).virtualization, 'sensitive-unprivileged', sdm);
    }
    assert.equal(form('JMP Jz').virtualization, 'innocuous');
    assert.equal(form('MOV Ev,Gv').virtualization, 'innocuous');
  });

  it('marks CPL-0-only, IOPL-sensitive and unconditionally exiting instructions', () => {
    for (const m of ['hlt', 'lgdt', 'lidt', 'lldt', 'ltr', 'lmsw', 'clts', 'invlpg', 'wbinvd', 'rdmsr', 'wrmsr', 'sysexit']) {
      assert.ok((FORMS_BY_MNEMONIC.get(m) ?? []).every((f) => f.privilege === 'cpl0' && f.virtualization === 'privileged'), m);
    }
    for (const sdm of ['MOV Cd,Rd', 'MOV Rd,Cd', 'MOV Dd,Rd', 'MOV Rd,Dd']) assert.equal(form(sdm).privilege, 'cpl0', sdm);
    for (const m of ['in', 'out', 'insb', 'outsd', 'cli', 'sti']) {
      assert.ok((FORMS_BY_MNEMONIC.get(m) ?? []).every((f) => f.privilege === 'iopl' && f.virtualization === 'io-sensitive'), m);
    }
    for (const m of ['cpuid', 'invd', 'vmxon', 'vmxoff', 'vmclear', 'vmptrld', 'vmptrst', 'vmread', 'vmwrite', 'vmlaunch', 'vmresume', 'vmcall', 'invept', 'invvpid']) {
      assert.ok(classesOf(m).has('vmx-exits') && classesOf(m).size === 1, m);
    }
  });

  it('records the SDM flag effects', () => {
    assert.equal(form('ADD Ev,Gv').flagsWritten, STATUS_FLAGS);
    assert.equal(form('ADD Ev,Gv').flagsRead, 0);
    assert.equal(form('ADC Ev,Gv').flagsRead, Flag.CF);
    assert.equal(form('INC Ev').flagsWritten & Flag.CF, 0);
    assert.equal(form('AND Ev,Gv').flagsUndefined, Flag.AF);
    assert.equal(form('JZ Jb').flagsRead, Flag.ZF);
    assert.equal(form('JNG Jz').flagsRead, Flag.ZF | Flag.SF | Flag.OF);
    assert.ok(form('POPF').flagsWritten & Flag.IF && form('POPF').flagsWritten & Flag.IOPL);
    assert.equal(form('CLI').flagsWritten, Flag.IF);
    assert.equal(form('MUL Ev').flagsUndefined, Flag.SF | Flag.ZF | Flag.AF | Flag.PF);
    assert.ok(INSTRUCTION_FORMS.every((f) => (f.flagsUndefined & ~f.flagsWritten) === 0), 'undefined ⊆ written');
    assert.ok(form('MOVSB').prefixesAllowed !== 0 && form('ADD Ev,Gv').prefixesAllowed === 1);
  });

  it('marks control transfers and mode changes as block boundaries', () => {
    for (const f of INSTRUCTION_FORMS) {
      if (f.operands[0] === 'Jb' || f.operands[0] === 'Jz' || f.category === 'control') assert.ok(f.blockBoundary, f.sdm);
    }
    for (const sdm of ['HLT', 'MOV Cd,Rd', 'POPF', 'MOV Sw,Ev', 'VMLAUNCH']) assert.ok(form(sdm).blockBoundary, sdm);
    assert.ok(!form('ADD Ev,Gv').blockBoundary);
  });

  it('documents every mnemonic for the hover, with all four techniques', () => {
    for (const [mnemonic, doc] of MNEMONIC_DOCS) {
      assert.ok(doc.summary.length > 15 && !/^[A-Z0-9]+ /.test(doc.summary), `${mnemonic}: ${doc.summary}`);
      for (const note of Object.values(doc.techniques)) assert.ok(note.length > 20, mnemonic);
    }
    assert.equal(MNEMONIC_DOCS.size, FORMS_BY_MNEMONIC.size);
    assert.match(docFor('popfd')?.techniques.trapAndEmulate ?? '', /IF/);
    assert.match(docFor('je')?.summary ?? '', /ZF = 1/);
    assert.match(docFor('sidt')?.techniques.trapAndEmulate ?? '', /red pill/);
    assert.match(docFor('cpuid')?.techniques.vtx ?? '', /unconditional VM exit/);
  });
});

describe('isa decoder', () => {
  it('decodes prefixes, ModRM, SIB, displacement and immediate fields', () => {
    // lock add dword [es:esp+eax*4+0x12345678], 0x11223344
    const d = decode([0xf0, 0x26, 0x81, 0x84, 0x84, 0x78, 0x56, 0x34, 0x12, 0x44, 0x33, 0x22, 0x11]);
    assert.equal(d.fault, DecodeFault.None);
    assert.equal(INSTRUCTION_FORMS[d.formIndex]?.sdm, 'ADD Ev,Iz');
    assert.equal(d.length, 13);
    assert.equal(d.prefixes & (Prefix.LOCK | Prefix.SEGMENT), Prefix.LOCK | Prefix.SEGMENT);
    assert.equal(d.segmentOverride, Segment.ES);
    assert.deepEqual([d.mod, d.reg, d.rm, d.base, d.index, d.scaleShift], [2, 0, 4, 4, 0, 2]);
    assert.equal(d.displacement, 0x12345678);
    assert.equal(d.displacementOffset, 5);
    assert.equal(d.immediate, 0x11223344);
    assert.equal(d.immediateOffset, 9);
  });

  it('sign-extends imm8 and relative displacements, and reads far pointers and ENTER', () => {
    assert.equal(decode([0x83, 0xc0, 0xff]).immediate, -1);
    assert.equal(decode([0xeb, 0xfe]).immediate, -2);
    const far = decode([0xea, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00]);
    assert.deepEqual([far.immediate, far.farSelector, far.length], [0x12345678, 8, 7]);
    const enter = decode([0xc8, 0x10, 0x00, 0x02]);
    assert.deepEqual([enter.immediate, enter.immediate2], [0x10, 2]);
  });

  it('uses SS for EBP/ESP bases and 16-bit BP, DS otherwise', () => {
    assert.equal(decode([0x8b, 0x45, 0x00]).segment, Segment.SS);
    assert.equal(decode([0x8b, 0x04, 0x24]).segment, Segment.SS);
    assert.equal(decode([0x8b, 0x00]).segment, Segment.DS);
    const sixteen = decode([0x67, 0x8b, 0x46, 0xfe]);
    assert.deepEqual([sixteen.addressSize, sixteen.base, sixteen.displacement, sixteen.segment], [16, 5, -2, Segment.SS]);
    assert.deepEqual([decode([0x8b, 0x00], 16).operandSize, decode([0x8b, 0x00], 16).addressSize], [16, 16]);
  });

  it('reports faults as data: #UD, too long, truncated, LOCK misuse', () => {
    assert.equal(decode([0x0f, 0xff]).fault, DecodeFault.InvalidOpcode);
    assert.equal(decode([0x8d, 0xc0]).fault, DecodeFault.InvalidOpcode, 'lea with a register');
    assert.equal(decode([0x8e, 0xc8]).fault, DecodeFault.InvalidOpcode, 'mov cs, eax');
    assert.equal(decode([0xf0, 0x01, 0xd8]).fault, DecodeFault.InvalidOpcode, 'lock on a register destination');
    assert.equal(decode([0xf0, 0x01, 0x18]).fault, DecodeFault.None);
    assert.equal(decode(new Array(15).fill(0x66).concat([0x90])).fault, DecodeFault.TooLong);
    assert.equal(decode(new Array(14).fill(0x66).concat([0x90])).fault, DecodeFault.None);
    assert.equal(decode([0x81, 0xc0, 0x01]).fault, DecodeFault.Truncated);
    assert.equal(decode([0x0f]).fault, DecodeFault.Truncated);
  });

  it('picks mandatory-prefix and fixed-ModRM forms', () => {
    const name = (bytes: number[]) => INSTRUCTION_FORMS[decode(bytes).formIndex]?.mnemonic;
    assert.equal(name([0xf3, 0x0f, 0xc7, 0x30]), 'vmxon');
    assert.equal(name([0x66, 0x0f, 0xc7, 0x30]), 'vmclear');
    assert.equal(name([0x0f, 0xc7, 0x30]), 'vmptrld');
    assert.equal(name([0x0f, 0x01, 0xc1]), 'vmcall');
    assert.equal(name([0x0f, 0x01, 0x00]), 'sgdt');
    assert.equal(name([0xf3, 0x90]), 'pause');
    assert.equal(name([0x90]), 'nop');
    assert.equal(name([0x66, 0x98]), 'cbw');
    assert.equal(name([0x98]), 'cwde');
  });
});
