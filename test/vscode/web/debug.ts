// Debugging in the web-worker extension host (issue 7): the inline adapter's sources must be ones the browser
// workbench can open. A breakpoint set in the editor on the POPF sample in the workspace (a vscode-remote: URI
// here) reaches the adapter, the guest stops on it, the stack trace names the .asm by a URI of the workspace's
// file system, and VS Code opens that file at the stopped line (with plain paths it tried file:// and showed
// nothing).
import * as vscode from 'vscode';

type Check = [string, () => Promise<void>];
type Assert = (condition: unknown, message: string) => asserts condition;
type WaitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number) => Promise<T>;

interface Message { readonly type: string; readonly event?: string; readonly command?: string; readonly body?: Record<string, unknown> }
interface Frame { readonly name: string; readonly line: number; readonly source?: { readonly path?: string; readonly sourceReference?: number } }

/** The line of the breakpoint: the first instruction after the boot macro and com1_init. */
const BREAKPOINT_TEXT = 'mov eax, timer_handler';

/** `promise`, or a failure naming `what` after `ms` (a hung workbench call fails the check instead of the run). */
async function within<T>(ms: number, what: string, promise: Thenable<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms); });
  try {
    return await Promise.race([Promise.resolve(promise), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function debugChecks(check: Assert, waitFor: WaitFor): Check[] {
  return [
    ['a breakpoint on the POPF sample stops a session in the web host with the guest frame on the .asm, opened in the editor', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      check(folder, 'no workspace folder');
      // The walkthrough's command copies the samples into the workspace and opens the POPF lesson.
      const sample = (await within(20_000, 'hyperstep.openSample', vscode.commands.executeCommand('hyperstep.openSample'))) as vscode.TextEditor;
      const uri = sample.document.uri;
      check(uri.scheme !== 'file', `the web host should see a remote workspace, got ${uri.toString()}`);
      const BREAKPOINT_LINE = sample.document.getText().split('\n').findIndex((l) => l.trim() === BREAKPOINT_TEXT) + 1;
      check(BREAKPOINT_LINE > 0, `no line '${BREAKPOINT_TEXT}' in ${uri.toString()}`);
      await within(10_000, 'closing the editors', vscode.commands.executeCommand('workbench.action.closeAllEditors'));
      const breakpoint = new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(BREAKPOINT_LINE - 1, 0)));
      vscode.debug.addBreakpoints([breakpoint]);
      const seen: Message[] = [];
      const tracker = vscode.debug.registerDebugAdapterTrackerFactory('hyperstep', {
        createDebugAdapterTracker: () => ({ onDidSendMessage: (m: Message) => void seen.push(m) }),
      });
      let session: vscode.DebugSession | undefined;
      try {
        const started = new Promise<vscode.DebugSession>((resolve) => {
          const l = vscode.debug.onDidStartDebugSession((s) => { if (s.type === 'hyperstep') { l.dispose(); resolve(s); } });
        });
        const ok = await within(30_000, 'startDebugging', vscode.debug.startDebugging(folder, {
          type: 'hyperstep', request: 'launch', name: 'web: breakpoint', program: uri.toString(), technique: 'native', stopOnEntry: true,
        }));
        check(ok, 'startDebugging returned false');
        session = await within(10_000, 'the session start event', started);
        // Stopped on entry first (startDebugging has returned by then), then continue to the breakpoint.
        await waitFor('the entry stop', async () => seen.find((m) => m.type === 'event' && m.event === 'stopped'), 30_000);
        const bpResponse = seen.find((m) => m.type === 'response' && m.command === 'setBreakpoints');
        const verified = (bpResponse?.body?.['breakpoints'] as { verified: boolean; source?: { path?: string } }[] | undefined)?.[0];
        check(verified?.verified === true, `setBreakpoints on ${uri.toString()} was not verified: ${JSON.stringify(bpResponse?.body)}`);
        seen.length = 0;
        await within(10_000, 'continue', session.customRequest('continue', { threadId: 1 }));
        const stop = await waitFor('the stop on the breakpoint', async () => seen.find((m) => m.type === 'event' && m.event === 'stopped'), 30_000);
        check(stop.body?.['reason'] === 'breakpoint', `stopped for ${JSON.stringify(stop.body)}`);
        // The workbench's stackTrace for THIS stop: one it asked for the entry stop may still be answered after the
        // continue was sent, so only a response after the stopped event counts.
        const trace = await waitFor('the workbench\'s stackTrace', async () => seen.slice(seen.indexOf(stop) + 1).find((m) => m.type === 'response' && m.command === 'stackTrace'), 10_000);
        const top = (trace.body?.['stackFrames'] as Frame[])[0]!;
        check(top.line === BREAKPOINT_LINE, `top frame at line ${top.line}`);
        check(top.source?.path !== undefined && vscode.Uri.parse(top.source.path).toString() === uri.toString(), `top frame source ${top.source?.path}, expected ${uri.toString()}`);
        // VS Code opens the stopped frame's source: the .asm, revealed at the breakpoint line.
        await waitFor('the .asm opened at the stopped line', async () => {
          const active = vscode.window.activeTextEditor;
          return active?.document.uri.toString() === uri.toString() && active.selection.active.line === BREAKPOINT_LINE - 1 ? true : undefined;
        }, 15_000).catch((e: unknown) => {
          const active = vscode.window.activeTextEditor;
          throw new Error(`${String(e)}: active editor ${active?.document.uri.toString()} at line ${(active?.selection.active.line ?? -2) + 1}`);
        });
        console.log(`HYPERSTEP_WEB_DEBUG stopped at ${top.name} ${top.source.path}:${top.line}`);
      } catch (error) {
        const trace = seen.map((m) => `${m.type}:${m.command ?? m.event}${m.type === 'response' && m.command === 'setBreakpoints' ? JSON.stringify(m.body) : ''}`).join(' ');
        throw new Error(`${error instanceof Error ? error.message : String(error)}; adapter sent: ${trace}`);
      } finally {
        tracker.dispose();
        vscode.debug.removeBreakpoints([breakpoint]);
        if (session !== undefined) await within(10_000, 'stopDebugging', vscode.debug.stopDebugging(session));
      }
    }],
  ];
}
