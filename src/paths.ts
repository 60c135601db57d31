// PERISCOPE_IGNORE_PATHS globs, compiled once into one regular expression.
// `*` matches within one path segment (never a '/'), `**` matches across segments.

function globToSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

export function compilePathMatcher(globs: readonly string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  const re = new RegExp(`^(?:${globs.map(globToSource).join('|')})$`);
  return (path) => re.test(path);
}
