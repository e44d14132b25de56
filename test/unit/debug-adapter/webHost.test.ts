// SPDX-License-Identifier: MIT
// The session in a web extension host: bundled for platform=browser with the same 'events'/'url'
// stand-ins esbuild.mjs uses for dist/web/extension.js, then run in a bare JavaScript context with no
// require, process, Buffer or setImmediate, driven through handleMessage/onDidSendMessage exactly as
// vscode.DebugAdapterInlineImplementation does. Proves the inline adapter has no Node dependency.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import * as esbuild from 'esbuild';
import { KERNEL } from './harness';

const ROOT = join(__dirname, '..', '..', '..');

interface Message { type: string; command?: string; event?: string; success?: boolean; body?: Record<string, unknown>; request_seq?: number }

describe('debug adapter in a browser-like host (no Node APIs)', function () {
  this.timeout(30_000);

  it('launches, runs and exits a guest through the inline message interface', async () => {
    const built = await esbuild.build({
      entryPoints: [join(__dirname, 'fixtures', 'webEntry.ts')], bundle: true, write: false, platform: 'browser', format: 'iife',
      globalName: 'HyperStepWeb', mainFields: ['browser', 'module', 'main'], target: 'es2022', logLevel: 'silent',
      alias: { events: join(ROOT, 'src/debug-adapter/web/events.ts'), url: join(ROOT, 'src/debug-adapter/web/url.ts') },
    });
    const code = built.outputFiles[0]!.text;
    const sandbox: Record<string, unknown> = { setTimeout, clearTimeout, TextDecoder, TextEncoder, URL, console, queueMicrotask };
    createContext(sandbox);
    runInContext(code, sandbox);
    const { HyperStepDebugSession } = sandbox['HyperStepWeb'] as { HyperStepDebugSession: new (o: unknown) => {
      onDidSendMessage(l: (m: Message) => void): void; handleMessage(m: unknown): void; } };
    const text = readFileSync(KERNEL);
    const session = new HyperStepDebugSession({ files: { readFile: async (p: string) => (p === KERNEL ? new Uint8Array(text) : undefined) } });
    const seen: Message[] = [];
    const waiters: { test: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
    session.onDidSendMessage((m) => {
      seen.push(m);
      for (const w of [...waiters]) if (w.test(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    });
    const wait = (test: (m: Message) => boolean): Promise<Message> => {
      const found = seen.find(test);
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ test, resolve }));
    };
    let seq = 1;
    const request = (command: string, args: unknown = {}): Promise<Message> => {
      const s = seq++;
      session.handleMessage({ seq: s, type: 'request', command, arguments: args });
      return wait((m) => m.type === 'response' && m.request_seq === s);
    };
    assert.equal((await request('initialize', { adapterID: 'hyperstep', pathFormat: 'path' })).success, true);
    assert.equal((await request('launch', { program: KERNEL, technique: 'native', stopOnEntry: true })).success, true);
    await wait((m) => m.event === 'initialized');
    await request('configurationDone');
    await wait((m) => m.event === 'stopped');
    await request('continue', { threadId: 1 });
    await wait((m) => m.event === 'stopped' && (m.body?.['description'] as string).includes('xchg'));
    await request('continue', { threadId: 1 });
    const exited = await wait((m) => m.event === 'exited');
    assert.equal(exited.body?.['exitCode'], 7);
    const output = seen.filter((m) => m.event === 'output' && m.body?.['category'] === 'stdout').map((m) => m.body?.['output']).join('');
    assert.match(output, /hello from the debuggee/);
  });
});
