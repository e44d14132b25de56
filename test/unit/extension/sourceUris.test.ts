// SPDX-License-Identifier: MIT
// The inline adapter's source paths in the web extension host (src/extension/sourceUris.ts): plain paths go out as
// URIs of the session's file system, URIs under it come back as plain paths, a URI launch program decides the
// file system, and messages on the local file system pass untouched.
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { mapSources, parseUri, pathToUri, SourceUriMapper } from '../../../src/extension/sourceUris';

const REMOTE = { scheme: 'vscode-remote', authority: '127.0.0.1:8123' };

describe('extension: source URIs for the web extension host', () => {
  it('writes and reads scheme://authority/path with encoded segments', () => {
    assert.equal(pathToUri(REMOTE, '/ws/my guest/boot#1.asm'), 'vscode-remote://127.0.0.1:8123/ws/my%20guest/boot%231.asm');
    assert.deepEqual(parseUri('vscode-remote://127.0.0.1:8123/ws/my%20guest/boot%231.asm'), { ...REMOTE, path: '/ws/my guest/boot#1.asm' });
    assert.equal(parseUri('/ws/boot.asm'), undefined);
    assert.equal(parseUri('C:\\ws\\boot.asm'), undefined);
  });

  it('rewrites every source location of a stack trace, breakpoint event and view response, and nothing else', () => {
    const mapper = new SourceUriMapper(REMOTE);
    const trace = {
      seq: 7, type: 'response', request_seq: 3, command: 'stackTrace', success: true,
      body: {
        totalFrames: 3,
        stackFrames: [
          { id: 0, name: 'start', line: 12, column: 1, source: { name: 'boot.asm', path: '/ws/boot.asm' }, instructionPointerReference: '0x00100000' },
          { id: 1, name: 'trap #GP → VMM', line: 1, column: 1, source: { name: 'transition #3', sourceReference: 4 }, presentationHint: 'label' },
          { id: 2, name: 'path-like name /ws/x', line: 0, column: 0 },
        ],
      },
    } as DebugProtocol.StackTraceResponse;
    const out = mapper.outgoing(trace) as DebugProtocol.StackTraceResponse;
    assert.equal(out.body.stackFrames[0]!.source!.path, 'vscode-remote://127.0.0.1:8123/ws/boot.asm');
    assert.deepEqual(out.body.stackFrames[1]!.source, { name: 'transition #3', sourceReference: 4 });
    assert.equal(out.body.stackFrames[2]!.name, 'path-like name /ws/x');
    assert.equal(trace.body.stackFrames[0]!.source!.path, '/ws/boot.asm', 'the adapter\'s own message is not changed');
    const event = { seq: 8, type: 'event', event: 'breakpoint', body: { reason: 'changed', breakpoint: { id: 1, verified: true, line: 5, source: { path: '/ws/inc/lib.inc' } } } };
    assert.equal((mapper.outgoing(event) as typeof event).body.breakpoint.source.path, 'vscode-remote://127.0.0.1:8123/ws/inc/lib.inc');
    const activity = { body: { events: [{ seq: 0, location: { path: '/ws/boot.asm', line: 59 } }] } };
    assert.deepEqual(mapSources(activity, (p) => mapper.toClient(p)), { body: { events: [{ seq: 0, location: { path: 'vscode-remote://127.0.0.1:8123/ws/boot.asm', line: 59 } }] } });
  });

  it('takes URIs of its file system back as plain paths in setBreakpoints, and leaves other schemes alone', () => {
    const mapper = new SourceUriMapper(REMOTE);
    const request = {
      seq: 4, type: 'request', command: 'setBreakpoints',
      arguments: { source: { name: 'boot.asm', path: 'vscode-remote://127.0.0.1:8123/ws/boot.asm' }, breakpoints: [{ line: 12 }] },
    } as DebugProtocol.SetBreakpointsRequest;
    assert.equal((mapper.incoming(request) as DebugProtocol.SetBreakpointsRequest).arguments.source.path, '/ws/boot.asm');
    const other = { ...request, arguments: { ...request.arguments, source: { path: 'vscode-vfs://github/o/r/boot.asm' } } };
    assert.equal((mapper.incoming(other) as DebugProtocol.SetBreakpointsRequest).arguments.source.path, 'vscode-vfs://github/o/r/boot.asm');
  });

  it('a URI launch program sets the file system and reaches the adapter as a plain path', () => {
    const mapper = new SourceUriMapper(undefined);
    const launch = { seq: 2, type: 'request', command: 'launch', arguments: { program: 'vscode-vfs://github/o/r/boot.asm', technique: 'native' } } as DebugProtocol.LaunchRequest;
    assert.deepEqual((mapper.incoming(launch) as DebugProtocol.LaunchRequest).arguments, { program: '/o/r/boot.asm', technique: 'native' });
    assert.deepEqual(mapper.uriBase, { scheme: 'vscode-vfs', authority: 'github' });
    assert.equal(mapper.toClient('/o/r/boot.asm'), 'vscode-vfs://github/o/r/boot.asm');
  });

  it('on the local file system messages pass as they are', () => {
    const mapper = new SourceUriMapper(undefined);
    const frame = { seq: 1, type: 'event', event: 'output', body: { output: 'x', source: { path: '/ws/boot.asm' } } };
    assert.equal(mapper.outgoing(frame), frame);
    const launch = { seq: 2, type: 'request', command: 'launch', arguments: { program: '/ws/boot.asm' } };
    assert.deepEqual(mapper.incoming(launch), launch);
    assert.equal(mapper.uriBase, undefined);
  });
});
