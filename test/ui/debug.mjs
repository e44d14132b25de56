// UI debugging flow (`npm run test:ui:debug`, after `npm run test:ui` packaged the .vsix): a clean
// code-server (VS Code 1.100) with the packaged extension, the POPF lesson (samples/vmm/popf-demo.asm) open,
// a breakpoint toggled with F9 in the guest's timer handler, F5 to start the trap-and-emulate session
// (stops on entry), the "VMM traps" exception filter ticked and F5 to stop on the first trap the VMM handles,
// the filter unticked and F5 to continue to the timer interrupt the VMM injects, F10 to step. Reads the Call Stack
// and Variables views as a user sees them, saves test-results/debug.png; with --update-docs also copies it
// to docs/images/debugger.png.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installExtension, launchChromium, scratchEnv, startCodeServer, workbenchUrl } from '../../scripts/vscode/code-server.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const vsix = join(repoRoot, `${manifest.name}-${manifest.version}.vsix`);
const screenshot = join(repoRoot, 'test-results', 'debug.png');
const SAMPLE = 'samples/vmm/popf-demo.asm';

/** Scratch workspace with the samples and a launch.json for the POPF lesson; the handler's first line. */
function prepareWorkspace(scratch) {
  const workspace = join(scratch, 'workspace');
  cpSync(join(repoRoot, 'samples'), join(workspace, 'samples'), { recursive: true });
  mkdirSync(join(workspace, '.vscode'));
  // samples/include/multiboot.inc chooses the flat-binary header with `%ifidn __OUTPUT_FORMAT__, bin`, which
  // the adapter's in-memory assembly does not predefine yet, so F5 with no launch.json cannot run this sample.
  writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [{
      type: 'hyperstep', request: 'launch', name: 'HyperStep: POPF lesson (trap-and-emulate)', program: '${workspaceFolder}/' + SAMPLE,
      technique: 'trap-and-emulate', architecture: 'monolithic', stopOnEntry: true, defines: { __OUTPUT_FORMAT__: 'bin' },
    }],
  }, null, 2));
  const lines = readFileSync(join(repoRoot, SAMPLE), 'utf8').split('\n');
  const handlerLine = lines.findIndex((l) => /^timer_handler:/.test(l)) + 2;
  assert.ok(handlerLine > 1, `${SAMPLE} has no timer_handler`);
  return { workspace, handlerLine };
}

/** The rows of a debug view as rendered text (VS Code renders a frame as "<name><file><line>:<column>"). */
const rowsText = (page, view) => page.$$eval(`${view} .monaco-list-row`, (rows) => rows.map((r) => r.textContent?.replace(/\s+/g, ' ').trim() ?? ''));

/** The rows of a view once they have not changed for 1 s (the Variables view refreshes after the stop). */
async function settledRows(page, view) {
  let previous = '';
  let stableSince = Date.now();
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await page.waitForTimeout(200)) {
    const rows = await rowsText(page, view);
    const key = JSON.stringify(rows);
    if (key !== previous) [previous, stableSince] = [key, Date.now()];
    else if (Date.now() - stableSince >= 1000) return rows;
  }
  throw new Error(`${view} did not settle within 20 s`);
}

/** Waits until the Call Stack view lists a row containing `text`; returns all rows. */
async function callStackWith(page, text) {
  await page.waitForFunction((t) => [...document.querySelectorAll('.debug-call-stack .monaco-list-row')].some((r) => r.textContent?.includes(t)), text, { timeout: 60_000 });
  return rowsText(page, '.debug-call-stack');
}

