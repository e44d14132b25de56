// Writes syntaxes/hyperstep-nasm.tmLanguage.json from the generator in grammar-rules.ts.
// Usage: `npx tsx scripts/grammar/build-grammar.ts` (write) or `... --check` (exit 1 if the file is stale).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { grammarText } from './grammar-rules';
import { vocabularyFromIsa } from './isa-vocabulary';

const target = join(__dirname, '..', '..', 'syntaxes', 'hyperstep-nasm.tmLanguage.json');
const expected = grammarText(vocabularyFromIsa());

if (process.argv.includes('--check')) {
  const actual = readFileSync(target, 'utf8');
  if (actual !== expected) {
    console.error(`${target} is out of date: run \`npx tsx scripts/grammar/build-grammar.ts\` and commit it.`);
    process.exit(1);
  }
  console.log('grammar is up to date');
} else {
  writeFileSync(target, expected);
  console.log(`wrote ${target} (${expected.length} bytes)`);
}
