// SPDX-License-Identifier: MIT
// Typed adapter errors: handlers throw these and the session's single wrapper turns them into DAP error
// responses (the adapter itself never dies on a bad request). Also the small argument checkers handlers
// use to reject malformed requests with a message naming the offending field.

export const enum ErrorCode {
  UnknownRequest = 1000,
  BadArguments = 1001,
  BadLaunch = 1002,
  WrongState = 1003,
  Unsupported = 1004,
  Internal = 1099,
}

export class AdapterError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** A nested object argument, or an error naming it. */
export function requireArgs<T extends object>(args: Record<string, unknown>, key: string): T & Record<string, unknown> {
  const v = args[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AdapterError(ErrorCode.BadArguments, `'${key}' is required and must be an object`);
  return v as T & Record<string, unknown>;
}

export function requireString(args: Record<string, unknown>, key: string, label = key): string {
  const v = args[key];
  if (typeof v !== 'string') throw new AdapterError(ErrorCode.BadArguments, `'${label}' is required and must be a string`);
  return v;
}

export function requireInteger(args: Record<string, unknown>, key: string, label = key): number {
  const v = args[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new AdapterError(ErrorCode.BadArguments, `'${label}' is required and must be an integer`);
  return v;
}
