// The SQLite storage of a Durable Object, with its schema created on first use in each
// instance (CREATE ... IF NOT EXISTS: cheap, and safe for objects made before a table existed).
type Storage = DurableObjectState['storage'];

export function sqlWithSchema(storage: Storage, schema: readonly string[]): () => Storage['sql'] {
  let ready = false;
  return () => {
    if (!ready) {
      for (const statement of schema) storage.sql.exec(statement);
      ready = true;
    }
    return storage.sql;
  };
}
