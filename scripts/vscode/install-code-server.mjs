// Installs code-server (the real VS Code 1.100 workbench and extension host, served to a browser) into a
// cache folder on first use, so the VS Code test harness never becomes a dependency of the extension.
// Idempotent: a finished install of the pinned version is reused. Usable as a script or as a module.
// The four install fixes are explained in docs of the harness (README "Running HyperStep in real VS Code").
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
/** code-server 4.90.3 … 4.100.3 run on Node 20 (newer ones need Node 22+). */
const REQUIRED_NODE_MAJOR = 20;
/** @vscode/ripgrep 1.15.11 (pulled in by code-server) fetches this archive unless it is already cached. */
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_ARCHIVE = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
const RIPGREP_VERSION = '13.0.0';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where code-server lives: HYPERSTEP_CODE_SERVER_DIR, else <repo>/.cache/code-server/<version>. */
export function codeServerDir() {
  return process.env.HYPERSTEP_CODE_SERVER_DIR ?? join(repoRoot, '.cache', 'code-server', CODE_SERVER_VERSION);
}

/** The code-server launcher inside an install, or undefined if the install is missing or another version. */
export function installedCodeServer(dir = codeServerDir()) {
  const manifest = join(dir, 'node_modules', 'code-server', 'package.json');
  const entry = join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!existsSync(join(dir, '.install-complete')) || !existsSync(manifest) || !existsSync(entry)) return undefined;
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  return version === CODE_SERVER_VERSION ? entry : undefined;
}

class InstallError extends Error {}

function which(tool) {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function checkPrerequisites() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== REQUIRED_NODE_MAJOR) {
    throw new InstallError(`code-server ${CODE_SERVER_VERSION} needs Node ${REQUIRED_NODE_MAJOR}; this is Node ${process.versions.node}.`);
  }
  // Fix 2: the `kerberos` native module compiles against the GSS-API headers.
  if (!existsSync('/usr/include/gssapi/gssapi.h')) {
    throw new InstallError('missing GSS-API headers (needed to build code-server\'s kerberos module): apt-get install -y libkrb5-dev');
  }
  const rg = which('rg');
  if (!rg) throw new InstallError('missing ripgrep (code-server\'s search needs it and cannot download it offline): apt-get install -y ripgrep');
  const rgVersion = spawnSync(rg, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  if (!rgVersion.startsWith(`ripgrep ${RIPGREP_VERSION}`)) {
    console.warn(`warning: ${rg} is not ripgrep ${RIPGREP_VERSION} (${rgVersion.split('\n')[0]}); code-server expects ${RIPGREP_VERSION}.`);
  }
  return { rg };
}

/** Fix 3: @vscode/ripgrep's postinstall unpacks a cached archive from $TMPDIR instead of downloading it. */
function prefillRipgrepCache(tmpDir, rg) {
  const staging = join(tmpDir, 'rg-staging');
  const cacheDir = join(tmpDir, `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  mkdirSync(staging, { recursive: true });
  mkdirSync(cacheDir, { recursive: true });
  copyFileSync(rg, join(staging, 'rg'));
  const tar = spawnSync('tar', ['czf', join(cacheDir, RIPGREP_ARCHIVE), '-C', staging, 'rg'], { stdio: 'inherit' });
  if (tar.status !== 0) throw new InstallError('could not build the ripgrep cache archive with tar');
}

/** Node headers for node-gyp: use the ones installed next to this Node when present (offline-safe). */
function nodeHeadersDir() {
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
}

/** Installs code-server if needed; returns the path of its entry script. */
export function ensureCodeServer({ quiet = false } = {}) {
  const dir = codeServerDir();
  const ready = installedCodeServer(dir);
  if (ready) {
    if (!quiet) console.log(`code-server ${CODE_SERVER_VERSION} already installed in ${dir}`);
    return ready;
  }
  const { rg } = checkPrerequisites();
  const started = Date.now();
  console.log(`Installing code-server ${CODE_SERVER_VERSION} into ${dir} (first use only, about a minute)…`);
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}.staging-`);
  const tmpDir = mkdtempSync(join(dirname(dir), 'tmp-'));
  try {
    prefillRipgrepCache(tmpDir, rg);
    writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'hyperstep-code-server-cache', private: true }, null, 2));
    const headers = nodeHeadersDir();
    const env = {
      ...process.env,
      TMPDIR: tmpDir,
      npm_config_unsafe_perm: 'true', // fix 1: code-server's postinstall refuses to run as root otherwise
      npm_config_yes: 'true', // fix 4: node-pty's postinstall runs `npx node-gyp`, which must not prompt
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      ...(headers ? { npm_config_nodedir: headers } : {}),
    };
    const npm = spawnSync('npm', ['install', '--no-save', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], {
      cwd: staging,
      env,
      stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    });
    if (npm.status !== 0) {
      throw new InstallError(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${npm.status ?? npm.signal}); see the npm output above.`);
    }
    writeFileSync(join(staging, '.install-complete'), `${CODE_SERVER_VERSION}\n`);
    if (!installedCodeServer(staging)) throw new InstallError(`npm finished but ${staging} holds no usable code-server ${CODE_SERVER_VERSION}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  console.log(`code-server ${CODE_SERVER_VERSION} installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return installedCodeServer(dir);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    ensureCodeServer();
  } catch (error) {
    console.error(`install-code-server: ${error instanceof InstallError ? error.message : error?.stack ?? error}`);
    process.exit(1);
  }
}
