// An Express app with a parameterised route; the load asks for /users/42.
import { app } from './express-app.js';

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
