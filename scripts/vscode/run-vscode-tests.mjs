// `npm run test:vscode`: builds the extension and the extension-host suites, then runs them inside real
// VS Code 1.100 (code-server + headless Chromium) through @vscode/test-electron with the fake executable
// scripts/vscode/code-shim.mjs: first the mocha suites in the Node extension host, then the activation,
// language-server and views checks in the web-worker extension host. Exits non-zero if any run fails; prints activation times.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { runTests } from '@vscode/test-electron';
import { ensureCodeServer } from './install-code-server.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shim = join(repoRoot, 'scripts', 'vscode', 'code-shim.mjs');

function build() {
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed');
  // The web-worker suite is a browser bundle (the Node one keeps mocha external, which a worker cannot load).
  return esbuild.build({
    entryPoints: [join(repoRoot, 'test/vscode/web/index.ts')],
    outfile: join(repoRoot, 'dist/test/vscode/web/index.js'),
    bundle: true, platform: 'browser', format: 'cjs', target: 'es2022', external: ['vscode'], logLevel: 'warning',
  });
}

/** Runs one test-electron session in a fresh scratch dir (workspace copy, user data, extensions). */
async function runSession(label, extraArgs, locate) {
  const scratch = mkdtempSync(join(tmpdir(), 'hs-vt-'));
  const workspace = join(scratch, 'workspace');
  cpSync(join(repoRoot, 'test/vscode/fixtures/workspace'), workspace, { recursive: true });
  const output = new PassThrough();
  const activations = [];
  output.on('data', (chunk) => {
    process.stdout.write(chunk);
    for (const match of chunk.toString().matchAll(/HYPERSTEP_ACTIVATION (.*)/g)) activations.push(match[1]);
  });
  const { developmentPath, testsPath } = locate(scratch);
  const started = Date.now();
  console.log(`\n── VS Code extension host: ${label}`);
  try {
    await runTests({
      vscodeExecutablePath: shim,
      extensionDevelopmentPath: developmentPath,
      extensionTestsPath: testsPath,
      launchArgs: [workspace, `--user-data-dir=${join(scratch, 'user-data')}`, `--extensions-dir=${join(scratch, 'extensions')}`, ...extraArgs],
      stdout: output,
      extensionTestsEnv: { HYPERSTEP_SHIM_TMPDIR: scratch },
    });
    return { label, ok: true, seconds: (Date.now() - started) / 1000, activations };
  } catch (error) {
    console.error(`${label}: ${error instanceof Error ? error.message : error}`);
    return { label, ok: false, seconds: (Date.now() - started) / 1000, activations };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * A copy of the extension without its Node `main`: the 1.100 web workbench ignores the payload's
 * extensionDevelopmentKind and would run a main+browser extension in the remote Node host, so the web run
 * loads this copy, which VS Code can only run in the web-worker host (from its `browser` bundle). The tests
 * bundle goes inside the copy: VS Code runs tests in the host of the extension whose folder holds them.
 */
function webOnlyCopy(scratch) {
  const target = join(scratch, 'web-extension');
  mkdirSync(target, { recursive: true });
  for (const path of ['dist/web', 'dist/test/vscode/web', 'syntaxes', 'snippets', 'language-configuration.json', 'README.md', 'media', 'samples']) {
    if (existsSync(join(repoRoot, path))) cpSync(join(repoRoot, path), join(target, path), { recursive: true });
  }
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  delete manifest.main;
  writeFileSync(join(target, 'package.json'), JSON.stringify(manifest, null, 2));
  return { developmentPath: target, testsPath: join(target, 'dist/test/vscode/web/index.js') };
}

async function main() {
  await build();
  ensureCodeServer();
  chmodSync(shim, 0o755);
  const only = process.env.HYPERSTEP_VSCODE_HOST; // 'node' or 'web' to run one host only
  const results = [];
  if (only !== 'web') {
    results.push(await runSession('node (mocha suites)', [], () => ({ developmentPath: repoRoot, testsPath: join(repoRoot, 'dist/test/vscode/index.js') })));
  }
  if (only !== 'node') {
    results.push(await runSession('web worker (activation, language server, views)', ['--extensionDevelopmentKind=web'], webOnlyCopy));
  }
  console.log('\nVS Code 1.100 (code-server) results:');
  for (const r of results) {
    console.log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.label}  ${r.seconds.toFixed(1)} s${r.activations.length ? `  [${r.activations.join('; ')}]` : ''}`);
  }
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}

main().catch((error) => {
  console.error(`test:vscode: ${error?.stack ?? error}`);
  process.exit(2);
});
