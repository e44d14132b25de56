// The VMM's entry point for embedders (the `hyperstep run` CLI, the debug adapter): validate the launch options
// (technique, architecture, costModel, costOverrides) and create the ExecutionEngine for a booted machine.
// Never throws on bad input: every problem is one message.

import type { Machine } from '../machine/machine';
import { CostLedger } from './costLedger';
import { resolveCostModel, type CostModel } from './costModel';
import type { ExecutionEngine } from './engine';
import { isArchitecture, isTechnique, type Architecture, type Technique } from './layers';
import { NativeEngine } from './native/engine';
import { ParavirtualEngine } from './paravirtual/engine';
import { TrapAndEmulateEngine } from './trapAndEmulate/engine';
import { BinaryTranslationEngine } from './binaryTranslation/engine';
import { HardwareAssistEngine } from './hardwareAssist/engine';
import { parseControls } from './hardwareAssist/controls';
import type { TransitionLog } from './transitions';

export interface VmmLaunchOptions {
  readonly technique?: unknown;
  readonly architecture?: unknown;
  readonly costModel?: unknown;
  readonly costOverrides?: unknown;
  /** hardware-assisted only: which VM-execution controls the built-in VMM sets (hardwareAssist/controls.ts). */
  readonly vmxControls?: unknown;
}

export interface VmmEngineHandle {
  readonly engine: ExecutionEngine;
  readonly technique: Technique;
  readonly architecture: Architecture;
  readonly costModel: CostModel;
  /** The transition trace and cost ledger (for `--trace` and the cost summary). */
  readonly log: TransitionLog;
  readonly ledger: CostLedger;
}

export type VmmEngineResult = { readonly ok: true; readonly handle: VmmEngineHandle } | { readonly ok: false; readonly errors: readonly string[] };

/** Techniques with an engine today. */
export const IMPLEMENTED_TECHNIQUES: readonly Technique[] = ['native', 'trap-and-emulate', 'binary-translation', 'paravirtual', 'hardware-assisted'];

export function createVmmEngine(machine: Machine, options: VmmLaunchOptions): VmmEngineResult {
  const errors: string[] = [];
  const technique = options.technique ?? 'native';
  const architecture = options.architecture ?? 'monolithic';
  if (!isTechnique(technique)) errors.push(`technique must be one of native, trap-and-emulate, binary-translation, paravirtual, hardware-assisted; got ${JSON.stringify(technique)}`);
  else if (!IMPLEMENTED_TECHNIQUES.includes(technique)) errors.push(`technique '${technique}' is not implemented yet `);
  if (!isArchitecture(architecture)) errors.push(`architecture must be one of monolithic, microkernel, hosted; got ${JSON.stringify(architecture)}`);
  const cost = resolveCostModel(options.costModel ?? 'p4-2006', options.costOverrides ?? {});
  if (!cost.ok) errors.push(...cost.errors);
  if (errors.length > 0 || !cost.ok || !isTechnique(technique) || !isArchitecture(architecture)) return { ok: false, errors };
  const costModel = cost.model;
  let engine: ExecutionEngine & { readonly log: TransitionLog; readonly ledger: CostLedger };
  switch (technique) {
    case 'trap-and-emulate':
      engine = new TrapAndEmulateEngine(machine, { architecture, costModel });
      break;
    case 'binary-translation':
      engine = new BinaryTranslationEngine(machine, { architecture, costModel });
      break;
    case 'paravirtual':
      engine = new ParavirtualEngine(machine, { architecture, costModel });
      break;
    case 'hardware-assisted': {
      const controls = parseControls(options.vmxControls);
      if (!controls.ok) return { ok: false, errors: controls.errors };
      engine = new HardwareAssistEngine(machine, { architecture, costModel, controls: controls.controls });
      break;
    }
    default:
      engine = new NativeEngine(machine, costModel);
  }
  return { ok: true, handle: { engine, technique, architecture, costModel, log: engine.log, ledger: engine.ledger } };
}
