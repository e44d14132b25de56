// What the editor says about an instruction, drawn from the one instruction table (src/emulator/isa):
// its forms in SDM notation with opcodes, the flags it reads and writes, its privilege, and its
// virtualization class with what each technique does with it. Used by hover and completion.
import { docFor } from '../../emulator/isa/docs';
import { formsOf, canonicalMnemonic } from '../../emulator/isa/table';
import { Flag, type InstructionForm, type VirtualizationClass } from '../../emulator/isa/types';

/** One line a student can act on, per class (Popek & Goldberg 1974; Robin & Irvine 2000; SDM Vol. 3C 26.1). */
export const CLASS_EXPLANATION: Record<VirtualizationClass, string> = {
  privileged: 'Privileged: faults with #GP when CPL > 0, so a deprivileged guest kernel traps into the VMM (trap-and-emulate works).',
  'sensitive-unprivileged': 'Sensitive but unprivileged (Robin & Irvine 2000): it reads or changes privileged state without trapping at CPL > 0, so trap-and-emulate cannot see it; binary translation rewrites it, VT-x runs it on the guest\'s own state.',
  'io-sensitive': 'I/O-sensitive: allowed only when CPL ≤ IOPL (or, for IN/OUT, when the TSS I/O bitmap permits the port); otherwise #GP into the VMM.',
  'vmx-exits': 'Exits unconditionally in VMX non-root operation (Intel SDM Vol. 3C, 26.1.2).',
  innocuous: 'Innocuous: runs directly on the real CPU under every technique.',
};

export const CLASS_LABEL: Record<VirtualizationClass, string> = {
  privileged: 'privileged',
  'sensitive-unprivileged': 'sensitive, unprivileged',
  'io-sensitive': 'I/O-sensitive',
  'vmx-exits': 'exits under VT-x',
  innocuous: 'innocuous',
};

const FLAG_NAMES: [number, string][] = Object.entries(Flag).map(([name, bit]) => [bit, name]);

function flagList(mask: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (mask & bit) !== 0).map(([, n]) => n);
  const others = mask & ~FLAG_NAMES.reduce((a, [b]) => a | b, 0);
  if (others) names.push(`0x${others.toString(16)}`);
  return names.length ? names.join(' ') : '—';
}

/** A short operand template for completion, e.g. 'mov Ev, Gv' → '${1:dst}, ${2:src}'. */
export function operandTemplate(form: InstructionForm): string {
  return form.operands.map((_, i) => `\${${i + 1}:${i === 0 && form.operands.length > 1 ? 'dst' : form.operands.length > 1 ? 'src' : 'operand'}}`).join(', ');
}

/** Markdown describing a mnemonic, or undefined when it is not an instruction. */
export function describeMnemonic(spelling: string): string | undefined {
  const canonical = canonicalMnemonic(spelling);
  if (canonical === undefined) return undefined;
  const doc = docFor(spelling);
  const docSummary = doc?.summary;
  const techniques = doc
    ? { 'trap-and-emulate': doc.techniques.trapAndEmulate, 'binary translation': doc.techniques.binaryTranslation, paravirtual: doc.techniques.paravirtual, 'VT-x': doc.techniques.vtx }
    : undefined;
  const forms = formsOf(canonical);
  const classes = [...new Set(forms.map((f) => f.virtualization))];
  const lines: string[] = [];
  lines.push(`**${spelling.toLowerCase()}**${canonical !== spelling.toLowerCase() ? ` (= ${canonical})` : ''} — ${classes.map((c) => CLASS_LABEL[c]).join(' / ')}`);
  if (docSummary) lines.push('', docSummary);
  lines.push('', '| form | opcode | flags written | class |', '|---|---|---|---|');
  for (const f of forms.slice(0, 12)) lines.push(`| \`${f.sdm}\` | \`${f.opcodeText}\` | ${flagList(f.flagsWritten)} | ${CLASS_LABEL[f.virtualization]} |`);
  if (forms.length > 12) lines.push(`| … ${forms.length - 12} more forms | | | |`);
  lines.push('');
  for (const c of classes) lines.push(`- ${CLASS_EXPLANATION[c]}`);
  if (techniques) {
    lines.push('');
    for (const [technique, note] of Object.entries(techniques)) lines.push(`- *${technique}*: ${note}`);
  }
  return lines.join('\n');
}
