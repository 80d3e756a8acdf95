// The slice of `cloudflare:workers` that the Durable Object backend (src/backends) uses, so the library compiles
// against Web types alone. In a Worker project, @cloudflare/workers-types supplies the real
// module and this file is not part of the program.
declare module 'cloudflare:workers' {
  export abstract class DurableObject<Env = unknown> {
    protected ctx: {
      readonly id: { toString(): string };
      readonly storage: {
        readonly sql: {
          exec<T extends Record<string, string | number | null | ArrayBuffer>>(query: string, ...bindings: unknown[]): { toArray(): T[] };
        };
        transactionSync<T>(closure: () => T): T;
      };
    };
    protected env: Env;
    constructor(ctx: unknown, env: Env);
  }
}
