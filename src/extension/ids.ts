// Identifiers shared by the manifest (package.json) and the extension code; keep the two in step.
export const LANGUAGE_ID = 'hyperstep-nasm';
export const DEBUG_TYPE = 'hyperstep';
export const TECHNIQUES = ['native', 'trap-and-emulate', 'binary-translation', 'paravirtual', 'hardware-assisted'] as const;
export const ARCHITECTURES = ['hosted', 'monolithic', 'microkernel'] as const;
export type Technique = (typeof TECHNIQUES)[number];
export type Architecture = (typeof ARCHITECTURES)[number];
/** Client → language server: `{ includePaths: string[] }`, absolute directories searched by %include. */
export const INCLUDE_PATHS_NOTIFICATION = 'hyperstep/includePaths';

/** `vscode-remote:/127.0.0.1:3210/w/k.asm` or `vscode-remote://host/w/k.asm` → `/w/k.asm`; other strings unchanged. */
export function localPathOf(program: string): string {
  const remote = /^vscode-remote:\/\/?[^/]+(\/.*)$/.exec(program);
  return remote ? decodeURIComponent(remote[1]!) : program;
}
