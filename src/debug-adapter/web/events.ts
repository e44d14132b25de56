// SPDX-License-Identifier: MIT
// Browser stand-in for Node's 'events' module, used only by the web extension bundle (esbuild aliases
// 'events' here for platform=browser). @vscode/debugadapter's ProtocolServer extends EventEmitter and
// uses on/once/emit/removeListener; this is that much of the API and nothing more.
type Listener = (...args: unknown[]) => void;

export class EventEmitter {
  private readonly listeners = new Map<string | symbol, Listener[]>();

  on(event: string | symbol, listener: Listener): this {
    const list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, [listener]);
    else list.push(listener);
    return this;
  }

  addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  once(event: string | symbol, listener: Listener): this {
    const wrapper: Listener = (...args) => {
      this.removeListener(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  removeListener(event: string | symbol, listener: Listener): this {
    const list = this.listeners.get(event);
    if (list !== undefined) {
      const index = list.indexOf(listener);
      if (index >= 0) list.splice(index, 1);
    }
    return this;
  }

  off(event: string | symbol, listener: Listener): this {
    return this.removeListener(event, listener);
  }

  removeAllListeners(event?: string | symbol): this {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
    return this;
  }

  emit(event: string | symbol, ...args: unknown[]): boolean {
    const list = this.listeners.get(event);
    if (list === undefined || list.length === 0) return false;
    for (const l of [...list]) l(...args);
    return true;
  }

  listenerCount(event: string | symbol): number {
    return this.listeners.get(event)?.length ?? 0;
  }
}
