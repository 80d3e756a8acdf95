// The local Zoho's test controls (/__admin/), for tests in any runtime: counts are read with
// GET, every other control is a POST. One client, so every test asks the same way. A served
// local Zoho wants its admin token; the in-process one behind workerd's outbound does not.
export function localZohoAdmin(origin: string | (() => string), token?: string | (() => string), doFetch: typeof fetch = (input, init) => fetch(input, init)) {
  const base = () => (typeof origin === 'function' ? origin() : origin);
  const bearer = () => (typeof token === 'function' ? token() : token);
  return async function admin<T = unknown>(op: string, params: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = bearer() ? { authorization: `Bearer ${bearer()}` } : {};
    const response = await doFetch(`${base()}/__admin/${op}?${new URLSearchParams(params)}`, { method: op === 'counts' ? 'GET' : 'POST', headers });
    return (await response.json()) as T;
  };
}
