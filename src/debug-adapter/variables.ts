// SPDX-License-Identifier: MIT
// Scopes and variables of a stopped vCPU in DAP shape: general registers with EIP and EFLAGS (expandable
// into its bits, SDM Vol. 1 3.4.3), segment registers with their hidden descriptor cache (base, limit,
// access rights; SDM Vol. 3A 3.4.3/3.4.5), control registers CR0/CR2/CR3/CR4 with decoded bits
// (SDM Vol. 3A 2.5), GDTR/IDTR/LDTR/TR and debug registers. Also setVariable on registers and flags.
// Containers describe where to read (never a copy of values), so each container keeps one reference for
// the whole session: a client asking with a reference from an earlier stop reads the current values instead
// of getting "unknown variablesReference". A VMM frame gets the handler and the real CPU beside the virtual.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Layer } from '../emulator/vmm/layers';
import { EFLAGS_BITS } from './cpuAccess';
import type { DebugRuntime } from './runtime';
import { evaluateExpression } from './expressions';
import { apicVariables } from './apicVariables';

type Container =
  | { readonly kind: 'general' }
  | { readonly kind: 'eflags' }
  | { readonly kind: 'segments' }
  | { readonly kind: 'segment'; readonly index: number }
  | { readonly kind: 'system' }
  | { readonly kind: 'apic' }
  | { readonly kind: 'crBits'; readonly cr: 0 | 4 }
  | { readonly kind: 'table'; readonly which: 'gdtr' | 'idtr' }
  | { readonly kind: 'virtual' }
  | { readonly kind: 'handler' }
  | { readonly kind: 'realVsVirtual' };

/**
 * Stable references: one per distinct container and vCPU, for the whole session (vCPU 0's keys are the
 * containers alone, so single-CPU references do not depend on the vCPU count).
 */
class ContainerHandles {
  private readonly byKey = new Map<string, number>();
  private readonly byReference = new Map<number, { readonly container: Container; readonly cpu: number }>();

  create(container: Container, cpu: number): number {
    const key = cpu === 0 ? JSON.stringify(container) : `${JSON.stringify(container)}@${cpu}`;
    let reference = this.byKey.get(key);
    if (reference === undefined) {
      reference = this.byKey.size + 1000;
      this.byKey.set(key, reference);
      this.byReference.set(reference, { container, cpu });
    }
    return reference;
  }

  get(reference: number): { readonly container: Container; readonly cpu: number } | undefined {
    return this.byReference.get(reference);
  }
}

const CR0_BITS: readonly [string, number, string][] = [
  ['PE', 0, 'protection enable'], ['MP', 1, 'monitor coprocessor'], ['EM', 2, 'x87 emulation'], ['TS', 3, 'task switched'],
  ['ET', 4, 'extension type'], ['NE', 5, 'numeric error'], ['WP', 16, 'write protect (ring 0 honours read-only pages)'],
  ['AM', 18, 'alignment mask'], ['NW', 29, 'not write-through'], ['CD', 30, 'cache disable'], ['PG', 31, 'paging'],
];
const CR4_BITS: readonly [string, number, string][] = [
  ['VME', 0, 'virtual-8086 mode extensions'], ['PVI', 1, 'protected-mode virtual interrupts'], ['TSD', 2, 'RDTSC only at CPL 0'],
  ['DE', 3, 'debugging extensions'], ['PSE', 4, '4 MiB pages'], ['PAE', 5, 'physical address extension'], ['MCE', 6, 'machine check'],
  ['PGE', 7, 'global pages'], ['PCE', 8, 'RDPMC at any CPL'], ['VMXE', 13, 'VMX enable'],
];

const hex = (v: number, digits = 8): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;

/** Describes a segment descriptor's access bits (SDM Vol. 3A 3.4.5, Table 3-1). */
export function describeAccess(access: number): string {
  const type = access & 0xf;
  const s = (access >> 4) & 1;
  const dpl = (access >> 5) & 3;
  const present = (access >> 7) & 1;
  const big = (access >> 14) & 1;
  const gran = (access >> 15) & 1;
  let what: string;
  if (s === 0) what = `system type ${type}`;
  else if ((type & 8) !== 0) what = `code${(type & 2) !== 0 ? ', readable' : ''}${(type & 4) !== 0 ? ', conforming' : ''}`;
  else what = `data${(type & 2) !== 0 ? ', writable' : ', read-only'}${(type & 4) !== 0 ? ', expand-down' : ''}`;
  return `${what}, DPL ${dpl}${present ? '' : ', NOT PRESENT'}, ${big ? '32-bit' : '16-bit'}${gran ? ', 4 KiB granularity' : ''}`;
}

