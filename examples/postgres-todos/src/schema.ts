import type pg from 'pg';

/** A todo as the page gets it. */
export interface Todo {
  id: string;
  list: string;
  title: string;
  done: boolean;
}

/** Creates the table (with the old row logged in full, so a todo moving lists notifies both) and seeds it once. */
export async function ensureSchema(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS todos (
    id serial PRIMARY KEY,
    list text NOT NULL DEFAULT 'inbox',
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false
  )`);
  await pool.query('ALTER TABLE todos REPLICA IDENTITY FULL');
  await pool.query(`INSERT INTO todos (title, done)
    SELECT * FROM (VALUES ('Write the schema', true), ('Start the source', false), ('Edit me with psql', false)) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM todos)`);
}

export async function getTodo(pool: pg.Pool, id: string): Promise<Todo | null> {
  if (!/^\d{1,9}$/.test(id)) return null;
  const result = await pool.query<Todo>('SELECT id::text, list, title, done FROM todos WHERE id = $1', [id]);
  return result.rows[0] ?? null;
}

/** A list is the ids of its todos, in order. */
export async function getList(pool: pg.Pool, list: string): Promise<string[]> {
  const result = await pool.query<{ id: string }>('SELECT id::text FROM todos WHERE list = $1 ORDER BY id', [list]);
  return result.rows.map((r) => r.id);
}

/** The page's edits: plain SQL, like any other writer. No notify call anywhere. */
export async function updateTodo(pool: pg.Pool, id: string, edit: { title?: string; done?: boolean }): Promise<boolean> {
  const result = await pool.query('UPDATE todos SET title = coalesce($2, title), done = coalesce($3, done) WHERE id = $1', [
    id,
    edit.title ?? null,
    edit.done ?? null,
  ]);
  return result.rowCount === 1;
}

export async function addTodo(pool: pg.Pool, list: string, title: string): Promise<void> {
  await pool.query('INSERT INTO todos (list, title) VALUES ($1, $2)', [list, title]);
}
