// The BT VMM's own emulation callouts: the sensitive-but-unprivileged instructions that trap-and-emulate cannot
// catch (Robin & Irvine 2000) computed on the virtual CPU, each a handler of named steps the debugger walks
// (save guest state → decode translated instruction → emulate on the virtual CPU → advance guest EIP → resume).
// Semantics: SDM Vol. 2B POPF/PUSHF (flag rules at CPL 0), SGDT/SIDT (limit, then 32-bit base), SLDT/STR/SMSW
// (a 32-bit register receives the whole value, memory 16 bits — as the CPU core does), MOV r/m, Sreg and PUSH
// Sreg (zero-extended selector), far JMP/CALL/RET within the virtual kernel, LAR/LSL/VERR/VERW on the virtual
// descriptor tables (descriptorQueries.ts). Stack and memory accesses go through the guest's own segments; a failing one
// is reflected to the guest as #SS(0) / #GP(0).

import { DecodedInstruction, decodeInstruction } from '../../isa/decoder';
import { Flag } from '../../isa/types';
import type { HandlerDefinition, StepResult } from '../handlerSteps';
import { step } from '../handlerSteps';
import { SegmentRegister } from '../trapAndEmulate/guestAccess';
import type { TrapContext } from '../trapAndEmulate/handlers';
import { compressedSelector, virtualizedEflags } from '../trapAndEmulate/reflect';
import { queryDescriptor, type DescriptorQuery } from './descriptorQueries';

const GP = 13;
const SS_FAULT = 12;
/** Flags POPF changes for the virtual kernel besides IF and IOPL (which go to the virtual CPU). */
const REAL_POPF_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.DF | Flag.OF | Flag.NT | Flag.AC | Flag.ID;

const decoded = new DecodedInstruction();

const reflect = (vector: number): StepResult => ({ finish: { kind: 'reflect', vector, errorCode: 0 } });

function decode(c: TrapContext): DecodedInstruction {
  return decodeInstruction(Uint8Array.from(c.instruction?.bytes ?? []), 0, c.instruction?.bytes.length ?? 0, 32, decoded);
}

function push(c: TrapContext, value: number, size: 2 | 4): boolean {
  const g = c.guest;
  const esp = (g.getGpr(4) - size) | 0;
  if (!g.writeLinear((g.getSegmentBase(SegmentRegister.SS) + esp) >>> 0, size, value & (size === 2 ? 0xffff : 0xffffffff))) return false;
  g.setGpr(4, esp);
  return true;
}

/** Stores a 16-bit system value the way SLDT/STR/SMSW/MOV r/m,Sreg do: a 32-bit register gets all of `wide`. */
function storeSystemValue(c: TrapContext, d: DecodedInstruction, wide: number): boolean {
  const g = c.guest;
  if (!d.isMemory) {
    const register = d.rm;
    g.setGpr(register, d.operandSize === 32 ? wide >>> 0 : (g.getGpr(register) & 0xffff0000) | (wide & 0xffff));
    return true;
  }
  const address = c.instruction?.memoryAddress;
  return address !== undefined && g.writeLinear(address, 2, wide & 0xffff);
}

/** The guest's view of a real kernel selector: ring compression put virtual ring 0 at RPL 1. */
export function virtualSelector(real: number): number {
  return (real & 3) === 1 ? real & ~3 : real;
}

