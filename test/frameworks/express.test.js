// Express 4 and 5, each loaded with require and with import: routers nested under prefixes, a
// sub-app, handler errors. The app is the same (fixtures/frameworks/shared/express-app.cjs).
import { EXPRESS_REQUESTS, describeFixture, notInstalled } from '../helpers/frameworks.js';

for (const folder of ['express4', 'express5']) {
  for (const file of ['app.cjs', 'app.mjs']) {
    describeFixture(`${folder}/${file}`, {
      file: `fixtures/frameworks/${folder}/${file}`,
      requests: EXPRESS_REQUESTS,
      skip: notInstalled(folder),
    });
  }
}
