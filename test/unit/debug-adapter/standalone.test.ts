// SPDX-License-Identifier: MIT
// The standalone adapter bundle (dist/debugAdapter.js, built by `npm run build`): DAP over stdio with a
// spawned process, and over TCP with `--server=PORT`. Both run the same session as the inline adapter.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { KERNEL, lineOf } from './harness';

const BUNDLE = join(__dirname, '..', '..', '..', 'dist', 'debugAdapter.js');

function requireBundle(): void {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first (npm test does)`);
}

async function runToExit(client: DebugClient): Promise<void> {
  const inner = lineOf(KERNEL, 'BP-INNER');
  await client.hitBreakpoint({ program: KERNEL, technique: 'native' }, { path: KERNEL, line: inner });
  await client.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [] });
  const magic = client.waitForEvent('stopped'); // the guest's xchg bx, bx
  await client.continueRequest({ threadId: 1 });
  await magic;
  const exited = client.waitForEvent('exited');
  await client.continueRequest({ threadId: 1 });
  assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 7);
}

describe('standalone debug adapter (dist/debugAdapter.js)', function () {
  this.timeout(30_000);

  it('speaks DAP over stdio', async () => {
    requireBundle();
    const client = new DebugClient('node', BUNDLE, 'hyperstep');
    await client.start();
    try {
      await runToExit(client);
    } finally {
      await client.stop();
    }
  });

  it('serves sessions over TCP with --server=PORT', async () => {
    requireBundle();
    const child: ChildProcess = spawn(process.execPath, [BUNDLE, '--server=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        child.stderr!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const m = /listening on port (\d+)/.exec(text);
          if (m !== null) resolve(Number(m[1]));
        });
        child.on('exit', (code) => reject(new Error(`adapter exited with ${code}: ${text}`)));
      });
      const client = new DebugClient('node', BUNDLE, 'hyperstep');
      await client.start(port);
      try {
        await runToExit(client);
      } finally {
        await client.stop();
      }
    } finally {
      child.kill();
    }
  });
});