export class VariableStore {
  private readonly containers = new ContainerHandles();
  /** References are created for the focused vCPU; reading one focuses its vCPU again. */
  private readonly handles = {
    create: (container: Container): number => this.containers.create(container, this.runtime.vcpus.focused),
    get: (reference: number): Container | undefined => {
      const entry = this.containers.get(reference);
      if (entry !== undefined) this.runtime.vcpus.focus(entry.cpu);
      return entry?.container;
    },
  };

  constructor(private readonly runtime: DebugRuntime) {}

  /** Called when the guest resumes; references stay valid (they name containers, not values). */
  reset(): void {}

  /** Scopes of a frame: a VMM/host frame (`layer` given) shows its handler and the real CPU beside the virtual. */
  scopes(layer?: Layer): DebugProtocol.Scope[] {
    if (layer !== undefined) {
      return [
        { name: `${layer === 'vmm' ? 'VMM' : layer} handler`, variablesReference: this.handles.create({ kind: 'handler' }), expensive: false },
        { name: 'Real CPU vs virtual CPU', variablesReference: this.handles.create({ kind: 'realVsVirtual' }), expensive: false },
        { name: 'Registers (real CPU)', presentationHint: 'registers', variablesReference: this.handles.create({ kind: 'general' }), expensive: false },
        { name: 'System (real CPU)', variablesReference: this.handles.create({ kind: 'system' }), expensive: false },
      ];
    }
    return [
      { name: 'Registers', presentationHint: 'registers', variablesReference: this.handles.create({ kind: 'general' }), expensive: false },
      { name: 'Segments', variablesReference: this.handles.create({ kind: 'segments' }), expensive: false },
      { name: 'System', variablesReference: this.handles.create({ kind: 'system' }), expensive: false },
      ...(this.runtime.virtualCpu() === undefined ? [] : [
        { name: 'Virtual CPU (as the guest believes)', variablesReference: this.handles.create({ kind: 'virtual' }), expensive: false },
      ]),
      // Several vCPUs: each one's local APIC (the IPIs between them are the lesson).
      ...(this.runtime.vcpus.count > 1 ? [{ name: 'Local APIC', variablesReference: this.handles.create({ kind: 'apic' }), expensive: false }] : []),
    ];
  }

