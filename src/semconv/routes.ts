// PERISCOPE_ROUTES: route templates for plain node:http servers, so spans and metrics can carry
// `http.route` without a framework. Templates match url.path without the query: `:name` is one
// segment, `*` matches within a segment and never crosses a '/'. The most specific template wins.

interface CompiledRoute {
  readonly template: string;
  readonly re: RegExp;
  /** Higher is more specific: literal characters count most, then fewer wildcards. */
  readonly score: number;
}

function compile(template: string): CompiledRoute {
  let source = '';
  let literal = 0;
  let wild = 0;
  for (const segment of template.split('/')) {
    if (source !== '' || template.startsWith('/')) source += source === '' && segment === '' ? '' : '/';
    if (segment.startsWith(':') && segment.length > 1) {
      source += '[^/]+';
      wild++;
      continue;
    }
    for (const ch of segment) {
      if (ch === '*') {
        source += '[^/]*';
        wild++;
      } else {
        source += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
        literal++;
      }
    }
  }
  return { template, re: new RegExp(`^${source}/?$`), score: literal * 1000 - wild };
}

export function compileRoutes(templates: readonly string[]): (path: string) => string | undefined {
  if (templates.length === 0) return () => undefined;
  const routes = templates.map(compile).sort((a, b) => b.score - a.score);
  return (path) => {
    for (const r of routes) if (r.re.test(path)) return r.template;
    return undefined;
  };
}
