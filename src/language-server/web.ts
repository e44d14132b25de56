// Language server entry in a web worker (the web extension host starts it with `new Worker`).
import { BrowserMessageReader, BrowserMessageWriter, createConnection } from 'vscode-languageserver/browser';
import { startLanguageServer } from './server';

declare const self: Worker;
startLanguageServer(createConnection(new BrowserMessageReader(self), new BrowserMessageWriter(self)));
