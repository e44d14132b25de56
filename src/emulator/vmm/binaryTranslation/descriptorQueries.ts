// LAR, LSL, VERR and VERW for translated guest kernel code. They are sensitive but unprivileged (Robin &
// Irvine 2000): run in place at ring 1 they would consult the VMM's shadow GDT, where the guest's ring-0
// descriptors carry DPL 1 and the VMM's own descriptors lie beyond the guest's limit, so LAR would report DPL 1
// and VMM selectors would look valid. The BT VMM answers them here from the guest's VIRTUAL descriptor tables
// (virtual GDTR, the LDT the virtual LDTR names) at the virtual CPL, exactly as SDM Vol. 2A (LAR, LSL) and
// Vol. 2B (VERR/VERW) specify: null or out-of-table selectors, system types each instruction accepts
// (LAR Table 3-52, LSL Table 3-61), DPL ≥ max(CPL, RPL) except for conforming code, readability/writability.

import type { AccessSize } from '../../hw/contracts';

export type DescriptorQuery = 'lar' | 'lsl' | 'verr' | 'verw';

/** The guest's descriptor tables as its virtual CPU holds them. */
export interface VirtualDescriptorTables {
  readonly gdtBase: number;
  readonly gdtLimit: number;
  /** Virtual LDTR selector (0: no LDT). */
  readonly ldtr: number;
  readLinear(address: number, size: AccessSize): number | undefined;
}

/** The answer: ZF and, when ZF = 1, the value LAR/LSL write (access rights image or expanded limit). */
export interface DescriptorAnswer {
  readonly zf: boolean;
  readonly value: number;
}

const SEGMENT = 1 << 12; // S: code or data (SDM Vol. 3A 3.4.5)
const CODE = 1 << 11;
const CONFORMING = 1 << 10;
const READ_WRITE = 1 << 9;
const GRANULARITY = 1 << 23;
const LDT_TYPE = 2;

const NOT_VISIBLE: DescriptorAnswer = { zf: false, value: 0 };

/** Segment limit of a descriptor, scaled by the granularity bit (SDM Vol. 3A 3.4.5). */
export function descriptorLimit(low: number, high: number): number {
  const raw = (high & 0xf0000) | (low & 0xffff);
  return ((high & GRANULARITY) !== 0 ? (raw << 12) | 0xfff : raw) >>> 0;
}

/** Base of a descriptor (SDM Vol. 3A Figure 3-8). */
function descriptorBase(low: number, high: number): number {
  return ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0;
}

/** The two dwords of the descriptor `selector` names, or undefined when it lies outside its table. */
function fetchDescriptor(tables: VirtualDescriptorTables, selector: number): readonly [number, number] | undefined {
  let base = tables.gdtBase;
  let limit = tables.gdtLimit;
  if ((selector & 4) !== 0) {
    // The LDT the virtual LDTR names: a present LDT descriptor in the guest's GDT (SDM Vol. 3A 3.5.1).
    const ldtr = tables.ldtr & 0xfffc;
    if (ldtr === 0 || (tables.ldtr & 4) !== 0) return undefined;
    const ldt = fetchDescriptor(tables, ldtr);
    if (ldt === undefined || (ldt[1] & SEGMENT) !== 0 || ((ldt[1] >>> 8) & 0xf) !== LDT_TYPE) return undefined;
    base = descriptorBase(ldt[0], ldt[1]);
    limit = descriptorLimit(ldt[0], ldt[1]);
  }
  const offset = selector & 0xfff8;
  if (offset + 7 > limit >>> 0) return undefined;
  const low = tables.readLinear((base + offset) >>> 0, 4);
  const high = tables.readLinear((base + offset + 4) >>> 0, 4);
  return low === undefined || high === undefined ? undefined : [low, high];
}

/** System descriptor types LAR (true) / LSL (false) accept (SDM Vol. 2A LAR Table 3-52, LSL Table 3-61). */
function systemTypeValid(type: number, lar: boolean): boolean {
  if (type === 1 || type === 2 || type === 3 || type === 9 || type === 0xb) return true;
  return lar && (type === 4 || type === 5 || type === 0xc);
}

/**
 * Evaluates one query for `selector` at virtual privilege level `cpl` against the guest's own tables. 32-bit
 * operand size: LAR's value is the second dword masked with 0x00F0FF00, LSL's the byte-granular limit (a 16-bit
 * destination takes the low word of either, which the caller does).
 */
export function queryDescriptor(kind: DescriptorQuery, selector: number, cpl: number, tables: VirtualDescriptorTables): DescriptorAnswer {
  if ((selector & 0xfffc) === 0) return NOT_VISIBLE;
  const descriptor = fetchDescriptor(tables, selector & 0xffff);
  if (descriptor === undefined) return NOT_VISIBLE;
  const [low, high] = descriptor;
  const dpl = (high >>> 13) & 3;
  const rpl = selector & 3;
  const isSegment = (high & SEGMENT) !== 0;
  const code = isSegment && (high & CODE) !== 0;
  const conformingCode = code && (high & CONFORMING) !== 0;
  if (!isSegment) {
    if (kind === 'verr' || kind === 'verw') return NOT_VISIBLE;
    if (!systemTypeValid((high >>> 8) & 0xf, kind === 'lar')) return NOT_VISIBLE;
  }
  if (!conformingCode && (dpl < cpl || dpl < rpl)) return NOT_VISIBLE;
  switch (kind) {
    case 'verr':
      return { zf: !code || (high & READ_WRITE) !== 0, value: 0 };
    case 'verw':
      return { zf: !code && (high & READ_WRITE) !== 0, value: 0 };
    case 'lar':
      return { zf: true, value: (high & 0x00f0ff00) >>> 0 };
    case 'lsl':
      return { zf: true, value: descriptorLimit(low, high) };
  }
}
