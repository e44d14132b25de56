// Entry point of the extension-host test run (node host): @vscode/test-electron, through the harness in
// scripts/vscode, makes VS Code load this bundle and call `run()`; it resolves when every suite passed.
// The suites are bundled into this file, so they are registered in order once mocha's globals exist.
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 30_000, reporter: 'spec' });
  mocha.suite.emit(Mocha.Suite.constants.EVENT_FILE_PRE_REQUIRE, globalThis, 'hyperstep-vscode-suites', mocha);
  // Activation first: it checks that nothing activated HyperStep before its activation events.
  await import('./activation.test');
  await import('./language.test');
  await import('./snippets.test');
  await import('./debugConfiguration.test');
  await import('./debug.test');
  await import('./views.test');
  await import('./serialTerminal.test');
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} extension-host test(s) failed`);
}
