// The composition root of a native PC: a Machine from a recipe with the IA-32 core plugged in. Embedders
// (the CLI, the debug adapter, tests) create machines here; the VMM later wraps the same machine.
import { Ia32CpuAdapter } from './cpuAdapter';
import { Machine } from './machine';
import { defaultRecipe, type MachineRecipe } from './recipe';

export function createPcMachine(recipe: MachineRecipe = defaultRecipe()): Machine {
  return new Machine(recipe, (machine) => new Ia32CpuAdapter(machine));
}