function emulate(c: TrapContext): StepResult {
  const d = decode(c);
  const g = c.guest;
  const text = c.instruction?.text ?? '';
  const mnemonic = c.instruction?.mnemonic ?? '';
  const size: 2 | 4 = d.operandSize === 16 ? 2 : 4;
  switch (mnemonic) {
    case 'pushf':
    case 'pushfw': {
      const image = virtualizedEflags(g.getEflags(), c.vcpu) & ~(Flag.VM | Flag.RF);
      if (!push(c, image, size)) return reflect(SS_FAULT);
      c.notes.push(`pushed EFLAGS 0x${image.toString(16)} with the virtual IF=${c.vcpu.interruptFlag ? 1 : 0} and IOPL=${c.vcpu.iopl}`);
      return undefined;
    }
    case 'popf':
    case 'popfw': {
      const esp = g.getGpr(4);
      const value = g.readLinear((g.getSegmentBase(SegmentRegister.SS) + esp) >>> 0, size);
      if (value === undefined) return reflect(SS_FAULT);
      g.setGpr(4, (esp + size) | 0);
      const mask = size === 2 ? 0xffff : 0xffffffff;
      const changeable = REAL_POPF_FLAGS & mask;
      g.setEflags(((g.getEflags() & ~changeable & ~Flag.RF) | (value & changeable)) >>> 0);
      c.vcpu.interruptFlag = (value & Flag.IF) !== 0;
      c.vcpu.iopl = (value >>> 12) & 3;
      c.notes.push(`virtual IF ← ${c.vcpu.interruptFlag ? 1 : 0}, virtual IOPL ← ${c.vcpu.iopl} (the real IF stays 1, the real IOPL 0)`);
      return undefined;
    }
    case 'sgdt':
    case 'sidt': {
      const table = mnemonic === 'sgdt' ? c.vcpu.gdtr : c.vcpu.idtr;
      const address = c.instruction?.memoryAddress;
      if (address === undefined || !g.writeLinear(address, 2, table.limit & 0xffff) || !g.writeLinear((address + 2) >>> 0, 4, table.base >>> 0)) return reflect(GP);
      c.notes.push(`stored the virtual ${mnemonic === 'sgdt' ? 'GDTR' : 'IDTR'}: base 0x${table.base.toString(16)} limit 0x${table.limit.toString(16)}`);
      return undefined;
    }
    case 'sldt':
    case 'str':
    case 'smsw': {
      const value = mnemonic === 'sldt' ? c.vcpu.ldtr : mnemonic === 'str' ? c.vcpu.tr : c.vcpu.cr0;
      if (!storeSystemValue(c, d, value)) return reflect(GP);
      c.notes.push(`${text}: stored the virtual ${mnemonic === 'sldt' ? 'LDTR' : mnemonic === 'str' ? 'TR' : 'CR0'} 0x${(value >>> 0).toString(16)}`);
      return undefined;
    }
    case 'mov': {
      const selector = virtualSelector(g.getSelector(SegmentRegister.SS));
      if (!storeSystemValue(c, d, selector)) return reflect(GP);
      c.notes.push(`${text}: stored the guest's SS selector 0x${selector.toString(16)}`);
      return undefined;
    }
    case 'push': {
      const selector = virtualSelector(g.getSelector(SegmentRegister.SS));
      if (!push(c, selector, size)) return reflect(SS_FAULT);
      c.notes.push(`pushed the guest's SS selector 0x${selector.toString(16)}`);
      return undefined;
    }
    case 'jmp':
    case 'call':
      return farTransfer(c, d, mnemonic === 'call', size);
    case 'retf':
      return farReturn(c, d, size);
    case 'lar':
    case 'lsl':
    case 'verr':
    case 'verw':
      return descriptorQuery(c, d, mnemonic);
    default:
      return { finish: { kind: 'stop', message: `the BT VMM has no emulation for "${text}"` } };
  }
}

/**
 * JMP/CALL ptr16:32 or m16:32 within the virtual kernel (SDM Vol. 2 JMP/CALL "far"): CALL pushes the guest's
 * CS (RPL 0, as bare metal would) and return EIP; the target selector is loaded with ring compression.
 */
function farTransfer(c: TrapContext, d: DecodedInstruction, isCall: boolean, size: 2 | 4): StepResult {
  const g = c.guest;
  let selector = d.farSelector & 0xffff;
  let offset = d.immediate >>> 0;
  if (d.isMemory) {
    const address = c.instruction?.memoryAddress;
    const low = address === undefined ? undefined : g.readLinear(address, size);
    const high = address === undefined ? undefined : g.readLinear((address + size) >>> 0, 2);
    if (low === undefined || high === undefined) return reflect(GP);
    offset = low;
    selector = high;
  }
  if ((selector & 3) === 3) return { finish: { kind: 'stop', message: `${c.instruction?.text}: a far transfer to ring 3 is not emulated (use iret)` } };
  if (isCall) {
    const returnEip = (g.getEip() + (c.instruction?.length ?? 0)) >>> 0;
    if (!push(c, virtualSelector(g.getSelector(SegmentRegister.CS)), size) || !push(c, returnEip, size)) return reflect(SS_FAULT);
  }
  if (!g.loadSegment(SegmentRegister.CS, compressedSelector(selector))) return { finish: { kind: 'reflect', vector: GP, errorCode: selector & 0xfffc } };
  g.setEip(size === 2 ? offset & 0xffff : offset);
  c.notes.push(`far ${isCall ? 'call' : 'jmp'} to 0x${selector.toString(16)}:0x${offset.toString(16)} (real CS 0x${compressedSelector(selector).toString(16)} after ring compression)`);
  return { goto: 'resume' };
}

