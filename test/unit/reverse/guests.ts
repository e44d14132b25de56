// SPDX-License-Identifier: MIT
// Shared helpers for the reverse-debugging tests: assemble a fixture guest with HyperStep's own assembler
// and boot it on a small PC (4 MiB keeps whole-machine state hashes cheap).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../../src/emulator/asm';
import type { Machine } from '../../../src/emulator/machine/machine';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';

export const REVERSE_FIXTURES = join(__dirname, 'fixtures');
export const PIT_GUEST = join(REVERSE_FIXTURES, 'pit.asm');
export const FAULT_GUEST = join(REVERSE_FIXTURES, 'fault.asm');

export function bootGuest(path: string, defines: Record<string, string> = {}, memoryMiB = 4): Machine {
  const result = assemble({ path, text: readFileSync(path, 'utf8') }, { defines, readFile: (abs) => (existsSync(abs) ? readFileSync(abs, 'utf8') : undefined) });
  assert.ok(result.ok, `${path} does not assemble: ${result.diagnostics.map((d) => d.message).join('; ')}`);
  const machine = createPcMachine(defaultRecipe({ memoryMiB }));
  const booted = machine.boot(result.output, { kernelName: path });
  assert.ok(!('error' in booted), `${path} does not boot`);
  return machine;
}
