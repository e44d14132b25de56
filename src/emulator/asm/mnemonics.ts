// Words the statement parser must recognise before it knows whether a leading identifier is a label:
// instruction mnemonics of HyperStep's IA-32 subset (and common neighbours NASM accepts), instruction
// prefixes, data/reserve directives and assembler directives. NASM manual 3.1 (source line layout).

const CONDITIONS = ['o', 'no', 'b', 'c', 'nae', 'ae', 'nb', 'nc', 'e', 'z', 'ne', 'nz', 'be', 'na', 'a', 'nbe', 's', 'ns', 'p', 'pe', 'np', 'po', 'l', 'nge', 'ge', 'nl', 'le', 'ng', 'g', 'nle'];

const BASE_MNEMONICS = `
mov movzx movsx lea xchg xadd cmpxchg cmpxchg8b bswap push pop pusha pushad pushaw popa popad popaw pushf pushfd pushfw popf popfd popfw
lahf sahf cbw cwde cwd cdq enter leave add adc sub sbb cmp and or xor test inc dec neg not mul imul div idiv
shl sal shr sar rol ror rcl rcr shld shrd bt bts btr btc bsf bsr jmp call ret retn retf loop loope loopz loopne loopnz
jcxz jecxz int int3 int1 icebp into iret iretd iretw movsb movsw movsd stosb stosw stosd lodsb lodsw lodsd cmpsb cmpsw cmpsd
scasb scasw scasd movs stos lods cmps scas cld std clc stc cmc cli sti hlt clts lgdt lidt sgdt sidt lldt sldt ltr str lmsw smsw
lar lsl verr verw arpl invlpg invd wbinvd cpuid rdtsc rdtscp rdmsr wrmsr rdpmc in out insb insw insd outsb outsw outsd ins outs
sysenter sysexit syscall sysret ud2 ud0 ud1 nop pause vmxon vmxoff vmclear vmptrld vmptrst vmread vmwrite vmlaunch vmresume
vmcall vmfunc invept invvpid xlat xlatb aaa aas aam aad daa das salc lds les lfs lgs lss bound wait fwait clflush
lfence mfence sfence prefetch monitor mwait xsetbv xgetbv rsm loadall
`;

export const MNEMONICS: ReadonlySet<string> = new Set([
  ...BASE_MNEMONICS.split(/\s+/).filter((w) => w !== ''),
  ...CONDITIONS.flatMap((c) => [`j${c}`, `set${c}`, `cmov${c}`]),
]);

export const PREFIXES: ReadonlySet<string> = new Set([
  'lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'o16', 'o32', 'a16', 'a32', 'es', 'cs', 'ss', 'ds', 'fs', 'gs',
]);

/** Data directives and their unit size in bytes (NASM manual 3.2.1). */
export const DATA_UNITS: ReadonlyMap<string, number> = new Map([
  ['db', 1], ['dw', 2], ['dd', 4], ['dq', 8], ['dt', 10], ['do', 16], ['dy', 32],
]);

/** Reserve directives and their unit size in bytes (NASM manual 3.2.2). */
export const RESERVE_UNITS: ReadonlyMap<string, number> = new Map([
  ['resb', 1], ['resw', 2], ['resd', 4], ['resq', 8], ['rest', 10], ['reso', 16], ['resy', 32],
]);

export const DIRECTIVES: ReadonlySet<string> = new Set([
  'section', 'segment', 'bits', 'use16', 'use32', 'org', 'global', 'extern', 'common', 'static', 'absolute', 'align', 'alignb',
  'struc', 'endstruc', 'istruc', 'at', 'iend', 'cpu', 'default', 'incbin', 'sectalign', 'warning', 'list', 'nolist',
]);

export const SIZE_KEYWORDS: ReadonlyMap<string, 8 | 16 | 32 | 48 | 64 | 80> = new Map([
  ['byte', 8], ['word', 16], ['dword', 32], ['fword', 48], ['qword', 64], ['tword', 80],
] as const);

/** True for a word that starts an instruction or directive rather than naming a label. */
export function isReservedWord(lower: string): boolean {
  return MNEMONICS.has(lower) || PREFIXES.has(lower) || DATA_UNITS.has(lower) || RESERVE_UNITS.has(lower) || DIRECTIVES.has(lower) || lower === 'times' || lower === 'equ';
}
