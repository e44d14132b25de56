// UI smoke test (`npm run test:ui`): installs the packaged .vsix into a clean code-server (VS Code 1.100),
// opens a guest .asm sample in headless Chromium, and checks what a user sees: the status bar names
// HyperStep's language, a privileged mnemonic (cli) is coloured differently from a plain one (mov), and
// the hyperstep debugger offers its dynamic launch configurations.
// Saves test-results/ui-smoke.png; with --update-docs also copies it to docs/images/editor.png.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installExtension, launchChromium, scratchEnv, startCodeServer, workbenchUrl } from '../../scripts/vscode/code-server.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const vsix = join(repoRoot, `${manifest.name}-${manifest.version}.vsix`);
const screenshot = join(repoRoot, 'test-results', 'ui-smoke.png');
const PREFERRED_SAMPLE = 'samples/vmm/popf-demo.asm';
const FALLBACK_SAMPLE = 'test/ui/fixtures/privileged.asm';

/** The guest to open, copied into a scratch workspace, and the 1-based line of its first `cli`. */
function prepareWorkspace(scratch) {
  const workspace = join(scratch, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const source = existsSync(join(repoRoot, PREFERRED_SAMPLE)) ? PREFERRED_SAMPLE : FALLBACK_SAMPLE;
  if (existsSync(join(repoRoot, 'samples'))) cpSync(join(repoRoot, 'samples'), join(workspace, 'samples'), { recursive: true });
  cpSync(join(repoRoot, source), join(workspace, source));
  const lines = readFileSync(join(repoRoot, source), 'utf8').split('\n');
  const cliLine = lines.findIndex((l) => /^\s*cli\b/.test(l)) + 1;
  assert.ok(cliLine > 0, `${source} has no cli instruction to look at`);
  return { workspace, file: source, cliLine };
}

/** Rendered token spans whose text is exactly `word` in the visible editor lines: class and line text. */
function tokenSpans(page, word) {
  return page.$$eval('.editor-instance .view-lines .view-line span span', (spans, w) =>
    spans.filter((s) => s.textContent?.trim() === w)
      .map((s) => ({ className: s.className, line: s.closest('.view-line')?.textContent?.trim() ?? '' })), word);
}

/**
 * Waits until the colouring has not changed for 3 s: TextMate tokens come first, the language server's
 * semantic tokens later, and those repaint the mnemonics (which once merged cli and mov into one colour).
 */
async function settledTokens(page) {
  let previous = '';
  let stableSince = Date.now();
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    const snapshot = { cli: await tokenSpans(page, 'cli'), mov: await tokenSpans(page, 'mov') };
    const key = JSON.stringify(snapshot);
    if (key !== previous) stableSince = Date.now();
    else if (Date.now() - stableSince >= 3000 && snapshot.cli.length > 0 && snapshot.mov.length > 0) return snapshot;
    previous = key;
    await page.waitForTimeout(500);
  }
  throw new Error('the editor colouring did not settle within 45 s');
}

/**
 * "Debug: Select and Start Debugging" lists HyperStep among the debuggers with dynamic configurations;
 * choosing it shows the configurations its registered provider returns (one per technique).
 */
async function checkDynamicConfigurations(page) {
  const input = page.locator('.quick-input-widget input[type="text"]');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  await page.keyboard.press('Control+Shift+P');
  await input.fill('>Debug: Select and Start Debugging');
  await rows.filter({ hasText: 'Select and Start Debugging' }).first().click();
  const ours = rows.filter({ hasText: manifest.contributes.debuggers[0].label });
  await ours.first().waitFor({ timeout: 30_000 });
  await ours.first().click();
  await page.waitForFunction(() => {
    const labels = [...document.querySelectorAll('.quick-input-list .monaco-list-row')].map((r) => r.textContent ?? '');
    return labels.length > 0 && labels.every((l) => l.includes('HyperStep:'));
  }, undefined, { timeout: 30_000 });
  // Each configuration is listed once per place it could be saved to (workspace, user settings).
  const labels = [...new Set((await page.locator('.quick-input-list .monaco-list-row .label-name').allTextContents()).map((l) => l.trim()))];
  console.log(`dynamic configurations: ${labels.join(' | ')}`);
  assert.equal(labels.length, manifest.contributes.debuggers[0].configurationAttributes.launch.properties.technique.enum.length,
    'expected one dynamic configuration per technique');
  await page.keyboard.press('Escape');
}

