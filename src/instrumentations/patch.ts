// Every monkey-patch goes through here: shimmer does the wrapping, a Symbol.for marker makes a
// second copy of periscope (two --imports, two installs) see that the target is already ours.
import shimmer from 'shimmer';

const MARK = Symbol.for('periscope.wrapped');

export function isWrapped(target: object, name: string): boolean {
  const fn = (target as Record<string, unknown>)[name];
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[MARK] === true;
}

/** Wrap target[name] once; returns false when it is already periscope's. */
export function wrap<T extends object>(target: T, name: string, wrapper: (original: any) => any): boolean {
  if (isWrapped(target, name)) return false;
  shimmer.wrap(target as any, name, (original: any) => {
    const w = wrapper(original);
    Object.defineProperty(w, MARK, { value: true });
    // Keep the original's length so code that inspects arity (rare, but frameworks do) sees the same.
    Object.defineProperty(w, 'length', { value: original.length, configurable: true });
    return w;
  });
  return true;
}
