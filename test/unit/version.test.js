import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { VERSION } from '../../dist/src/version.js';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const changelog = new URL('CHANGELOG.md', root);

describe('version', () => {
  it('reports the version in package.json', () => {
    assert.equal(VERSION, pkg.version);
  });

  it('has a CHANGELOG.md heading for this version', { skip: !existsSync(changelog) && 'no CHANGELOG.md yet' }, () => {
    const escaped = pkg.version.replace(/[.+]/g, '\\$&');
    // "## 0.1.0", "## [0.1.0] - 2025-01-01", "## v0.1.0 (date)" and the like.
    const heading = new RegExp(`^#{1,3} +\\[?v?${escaped}\\]?(?:[ \\t(—–-]|$)`, 'm');
    assert.match(readFileSync(changelog, 'utf8'), heading);
  });
});
