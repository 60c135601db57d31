// Reading the ops kit under deploy/ from the deploy suite: YAML (strict: a duplicate key is an error) and paths.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT } from './spawn.js';

export const DEPLOY = join(ROOT, 'deploy');

export function readDeploy(rel) {
  return readFileSync(join(DEPLOY, rel), 'utf8');
}

export function yamlOf(rel) {
  return YAML.parse(readDeploy(rel));
}

/** Every document of a multi-document YAML file, as plain objects. */
export function yamlDocsOf(rel) {
  return YAML.parseAllDocuments(readDeploy(rel)).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS();
  });
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchors(markdown) {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'),
    ),
  );
}
