// SPDX-License-Identifier: MIT
// Test harness for the debug adapter: runs HyperStepDebugSession in-process behind a TCP server on an
// ephemeral port and connects @vscode/debugadapter-testsupport's DebugClient to it, so the real DAP
// framing is exercised without a build step. Also helpers to find fixture lines by their BP-* marker.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { nodeFileAccess } from '../../../src/debug-adapter/nodeFiles';
import { HyperStepDebugSession } from '../../../src/debug-adapter/session';

export const FIXTURES = join(__dirname, 'fixtures');
export const KERNEL = join(FIXTURES, 'kernel.asm');
export const SPIN = join(FIXTURES, 'spin.asm');
export const TRAP = join(FIXTURES, 'trap.asm');
export const IRQ = join(FIXTURES, 'irq.asm');
export const TAE = join(FIXTURES, 'tae.asm');

/** 1-based line of the fixture line carrying `marker` (e.g. 'BP-LOOP'). */
export function lineOf(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((l) => l.includes(`; ${marker}`) || l.includes(`;${marker}`) || new RegExp(`\\b${marker}\\b`).test(l.split(';')[1] ?? ''));
  if (index < 0) throw new Error(`marker ${marker} not found in ${file}`);
  return index + 1;
}

export interface Harness {
  readonly client: DebugClient;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const server: Server = createServer((socket) => {
    const session = new HyperStepDebugSession({ files: nodeFileAccess });
    session.setRunAsServer(true);
    session.start(socket, socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const client = new DebugClient('node', 'unused', 'hyperstep');
  client.defaultTimeout = 10_000;
  await client.start(port);
  return {
    client,
    close: async () => {
      await client.stop().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** launch + configurationDone, returning the first stopped event (stopOnEntry). */
export async function launchStopped(client: DebugClient, args: Record<string, unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = client.waitForEvent('stopped');
  await Promise.all([client.configurationSequence(), client.launch({ technique: 'native', stopOnEntry: true, ...args })]);
  return (await stopped) as DebugProtocol.StoppedEvent;
}

export async function topFrame(client: DebugClient): Promise<DebugProtocol.StackFrame> {
  const trace = await client.stackTraceRequest({ threadId: 1 });
  return trace.body.stackFrames[0]!;
}

/** Sends a request and returns the error response (fails if it succeeded). */
export async function expectError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error('expected an error response, got success');
}
