// Mnemonic vocabulary of the HyperStep NASM grammar, grouped by virtualization class.
//
// The grammar colours an instruction by what a VMM must do with it (Popek & Goldberg 1974; Robin & Irvine,
// USENIX Security 2000, for the sensitive-but-unprivileged IA-32 set; Intel SDM Vol. 3C ch. 26 for VMX).
// This module is the grammar's own fallback vocabulary: once the instruction table in src/emulator/isa
// exports virtualization classes, build-grammar.ts takes the classes from there and this list only supplies
// NASM mnemonics the table does not model (x87, SSE…), which are then plain instructions.

/** The colour classes the grammar distinguishes. `io` is a sub-class of privileged (IOPL / I/O bitmap). */
export type GrammarInstructionClass = 'privileged' | 'io' | 'sensitive' | 'vmx' | 'plain';

/** Privileged (#GP at CPL > 0): trap under deprivileging, so trap-and-emulate handles them. SDM Vol. 3A 5.9. */
export const privilegedMnemonics: readonly string[] = [
  'cli', 'sti', 'hlt', 'lgdt', 'lidt', 'lldt', 'ltr', 'lmsw', 'clts', 'invlpg', 'invd', 'wbinvd',
  'rdmsr', 'wrmsr', 'rdpmc', 'iret', 'iretw', 'iretd', 'sysexit',
];

/** I/O-sensitive (IOPL and the TSS I/O permission bitmap decide; SDM Vol. 1 ch. 19). */
export const ioMnemonics: readonly string[] = [
  'in', 'out', 'ins', 'insb', 'insw', 'insd', 'outs', 'outsb', 'outsw', 'outsd',
];

/** Sensitive but unprivileged (Robin & Irvine 2000): run at any CPL and reveal or silently ignore state. */
export const sensitiveMnemonics: readonly string[] = [
  'popf', 'popfw', 'popfd', 'pushf', 'pushfw', 'pushfd', 'sgdt', 'sidt', 'sldt', 'smsw', 'str',
  'lar', 'lsl', 'verr', 'verw',
];

/** VMX instructions (SDM Vol. 3C ch. 30, "VMX instruction reference"). */
export const vmxMnemonics: readonly string[] = [
  'vmcall', 'vmlaunch', 'vmresume', 'vmxon', 'vmxoff', 'vmclear', 'vmptrld', 'vmptrst', 'vmread', 'vmwrite',
  'invept', 'invvpid', 'vmfunc',
];

const conditionCodes = [
  'o', 'no', 'b', 'c', 'nae', 'ae', 'nb', 'nc', 'e', 'z', 'ne', 'nz', 'be', 'na', 'a', 'nbe', 's', 'ns',
  'p', 'pe', 'np', 'po', 'l', 'nge', 'ge', 'nl', 'le', 'ng', 'g', 'nle',
];

/** Everything else NASM accepts in 32-bit code that a student is likely to write (innocuous instructions). */
export const plainMnemonics: readonly string[] = [
  // data movement
  'mov', 'movzx', 'movsx', 'lea', 'xchg', 'xadd', 'cmpxchg', 'cmpxchg8b', 'bswap', 'push', 'pop', 'pusha',
  'pushaw', 'pushad', 'popa', 'popaw', 'popad', 'lahf', 'sahf', 'cbw', 'cwde', 'cwd', 'cdq', 'enter', 'leave',
  'lds', 'les', 'lfs', 'lgs', 'lss', 'xlat', 'xlatb', 'movbe', 'movnti',
  ...conditionCodes.map((cc) => `cmov${cc}`), ...conditionCodes.map((cc) => `set${cc}`),
  // arithmetic and logic
  'add', 'adc', 'sub', 'sbb', 'cmp', 'and', 'or', 'xor', 'test', 'inc', 'dec', 'neg', 'not', 'mul', 'imul',
  'div', 'idiv', 'shl', 'sal', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr', 'shld', 'shrd', 'bt', 'bts', 'btr',
  'btc', 'bsf', 'bsr', 'daa', 'das', 'aaa', 'aas', 'aam', 'aad', 'popcnt', 'lzcnt', 'tzcnt',
  // control transfer
  'jmp', 'call', 'ret', 'retn', 'retf', 'loop', 'loope', 'loopz', 'loopne', 'loopnz', 'jcxz', 'jecxz',
  ...conditionCodes.map((cc) => `j${cc}`), 'int', 'int1', 'int3', 'into', 'icebp', 'bound', 'syscall',
  'sysenter', 'ud0', 'ud1', 'ud2', 'ud2a', 'ud2b', 'arpl',
  // strings
  'movs', 'movsb', 'movsw', 'movsd', 'stos', 'stosb', 'stosw', 'stosd', 'lods', 'lodsb', 'lodsw', 'lodsd',
  'cmps', 'cmpsb', 'cmpsw', 'cmpsd', 'scas', 'scasb', 'scasw', 'scasd',
  // flags and misc
  'clc', 'stc', 'cmc', 'cld', 'std', 'nop', 'pause', 'cpuid', 'rdtsc', 'rdtscp', 'lfence', 'sfence', 'mfence',
  'prefetch', 'prefetchw', 'prefetcht0', 'prefetcht1', 'prefetcht2', 'prefetchnta', 'clflush', 'wait',
  'fwait', 'emms', 'xgetbv', 'rdrand', 'rdseed',
  // a few x87 / SSE forms that show up in kernels (FPU init, fxsave for context switches)
  'finit', 'fninit', 'fld', 'fst', 'fstp', 'fild', 'fistp', 'fadd', 'fsub', 'fmul', 'fdiv', 'fxsave',
  'fxrstor', 'fnsave', 'frstor', 'fnstcw', 'fldcw', 'fnstsw', 'fclex', 'fnclex', 'ldmxcsr', 'stmxcsr',
  'movd', 'movq', 'movaps', 'movups', 'movdqa', 'movdqu', 'pxor', 'xorps',
];

/** Instruction prefixes written as separate words in NASM (NASM manual 3.1). */
export const prefixKeywords: readonly string[] = [
  'lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'o16', 'o32', 'a16', 'a32', 'xacquire', 'xrelease',
];

/**
 * The paravirtual hypercall vector of HyperStep's Xen-style ABI (issue 5): `int 0x82` in every NASM spelling,
 * and the symbolic name samples/include/hypercall.inc gives it.
 */
export const hypercallVectorSpellings: readonly string[] = [
  'HYPERCALL_VECTOR', '0x82', '0h82', '82h', '082h', '\\$82', '130', '130d', '0d130', '0o202', '0q202', '202o', '202q',
  '0b10000010', '0y10000010', '10000010b', '10000010y',
];

/** Statement-position macros of samples/include/hypercall.inc that perform a hypercall (case-sensitive, as NASM macros are). */
export const hypercallMacroPattern = 'HYPERCALL|HYPERVISOR_[A-Za-z0-9_]+';
