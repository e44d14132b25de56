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
import type * as textmate from 'vscode-textmate';
import { colourLines, grammarPath, tokenizeLines, type ScopedToken } from '../grammar/tokenize';

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

  it('gives the five classes, registers and macro calls different colours in Dark+ and in Light+', async () => {
    // Token-colour rules of VS Code's default themes for the scope families this grammar uses (from
    // extensions/theme-defaults/themes dark_vs.json + dark_plus.json and light_vs.json + light_plus.json).
    // vscode-textmate resolves them exactly as the editor does (longest scope prefix, parent scopes).
    const rule = (scope: string, foreground: string) => ({ scope, settings: { foreground } });
    const themes: Record<string, textmate.IRawTheme> = {
      'Dark+': { settings: [
        { settings: { foreground: '#D4D4D4', background: '#1E1E1E' } },
        rule('comment', '#6A9955'), rule('constant.numeric', '#B5CEA8'), rule('string', '#CE9178'),
        rule('keyword', '#569CD6'), rule('keyword.control', '#C586C0'), rule('keyword.operator', '#D4D4D4'),
        rule('storage', '#569CD6'), rule('storage.modifier', '#569CD6'), rule('meta.preprocessor', '#569CD6'),
        rule('support.function', '#DCDCAA'), rule('entity.name.function', '#DCDCAA'), rule('support.type', '#4EC9B0'),
        rule('entity.name.type', '#4EC9B0'), rule('variable', '#9CDCFE'), rule('constant.character', '#569CD6'),
        rule('constant.character.escape', '#D7BA7D'), rule('entity.name.label', '#C8C8C8'), rule('invalid', '#F44747'),
      ] },
      'Light+': { settings: [
        { settings: { foreground: '#000000', background: '#FFFFFF' } },
        rule('comment', '#008000'), rule('constant.numeric', '#098658'), rule('string', '#A31515'),
        rule('keyword', '#0000FF'), rule('keyword.control', '#AF00DB'), rule('keyword.operator', '#000000'),
        rule('storage', '#0000FF'), rule('storage.modifier', '#0000FF'), rule('meta.preprocessor', '#0000FF'),
        rule('support.function', '#795E26'), rule('entity.name.function', '#795E26'), rule('support.type', '#267F99'),
        rule('entity.name.type', '#267F99'), rule('variable', '#001080'), rule('constant.character', '#0000FF'),
        rule('constant.character.escape', '#EE0000'), rule('entity.name.label', '#000000'), rule('invalid', '#CD3131'),
      ] },
    };
    const samples: [string, string][] = [
      ['plain', '    mov eax, 1'], ['privileged', '    hlt'], ['io', '    cli'], ['sensitive', '    popf'],
      ['vmx', '    vmcall'], ['hypercall', '    int 0x82'], ['register', '    push ebx'], ['macro call', '    PUTC 1'],
    ];
    for (const [theme, rules] of Object.entries(themes)) {
      const lines = await colourLines(samples.map(([, text]) => text).join('\n'), rules);
      const colourOf = (index: number, word: string) => lines[index]!.find((t) => t.text.trim() === word)!.foreground;
      const colours = Object.fromEntries(samples.map(([name, text], i) => {
        const word = name === 'register' ? 'ebx' : text.trim().split(/\s+/)[0]!;
        return [name, colourOf(i, word)];
      }));
      const described = JSON.stringify(colours);
      assert.equal(colours.io, colours.privileged, `${theme}: I/O-sensitive is in the privileged family ${described}`);
      const distinct = ['plain', 'privileged', 'sensitive', 'vmx', 'hypercall', 'register', 'macro call'].map((n) => colours[n]);
      assert.equal(new Set(distinct).size, distinct.length, `${theme}: colours collide ${described}`);
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