async function main() {
  if (!existsSync(vsix)) throw new Error(`${relative(repoRoot, vsix)} not found: run \`npm run package\` first`);
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'hs-uidbg-'));
  const env = scratchEnv(scratch);
  process.env.TMPDIR = env.TMPDIR;
  const dirs = { userDataDir: join(scratch, 'user-data'), extensionsDir: join(scratch, 'extensions'), env };
  let server;
  let browser;
  let page;
  try {
    installExtension(vsix, dirs);
    const { workspace, handlerLine } = prepareWorkspace(scratch);
    server = await startCodeServer({ ...dirs, logFile: join(scratch, 'code-server.log'), settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(workbenchUrl(server.origin, { folder: workspace }));
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });

    // Quick Open "<file>:<line>" puts the cursor on the handler's first instruction; F9 sets a breakpoint.
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input[type="text"]');
    await input.waitFor();
    await input.fill(`${SAMPLE}:${handlerLine}`);
    await page.locator('.quick-input-list .monaco-list-row').first().waitFor();
    await page.keyboard.press('Enter');
    await page.waitForSelector('.editor-instance .view-lines .view-line', { timeout: 30_000 });
    await page.waitForTimeout(1000);
    await page.keyboard.press('F9');
    await page.waitForSelector('.codicon-debug-breakpoint', { timeout: 10_000 });

    const f5 = Date.now();
    await page.keyboard.press('F5');
    await page.waitForSelector('.debug-toolbar', { timeout: 60_000 });
    const entry = await callStackWith(page, 'popf-demo.asm');
    console.log(`F5 → stopped on entry in ${((Date.now() - f5) / 1000).toFixed(1)} s; call stack: ${JSON.stringify(entry)}`);

    // Tick "VM exits by SDM reason (VMM traps)" in the Breakpoints view: the next trap stops the guest inside the
    // VMM's handler — the Call Stack shows the VMM frame on top, the trap separator and the guest frame below.
    const vmmTraps = page.locator('.debug-breakpoints .monaco-list-row', { hasText: 'VM exits by SDM reason' }).locator('input[type="checkbox"]');
    await vmmTraps.check();
    await page.keyboard.press('F5');
    const inVmm = await callStackWith(page, 'VMM: ');
    console.log(`VMM traps filter → call stack: ${JSON.stringify(inVmm)}`);
    assert.match(inVmm[0] ?? '', /^VMM: /, 'the top frame is not the VMM handler');
    assert.ok(inVmm.some((r) => /^trap #GP: /.test(r)), 'no trap separator under the VMM frame');
    assert.ok(inVmm.some((r) => /popf-demo\.asm\d+:/.test(r)), 'no guest frame under the separator');
    await vmmTraps.uncheck();

    await page.keyboard.press('F5');
    const atTick = await callStackWith(page, 'timer_handler');
    console.log(`continue → timer interrupt; call stack: ${JSON.stringify(atTick)}`);
    assert.ok(atTick[0]?.includes('timer_handler') && atTick[0].includes(`popf-demo.asm${handlerLine}:`), `top frame is not the handler line: ${atTick[0]}`);
    assert.ok(atTick.some((r) => /inject vector 0x20/.test(r)), 'no separator for the VMM\'s interrupt injection');
    assert.ok(atTick.slice(1).some((r) => /^_start\.\w+popf-demo\.asm\d+:/.test(r)), 'no interrupted guest frame under the separator');

    await page.keyboard.press('F10');
    const stepped = await callStackWith(page, `popf-demo.asm${handlerLine + 1}:`);
    console.log(`F10 → call stack: ${JSON.stringify(stepped)}`);
    await page.waitForSelector('.debug-variables .monaco-list-row', { timeout: 30_000 });
    // The Run and Debug side bar holds several views, so eip and eflags may sit below the Variables view's fold:
    // scroll it (the list renders only the visible rows) and collect what it shows.
    const seen = new Set(await settledRows(page, '.debug-variables'));
    const showsRegisters = () => [...seen].some((r) => /^eip =0x[0-9a-f]{8}$/.test(r)) && [...seen].some((r) => /^eflags =0x[0-9a-f]{8} \[.*IF.*\]$/.test(r));
    for (let scrolls = 0; scrolls < 5 && !showsRegisters(); scrolls++) {
      await page.locator('.debug-variables .monaco-list').first().hover();
      await page.mouse.wheel(0, 120);
      for (const row of await settledRows(page, '.debug-variables')) seen.add(row);
    }
    const variables = [...seen];
    console.log(`variables: ${JSON.stringify(variables)}`);
    assert.ok(showsRegisters(), 'the Variables view does not show the guest registers (eip, eflags decoded)');

    mkdirSync(dirname(screenshot), { recursive: true });
    await page.waitForTimeout(500);
    await page.screenshot({ path: screenshot });
    // Error toasts a user would see (e.g. a variables request the adapter rejected) are reported, not hidden.
    const toasts = await page.$$eval('.notifications-toasts .notification-list-item-message', (els) => els.map((e) => e.textContent?.trim() ?? ''));
    if (toasts.length > 0) console.warn(`WARNING: notifications shown during the debug session: ${JSON.stringify(toasts)}`);
    console.log(`screenshot: ${relative(repoRoot, screenshot)}`);
    if (process.argv.includes('--update-docs')) {
      mkdirSync(join(repoRoot, 'docs', 'images'), { recursive: true });
      copyFileSync(screenshot, join(repoRoot, 'docs', 'images', 'debugger.png'));
      console.log('copied to docs/images/debugger.png');
    }
    await page.keyboard.press('Shift+F5');
    await page.waitForSelector('.debug-toolbar', { state: 'hidden', timeout: 30_000 });
    console.log(`UI debug flow passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
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
  console.error(`UI debug flow FAILED: ${error?.message ?? error}`);
  process.exit(1);
});
