// The support matrix in the README says what test/frameworks/ runs: each row's fixture folder pins
// the versions the row names, has the entry files its CommonJS and ESM marks promise, and is run by
// a test file; every fixture folder has a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/spawn.js';
import { FRAMEWORKS } from '../helpers/frameworks.js';

function matrixRows() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Frameworks'));
  const lines = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'));
  const [header, ...rows] = lines.map((l) => l.slice(2, -2).split(' | ').map((c) => c.trim()));
  assert.deepEqual(header, ['framework', 'instrumented', 'tested', 'fixture', 'CommonJS', 'ESM']);
  return rows.map(([framework, , tested, fixture, cjs, esm]) => ({ framework, tested, fixture: fixture.replace(/`/g, ''), cjs, esm }));
}

const testSources = readdirSync(join(ROOT, 'test', 'frameworks'))
  .filter((f) => f.endsWith('.test.js') && f !== 'matrix.test.js')
  .map((f) => readFileSync(join(ROOT, 'test', 'frameworks', f), 'utf8'))
  .join('\n');

test('pins in each fixture folder the versions its README row names', () => {
  for (const row of matrixRows()) {
    const pkg = JSON.parse(readFileSync(join(FRAMEWORKS, row.fixture, 'package.json'), 'utf8'));
    const pinned = Object.values(pkg.dependencies);
    for (const version of row.tested.split(' + ')) assert.ok(pinned.includes(version), `${row.framework}: ${version} pinned in fixtures/frameworks/${row.fixture}`);
  }
});

test('has the CommonJS and ESM entry files each row marks, run by a test file', () => {
  for (const row of matrixRows()) {
    for (const [mark, file] of [
      [row.cjs, 'app.cjs'],
      [row.esm, 'app.mjs'],
    ]) {
      assert.equal(mark, '✓', `${row.framework}: both module systems are tested`);
      assert.ok(existsSync(join(FRAMEWORKS, row.fixture, file)), `${row.fixture}/${file}`);
    }
    assert.match(testSources, new RegExp(`['\`/]${row.fixture}['\`/]`), `a test runs fixtures/frameworks/${row.fixture}`);
  }
});

test('gives every fixture folder a row in the README', () => {
  const listed = new Set(matrixRows().map((r) => r.fixture));
  for (const dir of readdirSync(FRAMEWORKS)) {
    if (existsSync(join(FRAMEWORKS, dir, 'package.json'))) assert.ok(listed.has(dir), `fixtures/frameworks/${dir} is in the README matrix`);
  }
});
