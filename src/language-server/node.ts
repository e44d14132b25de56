// Language server entry in its own Node process (the extension starts it over IPC; `--stdio` also works).
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { listWorkspaceFiles, readFile } from './nodeFiles';
import { startLanguageServer } from './server';

startLanguageServer(createConnection(ProposedFeatures.all), { readFile, listWorkspaceFiles });