async function main() {
  if (!existsSync(vsix)) throw new Error(`${relative(repoRoot, vsix)} not found: run \`npm run package\` first`);
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'hs-ui-'));
  const env = scratchEnv(scratch);
  process.env.TMPDIR = env.TMPDIR; // Chromium's profile and crash files stay in the scratch dir too
  const dirs = { userDataDir: join(scratch, 'user-data'), extensionsDir: join(scratch, 'extensions'), env };
  let server;
  let browser;
  let page;
  try {
    console.log(installExtension(vsix, dirs));
    const { workspace, file, cliLine } = prepareWorkspace(scratch);
    server = await startCodeServer({ ...dirs, logFile: join(scratch, 'code-server.log'), settings: {
      'workbench.colorTheme': 'Default Dark Modern',
      // The samples' %include files live in samples/include (what `-I samples/include` gives nasm).
      'hyperstep.includePaths': [join(workspace, 'samples', 'include')],
    } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(workbenchUrl(server.origin, { folder: workspace }));
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });

    // Quick Open "<file>:<line>" opens the guest with its first cli in view.
    await page.locator('.monaco-workbench').click({ position: { x: 640, y: 300 } }).catch(() => {});
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input[type="text"]');
    await input.waitFor();
    await input.fill(`${file}:${cliLine}`);
    await page.locator('.quick-input-list .monaco-list-row').first().waitFor();
    await page.keyboard.press('Enter');
    await page.waitForSelector('.editor-instance .view-lines .view-line', { timeout: 30_000 });

    const languageName = manifest.contributes.languages.find((l) => l.id === 'hyperstep-nasm').aliases[0];
    const mode = page.locator('.statusbar-item[id="status.editor.mode"]');
    await page.waitForFunction(
      (expected) => document.querySelector('.statusbar-item[id="status.editor.mode"]')?.textContent?.includes(expected),
      languageName, { timeout: 30_000 },
    ).catch(() => {});
    const modeText = (await mode.textContent())?.trim();
    assert.equal(modeText, languageName, 'the status bar language mode is not HyperStep\'s');

    // Tokenization (TextMate, then semantic tokens) settles asynchronously: wait until both words render.
    await page.waitForFunction(() => {
      const words = [...document.querySelectorAll('.editor-instance .view-lines .view-line span span')].map((s) => s.textContent?.trim());
      return words.includes('cli') && words.includes('mov');
    }, undefined, { timeout: 30_000 });
    const { cli, mov } = await settledTokens(page);
    const classes = (spans) => [...new Set(spans.map((t) => t.className))].join(' | ');
    console.log(`token classes: cli → ${classes(cli)}; mov → ${classes(mov)}`);
    const clashes = mov.filter((m) => cli.some((c) => c.className === m.className));
    assert.deepEqual(clashes, [], 'cli (privileged) and mov (plain) render with the same token class');

    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot });
    console.log(`screenshot: ${relative(repoRoot, screenshot)}`);
    await checkDynamicConfigurations(page);
    if (process.argv.includes('--update-docs')) {
      mkdirSync(join(repoRoot, 'docs', 'images'), { recursive: true });
      copyFileSync(screenshot, join(repoRoot, 'docs', 'images', 'editor.png'));
      console.log('copied to docs/images/editor.png');
    }
    console.log(`UI smoke test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    if (page) {
      mkdirSync(dirname(screenshot), { recursive: true });
      const failed = screenshot.replace(/\.png$/, '-failed.png');
      await page.screenshot({ path: failed }).then(() => console.error(`failure screenshot: ${relative(repoRoot, failed)}`), () => {});
    }
    throw error;
  } finally {
    await browser?.close().catch(() => {});
    server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`UI smoke test FAILED: ${error?.message ?? error}`);
  process.exit(1);
});
