// The emulator's public facade: the only module other layers import from src/emulator.
// Pure TypeScript: no Node, DOM, vscode, DAP or LSP (enforced by scripts/check-layers.mjs and its tsconfig).
export const EMULATOR_NAME = 'HyperStep IA-32 machine';
