// An Express app with a parameterised route; the load asks for /users/42.
import express from 'express';

const app = express();
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, name: 'Ada' });
});
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
