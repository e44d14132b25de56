// The layering rule is enforced by the build (scripts/check-layers.mjs); these tests prove it bites.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..');
const check = (root: string) => spawnSync(process.execPath, [join(repo, 'scripts', 'check-layers.mjs'), root], { encoding: 'utf8' });

describe('layering rule', () => {
  it('passes on the real source tree', () => {
    const r = check(repo);
    assert.equal(r.status, 0, r.stderr);
  });

  it('fails the build on a fixture that breaks every rule, naming file, line and rule', () => {
    const r = check(join(repo, 'test', 'fixtures', 'layering'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /src\/emulator\/readsDisk\.ts:2:\d+: 'node:fs': the emulator must not import Node built-ins/);
    assert.match(r.stderr, /src\/emulator\/readsDisk\.ts:3:\d+: '\.\.\/debug-adapter\/usesVscode': the emulator must not import other layers/);
    assert.match(r.stderr, /src\/debug-adapter\/usesVscode\.ts:2:\d+: 'vscode': the debug adapter must never import 'vscode'/);
    assert.match(r.stderr, /src\/language-server\/usesDap\.ts:2:\d+: '@vscode\/debugadapter': the language server must not import the Debug Adapter/);
  });

  it('npm run build runs the check before bundling', () => {
    const pkg = require(join(repo, 'package.json')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.build, /^node scripts\/check-layers\.mjs && /);
  });
});
