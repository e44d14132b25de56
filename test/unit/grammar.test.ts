// The NASM TextMate grammar, loaded with the engine VS Code uses (vscode-textmate + vscode-oniguruma):
// the committed file is what the generator produces, a real Multiboot kernel tokenizes with the right
// virtualization class on every line, and the class scopes get distinct colours in Dark+ and Light+.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classScopes, grammarText } from '../../scripts/grammar/grammar-rules';
import { vocabularyFromIsa } from '../../scripts/grammar/isa-vocabulary';
import { FORMS_BY_MNEMONIC, INSTRUCTION_FORMS, MNEMONIC_ALIASES } from '../../src/emulator/isa/table';
import type { OperandKind, VirtualizationClass } from '../../src/emulator/isa/types';
import { grammarPath, tokenizeLines, type ScopedToken } from '../grammar/tokenize';

const kernelPath = join(__dirname, '..', 'grammar', 'kernels', 'classes-kernel.asm');
type ClassName = keyof typeof classScopes;

/** The token holding the statement's mnemonic: the first token inside a meta.instruction scope. */
function mnemonicToken(tokens: readonly ScopedToken[]): ScopedToken | undefined {
  return tokens.find((t) => t.text.trim() !== '' && t.scopes.some((s) => s.startsWith('meta.instruction')));
}

function classOf(token: ScopedToken): ClassName[] {
  return (Object.keys(classScopes) as ClassName[]).filter((c) => token.scopes.includes(classScopes[c]));
}

