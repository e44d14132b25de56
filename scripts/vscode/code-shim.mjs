#!/usr/bin/env node
// A fake VS Code executable for @vscode/test-electron's `runTests({ vscodeExecutablePath })`: the VS Code
// download server is unreachable here, so this shim takes the same command line as the Electron `code`,
// serves the real VS Code 1.100 workbench with code-server, drives it with headless Chromium, runs the
// extension-host tests through the `?payload=` URL and exits with their result (0 pass, 1 fail,
// 2 harness failure, 124 timeout). `--extensionDevelopmentKind=web` is passed on in the payload; note that
// the 1.100 web workbench runs a development extension in the web-worker host only if it has no `main`.
// Environment overrides: HYPERSTEP_SHIM_TIMEOUT_MS, HYPERSTEP_SHIM_TMPDIR, HYPERSTEP_CHROMIUM,
// HYPERSTEP_PLAYWRIGHT, HYPERSTEP_CODE_SERVER_DIR, HYPERSTEP_CODE_SERVER_ARGS, HYPERSTEP_SHIM_KEEP=1.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { launchChromium, scratchEnv, startCodeServer, workbenchUrl } from './code-server.mjs';

/** Flags the Electron `code` accepts that mean nothing for a browser workbench. */
const IGNORED_FLAGS = /^--(no-sandbox|disable-gpu-sandbox|disable-updates|skip-welcome|skip-release-notes|no-cached-data|disable-workspace-trust|disable-extensions|disable-telemetry|new-window|wait|verbose|crash-reporter-id|logsPath|log)(=|$)/;

/** The parts of a `code` command line the shim honours. */
export function parseCodeArgs(argv) {
  const parsed = { developmentPaths: [], testsPath: undefined, userDataDir: undefined, extensionsDir: undefined, target: undefined, kind: undefined };
  for (const arg of argv) {
    const [flag, ...rest] = arg.split('=');
    const value = rest.join('=');
    if (flag === '--extensionDevelopmentPath') parsed.developmentPaths.push(resolve(value));
    else if (flag === '--extensionTestsPath') parsed.testsPath ??= resolve(value);
    else if (flag === '--user-data-dir') parsed.userDataDir = resolve(value);
    else if (flag === '--extensions-dir') parsed.extensionsDir = resolve(value);
    else if (flag === '--extensionDevelopmentKind') parsed.kind = value;
    else if (arg.startsWith('-')) {
      if (!IGNORED_FLAGS.test(arg)) console.error(`[code-shim] ignoring ${arg}`);
    } else parsed.target ??= resolve(arg);
  }
  return parsed;
}

async function main() {
  const args = parseCodeArgs(process.argv.slice(2));
  const timeoutMs = Number(process.env.HYPERSTEP_SHIM_TIMEOUT_MS ?? 300_000);
  const scratch = mkdtempSync(join(process.env.HYPERSTEP_SHIM_TMPDIR ?? tmpdir(), 'hs-'));
  const env = scratchEnv(scratch);
  const userDataDir = args.userDataDir ?? join(scratch, 'user-data');
  const extensionsDir = args.extensionsDir ?? join(scratch, 'extensions');
  mkdirSync(userDataDir, { recursive: true });
  const logFile = join(scratch, 'code-server.log');
  let server;
  let browser;
  let exitCode = 2;
  const cleanUp = async () => {
    await browser?.close().catch(() => {});
    server?.stop();
    if (process.env.HYPERSTEP_SHIM_KEEP === '1') console.error(`[code-shim] kept ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  };
  const interrupted = () => { cleanUp().finally(() => process.exit(130)); };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    server = await startCodeServer({ userDataDir, extensionsDir, env, logFile });
    const isFile = args.target !== undefined && existsSync(args.target) && statSync(args.target).isFile();
    const url = workbenchUrl(server.origin, {
      folder: isFile ? undefined : args.target,
      file: isFile ? args.target : undefined,
      developmentPaths: args.developmentPaths,
      testsPath: args.testsPath,
      kind: args.kind,
    });
    if (process.env.HYPERSTEP_SHIM_DEBUG === '1') console.error(`[code-shim] ${url}`);
    browser = await launchChromium();
    const page = await browser.newPage();
    // Mocha output arrives as console messages: a `%c` styled prefix, its style, then the real arguments.
    page.on('console', async (message) => {
      const text = message.text();
      if (process.env.HYPERSTEP_SHIM_DEBUG === '1' && !text.startsWith('%c')) console.error(`[browser ${message.type()}] ${text.slice(0, 400)}`);
      if (!text.startsWith('%c')) return;
      const values = await Promise.all(message.args().slice(2).map((a) => a.jsonValue().catch(() => '?')));
      console.log(format(...values));
    });
    page.on('pageerror', (error) => console.error(`[code-shim] page error: ${error.message}`));
    if (process.env.HYPERSTEP_SHIM_DEBUG === '1') {
      // Webviews are iframes: show their navigations and failed loads.
      page.on('framenavigated', (frame) => { if (frame !== page.mainFrame()) console.error(`[frame] ${frame.url().slice(0, 200)}`); });
      page.on('requestfailed', (request) => console.error(`[request failed] ${request.url().slice(0, 200)} ${request.failure()?.errorText}`));
      page.on('response', (response) => { if (response.status() >= 400) console.error(`[response ${response.status()}] ${response.url().slice(0, 200)}`); });
    }
    let settle;
    const finished = new Promise((r) => { settle = r; });
    await page.exposeFunction('codeAutomationExit', (code) => settle(typeof code === 'number' ? code : 1));
    await page.goto(url);
    let timer;
    const timedOut = new Promise((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    const outcome = await Promise.race([finished, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      console.error(`[code-shim] no result after ${timeoutMs} ms; code-server log follows`);
      console.error(readFileSync(logFile, 'utf8').slice(-4000));
      exitCode = 124;
    } else exitCode = outcome;
  } catch (error) {
    console.error(`[code-shim] ${error?.stack ?? error}`);
    if (existsSync(logFile)) console.error(readFileSync(logFile, 'utf8').slice(-4000));
    exitCode = 2;
  } finally {
    await cleanUp();
  }
  process.exit(exitCode);
}

main();
