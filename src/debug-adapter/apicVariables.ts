// SPDX-License-Identifier: MIT
// The "Local APIC" scope of a vCPU on a multiprocessor machine: the registers of SDM Vol. 3A ch. 11 a student
// looks at while CPUs send each other IPIs — ID, TPR/PPR, the vectors in service and requested, SVR, the timer
// and the last ICR value — read without side effects (the current count is computed from virtual time).
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ApicReg, LVT_MASKED, Lvt, SVR_ENABLE, type LocalApic } from '../emulator/devices/localApic';

const hex = (v: number, digits = 8): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;

/** Vectors whose bits are set in a 256-bit ISR/IRR/TMR register, highest first. */
function vectorsOf(words: Uint32Array): number[] {
  const out: number[] = [];
  for (let v = 255; v >= 0; v--) if ((words[v >> 5]! & (1 << (v & 31))) !== 0) out.push(v);
  return out;
}

const DELIVERY = ['fixed', 'lowest priority', 'SMI', 'reserved', 'NMI', 'INIT', 'start-up', 'ExtINT'] as const;
const SHORTHAND = ['', 'self', 'all including self', 'all excluding self'] as const;

function describeIcr(low: number, high: number): string {
  const shorthand = (low >> 18) & 3;
  const to = shorthand !== 0 ? SHORTHAND[shorthand] : `${(low & 0x800) !== 0 ? 'logical' : 'APIC ID'} ${hex(high >>> 24, 2)}`;
  return `${hex(low)}: ${DELIVERY[(low >> 8) & 7]} vector ${hex(low & 0xff, 2)} to ${to}`;
}

function describeTimer(apic: LocalApic): string {
  const lvt = apic.lvt[Lvt.TIMER]!;
  const mode = (lvt & (1 << 17)) !== 0 ? 'periodic' : 'one-shot';
  const masked = (lvt & LVT_MASKED) !== 0 ? ', masked' : '';
  return `${mode}, vector ${hex(lvt & 0xff, 2)}${masked}`;
}

export function apicVariables(apic: LocalApic): DebugProtocol.Variable[] {
  const list = (v: number[]): string => (v.length === 0 ? 'none' : v.map((x) => hex(x, 2)).join(' '));
  const rows: [string, string][] = [
    ['id', hex(apic.readRegister(ApicReg.ID))],
    ['enabled', `${apic.globallyEnabled ? 'globally' : 'globally DISABLED'}, ${(apic.svr & SVR_ENABLE) !== 0 ? 'software-enabled' : 'software-DISABLED (SVR bit 8)'}`],
    ['tpr', hex(apic.tpr, 2)],
    ['ppr', hex(apic.processorPriority(), 2)],
    ['in service (ISR)', list(vectorsOf(apic.isr))],
    ['requested (IRR)', list(vectorsOf(apic.irr))],
    ['svr', hex(apic.svr, 3)],
    ['timer', describeTimer(apic)],
    ['timer count', `${apic.currentCount()} of ${apic.timerInitial} (divide config ${hex(apic.timerDivide, 1)})`],
    ['last ICR', describeIcr(apic.icrLow, apic.icrHigh)],
  ];
  return rows.map(([name, value]) => ({ name, value, variablesReference: 0, presentationHint: { attributes: ['readOnly'] } }));
}
