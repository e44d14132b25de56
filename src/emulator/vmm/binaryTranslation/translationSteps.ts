// Translating one unit as a VMM handler of named steps, so the debugger can step through the translator as it
// steps through a trap handler: decode guest block → emit IDENT → rewrite … → chain → enter TC. The translator
// (translator.ts) does the decoding and emission in one pass; the steps expose its results in order and charge
// btTranslate per guest instruction (costModel.ts).

import { step, type HandlerDefinition } from '../handlerSteps';
import type { TranslationWork } from './tcEngine';

export const TRANSLATION_STEPS = ['decode guest block', 'emit IDENT', 'rewrite sensitive and control-flow instructions', 'chain', 'enter TC'] as const;

export interface TranslationActions {
  /** Decodes the unit and plans its code (sets work.plan or work.problem). */
  translate(): void;
  /** Copies the planned fragment into the TC (sets work.translation or work.problem). */
  install(): void;
  /** Chains the exit that caused the translation to the new fragment. */
  chain(): void;
}

export function translationSteps(work: TranslationWork, actions: TranslationActions): HandlerDefinition<TranslationWork> {
  const address = (eip: number) => `0x${((work.mode.base + eip) >>> 0).toString(16)}`;
  return {
    name: `BT: translate the unit at ${address(work.startEip)}`,
    layer: 'vmm',
    steps: [
      step(
        TRANSLATION_STEPS[0],
        (w) => {
          actions.translate();
          if (w.plan === undefined) {
            w.notes.push(w.problem ?? 'nothing to translate');
            return { goto: TRANSLATION_STEPS[4] };
          }
          w.notes.push(`${w.plan.instructions.length} guest instructions ${address(w.startEip)}–0x${w.plan.guestEnd.toString(16)}`);
          return undefined;
        },
        'btTranslate',
      ),
      step(TRANSLATION_STEPS[1], (w) => {
        const ident = w.plan?.instructions.filter((i) => i.rewrite === 'ident') ?? [];
        w.notes.push(`${ident.length} instruction(s) copied unchanged`);
      }),
      step(TRANSLATION_STEPS[2], (w) => {
        for (const i of w.plan?.instructions ?? []) if (i.rewrite !== 'ident') w.notes.push(`${i.text} → ${i.rewrite}: ${i.why}`);
        actions.install();
        if (w.translation !== undefined) w.notes.push(`fragment #${w.translation.id} at TC 0x${w.translation.tcStart.toString(16)}–0x${w.translation.tcEnd.toString(16)}`);
      }),
      step(TRANSLATION_STEPS[3], (w) => {
        if (w.chainFrom === undefined || w.translation === undefined) return;
        actions.chain();
        w.notes.push(`exit ${w.chainFrom.exit} of #${w.chainFrom.translation.id} now jumps straight to #${w.translation.id}`);
      }),
      step(TRANSLATION_STEPS[4], (w) => {
        w.notes.push(w.translation === undefined ? 'no translation: the instruction runs in place and faults as on bare metal' : `continue at TC 0x${w.translation.tcStart.toString(16)}`);
        return { finish: { kind: 'resume' } };
      }),
    ],
  };
}
