// Language server entry in its own Node process (the extension starts it over IPC; `--stdio` also works).
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { readFileSync } from 'node:fs';
import { startLanguageServer } from './server';

const readFile = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};
startLanguageServer(createConnection(ProposedFeatures.all), { readFile });
