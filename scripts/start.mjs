// `npm start` (after `npm run build`): the README's front door. Runs the bundled mini-kernel under
// trap-and-emulate on a monolithic VMM with the command-line tool, so the student sees the guest's COM1 output
// and then the cost summary per layer, and exits 0 when the guest ends the way samples/vmm/minikernel.asm
// documents (debug-exit 0x10, process status (0x10 << 1) | 1 = 33).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXPECTED_STATUS = (0x10 << 1) | 1;
const args = ['run', 'samples/vmm/minikernel.asm', '--technique', 'trap-and-emulate', '--architecture', 'monolithic'];

console.log(`$ node dist/cli.js ${args.join(' ')}`);
const run = spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, stdio: 'inherit' });
if (run.error) {
  console.error(`npm start: could not run dist/cli.js: ${run.error.message} (run \`npm run build\` first)`);
  process.exit(1);
}
if (run.status !== EXPECTED_STATUS) {
  console.error(`npm start: the mini-kernel ended with status ${run.status}, expected ${EXPECTED_STATUS} (its debug-exit 0x10)`);
  process.exit(1);
}
console.log(`
The guest ended as designed (debug-exit 0x10 → status ${EXPECTED_STATUS}). Try next:
  node dist/cli.js run samples/hello/hello.asm                                     (bare metal, no VMM)
  node dist/cli.js run samples/vmm/minikernel.asm --technique trap-and-emulate --architecture hosted --trace
  node dist/cli.js run samples/vmm/minikernel-pv.asm --technique paravirtual --architecture microkernel
  node dist/cli.js run samples/vmm/popf-demo.asm --technique trap-and-emulate      (POPF loses the interrupt state)
  node dist/cli.js run --help`);
