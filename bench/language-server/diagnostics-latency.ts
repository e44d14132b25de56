// Benchmark: diagnostics latency on a 5,000-line guest after a one-line edit (issue 8 goal ≤ 30 ms), in one
// run and on the same edits:
//   assembler  — assemble() alone, as the server calls it (bin, no listing, no output image);
//   server     — the real language server over LSP in-process: an incremental didChange of one line to the
//                publishDiagnostics for it (debounce set to 0, so this is the work, not the typing pause);
//   server+ui  — the same, with the requests VS Code sends after each edit (semantic tokens, document
//                symbols, folding) queued right behind the change, as they compete for the server thread;
//   index      — indexDocument() alone (what those requests rebuild per document version).
// Edits alternate a valid and an invalid line (the student is mid-typing); each is reverted before the next,
// so every edit is one changed line. After a warm-up pass, wall time and CPU time medians. The LSP client runs
// in the same process, so the server rows include its JSON work too (an upper bound for the server).
// Run: npx tsx bench/language-server/diagnostics-latency.ts [edits=15] [lines=5000]
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { createConnection } from 'vscode-languageserver/node';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { assemble } from '../../src/emulator/asm/index';
import { indexDocument } from '../../src/language-server/analysis/documentIndex';
import { startLanguageServer } from '../../src/language-server/server';
import { generateSource, rng } from '../asm/generate';

const edits = Math.max(3, Math.min(60, Number(process.argv[2] ?? 15)));
const lineCount = Number(process.argv[3] ?? 5000);
const URI = 'file:///bench/big.asm';
const base = generateSource(lineCount, 3).split('\n');
const rand = rng(7);
const plan = Array.from({ length: edits }, (_, k) => ({ line: 20 + Math.floor(rand() * (base.length - 40)), text: k % 2 ? `    mov eax, ${k}` : `    mov eax, [ebx+${k}` }));

interface Sample { wall: number; cpu: number }
const timed = async (f: () => unknown): Promise<Sample> => {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await f();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - t, cpu: (used.user + used.system) / 1000 };
};
const summary = (name: string, samples: Sample[]): string => {
  const wall = samples.map((s) => s.wall).sort((a, b) => a - b);
  const cpu = samples.map((s) => s.cpu).sort((a, b) => a - b);
  const med = (xs: number[]) => xs[xs.length >> 1]!.toFixed(1);
  return `${name.padEnd(10)} median ${med(wall)} ms (min ${wall[0]!.toFixed(1)}, max ${wall[wall.length - 1]!.toFixed(1)}); CPU median ${med(cpu)} ms`;
};

async function benchAssembler(): Promise<Sample[]> {
  const options = { format: 'bin' as const, listing: false, output: false, readFile: () => undefined };
  assemble({ path: '/bench/big.asm', text: base.join('\n') }, options); // the open: cold
  const doc = base.slice();
  const samples: Sample[] = [];
  for (const e of plan) {
    const old = doc[e.line]!;
    doc[e.line] = e.text;
    const text = doc.join('\n');
    samples.push(await timed(() => assemble({ path: '/bench/big.asm', text }, options)));
    doc[e.line] = old;
    assemble({ path: '/bench/big.asm', text: doc.join('\n') }, options); // the revert, as the server sees it
  }
  return samples;
}

/** Inside the server, per publish: the assembler's time and the whole publish (assemble, convert, send). */
const internal: { assembleMs: number; publishMs: number }[] = [];

async function benchServer(withEditorRequests: boolean): Promise<Sample[]> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const host = { diagnosticsDelayMs: 0, onDiagnosticsPublished: (_uri: string, t: { assembleMs: number; publishMs: number }) => void internal.push(t) };
  startLanguageServer(createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient)), host);
  const rpc = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  let waiting: ((uri: string) => void) | undefined;
  rpc.onNotification('textDocument/publishDiagnostics', (p: { uri: string }) => waiting?.(p.uri));
  rpc.listen();
  await rpc.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {} });
  await rpc.sendNotification('initialized', {});
  const published = () => new Promise<void>((resolve) => (waiting = (uri) => uri === URI && resolve()));
  let done = published();
  await rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: URI, languageId: 'hyperstep-nasm', version: 1, text: base.join('\n') } });
  await done;
  const textDocument = { uri: URI };
  let version = 1;
  const samples: Sample[] = [];
  for (const e of plan) {
    let current = base[e.line]!;
    for (const text of [e.text, base[e.line]!]) {
      done = published();
      const range = { start: { line: e.line, character: 0 }, end: { line: e.line, character: current.length } };
      let requests: Promise<unknown>[] = [];
      const sample = await timed(async () => {
        await rpc.sendNotification('textDocument/didChange', { textDocument: { uri: URI, version: ++version }, contentChanges: [{ range, text }] });
        if (withEditorRequests) {
          requests = [rpc.sendRequest('textDocument/semanticTokens/full', { textDocument }), rpc.sendRequest('textDocument/documentSymbol', { textDocument }), rpc.sendRequest('textDocument/foldingRange', { textDocument })];
        }
        await done;
      });
      await Promise.all(requests);
      current = text;
      if (text === e.text) samples.push(sample); // the revert keeps every edit against the same base text
    }
  }
  await rpc.sendRequest('shutdown');
  rpc.dispose();
  return samples;
}

async function benchIndex(): Promise<Sample[]> {
  const samples: Sample[] = [];
  const text = base.join('\n');
  indexDocument(text);
  for (let k = 0; k < Math.min(edits, 8); k++) samples.push(await timed(() => indexDocument(text)));
  return samples;
}

async function main(): Promise<void> {
  console.log(`${base.length}-line generated guest, ${edits} one-line edits (valid and invalid alternating):`);
  // Warm-up (JIT and the assembler's line cache) so the first rows are not charged for it.
  await benchAssembler();
  await benchServer(false);
  console.log(summary('assembler', await benchAssembler()));
  internal.length = 0;
  console.log(summary('server', await benchServer(false)));
  const assembleMs = internal.map((t) => t.assembleMs).sort((a, b) => a - b);
  const overheadMs = internal.map((t) => t.publishMs - t.assembleMs).sort((a, b) => a - b);
  console.log(`  inside the server: assemble median ${assembleMs[assembleMs.length >> 1]!.toFixed(1)} ms, rest of the publish (convert, send) median ${overheadMs[overheadMs.length >> 1]!.toFixed(2)} ms`);
  console.log(summary('server+ui', await benchServer(true)));
  console.log(summary('index', await benchIndex()));
}

void main();
