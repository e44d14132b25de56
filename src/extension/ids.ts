// Identifiers shared by the manifest (package.json) and the extension code; keep the two in step.
export const LANGUAGE_ID = 'hyperstep-nasm';
export const DEBUG_TYPE = 'hyperstep';
export const TECHNIQUES = ['native', 'trap-and-emulate', 'binary-translation', 'paravirtual', 'hardware-assisted'] as const;
export const ARCHITECTURES = ['hosted', 'monolithic', 'microkernel'] as const;
export type Technique = (typeof TECHNIQUES)[number];
export type Architecture = (typeof ARCHITECTURES)[number];
/** Client → language server: `{ includePaths: string[] }`, absolute directories searched by %include. */
export const INCLUDE_PATHS_NOTIFICATION = 'hyperstep/includePaths';