  variables(reference: number): DebugProtocol.Variable[] {
    const container = this.handles.get(reference);
    if (container === undefined) throw new Error(`unknown variablesReference ${reference} (stale after a resume?)`);
    const r = this.runtime.regs;
    const reg = (name: string, value: number, extra: Partial<DebugProtocol.Variable> = {}): DebugProtocol.Variable => ({
      name, value: hex(value), type: 'dword', variablesReference: 0, memoryReference: hex(value), ...extra,
    });
    switch (container.kind) {
      case 'general': {
        const out = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp'].map((n) => reg(n, r.read(n)!));
        out.push(reg('eip', r.eip()));
        const eflags = r.eflags();
        out.push({ name: 'eflags', value: `${hex(eflags)} ${flagSummary(eflags)}`, type: 'dword', variablesReference: this.handles.create({ kind: 'eflags' }) });
        return out;
      }
      case 'eflags': {
        const eflags = r.eflags();
        return EFLAGS_BITS.map((f) => ({
          name: f.name, value: String((eflags >>> f.bit) & ((1 << f.width) - 1)), type: f.width > 1 ? `${f.width}-bit field` : 'flag',
          variablesReference: 0, presentationHint: { kind: 'property' },
          evaluateName: f.name.toLowerCase(),
        }));
      }
      case 'segments':
        return [0, 1, 2, 3, 4, 5].map((i) => {
          const seg = r.segment(i);
          return {
            name: seg.name, value: `${hex(seg.selector, 4)} base=${hex(seg.base)} limit=${hex(seg.limit)}`, type: 'selector',
            variablesReference: this.handles.create({ kind: 'segment', index: i }),
            presentationHint: { attributes: ['readOnly'] },
          };
        });
      case 'segment': {
        const seg = r.segment(container.index);
        const ro: Pick<DebugProtocol.Variable, 'presentationHint'> = { presentationHint: { attributes: ['readOnly'] } };
        return [
          { name: 'selector', value: hex(seg.selector, 4), variablesReference: 0, ...ro },
          { name: 'index', value: String(seg.selector >> 3), variablesReference: 0, ...ro },
          { name: 'TI', value: (seg.selector & 4) !== 0 ? '1 (LDT)' : '0 (GDT)', variablesReference: 0, ...ro },
          { name: 'RPL', value: String(seg.selector & 3), variablesReference: 0, ...ro },
          { name: 'base (hidden)', value: hex(seg.base), variablesReference: 0, memoryReference: hex(seg.base), ...ro },
          { name: 'limit (hidden)', value: hex(seg.limit), variablesReference: 0, ...ro },
          { name: 'access (hidden)', value: `${hex(seg.access, 4)}: ${describeAccess(seg.access)}`, variablesReference: 0, ...ro },
        ];
      }
      case 'apic': {
        const apic = this.runtime.machineInstance.devices.apic?.apics[this.runtime.vcpus.focused];
        return apic === undefined ? [] : apicVariables(apic);
      }
      case 'system': {
        const out: DebugProtocol.Variable[] = [];
        out.push({ name: 'cpl', value: String(r.cpl()), variablesReference: 0, presentationHint: { attributes: ['readOnly'] } });
        out.push(reg('cr0', r.read('cr0')!, { memoryReference: undefined, variablesReference: this.handles.create({ kind: 'crBits', cr: 0 }) }));
        out.push(reg('cr2', r.read('cr2')!, { memoryReference: hex(r.read('cr2')!) }));
        out.push(reg('cr3', r.read('cr3')!));
        out.push(reg('cr4', r.read('cr4')!, { memoryReference: undefined, variablesReference: this.handles.create({ kind: 'crBits', cr: 4 }) }));
        for (const which of ['gdtr', 'idtr'] as const) {
          const t = r.descriptorTable(which);
          out.push({ name: which, value: `base=${hex(t.base)} limit=${hex(t.limit, 4)}`, variablesReference: this.handles.create({ kind: 'table', which }), memoryReference: hex(t.base), presentationHint: { attributes: ['readOnly'] } });
        }
        out.push({ name: 'ldtr', value: hex(r.read('ldtr')!, 4), variablesReference: 0, presentationHint: { attributes: ['readOnly'] } });
        out.push({ name: 'tr', value: hex(r.read('tr')!, 4), variablesReference: 0, presentationHint: { attributes: ['readOnly'] } });
        for (const n of ['dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7']) out.push(reg(n, r.read(n)!));
        return out;
      }
      case 'crBits': {
        const value = r.read(`cr${container.cr}`)!;
        return (container.cr === 0 ? CR0_BITS : CR4_BITS).map(([name, bit, meaning]) => ({
          name, value: `${(value >>> bit) & 1} (${meaning})`, variablesReference: 0, presentationHint: { attributes: ['readOnly'] },
        }));
      }
      case 'virtual': {
        const v = this.runtime.virtualCpu();
        if (v === undefined) return [];
        const ro: Pick<DebugProtocol.Variable, 'presentationHint'> = { presentationHint: { attributes: ['readOnly'] } };
        const realCpl = r.cpl();
        return [
          { name: 'cpl', value: `${v.cpl}${v.cpl !== realCpl ? ` (real CPL ${realCpl})` : ''}`, variablesReference: 0, ...ro },
          { name: 'IF', value: `${v.interruptFlag ? 1 : 0}${((r.eflags() >>> 9) & 1) !== (v.interruptFlag ? 1 : 0) ? ` (real IF ${(r.eflags() >>> 9) & 1})` : ''}`, variablesReference: 0, ...ro },
          { name: 'IOPL', value: String(v.iopl), variablesReference: 0, ...ro },
          { name: 'cr0', value: hex(v.cr0), variablesReference: 0, ...ro },
          { name: 'cr3', value: hex(v.cr3), variablesReference: 0, ...ro },
          { name: 'gdtr', value: `base=${hex(v.gdtr.base)} limit=${hex(v.gdtr.limit, 4)} (real ${hex(r.descriptorTable('gdtr').base)})`, variablesReference: 0, memoryReference: hex(v.gdtr.base), ...ro },
          { name: 'idtr', value: `base=${hex(v.idtr.base)} limit=${hex(v.idtr.limit, 4)} (real ${hex(r.descriptorTable('idtr').base)})`, variablesReference: 0, memoryReference: hex(v.idtr.base), ...ro },
          { name: 'pending interrupts', value: v.pendingVectors.length === 0 ? 'none' : v.pendingVectors.map((x) => hex(x, 2)).join(' '), variablesReference: 0, ...ro },
        ];
      }
      case 'handler': {
        const h = this.runtime.activeHandler();
        const ro: Pick<DebugProtocol.Variable, 'presentationHint'> = { presentationHint: { attributes: ['readOnly'] } };
        if (h === undefined) return [{ name: 'handler', value: 'none (the VMM is not in the middle of a handler)', variablesReference: 0, ...ro }];
        return [
          { name: 'handler', value: h.handler, variablesReference: 0, ...ro },
          { name: 'layer', value: h.layer, variablesReference: 0, ...ro },
          { name: 'next step', value: h.stepNames[h.nextStep] ?? '(finished)', variablesReference: 0, ...ro },
          { name: 'steps done', value: h.executed.map((e) => e.name).join(' → ') || 'none yet', variablesReference: 0, ...ro },
          { name: 'steps', value: h.stepNames.join(' → '), variablesReference: 0, ...ro },
        ];
      }
      case 'realVsVirtual':
        return this.realVsVirtual();
      case 'table': {
        const t = r.descriptorTable(container.which);
        return [
          { name: 'base', value: hex(t.base), variablesReference: 0, memoryReference: hex(t.base), presentationHint: { attributes: ['readOnly'] } },
          { name: 'limit', value: hex(t.limit, 4), variablesReference: 0, presentationHint: { attributes: ['readOnly'] } },
          { name: 'entries', value: String(Math.floor((t.limit + 1) / 8)), variablesReference: 0, presentationHint: { attributes: ['readOnly'] } },
        ];
      }
    }
  }