describe('NASM TextMate grammar', () => {
  it('the committed grammar is exactly what scripts/grammar/build-grammar.ts generates', () => {
    assert.equal(
      readFileSync(grammarPath, 'utf8'),
      grammarText(vocabularyFromIsa()),
      'stale grammar: run `npx tsx scripts/grammar/build-grammar.ts` and commit the result',
    );
  });

  it('scopes every instruction of a Multiboot kernel with its virtualization class, line by line', async () => {
    const source = readFileSync(kernelPath, 'utf8');
    const lines = source.split('\n');
    const tokenized = await tokenizeLines(source);
    let tagged = 0;
    let plain = 0;
    lines.forEach((line, index) => {
      const tag = /;\s*\[(\w+)\]\s*$/.exec(line)?.[1];
      const token = mnemonicToken(tokenized[index] ?? []);
      const where = `classes-kernel.asm:${index + 1}: ${line.trim()}`;
      if (tag) {
        assert.ok(tag in classScopes, `${where}: unknown tag ${tag}`);
        assert.ok(token, `${where}: no instruction token`);
        assert.deepEqual(classOf(token), [tag], `${where}: scopes ${token.scopes.join(' ')}`);
        tagged++;
      } else if (token) {
        assert.deepEqual(classOf(token), ['plain'], `${where}: scopes ${token.scopes.join(' ')}`);
        plain++;
      }
    });
    assert.ok(tagged >= 20 && plain >= 10, `expected a real mix, got ${tagged} special and ${plain} plain lines`);
  });

  it('the kernel sample is real NASM (assembles with nasm -f elf32)', function () {
    const dir = mkdtempSync(join(tmpdir(), 'hyperstep-grammar-'));
    try {
      const r = spawnSync('nasm', ['-f', 'elf32', '-o', join(dir, 'k.o'), kernelPath], { encoding: 'utf8' });
      assert.ok(!r.error, `nasm is required for this test (apt-get install nasm): ${r.error?.message}`);
      assert.equal(r.status, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scopes every form of every instruction-table mnemonic (and NASM alias) with its virtualization class', async () => {
    // The specification: which grammar class each table class is coloured as.
    const expectedClass: Record<VirtualizationClass, ClassName> = {
      privileged: 'privileged', 'io-sensitive': 'io', 'sensitive-unprivileged': 'sensitive', 'vmx-exits': 'vmx',
      innocuous: 'plain',
    };
    const sampleOperand: Record<OperandKind, string> = {
      Eb: 'bl', Ew: 'bx', Ed: 'ebx', Ev: 'ebx', Gb: 'cl', Gw: 'cx', Gd: 'ecx', Gv: 'ecx', Rd: 'eax', Rv: 'eax',
      M: '[ebx]', Mw: 'word [ebx]', Md: 'dword [ebx]', Mq: 'qword [ebx]', Mp: 'far [ebx]', Ms: '[ebx]',
      Ib: '3', Iw: '8', Iz: '0x1234', Ibs: '-2', Jb: 'target', Jz: 'target', Ap: '0x08:target', Ob: '[0x1000]',
      Ov: '[0x1000]', Sw: 'ds', Cd: 'cr0', Dd: 'dr7', Zb: 'dl', Zv: 'edx', AL: 'al', eAX: 'eax', CL: 'cl', DX: 'dx',
      ES: 'es', CS: 'cs', SS: 'ss', DS: 'ds', FS: 'fs', GS: 'gs', one: '1',
    };
    const spellings = new Map<string, string[]>();
    for (const mnemonic of FORMS_BY_MNEMONIC.keys()) spellings.set(mnemonic, [mnemonic, mnemonic.toUpperCase()]);
    for (const [alias, canonical] of MNEMONIC_ALIASES) spellings.get(canonical)!.push(alias);
    const cases: { text: string; expected: ClassName }[] = [];
    for (const form of INSTRUCTION_FORMS) {
      const operands = form.operands.map((kind) => sampleOperand[kind]).join(', ');
      for (const spelling of spellings.get(form.mnemonic)!) {
        cases.push({ text: `    ${spelling} ${operands}`.trimEnd(), expected: expectedClass[form.virtualization] });
      }
    }
    const tokenized = await tokenizeLines(cases.map((c) => c.text).join('\n'));
    const wrong = cases.flatMap((c, i) => {
      const token = mnemonicToken(tokenized[i]!);
      const got = token ? classOf(token) : [];
      return got.length === 1 && got[0] === c.expected ? [] : [`${c.text.trim()}: expected ${c.expected}, got ${got.join('+') || 'nothing'}`];
    });
    assert.deepEqual(wrong, [], `${wrong.length} of ${cases.length} forms mis-scoped`);
    assert.ok(cases.length > INSTRUCTION_FORMS.length, `only ${cases.length} cases`);
  });

  it('scopes the control/debug register operand of a privileged MOV, and keeps other MOVs plain', async () => {
    const [toCr, fromDr, plainMov] = await tokenizeLines('    mov cr3, eax\n    mov eax, dr6\n    mov eax, [cr3_copy]');
    assert.deepEqual(classOf(mnemonicToken(toCr!)!), ['privileged']);
    assert.ok(toCr!.find((t) => t.text === 'cr3')!.scopes.includes('variable.other.register.control.hyperstep-nasm'));
    assert.ok(fromDr!.find((t) => t.text === 'dr6')!.scopes.includes('variable.other.register.debug.hyperstep-nasm'));
    assert.deepEqual(classOf(mnemonicToken(plainMov!)!), ['plain']);
  });

  it('gives the five class scopes pairwise different colours in Dark+ and in Light+', () => {
    // Token-colour rules of VS Code's default themes (extensions/theme-defaults/themes/dark_vs.json +
    // dark_plus.json, light_vs.json + light_plus.json) for the scope families this grammar uses. A theme
    // rule matches a scope when it equals it or is a dot-separated prefix of it; the longest prefix wins.
    const themes: Record<string, Record<string, string>> = {
      'Dark+': {
        keyword: '#569cd6', 'keyword.control': '#c586c0', storage: '#569cd6', 'storage.modifier': '#569cd6',
        'support.function': '#dcdcaa', 'support.type': '#4ec9b0', 'constant.character': '#569cd6',
        'constant.character.escape': '#d7ba7d', variable: '#9cdcfe',
      },
      'Light+': {
        keyword: '#0000ff', 'keyword.control': '#af00db', storage: '#0000ff', 'storage.modifier': '#0000ff',
        'support.function': '#795e26', 'support.type': '#267f99', 'constant.character': '#0000ff',
        'constant.character.escape': '#ee0000', variable: '#001080',
      },
    };
    const colour = (rules: Record<string, string>, scope: string): string | undefined => {
      const parts = scope.split('.');
      for (let n = parts.length; n > 0; n--) {
        const hit = rules[parts.slice(0, n).join('.')];
        if (hit) return hit;
      }
      return undefined;
    };
    const classes: ClassName[] = ['plain', 'privileged', 'sensitive', 'vmx', 'hypercall'];
    for (const [theme, rules] of Object.entries(themes)) {
      const colours = classes.map((c) => colour(rules, classScopes[c]));
      assert.ok(colours.every(Boolean), `${theme}: an uncoloured class scope: ${colours.join(', ')}`);
      assert.equal(new Set(colours).size, classes.length, `${theme}: colours collide: ${classes.map((c, i) => `${c}=${colours[i]}`).join(' ')}`);
      assert.notEqual(colour(rules, 'variable.other.register.general.hyperstep-nasm'), colour(rules, classScopes.plain));
    }
  });
});

describe('language-configuration.json', () => {
  const config = JSON.parse(readFileSync(join(__dirname, '..', '..', 'language-configuration.json'), 'utf8')) as {
    comments: { lineComment: string };
    wordPattern: string;
    folding: { markers: { start: string; end: string } };
    onEnterRules: { beforeText: string }[];
  };

  it('uses ; for line comments', () => {
    assert.equal(config.comments.lineComment, ';');
  });

  it('treats labels, registers and NASM numbers as whole words (double-click, F2 rename, go to definition)', () => {
    const words = (text: string) => text.match(new RegExp(config.wordPattern, 'g'));
    const cases: [string, string[]][] = [
      ['jmp .loop', ['jmp', '.loop']], ['..@x:', ['..@x']], ['jnz %%again', ['jnz', '%%again']],
      ['mov esi, $str', ['mov', 'esi', '$str']], ['mov cr0, eax', ['mov', 'cr0', 'eax']],
      ['dd 0x1F, 1Fh, $1F, 1_000, 0b101', ['dd', '0x1F', '1Fh', '$1F', '1_000', '0b101']],
      ['mov al, %1', ['mov', 'al', '%1']], ['lea eax, [ebx+4]', ['lea', 'eax', 'ebx', '4']],
    ];
    for (const [text, expected] of cases) assert.deepEqual(words(text), expected, text);
  });

  it('folds %macro/%endmacro, %if/%endif, %rep/%endrep and struc/endstruc, in any letter case', () => {
    const start = new RegExp(config.folding.markers.start);
    const end = new RegExp(config.folding.markers.end);
    for (const line of ['%macro PUTC 1', '%MACRO x 0', '%if ITER > 1', '%ifdef DEBUG', '%rep 4', 'struc point', '  istruc point']) {
      assert.ok(start.test(line) && !end.test(line), line);
    }
    for (const line of ['%endmacro', '%ENDIF', '%endrep', 'endstruc', '  iend']) assert.ok(end.test(line) && !start.test(line), line);
    for (const line of ['mov eax, 1', 'rep movsb', 'struct_ptr: dd 0']) assert.ok(!start.test(line) && !end.test(line), line);
  });

  it('indents after a label line', () => {
    const labelRule = new RegExp(config.onEnterRules[0]!.beforeText);
    for (const line of ['_start:', '.loop:  ; body', '..@x:', '%%retry:']) assert.ok(labelRule.test(line), line);
    for (const line of ['    mov eax, 1', 'msg db "a:"', 'jmp 0x08:.flush']) assert.ok(!labelRule.test(line), line);
  });
});
