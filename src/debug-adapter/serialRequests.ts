// SPDX-License-Identifier: MIT
// The serial terminal's custom request: bytes a user types into the extension's integrated terminal (or any DAP
// client sends) go to the guest's COM1 receive side. The guest reads them at its own pace (the UART's host
// queue is flow-controlled: none is lost to overrun), and the reverse history checkpoints the queued input
// like a debugger edit, so travelling back before it undoes it and replaying past it keeps it.
import { AdapterError, ErrorCode, requireString } from './errors';
import type { DebugRuntime } from './runtime';

export const SERIAL_INPUT_REQUEST = 'hyperstep.serialInput';

/** Upper bound on one request's bytes (a paste), so a runaway client cannot fill the adapter's memory. */
export const SERIAL_INPUT_MAX_BYTES = 64 * 1024;

export interface SerialInputResponseBody {
  /** Bytes queued for the guest (the UTF-8 encoding of `text`). */
  readonly queued: number;
}

type Handler = (args: Record<string, unknown>) => Promise<unknown>;

/** The serial custom requests, keyed by command, for the session's handler table. */
export function serialHandlers(runtime: DebugRuntime): Record<string, Handler> {
  return {
    [SERIAL_INPUT_REQUEST]: async (args): Promise<SerialInputResponseBody> => {
      const text = requireString(args, 'text');
      if (!runtime.isLaunched) throw new AdapterError(ErrorCode.WrongState, 'no guest is running: launch first');
      if (runtime.hasEnded) throw new AdapterError(ErrorCode.WrongState, 'the guest has ended: its serial port no longer reads input');
      const bytes = new TextEncoder().encode(text);
      if (bytes.length > SERIAL_INPUT_MAX_BYTES) {
        throw new AdapterError(ErrorCode.BadArguments, `'text' is ${bytes.length} bytes; send at most ${SERIAL_INPUT_MAX_BYTES} per request`);
      }
      runtime.machineInstance.serialInput(bytes);
      // Requests are served between run slices, so the machine is at an instruction boundary here.
      if (bytes.length > 0) runtime.reverse.noteStateEdit();
      return { queued: bytes.length };
    },
  };
}
