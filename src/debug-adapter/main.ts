// SPDX-License-Identifier: MIT
// The standalone debug adapter: `node dist/debugAdapter.js` speaks DAP over stdin/stdout;
// `node dist/debugAdapter.js --server=PORT` listens on a TCP port and serves one session per connection
// (any DAP client, or VS Code's "debugServer" launch attribute). stdout carries DAP only: diagnostics go
// to stderr.
import { createServer, type AddressInfo } from 'node:net';
import { nodeFileAccess } from './nodeFiles';
import { HyperStepDebugSession } from './session';

function serverPort(argv: readonly string[]): number | undefined {
  for (const a of argv) {
    const m = /^--server=(\d+)$/.exec(a);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

const port = serverPort(process.argv.slice(2));
if (port === undefined) {
  const session = new HyperStepDebugSession({ files: nodeFileAccess });
  session.start(process.stdin, process.stdout);
} else {
  const server = createServer((socket) => {
    const session = new HyperStepDebugSession({ files: nodeFileAccess });
    session.setRunAsServer(true);
    session.start(socket, socket);
  });
  server.listen(port, () => {
    const address = server.address() as AddressInfo;
    process.stderr.write(`HyperStep debug adapter listening on port ${address.port}\n`);
  });
}
