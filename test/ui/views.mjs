// UI flow of the views (`npm run test:ui:views`, after `npm run test:ui` packaged the .vsix): a clean code-server
// (VS Code 1.100) with the packaged extension, the POPF lesson open, a breakpoint (F9) where the lesson reports
// the lost interrupts, F5 (stop on entry) and F5 again to run the guest under trap-and-emulate to it; then
// "HyperStep: Show VMM Activity" from the command palette: the webview's timeline, histogram and event table
// are read inside its iframe, an event row is clicked and the editor must jump to that guest line; then
// "HyperStep: Compare Techniques" draws its chart. Prints the time from command to a drawn activity view and
// the number of events; saves test-results/activity.png and compare.png (with --update-docs also
// docs/images/activity.png and compare.png).
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installExtension, launchChromium, scratchEnv, startCodeServer, workbenchUrl } from '../../scripts/vscode/code-server.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const vsix = join(repoRoot, `${manifest.name}-${manifest.version}.vsix`);
const results = join(repoRoot, 'test-results');
const SAMPLE = 'samples/vmm/popf-demo.asm';

/** Scratch workspace with the samples and a launch.json for the POPF lesson; the line to stop at. */
function prepareWorkspace(scratch) {
  const workspace = join(scratch, 'workspace');
  cpSync(join(repoRoot, 'samples'), join(workspace, 'samples'), { recursive: true });
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [{
      type: 'hyperstep', request: 'launch', name: 'HyperStep: POPF lesson (trap-and-emulate)', program: '${workspaceFolder}/' + SAMPLE,
      technique: 'trap-and-emulate', architecture: 'monolithic', stopOnEntry: true,
    }],
  }, null, 2));
  const lines = readFileSync(join(repoRoot, SAMPLE), 'utf8').split('\n');
  const lostLine = lines.findIndex((l) => /^\.lost:/.test(l)) + 2; // first instruction after the label
  assert.ok(lostLine > 1, `${SAMPLE} has no .lost label`);
  return { workspace, lostLine };
}

/** Runs a command from the command palette by its title. */
async function runCommand(page, title) {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input[type="text"]');
  await input.waitFor();
  await input.fill(`>${title}`);
  try {
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  } catch (error) {
    await page.keyboard.press('Escape');
    throw error;
  }
  await page.keyboard.press('Enter');
}

/**
 * The content frame of the webview page that has an element `marker` (VS Code nests each page in two iframes),
 * and the outer iframe element of that webview (for screenshots).
 */
async function webviewFrame(page, marker, timeout = 60_000) {
  for (const deadline = Date.now() + timeout; Date.now() < deadline; await page.waitForTimeout(250)) {
    for (const frame of page.frames()) {
      if ((await frame.$(marker).catch(() => null)) === null) continue;
      const outer = frame.parentFrame();
      const element = outer === null ? null : await outer.frameElement().catch(() => null);
      return { frame, element };
    }
  }
  throw new Error(`no webview with ${marker} appeared within ${timeout} ms`);
}

/** Gives the active webview the whole window for a screenshot (side bar and panel closed, its group maximized). */
async function focusWebviewLayout(page, maximize) {
  await runCommand(page, 'View: Close Primary Side Bar').catch(() => {});
  await runCommand(page, 'View: Hide Panel').catch(() => {});
  if (maximize) await runCommand(page, 'View: Toggle Maximize Editor Group').catch((e) => console.warn(`could not maximize the editor group: ${e.message}`));
  await page.waitForTimeout(1000);
}

