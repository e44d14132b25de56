// The one place the assembler front end binds to the instruction encoder of src/emulator/isa, so tests
// and tools can inject another encoder through AssembleOptions.encode.
// (Placeholder until src/emulator/isa/encoder.ts is committed: every instruction reports an error.)
import type { Encoder } from './assembler';

export const defaultEncoder: Encoder = () => ({ ok: false, message: 'instruction encoder not available yet' });
