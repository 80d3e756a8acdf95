// A D1 binding that counts the statements prepared on it (the SQL store prepares one per
// statement it runs), for the SQL store's tests and the bench.
export function countingD1(db: D1Database) {
  let statements = 0;
  const d1 = new Proxy(db, {
    get(target, key) {
      if (key === 'prepare') return (sql: string) => (statements++, target.prepare(sql));
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { d1, reset: () => void (statements = 0), total: () => statements };
}
