// An Express app written in TypeScript (fixtures/frameworks/express5/app.mts) gets the same spans
// and metrics run by tsx (`node --import tsx`) as run by Node's own type stripping.
import { join } from 'node:path';
import { CHILD_NODE, EXPRESS_REQUESTS, FRAMEWORKS, describeFixture, notInstalled } from '../helpers/frameworks.js';

const [major, minor] = CHILD_NODE;
const requests = EXPRESS_REQUESTS;
const file = 'fixtures/frameworks/express5/app.mts';

describeFixture('express5/app.mts through tsx', {
  file,
  cwd: join(FRAMEWORKS, 'express5'), // where --import tsx resolves tsx from
  nodeArgs: '--import tsx',
  requests,
  skip: notInstalled('express5'),
});

// Type stripping: behind --experimental-strip-types from 22.6, on by default from 22.18 and 23.6.
const stripSkip =
  major < 22 || (major === 22 && minor < 6) ? `Node ${CHILD_NODE.join('.')} cannot strip types (22.6 and later can)` : notInstalled('express5');
const needsFlag = (major === 22 && minor < 18) || (major === 23 && minor < 6);
describeFixture(`express5/app.mts with Node's type stripping${needsFlag ? ' (--experimental-strip-types)' : ''}`, {
  file,
  nodeArgs: needsFlag ? '--experimental-strip-types' : '',
  requests,
  skip: stripSkip,
});
