// SPDX-License-Identifier: MIT
// Browser stand-in for Node's 'url' module in the web extension bundle (esbuild aliases 'url' here for
// platform=browser): @vscode/debugadapter only uses `new url.URL(...)` to convert file URIs, which the
// browser's own URL class does.
export const URL = globalThis.URL;
