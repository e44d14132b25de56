// The guest's COM1 as an integrated terminal: for a hyperstep session launched with "serialTerminal": true, a
// pseudoterminal shows what the guest writes to its serial port (the adapter's stdout output events, seen by a
// debug adapter tracker) and sends what the user types to the guest's receiver with the adapter's
// `hyperstep.serialInput` request. The Debug Console keeps showing the output too. Works in the Node and the
// web extension host alike (no Node APIs).
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './ids';

/** The adapter's custom request (src/debug-adapter/serialRequests.ts). */
const SERIAL_INPUT_REQUEST = 'hyperstep.serialInput';

interface DapMessage {
  readonly type?: string;
  readonly event?: string;
  readonly body?: { readonly category?: string; readonly output?: string; readonly exitCode?: number };
}

/** A terminal's output as the user saw it, for the extension-host tests. */
export interface SerialTerminalTranscript {
  readonly sessionId: string;
  readonly name: string;
  /** Everything written to the terminal so far (guest output with CR LF line ends, and notices). */
  readonly written: string;
}

/** Terminal line discipline: the guest may end lines with a bare LF; a terminal needs CR LF to return to column 0. */
export function toTerminalText(guestText: string): string {
  return guestText.replace(/\r?\n/g, '\r\n');
}

class SerialTerminal implements vscode.Disposable {
  private readonly writes = new vscode.EventEmitter<string>();
  private readonly terminal: vscode.Terminal;
  private opened = false;
  private pending = '';
  written = '';

  constructor(private readonly session: vscode.DebugSession) {
    const pty: vscode.Pseudoterminal = {
      onDidWrite: this.writes.event,
      open: () => {
        this.opened = true;
        this.flush();
      },
      close: () => undefined,
      handleInput: (data) => this.sendToGuest(data),
    };
    this.terminal = vscode.window.createTerminal({ name: `HyperStep COM1 · ${session.name}`, pty, isTransient: true });
    this.terminal.show(true);
  }

  get name(): string {
    return this.terminal.name;
  }

  write(text: string): void {
    this.written += text;
    this.pending += text;
    this.flush();
  }

  private flush(): void {
    if (!this.opened || this.pending === '') return;
    this.writes.fire(this.pending);
    this.pending = '';
  }

  private sendToGuest(data: string): void {
    this.session.customRequest(SERIAL_INPUT_REQUEST, { text: data }).then(undefined, (e: unknown) => {
      this.write(`\r\n[HyperStep: input not delivered: ${e instanceof Error ? e.message : String(e)}]\r\n`);
    });
  }

  dispose(): void {
    this.writes.dispose();
  }
}

/** Registers the tracker that opens a serial terminal for sessions that ask for one; returns their transcripts. */
export function registerSerialTerminals(context: vscode.ExtensionContext): () => SerialTerminalTranscript[] {
  const terminals = new Map<string, SerialTerminal>();
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
      createDebugAdapterTracker(session) {
        if (session.configuration['serialTerminal'] !== true) return undefined;
        const terminal = new SerialTerminal(session);
        terminals.set(session.id, terminal);
        context.subscriptions.push(terminal);
        return {
          onDidSendMessage: (message: DapMessage) => {
            if (message.type !== 'event') return;
            if (message.event === 'output' && message.body?.category === 'stdout' && typeof message.body.output === 'string') {
              terminal.write(toTerminalText(message.body.output));
            } else if (message.event === 'exited') {
              terminal.write(`\r\n[HyperStep: the guest ended with exit status ${message.body?.exitCode ?? '?'}]\r\n`);
            }
          },
        };
      },
    }),
  );
  return () => [...terminals].map(([sessionId, t]) => ({ sessionId, name: t.name, written: t.written }));
}