  /** The virtual CPU's state next to the real CPU's, each row saying whether they differ. */
  private realVsVirtual(): DebugProtocol.Variable[] {
    const v = this.runtime.virtualCpu();
    const r = this.runtime.regs;
    const ro: Pick<DebugProtocol.Variable, 'presentationHint'> = { presentationHint: { attributes: ['readOnly'] } };
    if (v === undefined) return [{ name: 'virtual CPU', value: 'none: the guest runs natively', variablesReference: 0, ...ro }];
    const eflags = r.eflags();
    const gdtr = r.descriptorTable('gdtr');
    const idtr = r.descriptorTable('idtr');
    const rows: [string, string, string][] = [
      ['cpl', String(v.cpl), String(r.cpl())],
      ['IF', v.interruptFlag ? '1' : '0', String((eflags >>> 9) & 1)],
      ['IOPL', String(v.iopl), String((eflags >>> 12) & 3)],
      ['cr0', hex(v.cr0), hex(r.read('cr0')!)],
      ['cr3', hex(v.cr3), hex(r.read('cr3')!)],
      ['cr4', hex(v.cr4), hex(r.read('cr4')!)],
      ['gdtr', `base=${hex(v.gdtr.base)} limit=${hex(v.gdtr.limit, 4)}`, `base=${hex(gdtr.base)} limit=${hex(gdtr.limit, 4)}`],
      ['idtr', `base=${hex(v.idtr.base)} limit=${hex(v.idtr.limit, 4)}`, `base=${hex(idtr.base)} limit=${hex(idtr.limit, 4)}`],
      ['ldtr', hex(v.ldtr, 4), hex(r.read('ldtr')!, 4)],
      ['tr', hex(v.tr, 4), hex(r.read('tr')!, 4)],
    ];
    const out = rows.map(([name, virtual, real]) => ({
      name, value: virtual === real ? `${virtual} (same on the real CPU)` : `virtual ${virtual} ≠ real ${real}`, variablesReference: 0, ...ro,
    }));
    out.push({ name: 'pending virtual interrupts', value: v.pendingVectors.length === 0 ? 'none' : v.pendingVectors.map((x) => hex(x, 2)).join(' '), variablesReference: 0, ...ro });
    return out;
  }

  /** Sets a register (in 'Registers' or 'System') or a flag (under eflags); the value is an expression. */
  setVariable(reference: number, name: string, valueText: string): DebugProtocol.SetVariableResponse['body'] {
    const container = this.handles.get(reference);
    if (container === undefined) throw new Error(`unknown variablesReference ${reference}`);
    if (container.kind !== 'general' && container.kind !== 'eflags' && container.kind !== 'system') {
      throw new Error(`${name} is read-only: segment and descriptor-table state changes only through guest instructions`);
    }
    const value = evaluateExpression(valueText, this.runtime);
    const error = this.runtime.regs.write(name, value);
    if (error !== undefined) throw new Error(error);
    const now = this.runtime.regs.read(name)!;
    return container.kind === 'eflags' ? { value: String(now) } : { value: hex(now), ...(name === 'eflags' ? {} : { memoryReference: hex(now) }) };
  }
}

/** "[ ZF PF IF ]": the set arithmetic and control flags, as debuggers show them. */
export function flagSummary(eflags: number): string {
  const set = EFLAGS_BITS.filter((f) => f.width === 1 && ((eflags >>> f.bit) & 1) !== 0).map((f) => f.name);
  return `[ ${set.join(' ')} ]`;
}
