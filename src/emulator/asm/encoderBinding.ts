// The one place the assembler front end binds to the instruction encoder of src/emulator/isa, so tests
// and tools can inject another encoder through AssembleOptions.encode.
import { encodeInstruction } from '../isa/encoder';
import type { Encoder } from './assembler';

export const defaultEncoder: Encoder = encodeInstruction;
