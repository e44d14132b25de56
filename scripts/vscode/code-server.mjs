// Shared plumbing for running HyperStep in real VS Code offline: a private scratch environment, a
// code-server process on 127.0.0.1 (its own process group, killed as a group), the `?payload=` workbench
// URL that loads an unpacked extension or extension-host tests, .vsix installation, and headless Chromium.
// Used by the fake VS Code executable (code-shim.mjs), the UI smoke test and `npm run vscode`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureCodeServer } from './install-code-server.mjs';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Chromium flags for a headless run with no network side channels (reference §8). */
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** User settings that keep the workbench quiet and deterministic (no welcome page, trust prompt or updates). */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'workbench.tips.enabled': false,
  'update.mode': 'none',
};

/** Environment that keeps HOME, XDG dirs and TMPDIR inside `root`, so nothing lands in ~/.config. */
export function scratchEnv(root, base = process.env) {
  const home = join(root, 'home');
  const tmp = join(root, 'tmp');
  for (const dir of [home, tmp, join(home, '.config'), join(home, '.local', 'share')]) mkdirSync(dir, { recursive: true });
  return { ...base, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share'), TMPDIR: tmp };
}

/** A free TCP port on 127.0.0.1 (asked from the OS, released just before code-server binds it). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function writeUserSettings(userDataDir, extraSettings) {
  const userDir = join(userDataDir, 'User');
  mkdirSync(userDir, { recursive: true });
  const file = join(userDir, 'settings.json');
  if (!existsSync(file)) writeFileSync(file, JSON.stringify({ ...USER_SETTINGS, ...extraSettings }, null, 2));
}

function commonArgs(userDataDir, extensionsDir) {
  return ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--disable-telemetry', '--disable-update-check'];
}

/** `code-server --install-extension <vsix>` into the given dirs; throws with code-server's output on failure. */
export function installExtension(vsix, { userDataDir, extensionsDir, env }) {
  const entry = ensureCodeServer({ quiet: true });
  const result = spawnSync(process.execPath, [entry, ...commonArgs(userDataDir, extensionsDir), '--install-extension', vsix], {
    env, encoding: 'utf8',
  });
  if (result.status !== 0 || /failed|error/i.test(result.stderr ?? '')) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout.trim();
}

/**
 * Starts code-server detached on 127.0.0.1 and waits for /healthz. Returns { port, origin, stop }.
 * `stop()` kills the whole process group: extension hosts otherwise linger after the browser leaves.
 */
export async function startCodeServer({ userDataDir, extensionsDir, env, logFile, port, workspace, extraArgs = [], settings = {} }) {
  const entry = ensureCodeServer({ quiet: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeUserSettings(userDataDir, settings);
  const chosenPort = port ?? (await freePort());
  const configFile = join(env.TMPDIR, `code-server-${chosenPort}.yaml`);
  writeFileSync(configFile, `bind-addr: 127.0.0.1:${chosenPort}\nauth: none\ncert: false\n`);
  const envExtra = (process.env.HYPERSTEP_CODE_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = [
    entry, '--config', configFile, ...commonArgs(userDataDir, extensionsDir),
    '--disable-workspace-trust', '--disable-getting-started-override', ...extraArgs, ...envExtra,
    ...(workspace ? [workspace] : []),
  ];
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited = false;
  child.once('exit', () => { exited = true; });
  const stop = () => {
    if (exited || child.pid === undefined) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 2000).unref();
  };
  const origin = `http://127.0.0.1:${chosenPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`code-server exited during start-up; see ${logFile}`);
    try {
      const response = await fetch(`${origin}/healthz`);
      if (response.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { stop(); throw new Error(`code-server did not answer ${origin}/healthz within 30 s; see ${logFile}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port: chosenPort, origin, pid: child.pid, stop, exited: () => exited };
}

/**
 * The workbench URL. `developmentPaths` load unpacked extensions, `testsPath` runs extension-host tests,
 * `kind: 'web'` puts the development extension in the web-worker extension host (reference §6).
 */
export function workbenchUrl(origin, { folder, file, developmentPaths = [], testsPath, kind } = {}) {
  const remote = (path) => `vscode-remote://${new URL(origin).host}${path}`;
  const payload = developmentPaths.map((p) => ['extensionDevelopmentPath', remote(p)]);
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  if (kind) payload.push(['extensionDevelopmentKind', kind]);
  const query = [];
  if (folder) query.push(`folder=${encodeURIComponent(folder)}`);
  if (file) query.push(`file=${encodeURIComponent(file)}`);
  if (payload.length) query.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  return `${origin}/${query.length ? `?${query.join('&')}` : ''}`;
}

/** Headless Debian Chromium through playwright-core (no browser download). */
export async function launchChromium() {
  const executablePath = process.env.HYPERSTEP_CHROMIUM ?? DEFAULT_CHROMIUM;
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: apt-get install -y chromium (or set HYPERSTEP_CHROMIUM)`);
  }
  const { chromium } = await import(process.env.HYPERSTEP_PLAYWRIGHT ?? 'playwright-core');
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