/** RETF [imm16] to the virtual kernel: pop EIP and CS, load CS with ring compression (SDM Vol. 2 RET "far"). */
function farReturn(c: TrapContext, d: DecodedInstruction, size: 2 | 4): StepResult {
  const g = c.guest;
  const ssBase = g.getSegmentBase(SegmentRegister.SS);
  const esp = g.getGpr(4);
  const eip = g.readLinear((ssBase + esp) >>> 0, size);
  const selector = g.readLinear((ssBase + esp + size) >>> 0, 2);
  if (eip === undefined || selector === undefined) return reflect(SS_FAULT);
  if ((selector & 3) === 3) return { finish: { kind: 'stop', message: `${c.instruction?.text}: a far return to ring 3 is not emulated (use iret)` } };
  if (!g.loadSegment(SegmentRegister.CS, compressedSelector(selector))) return { finish: { kind: 'reflect', vector: GP, errorCode: selector & 0xfffc } };
  g.setGpr(4, (esp + 2 * size + (d.immediateSize > 0 ? d.immediate & 0xffff : 0)) | 0);
  g.setEip(eip);
  c.notes.push(`far return to 0x${selector.toString(16)}:0x${eip.toString(16)}`);
  return { goto: 'resume' };
}

/**
 * LAR/LSL/VERR/VERW against the guest's virtual descriptor tables at the virtual CPL (descriptorQueries.ts):
 * the selector comes from r/m16, ZF tells whether the descriptor is visible, LAR/LSL write their value to the
 * register (a 16-bit destination keeps its upper half, SDM Vol. 2A LAR/LSL "Operation").
 */
function descriptorQuery(c: TrapContext, d: DecodedInstruction, kind: DescriptorQuery): StepResult {
  const g = c.guest;
  const address = c.instruction?.memoryAddress;
  const selector = d.isMemory ? (address === undefined ? undefined : g.readLinear(address, 2)) : g.getGpr(d.rm) & 0xffff;
  if (selector === undefined) return reflect(GP);
  const tables = { gdtBase: c.vcpu.gdtr.base, gdtLimit: c.vcpu.gdtr.limit, ldtr: c.vcpu.ldtr, readLinear: (linear: number, size: 1 | 2 | 4) => g.readLinear(linear, size) };
  const answer = queryDescriptor(kind, selector, c.vcpu.cpl, tables);
  if (answer.zf && (kind === 'lar' || kind === 'lsl')) {
    g.setGpr(d.reg, d.operandSize === 16 ? (g.getGpr(d.reg) & 0xffff0000) | (answer.value & 0xffff) : answer.value);
  }
  g.setEflags(answer.zf ? g.getEflags() | Flag.ZF : g.getEflags() & ~Flag.ZF);
  const shown = kind === 'lar' || kind === 'lsl' ? ` = 0x${answer.value.toString(16)}` : '';
  c.notes.push(`${kind} 0x${selector.toString(16)} in the guest's virtual ${(selector & 4) !== 0 ? 'LDT' : 'GDT'} at virtual CPL ${c.vcpu.cpl}: ZF=${answer.zf ? 1 : 0}${answer.zf ? shown : ''}`);
  return undefined;
}

/** The handler of an `emulate` callout (pushf, popf, sgdt, sidt, sldt, str, smsw, mov from ss, push ss, lar, lsl, verr, verw, far transfers). */
export function emulationCallout(text: string): HandlerDefinition<TrapContext> {
  return {
    name: `BT callout: ${text}`,
    layer: 'vmm',
    steps: [
      step('save guest state', (c) => void c.notes.push(`callout from translated code for guest EIP 0x${(c.guest.getEip() >>> 0).toString(16)}`)),
      step('decode translated instruction', (c) => void c.notes.push(`decoded: ${c.instruction?.text ?? '?'}`), 'emulationStep'),
      step('emulate on the virtual CPU', emulate, 'emulationStep'),
      step('advance guest EIP', (c) => c.guest.setEip((c.guest.getEip() + (c.instruction?.length ?? 0)) | 0)),
      step('resume', () => ({ finish: { kind: 'resume' } })),
    ],
  };
}
