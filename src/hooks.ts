// Hooks as lists, the way Fastify's `addHook` works: each feature adds its listener and none replaces
// another's, so what runs never depends on the order in which features were set up beyond list order.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => any;

export class HookList<H extends { [K in keyof H]: Listener }> {
  private readonly lists = new Map<keyof H, Listener[]>();
  /** True once any listener was added (lets hot paths skip the call entirely). */
  any = false;

  add<K extends keyof H>(name: K, listener: H[K]): void {
    let list = this.lists.get(name);
    if (list === undefined) this.lists.set(name, (list = []));
    list.push(listener);
    this.any = true;
  }

  has(name: keyof H): boolean {
    return (this.lists.get(name)?.length ?? 0) > 0;
  }

  /** Run every listener of `name` in order; a listener that throws stops the rest (and the caller sees it). */
  call<K extends keyof H>(name: K, ...args: Parameters<H[K]>): void {
    const list = this.lists.get(name);
    if (list === undefined) return;
    for (const listener of list) listener(...args);
  }

  /** Pass `value` through every listener of `name` in order (each returns the next value). */
  reduce<K extends keyof H>(name: K, value: ReturnType<H[K]>, ...rest: Parameters<H[K]> extends [unknown, ...infer R] ? R : never): ReturnType<H[K]> {
    const list = this.lists.get(name);
    if (list === undefined) return value;
    for (const listener of list) value = listener(value, ...rest);
    return value;
  }
}
