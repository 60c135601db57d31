// The Express app of express.js, without its listen: express.js serves it on a port, and
// hello-inproc.js (APP=express) over in-memory connections.
import express from 'express';

export const app = express();
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, name: 'Ada' });
});
