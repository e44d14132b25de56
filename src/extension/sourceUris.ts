// SPDX-License-Identifier: MIT
// Source locations between the inline debug adapter and a workbench that opens files by URI only. The adapter
// speaks plain paths ("/ws/boot.asm"); in the web extension host (code-server's browser workbench, vscode.dev)
// a plain path becomes a file: URI the browser cannot open, so guest frames and breakpoints would show no
// .asm. Outgoing messages get every source path rewritten as a URI of the session's file system (the launch
// program's scheme and authority, else the workspace folder's: vscode-remote://host:port/ws/boot.asm), and
// incoming requests get such URIs back as plain paths. VS Code's debug layer reads a Source.path that looks
// like a URI as one (and sends non-file URIs back as strings). Pure: no vscode import, unit-tested in Node.
import type { DebugProtocol } from '@vscode/debugprotocol';

/** The scheme and authority every plain path is served under. */
export interface UriBase {
  readonly scheme: string;
  readonly authority: string;
}

/** Where a message's source locations live: DAP Sources, Source arrays, and the views' event locations. */
const SOURCE_KEYS = new Set(['source', 'sources', 'location']);

const URI_PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]+):\/\/([^/?#]*)([^?#]*)/;

/** `scheme://authority/path` with each path segment percent-encoded (as VS Code's URI.toString() writes it). */
export function pathToUri(base: UriBase, path: string): string {
  const encoded = path.split('/').map((segment) => encodeURIComponent(segment)).join('/');
  return `${base.scheme}://${base.authority}${encoded}`;
}

/** The scheme, authority and decoded path of `scheme://authority/path`, or undefined for anything else. */
export function parseUri(text: string): (UriBase & { readonly path: string }) | undefined {
  const match = URI_PATTERN.exec(text);
  if (match === null) return undefined;
  try {
    return { scheme: match[1]!.toLowerCase(), authority: decodeURIComponent(match[2]!).toLowerCase(), path: decodeURIComponent(match[3]! === '' ? '/' : match[3]!) };
  } catch {
    return undefined;
  }
}

/** Rewrites plain absolute paths to URIs under a base, and URIs under that base back to plain paths. */
export class SourceUriMapper {
  constructor(private base: UriBase | undefined) {}

  get uriBase(): UriBase | undefined {
    return this.base;
  }

  /**
   * A launch names its program: a URI program (of a non-file scheme) decides the base for the session and
   * is handed to the adapter as its plain path. Returns the launch arguments to forward.
   */
  launchArguments(args: Record<string, unknown>): Record<string, unknown> {
    const program = args['program'];
    if (typeof program !== 'string') return args;
    const uri = parseUri(program);
    if (uri === undefined || uri.scheme === 'file') return args;
    this.base = { scheme: uri.scheme, authority: uri.authority };
    return { ...args, program: uri.path };
  }

  /** A path the adapter sent, as the workbench should see it. */
  toClient(path: string): string {
    return this.base !== undefined && path.startsWith('/') ? pathToUri(this.base, path) : path;
  }

  /** A path the workbench sent, as the adapter reads it. */
  toAdapter(path: string): string {
    const uri = parseUri(path);
    const base = this.base;
    if (uri === undefined || base === undefined || uri.scheme !== base.scheme || uri.authority !== base.authority.toLowerCase()) return path;
    return uri.path;
  }

  /** An adapter → workbench message with its source paths as URIs (a copy; the original is left alone). */
  outgoing(message: DebugProtocol.ProtocolMessage): DebugProtocol.ProtocolMessage {
    return this.base === undefined ? message : (mapSources(message, (p) => this.toClient(p)) as DebugProtocol.ProtocolMessage);
  }

  /** A workbench → adapter message with URIs under the base as plain paths (launch programs included). */
  incoming(message: DebugProtocol.ProtocolMessage): DebugProtocol.ProtocolMessage {
    const request = message as DebugProtocol.Request;
    let out = message;
    if (request.type === 'request' && request.command === 'launch' && typeof request.arguments === 'object' && request.arguments !== null) {
      out = { ...request, arguments: this.launchArguments(request.arguments as Record<string, unknown>) } as DebugProtocol.Request;
    }
    return this.base === undefined ? out : (mapSources(out, (p) => this.toAdapter(p)) as DebugProtocol.ProtocolMessage);
  }
}

/** A copy of `value` with the `path` of every source location (see SOURCE_KEYS) passed through `map`. */
export function mapSources(value: unknown, map: (path: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => mapSources(item, map));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SOURCE_KEYS.has(key) ? mapLocation(item, map) : mapSources(item, map);
  }
  return out;
}

function mapLocation(value: unknown, map: (path: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => mapLocation(item, map));
  if (typeof value !== 'object' || value === null) return value;
  const location = mapSources(value, map) as Record<string, unknown>;
  if (typeof location['path'] === 'string') location['path'] = map(location['path']);
  return location;
}
