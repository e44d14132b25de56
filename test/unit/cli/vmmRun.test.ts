// `hyperstep run --technique … --architecture …` as a user runs it: src/cli/main.ts bundled with esbuild (as
// `node esbuild.mjs` does for dist/cli.js, into a scratch directory) and spawned on the real samples. Equivalence of guest output across techniques, the architecture's path in the --trace lines
// of one `out` to COM1, the --json ledger, the POPF lesson, unimplemented techniques, bad options and limits.
// Each run is well under a second (the mini-kernel retires ~2M instructions natively, ~15k under trap-and-emulate).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { nodeIo, type CliIo } from '../../../src/cli/io';
import { main } from '../../../src/cli/main';
import { RUN_STATUS } from '../../../src/cli/run';
import { VMM_STATUS } from '../../../src/cli/vmmRun';
import { IMPLEMENTED_TECHNIQUES } from '../../../src/emulator/vmm/index';
import { TECHNIQUES } from '../../../src/emulator/vmm/layers';

const REPO_ROOT = path.resolve(__dirname, '../../..');
/** QEMU isa-debug-exit convention: writing v to port 0xF4 ends with (v << 1) | 1. */
const debugExit = (value: number) => (value << 1) | 1;

interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

let cliBundle = '';

/** Bundles the CLI once (like the esbuild.mjs entry for dist/cli.js, ~0.3 s). */
function bundleCli(): string {
  if (cliBundle === '') {
    const outfile = path.join(mkdtempSync(path.join(tmpdir(), 'hyperstep-cli-')), 'cli.js');
    buildSync({ entryPoints: [path.join(REPO_ROOT, 'src/cli/main.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile, logLevel: 'error' });
    cliBundle = outfile;
  }
  return cliBundle;
}

async function hyperstep(...argv: string[]): Promise<CliRun> {
  const run = spawnSync(process.execPath, [bundleCli(), ...argv], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20000, maxBuffer: 64 * 1024 * 1024 });
  if (run.error !== undefined) throw run.error;
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** The same command in this process (main() with a capturing CliIo): for runs that stop early. */
async function hyperstepInProcess(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { ...nodeIo(REPO_ROOT), stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) };
  const status = await main(argv, io);
  return { status, stdout, stderr };
}

const MINIKERNEL_OUTPUT = [
  'minikernel: booting',
  'minikernel: 3 timer ticks',
  'user: hello from ring 3',
  'user: sum 1..100 = 5050',
  'minikernel: #GP from ring 3 (cli), skipped',
  'user: the timer kept ticking',
  'minikernel: user program exited with status 0',
  '',
].join('\n');

/** The sample each technique runs: the paravirtual port for paravirtual, the unmodified kernel otherwise. */
const minikernelFor = (technique: string) => (technique === 'paravirtual' ? 'samples/vmm/minikernel-pv.asm' : 'samples/vmm/minikernel.asm');

describe('hyperstep run under a VMM (CLI)', function () {
  this.timeout(30000);

  it('native (no VMM options) and every implemented technique print the same mini-kernel output and status', async () => {
    const bare = await hyperstep('run', 'samples/vmm/minikernel.asm');
    assert.equal(bare.stdout, MINIKERNEL_OUTPUT, bare.stderr);
    assert.equal(bare.status, debugExit(0x10));
    assert.ok(IMPLEMENTED_TECHNIQUES.length >= 3);
    for (const technique of IMPLEMENTED_TECHNIQUES) {
      const run = await hyperstep('run', minikernelFor(technique), '--technique', technique, '--architecture', 'monolithic');
      assert.equal(run.stdout, MINIKERNEL_OUTPUT, `${technique}: ${run.stderr}`);
      assert.equal(run.status, debugExit(0x10), technique);
      assert.match(run.stderr, new RegExp(`cost summary: ${technique}, monolithic, cost model p4-2006`));
      assert.match(run.stderr, /^ {2}guest kernel +[\d,]+ +\d+\.\d%$/m, 'a per-layer row');
    }
  });

  it('the cost summary names the layers of the architecture and the top reasons with counts and cycles', async () => {
    const run = await hyperstep('run', 'samples/vmm/minikernel.asm', '--technique', 'trap-and-emulate', '--architecture', 'hosted');
    for (const layer of ['guest kernel', 'VMM', 'host OS kernel', 'host user process', 'device']) {
      const row = new RegExp(`^ {2}${layer} +([\\d,]+) +\\d+\\.\\d%$`, 'm').exec(run.stderr);
      assert.ok(row, `row for ${layer} in\n${run.stderr}`);
      assert.ok(Number(row[1]!.replace(/,/g, '')) > 0, `${layer} was charged`);
    }
    assert.match(run.stderr, /^ {2}host OS kernel +world switch VMM→host +[\d,]+ × +[\d,]+ +\d+\.\d%$/m);
    assert.match(run.stderr, /traps, VMM and I\/O path: [\d,]+ cycles/);
  });

  let comOutAddress: string | undefined;

  /** Where the guest keeps an `out dx, al` to COM1's data port 0x3F8 (from --json, not hard-coded). */
  async function firstComOut(): Promise<string> {
    if (comOutAddress === undefined) {
      const json = JSON.parse((await hyperstep('run', 'samples/vmm/minikernel.asm', '--technique', 'trap-and-emulate', '--trace', '--json')).stdout);
      // Intel SDM Table 28-5: the I/O exit qualification holds the port in bits 31:16.
      const trap = json.transitions.find((t: { kind: string; instruction?: { text: string }; details: { qualification?: number } }) =>
        t.kind === 'trap' && t.instruction?.text === 'out dx, al' && (t.details.qualification ?? 0) >>> 16 === 0x3f8);
      assert.ok(trap, 'an out to COM1 trapped');
      comOutAddress = `0x${(trap.instruction.address as number).toString(16).padStart(8, '0')}`;
    }
    return comOutAddress;
  }

  /** The trace lines from the first trap of that `out` up to the guest's resume, without numbers and costs. */
  async function comOutChain(architecture: string): Promise<string[]> {
    const address = await firstComOut();
    const text = await hyperstep('run', 'samples/vmm/minikernel.asm', '--technique', 'trap-and-emulate', '--architecture', architecture, '--trace');
    const lines = text.stderr.split('\n');
    const first = lines.findIndex((line) => / trap {2}/.test(line) && line.includes(`[${address} out dx, al]`));
    assert.ok(first >= 0, `a trace line for the out at ${address}`);
    const end = lines.findIndex((line, index) => index > first && / resume {2}resume after /.test(line));
    return lines.slice(first, end + 1).map((line) => line.replace(/^#\d+ /, '').replace(/ {2}[\d,]+ cycles$/, ''));
  }

  it('--trace: one out to COM1 follows the monolithic path guest kernel → VMM → device → VMM → guest kernel', async () => {
    const chain = await comOutChain('monolithic');
    assert.match(chain[0]!, /^guest kernel → VMM {2}trap {2}#GP: out dx, al at CPL1 {2}\[0x[0-9a-f]{8} out dx, al\]$/);
    assert.deepEqual(chain.slice(1), [
      'VMM → device  io-hop  I/O hop VMM→device: out dx, al',
      'device → VMM  io-hop  I/O hop device→VMM: done',
      'VMM → guest kernel  resume  resume after #GP: out dx, al at CPL1',
    ]);
  });

  it('--trace: under the microkernel architecture the same out goes through the management OS', async () => {
    const chain = await comOutChain('microkernel');
    assert.deepEqual(chain.map((line) => line.split('  ').slice(0, 2).join('  ')), [
      'guest kernel → VMM  trap',
      'VMM → management OS  io-hop',
      'management OS → device  io-hop',
      'device → management OS  io-hop',
      'management OS → VMM  io-hop',
      'VMM → guest kernel  resume',
    ]);
    assert.match(chain[1]!, /ioreq \+ event channel/);
  });

  it('--trace: under the hosted architecture it world-switches to the host OS and its VM process', async () => {
    const chain = await comOutChain('hosted');
    assert.deepEqual(chain.map((line) => line.split('  ').slice(0, 2).join('  ')), [
      'guest kernel → VMM  trap',
      'VMM → host OS kernel  world-switch',
      'host OS kernel → host user process  io-hop',
      'host user process → host OS kernel  trap',
      'host OS kernel → device  io-hop',
      'device → host OS kernel  io-hop',
      'host OS kernel → host user process  resume',
      'host user process → host OS kernel  io-hop',
      'host OS kernel → VMM  world-switch',
      'VMM → guest kernel  resume',
    ]);
    assert.match(chain[1]!, /world switch VMM→host/);
    assert.match(chain[3]!, /host system call write\(\)/);
  });

  it('--json: one document on stdout whose ledger total is the sum of its layers and of its reasons', async () => {
    const run = await hyperstep('run', 'samples/vmm/minikernel.asm', '--technique', 'trap-and-emulate', '--architecture', 'microkernel', '--cost-model', 'modern', '--cost', 'ioHop=777', '--json');
    assert.equal(run.stderr, '');
    const report = JSON.parse(run.stdout);
    assert.equal(report.output, MINIKERNEL_OUTPUT);
    assert.equal(report.exitStatus, debugExit(0x10));
    assert.equal(report.stop.reason, 'guest-exit');
    assert.deepEqual(report.costModel, { preset: 'modern', overrides: { ioHop: 777 } });
    assert.equal(report.transitions, undefined, 'transitions only with --trace');
    assert.ok(report.transitionCount > 0);
    const layerSum = report.ledger.byLayer.reduce((sum: number, row: { cycles: number }) => sum + row.cycles, 0);
    const reasonSum = report.ledger.byReason.reduce((sum: number, row: { cycles: number }) => sum + row.cycles, 0);
    assert.ok(report.ledger.total > 0);
    assert.equal(layerSum, report.ledger.total);
    assert.equal(reasonSum, report.ledger.total);
    assert.ok(report.ledger.byLayer.some((row: { layer: string; cycles: number }) => row.layer === 'management-os' && row.cycles > 0));
    const hop = report.ledger.byReason.find((entry: { reason: string }) => /management OS/.test(entry.reason) && /ioreq/.test(entry.reason));
    assert.ok(hop, 'the microkernel ioreq hop is itemised');
    assert.equal(hop.cycles % 777, 0, 'charged at the overridden ioHop cost');
  });

  it('the POPF demo reports the lost interrupt state under trap-and-emulate, not natively', async () => {
    const native = await hyperstep('run', 'samples/vmm/popf-demo.asm', '--technique', 'native');
    assert.doesNotMatch(native.stdout, /LOST/);
    assert.match(native.stdout, /after popf, pushf shows IF=0/);
    assert.equal(native.status, debugExit(0x10));
    const trapped = await hyperstep('run', 'samples/vmm/popf-demo.asm', '--technique', 'trap-and-emulate');
    assert.match(trapped.stdout, /after popf, pushf shows IF=1/);
    assert.match(trapped.stdout, /interrupt state LOST/);
    assert.equal(trapped.status, debugExit(0x12));
  });

  it('a technique without an engine yet gives one clear line and its own status; implemented ones never do', async () => {
    for (const technique of TECHNIQUES) {
      const run = await hyperstepInProcess('run', 'samples/hello/hello.asm', '--technique', technique, '--instruction-limit', '20000');
      if (IMPLEMENTED_TECHNIQUES.includes(technique)) {
        assert.notEqual(run.status, VMM_STATUS.unimplementedTechnique, technique);
        continue;
      }
      assert.equal(run.status, VMM_STATUS.unimplementedTechnique, technique);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`^hyperstep run: technique '${technique}' is not implemented yet`));
    }
  });

  it('bad VMM options are usage errors with one line per problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--technique', 'emulate'], /--technique must be one of native, trap-and-emulate, binary-translation, paravirtual, hardware-assisted; got 'emulate'/],
      [['--technique', 'native', '--architecture', 'type3'], /--architecture must be one of monolithic, microkernel, hosted; got 'type3'/],
      [['--cost-model', 'p3'], /--cost-model must be one of 'p4-2006', 'modern'/],
      [['--technique', 'trap-and-emulate', '--cost', 'vmExt=10'], /--cost: unknown cost parameter 'vmExt' \(did you mean 'vmExit'\?\)/],
      [['--technique', 'trap-and-emulate', '--cost', 'vmExit'], /--cost needs NAME=CYCLES/],
      [['--technique', 'trap-and-emulate', '--cost', 'vmExit=-5'], /--cost vmExit must be a number of cycles/],
      [['--technique'], /--technique needs a value/],
    ];
    for (const [options, message] of cases) {
      const run = await hyperstepInProcess('run', 'samples/vmm/minikernel.asm', ...options);
      assert.equal(run.status, RUN_STATUS.usage, options.join(' '));
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    }
    const noFile = await hyperstepInProcess('run', '--technique', 'paravirtual');
    assert.equal(noFile.status, RUN_STATUS.usage);
    assert.match(noFile.stderr, /no guest file given/);
  });

  it('the instruction and output limits stop a guest under every implemented technique with a clear message', async () => {
    for (const technique of IMPLEMENTED_TECHNIQUES) {
      const file = minikernelFor(technique);
      const counted = await hyperstepInProcess('run', file, '--technique', technique, '--instruction-limit', '3000');
      assert.equal(counted.status, RUN_STATUS.instructionLimit, `${technique}: ${counted.stderr}`);
      assert.match(counted.stderr, /instruction-limit: stopped after 3000 instructions/);
      const flooded = await hyperstepInProcess('run', file, '--technique', technique, '--output-limit', '10');
      assert.equal(flooded.status, RUN_STATUS.outputLimit, `${technique}: ${flooded.stderr}`);
      assert.match(flooded.stderr, /output-limit: the guest wrote more than 10 bytes/);
    }
  });

  it('the time limit stops a long guest under every implemented technique (checked between 1M-instruction slices)', async () => {
    for (const technique of IMPLEMENTED_TECHNIQUES) {
      // popf-demo spins through many timer periods; the paravirtual mini-kernel waits ~2M instructions for its ticks.
      const file = technique === 'paravirtual' ? 'samples/vmm/minikernel-pv.asm' : 'samples/vmm/popf-demo.asm';
      const run = await hyperstep('run', file, '--technique', technique, '--time-limit', '0.000001');
      assert.equal(run.status, RUN_STATUS.timeLimit, `${technique}: ${run.stderr}`);
      assert.match(run.stderr, /time-limit: time limit of 0\.000001 s reached/);
    }
  });

  it('--dump shows the real CPU and, under trap-and-emulate, the virtual CPU the guest believes in', async () => {
    const run = await hyperstepInProcess('run', 'samples/vmm/redpill.asm', '--technique', 'trap-and-emulate', '--dump');
    assert.match(run.stderr, /^eip=0x[0-9a-f]{8} eflags=0x[0-9a-f]{8} cpl=1/m, 'the kernel really runs in ring 1');
    assert.match(run.stderr, /^virtual cpu: cpl=0 /m, 'but believes it is in ring 0');
    const native = await hyperstepInProcess('run', 'samples/vmm/redpill.asm', '--technique', 'native', '--dump');
    assert.match(native.stderr, /cpl=0/);
    assert.doesNotMatch(native.stderr, /virtual cpu/);
  });
});
