// SPDX-License-Identifier: MIT
// The in-process DAP client the debug-adapter and reverse benchmarks share: drives a HyperStepDebugSession
// through handleMessage/onDidSendMessage exactly as VS Code's inline debug-adapter host does (no socket), with
// promise-returning requests and one-shot event waits.
import type { DebugProtocol } from '@vscode/debugprotocol';
import { nodeFileAccess } from '../src/debug-adapter/nodeFiles';
import type { DebugRuntime } from '../src/debug-adapter/runtime';
import { HyperStepDebugSession } from '../src/debug-adapter/session';

export class InlineClient {
  private seq = 1;
  private readonly pending = new Map<number, (r: DebugProtocol.Response) => void>();
  private readonly waiters: { event: string; resolve: (e: DebugProtocol.Event) => void }[] = [];
  readonly session = new HyperStepDebugSession({ files: nodeFileAccess });

  constructor() {
    this.session.onDidSendMessage((m) => {
      const msg = m as DebugProtocol.ProtocolMessage;
      if (msg.type === 'response') {
        const r = msg as DebugProtocol.Response;
        this.pending.get(r.request_seq)?.(r);
        this.pending.delete(r.request_seq);
      } else if (msg.type === 'event') {
        const e = msg as DebugProtocol.Event;
        const k = this.waiters.findIndex((w) => w.event === e.event);
        if (k >= 0) this.waiters.splice(k, 1)[0]!.resolve(e);
      }
    });
  }

  /** Sends a request; resolves with the response, rejects with the adapter's message on failure. */
  request(command: string, args: unknown = {}): Promise<DebugProtocol.Response> {
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, (r) => (r.success ? resolve(r) : reject(new Error(`${command}: ${r.message}`))));
      this.session.handleMessage({ seq, type: 'request', command, arguments: args } as DebugProtocol.Request);
    });
  }

  /** Resolves with the next event of this name (register before sending what triggers it). */
  event(name: string): Promise<DebugProtocol.Event> {
    return new Promise((resolve) => this.waiters.push({ event: name, resolve }));
  }

  /** The runtime behind the session (private there; read here only to report the history's figures). */
  get runtime(): DebugRuntime {
    return (this.session as unknown as { runtime: DebugRuntime }).runtime;
  }
}
