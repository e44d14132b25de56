// Bundles every HyperStep entry point with esbuild. Entries whose source does not exist yet are skipped,
// so a later issue adds a bundle by adding its entry file. `node esbuild.mjs --watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** One row per bundle: which source, which runtime, where it lands. */
const bundles = [
  // The extension in the desktop/remote (Node) extension host.
  { entry: 'src/extension/node.ts', outfile: 'dist/extension.js', platform: 'node', external: ['vscode'] },
  // The same extension in the web-worker extension host (no Node APIs; the adapter runs inline there).
  { entry: 'src/extension/web.ts', outfile: 'dist/web/extension.js', platform: 'browser', external: ['vscode'] },
  // The standalone debug adapter: `node dist/debugAdapter.js` (stdio) or `--server=PORT`.
  { entry: 'src/debug-adapter/main.ts', outfile: 'dist/debugAdapter.js', platform: 'node' },
  // The language server, as a Node process (IPC) and as a web worker.
  { entry: 'src/language-server/node.ts', outfile: 'dist/languageServer.js', platform: 'node' },
  { entry: 'src/language-server/web.ts', outfile: 'dist/web/languageServer.js', platform: 'browser', format: 'iife' },
  // The command line: `node dist/cli.js asm|run …`.
  { entry: 'src/cli/main.ts', outfile: 'dist/cli.js', platform: 'node', banner: '#!/usr/bin/env node' },
  // Extension-host test suites (run inside real VS Code by test/vscode-harness).
  { entry: 'test/vscode/index.ts', outfile: 'dist/test/vscode/index.js', platform: 'node', external: ['vscode', 'mocha'] },
];

const contexts = [];
for (const b of bundles) {
  if (!existsSync(b.entry)) continue;
  const options = {
    entryPoints: [b.entry],
    outfile: b.outfile,
    bundle: true,
    platform: b.platform,
    format: b.format ?? 'cjs',
    target: b.platform === 'node' ? 'node20' : 'es2022',
    external: b.external ?? [],
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    banner: b.banner ? { js: b.banner } : undefined,
    // The web bundles must not pull Node built-ins in by accident: fail loudly instead.
    ...(b.platform === 'browser' ? { mainFields: ['browser', 'module', 'main'] } : {}),
    // @vscode/debugadapter needs Node's 'events' and 'url'; the web bundle gets small stand-ins (debug adapter's).
    ...(b.platform === 'browser' ? { alias: { events: './src/debug-adapter/web/events.ts', url: './src/debug-adapter/web/url.ts' } } : {}),
  };
  if (watch) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
    contexts.push(ctx);
  } else {
    await esbuild.build(options);
  }
}
if (watch) console.log(`watching ${contexts.length} bundles…`);
