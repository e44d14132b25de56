// The bundled server (dist/languageServer.js, what the extension ships and starts) speaks LSP over stdio.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';

const bundle = join(__dirname, '..', '..', '..', 'dist', 'languageServer.js');

describe('language server bundle', () => {
  it('starts as a process and answers initialize and hover', async function () {
    assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build (npm test does)`);
    const child = spawn(process.execPath, [bundle, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    rpc.listen();
    try {
      const init = (await rpc.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {} })) as { serverInfo: { name: string }; capabilities: Record<string, unknown> };
      assert.equal(init.serverInfo.name, 'HyperStep NASM language server');
      assert.ok(init.capabilities.semanticTokensProvider);
      await rpc.sendNotification('initialized', {});
      await rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: 'file:///a.asm', languageId: 'hyperstep-nasm', version: 1, text: 'sidt [x]\n' } });
      const hover = (await rpc.sendRequest('textDocument/hover', { textDocument: { uri: 'file:///a.asm' }, position: { line: 0, character: 1 } })) as { contents: { value: string } };
      assert.match(hover.contents.value, /sidt/);
    } finally {
      rpc.dispose();
      child.kill();
    }
  });
});