async function main() {
  if (!existsSync(vsix)) throw new Error(`${relative(repoRoot, vsix)} not found: run \`npm run package\` first`);
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'hs-uiviews-'));
  const env = scratchEnv(scratch);
  process.env.TMPDIR = env.TMPDIR;
  const dirs = { userDataDir: join(scratch, 'user-data'), extensionsDir: join(scratch, 'extensions'), env };
  let server;
  let browser;
  let page;
  try {
    installExtension(vsix, dirs);
    const { workspace, lostLine } = prepareWorkspace(scratch);
    server = await startCodeServer({ ...dirs, logFile: join(scratch, 'code-server.log'), settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(workbenchUrl(server.origin, { folder: workspace }));
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });

    // Quick Open "<file>:<line>", F9 on the line where the lesson reports the lost interrupts.
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input[type="text"]');
    await input.waitFor();
    await input.fill(`${SAMPLE}:${lostLine}`);
    await page.locator('.quick-input-list .monaco-list-row').first().waitFor();
    await page.keyboard.press('Enter');
    await page.waitForSelector('.editor-instance .view-lines .view-line', { timeout: 30_000 });
    await page.waitForTimeout(1000);
    await page.keyboard.press('F9');
    await page.waitForSelector('.codicon-debug-breakpoint', { timeout: 10_000 });

    // F5: stop on entry; the status bar names the technique. F5 again: run to the breakpoint.
    await page.keyboard.press('F5');
    await page.waitForSelector('.debug-toolbar', { timeout: 60_000 });
    const status = page.locator('.statusbar-item', { hasText: 'trap-and-emulate · monolithic' });
    await status.first().waitFor({ timeout: 30_000 });
    console.log(`status bar: ${(await status.first().textContent())?.trim()}`);
    await page.waitForFunction(() => [...document.querySelectorAll('.debug-call-stack .monaco-list-row')].some((r) => r.textContent?.includes('popf-demo.asm')), null, { timeout: 60_000 });
    await page.keyboard.press('F5');
    await page.waitForFunction((l) => [...document.querySelectorAll('.debug-call-stack .monaco-list-row')].some((r) => r.textContent?.includes(`popf-demo.asm${l}:`)), lostLine, { timeout: 120_000 });
    console.log(`stopped at popf-demo.asm:${lostLine} (interrupts lost under trap-and-emulate)`);

    // The VMM activity view: time from the command to a drawn timeline and table.
    const commandAt = Date.now();
    await runCommand(page, 'HyperStep: Show VMM Activity');
    // The drawn timeline marks the live page: a first webview that does not say 'ready' in time is reopened by the
    // extension (dataPanel.ts), and a frame found before that is detached.
    const { frame: activity, element: activityFrame } = await webviewFrame(page, '#timeline svg circle.event', 90_000);
    await activity.locator('#timeline svg circle.event').first().waitFor({ timeout: 60_000 });
    await activity.locator('#events tbody tr').first().waitFor({ timeout: 30_000 });
    const drawnMs = Date.now() - commandAt;
    const dots = await activity.locator('#timeline svg circle.event').count();
    const rows = await activity.locator('#events tbody tr').count();
    const bars = await activity.locator('#histogram svg rect').count();
    const summary = (await activity.locator('#header .summary').textContent())?.trim();
    console.log(`activity view drawn ${drawnMs} ms after the command: ${dots} timeline events, ${rows} table rows, ${bars} histogram bars; ${summary}`);
    assert.ok(dots > 100, `only ${dots} events on the timeline`);
    assert.ok(bars > 0, 'no histogram bars');
    const histogramText = await activity.locator('#histogram').textContent();
    assert.match(histogramText ?? '', /#GP: (in|out)/, 'the histogram names the I/O traps');

    mkdirSync(results, { recursive: true });
    const activityShot = join(results, 'activity.png');
    await focusWebviewLayout(page, true);
    await activityFrame.screenshot({ path: activityShot });
    await runCommand(page, 'View: Toggle Maximize Editor Group').catch(() => {});

    // Click an event located in the guest: the editor jumps to that line.
    const located = activity.locator('#events tbody tr.clickable', { hasText: 'popf-demo.asm:' }).first();
    const cell = (await located.locator('td.code').textContent()) ?? '';
    const line = Number(/popf-demo\.asm:(\d+)/.exec(cell)?.[1]);
    assert.ok(line > 0, `no located event row: ${cell}`);
    await located.click();
    const selection = page.locator('.statusbar-item[id="status.editor.selection"]');
    await page.waitForFunction((l) => document.querySelector('.statusbar-item[id="status.editor.selection"]')?.textContent?.includes(`Ln ${l},`), line, { timeout: 15_000 });
    console.log(`clicked the event at popf-demo.asm:${line} → editor at ${(await selection.textContent())?.trim()}`);

    // Compare: every implemented technique on the monolithic architecture.
    const compareAt = Date.now();
    await runCommand(page, 'HyperStep: Compare Techniques');
    const { frame: compare, element: compareFrame } = await webviewFrame(page, '#cycles', 240_000);
    await compare.locator('#table tbody tr').first().waitFor({ timeout: 240_000 });
    const compareRows = await compare.locator('#table tbody tr').allTextContents();
    console.log(`compare drawn ${Date.now() - compareAt} ms after the command:\n  ${compareRows.map((r) => r.replace(/\s+/g, ' ')).join('\n  ')}`);
    assert.ok(compareRows.some((r) => r.startsWith('native') && /exit 0x21/.test(r)), 'native keeps the interrupts off (exit 0x21)');
    assert.ok(compareRows.some((r) => r.startsWith('trap-and-emulate') && /exit 0x25/.test(r)), 'trap-and-emulate loses them (exit 0x25)');
    assert.ok((await compare.locator('#cycles svg rect').count()) >= compareRows.length, 'no cycle bars');
    const compareShot = join(results, 'compare.png');
    await focusWebviewLayout(page, true);
    await compareFrame.screenshot({ path: compareShot });

    const toasts = await page.$$eval('.notifications-toasts .notification-list-item-message', (els) => els.map((e) => e.textContent?.trim() ?? ''));
    if (toasts.length > 0) console.warn(`WARNING: notifications shown: ${JSON.stringify(toasts)}`);
    console.log(`screenshots: ${relative(repoRoot, activityShot)}, ${relative(repoRoot, compareShot)}`);
    if (process.argv.includes('--update-docs')) {
      mkdirSync(join(repoRoot, 'docs', 'images'), { recursive: true });
      copyFileSync(activityShot, join(repoRoot, 'docs', 'images', 'activity.png'));
      copyFileSync(compareShot, join(repoRoot, 'docs', 'images', 'compare.png'));
      console.log('copied to docs/images/activity.png and docs/images/compare.png');
    }
    // The layers diagram, opened by clicking the session's status bar item: the monolithic type 1 boxes, the stack lit.
    await status.first().click();
    const { frame: layers, element: layersFrame } = await webviewFrame(page, '#diagram');
    // 'attached': the panel may open behind the maximized compare group; its page is drawn all the same.
    await layers.locator('#diagram svg rect.layer-box').first().waitFor({ state: 'attached', timeout: 60_000 });
    const boxes = await layers.locator('#diagram svg rect.layer-box').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-layer')}${e.classList.contains('active') ? '*' : ''}`));
    console.log(`layers diagram: ${boxes.join(' ')} (* = in the current stack); ${(await layers.locator('#legend').textContent())?.replace(/\s+/g, ' ').trim()}`);
    assert.deepEqual(boxes.map((b) => b.replace('*', '')), ['guest-user', 'guest-kernel', 'vmm', 'device']);
    assert.ok(boxes.includes('guest-kernel*'), 'the guest kernel is lit');
    await layersFrame.screenshot({ path: join(results, 'layers.png') }).catch((e) => console.warn(`layers screenshot skipped: ${e.message}`));

    await page.keyboard.press('Shift+F5');
    await page.waitForSelector('.debug-toolbar', { state: 'hidden', timeout: 30_000 });
    console.log(`UI views flow passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    if (page) {
      mkdirSync(results, { recursive: true });
      const failed = join(results, 'views-failed.png');
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
  console.error(`UI views flow FAILED: ${error?.message ?? error}`);
  process.exit(1);
});
