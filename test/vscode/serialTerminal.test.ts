// The guest's COM1 as an integrated terminal, in the real VS Code extension host: a session of the echo sample
// launched with "serialTerminal": true opens a terminal that shows the guest's prompt; text sent to the
// terminal reaches the guest through the adapter's hyperstep.serialInput request, its answer appears in the
// terminal, and "bye" ends the guest with its exit status shown.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hyperStep, waitFor, workspaceFolder } from './helpers';

interface SerialTranscript {
  readonly sessionId: string;
  readonly name: string;
  readonly written: string;
}

function transcriptOf(session: vscode.DebugSession): SerialTranscript | undefined {
  const api = hyperStep().exports as unknown as { serialTerminals: () => SerialTranscript[] };
  return api.serialTerminals().find((t) => t.sessionId === session.id);
}

async function written(session: vscode.DebugSession, text: string): Promise<string> {
  return waitFor(`"${JSON.stringify(text)}" in the serial terminal`, () => {
    const t = transcriptOf(session);
    return t !== undefined && t.written.includes(text) ? t.written : undefined;
  }, 30_000);
}

suite('hyperstep serial terminal in VS Code', function () {
  this.timeout(90_000);

  teardown(async () => {
    if (vscode.debug.activeDebugSession !== undefined) await vscode.debug.stopDebugging();
  });

  test('a session with serialTerminal opens a terminal wired to the guest COM1', async () => {
    const program = path.join(hyperStep().extensionPath, 'samples', 'hello', 'echo.asm');
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const listener = vscode.debug.onDidStartDebugSession((s) => {
        if (s.type !== 'hyperstep') return;
        listener.dispose();
        resolve(s);
      });
    });
    const ok = await vscode.debug.startDebugging(workspaceFolder(), {
      type: 'hyperstep', request: 'launch', name: 'echo over COM1', program, technique: 'native', serialTerminal: true,
    });
    assert.ok(ok, 'startDebugging failed');
    const session = await started;
    const terminal = await waitFor('the COM1 terminal', () => vscode.window.terminals.find((t) => t.name === 'HyperStep COM1 · echo over COM1'));
    await written(session, 'echo> ');
    terminal.sendText('hi there\r', false);
    await written(session, 'hi there\r\nHI THERE\r\necho> ');
    terminal.sendText('bye\r', false);
    const all = await written(session, 'exit status 33');
    assert.match(all, /^echo> hi there\r\nHI THERE\r\necho> bye\r\nbye\r\n/);
  });
});
