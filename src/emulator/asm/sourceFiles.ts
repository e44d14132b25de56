// Source files as the preprocessor reads them: text split into lines that remember their origin (with
// NASM's `\` line continuation), and %include resolution (NASM manual 4.6.1), which remembers every file
// it tried, found or not, so an incremental re-run can tell whether any of them changed.
import { LineOrigin } from './diagnostics';
import { dirname, joinPath } from './paths';

export interface SourceLine {
  readonly text: string;
  readonly origin: LineOrigin;
  /** The line as written, when single-line macro expansion changed it (for the listing). */
  readonly written?: string;
  /** A preprocessor directive line kept only so the listing shows it, as NASM's does. */
  readonly listOnly?: boolean;
}

/** Splits source text into lines with their origins; handles `\` line continuation. */
export function splitSource(file: string, text: string): SourceLine[] {
  const raw = text.split('\n');
  const out: SourceLine[] = [];
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const firstLine = i + 1;
    while (line.endsWith('\\') && i + 1 < raw.length) {
      let next = raw[++i]!;
      if (next.endsWith('\r')) next = next.slice(0, -1);
      line = line.slice(0, -1) + next;
    }
    out.push({ text: line, origin: { file, line: firstLine } });
  }
  if (out.length > 0 && out[out.length - 1]!.text === '' && text.endsWith('\n')) out.pop();
  return out;
}

/**
 * Where `%include name` and `incbin name` look, in order: next to the including file, in each -I
 * directory, then the name as given (see README: NASM starts with the working directory).
 */
export function includeCandidates(name: string, includingFile: string, includePaths: readonly string[]): string[] {
  return [joinPath(dirname(includingFile), name), ...includePaths.map((dir) => joinPath(dir, name)), name];
}

/** The files one preprocessor run reads: the main file and every %include. */
export class SourceFiles {
  /** Files read, with their lines, so a host can cache them and the listing can show their lines. */
  readonly files = new Map<string, readonly SourceLine[]>();
  /** Raw text of every %include candidate tried (undefined: could not be read). */
  readonly includeTexts = new Map<string, string | undefined>();

  constructor(
    private readonly includePaths: readonly string[],
    private readonly readFile: (absPath: string) => string | undefined,
  ) {}

  /** The main file's lines. */
  addMain(path: string, text: string): readonly SourceLine[] {
    const lines = splitSource(path, text);
    this.files.set(path, lines);
    return lines;
  }

  /** The lines of an included file from the first candidate that reads (includeCandidates), or undefined. */
  include(name: string, includingFile: string): readonly SourceLine[] | undefined {
    for (const candidate of includeCandidates(name, includingFile, this.includePaths)) {
      const known = this.files.get(candidate);
      if (known) return known;
      let text: string | undefined;
      try {
        text = this.readFile(candidate);
      } catch {
        text = undefined;
      }
      this.includeTexts.set(candidate, text);
      if (text === undefined) continue;
      const lines = splitSource(candidate, text);
      this.files.set(candidate, lines);
      return lines;
    }
    return undefined;
  }
}
