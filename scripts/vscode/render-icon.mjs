// Renders images/icon.svg to images/icon.png (256×256, the Marketplace icon size) with headless Chromium.
// Run after editing the SVG: `node scripts/vscode/render-icon.mjs`; both files are committed.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './code-server.mjs';

const images = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'images');
const svg = readFileSync(join(images, 'icon.svg'), 'utf8');
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 256, height: 256 } });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  const png = await page.locator('svg').screenshot({ omitBackground: true });
  writeFileSync(join(images, 'icon.png'), png);
  console.log(`images/icon.png: ${png.length} bytes`);
} finally {
  await browser.close();
}
