// The `hyperstep` debugger as VS Code sees it: F5 on an open .asm file with no launch.json resolves to a
// launch of that file; "create a launch.json" writes HyperStep's initial configurations; the dynamic
// list offers one configuration per virtualization technique. A catch-all provider registered by the test
// observes what VS Code would hand to the debug adapter, then cancels the launch.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fixtureUri, hyperStep, waitFor, workspaceFolder } from './helpers';

const TECHNIQUES = ['native', 'trap-and-emulate', 'binary-translation', 'paravirtual', 'hardware-assisted'];

/** Records the configurations VS Code resolves for any debug type and cancels each launch. */
function observeResolvedConfigurations(): { seen: vscode.DebugConfiguration[]; dispose(): void } {
  const seen: vscode.DebugConfiguration[] = [];
  const registration = vscode.debug.registerDebugConfigurationProvider('*', {
    resolveDebugConfigurationWithSubstitutedVariables(_folder, config) {
      seen.push(config);
      return undefined; // abort the launch: no debug adapter is needed to check the resolution
    },
  });
  return { seen, dispose: () => registration.dispose() };
}

suite('hyperstep debug configurations', () => {
  teardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('F5 with no launch.json resolves an empty configuration to the current .asm file', async () => {
    const observer = observeResolvedConfigurations();
    try {
      const asm = fixtureUri('hello.asm');
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(asm));
      // The command behind F5: with no launch.json VS Code picks the debugger for the editor's language
      // and passes an empty configuration to its providers.
      await vscode.commands.executeCommand('workbench.action.debug.start');
      const config = await waitFor('a resolved hyperstep configuration', () => observer.seen.find((c) => c.type === 'hyperstep'));
      assert.equal(config.request, 'launch');
      assert.equal(config.program, asm.fsPath, '${file} must be substituted with the open .asm file');
      assert.equal(config.technique, 'trap-and-emulate');
      assert.equal(config.architecture, 'monolithic');
      assert.equal(config.stopOnEntry, true);
      assert.match(String(config.name), /HyperStep/);
    } finally {
      observer.dispose();
    }
  });

  test('a configuration without program is rejected before launch', async () => {
    const observer = observeResolvedConfigurations();
    try {
      const pending = vscode.debug.startDebugging(workspaceFolder(), { type: 'hyperstep', request: 'launch', name: 'no program' });
      // The provider explains the problem in an error notification and cancels once it is dismissed.
      await new Promise((r) => setTimeout(r, 1000));
      await vscode.commands.executeCommand('notifications.clearAll');
      assert.equal(await pending, false);
      assert.deepEqual(observer.seen.filter((c) => c.type === 'hyperstep'), [], 'a config without program reached the adapter');
    } finally {
      observer.dispose();
    }
  });

  test('creating launch.json writes the initial configurations', async () => {
    const launchJson = vscode.Uri.joinPath(workspaceFolder().uri, '.vscode', 'launch.json');
    await vscode.workspace.fs.delete(launchJson, { useTrash: false }).then(undefined, () => undefined);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(fixtureUri('hello.asm')));
    // "Run and Debug: Add Configuration / create a launch.json": guesses the debugger from the .asm editor.
    await vscode.commands.executeCommand('workbench.action.debug.configure');
    const text = await waitFor('.vscode/launch.json', async () => {
      try {
        return new TextDecoder().decode(await vscode.workspace.fs.readFile(launchJson));
      } catch {
        return undefined;
      }
    });
    const configurations = parseJsonWithComments(text).configurations as vscode.DebugConfiguration[];
    const ours = configurations.filter((c) => c.type === 'hyperstep');
    assert.ok(ours.length > 0, `launch.json has no hyperstep configuration:\n${text}`);
    for (const config of ours) {
      assert.equal(config.request, 'launch');
      assert.equal(config.program, '${file}');
      assert.ok(TECHNIQUES.includes(config.technique), `unknown technique ${config.technique}`);
    }
    assert.ok(ours.some((c) => c.technique === 'trap-and-emulate'), 'the default technique is trap-and-emulate');
    await vscode.workspace.fs.delete(launchJson, { useTrash: false });
  });

  test('the manifest declares the debugger for the language with initial configurations', () => {
    const debuggers = (hyperStep().packageJSON.contributes?.debuggers ?? []) as { type: string; languages?: string[]; initialConfigurations?: unknown[] }[];
    const ours = debuggers.find((d) => d.type === 'hyperstep');
    assert.ok(ours, 'no hyperstep debugger contributed');
    assert.deepEqual(ours.languages, ['hyperstep-nasm']);
    assert.ok((ours.initialConfigurations ?? []).length > 0);
  });

  test('the dynamic configurations offer one launch per technique', async () => {
    // VS Code has no API to list another extension's dynamic configurations, so this asks the provider
    // class inside the real host; test/ui/smoke.mjs checks the registered one through the workbench list.
    const { HyperStepConfigurationProvider } = await import('../../src/extension/debugConfiguration');
    const configurations = await new HyperStepConfigurationProvider().provideDebugConfigurations();
    assert.deepEqual(configurations.map((c) => c.technique), TECHNIQUES);
    for (const config of configurations) {
      assert.equal(config.type, 'hyperstep');
      assert.equal(config.request, 'launch');
      assert.equal(config.program, '${file}');
    }
  });
});

/** launch.json is JSON with comments: drop // and block comments outside strings, then trailing commas. */
function parseJsonWithComments(text: string): { configurations: unknown[] } {
  const withoutComments = text.replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_m, string: string | undefined) => string ?? '');
  return JSON.parse(withoutComments.replace(/,(\s*[}\]])/g, '$1')) as { configurations: unknown[] };
}
