// `npm run vscode`: try HyperStep without installing VS Code. Builds the extension, starts code-server
// (VS Code 1.100 in the browser) on 127.0.0.1 with HyperStep loaded from this checkout and the samples
// folder open, prints the URL and runs until Ctrl+C. Options: --port N (default 3210 or the next free
// one), --folder PATH (default samples). The profile lives in .cache/vscode-profile (kept between runs).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, scratchEnv, startCodeServer, workbenchUrl } from './code-server.mjs';
import { ensureCodeServer } from './install-code-server.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

function portIsFree(port) {
  return new Promise((r) => {
    const probe = createServer().once('error', () => r(false)).listen(port, '127.0.0.1', () => probe.close(() => r(true)));
  });
}

/** Links this checkout into the extensions dir as an installed extension, so any workbench URL loads it. */
function linkExtension(extensionsDir) {
  const { publisher, name, version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  mkdirSync(extensionsDir, { recursive: true });
  const link = join(extensionsDir, `${publisher}.${name}-${version}`);
  if (existsSync(link) || lstatSync(link, { throwIfNoEntry: false })) rmSync(link, { recursive: false, force: true });
  symlinkSync(repoRoot, link, 'dir');
}

async function main() {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  ensureCodeServer();
  const profile = join(repoRoot, '.cache', 'vscode-profile');
  const env = scratchEnv(profile);
  const userDataDir = join(profile, 'user-data');
  const extensionsDir = join(profile, 'extensions');
  linkExtension(extensionsDir);
  const requested = Number(option('port', '3210'));
  const port = (await portIsFree(requested)) ? requested : await freePort();
  const folder = resolve(option('folder', join(repoRoot, 'samples')));
  const logFile = join(profile, 'code-server.log');
  // The samples' %include files live in samples/include (nasm -I samples/include).
  const settings = { 'hyperstep.includePaths': [join(repoRoot, 'samples', 'include')] };
  const server = await startCodeServer({ userDataDir, extensionsDir, env, logFile, port, settings });
  const stop = () => {
    server.stop();
    console.log('\ncode-server stopped.');
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`\nHyperStep in VS Code ${'1.100'} (code-server) is running. Open in a browser:\n\n  ${workbenchUrl(server.origin, { folder })}\n`);
  console.log(`Log: ${logFile}. Press Ctrl+C to stop.`);
  const watchdog = setInterval(() => {
    if (server.exited()) {
      console.error(`code-server exited; see ${logFile}`);
      process.exit(1);
    }
  }, 1000);
  watchdog.unref();
  await new Promise(() => {}); // until Ctrl+C
}

main().catch((error) => {
  console.error(`npm run vscode: ${error?.message ?? error}`);
  process.exit(1);
});
