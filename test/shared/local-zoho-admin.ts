// The local Zoho's test controls (/__admin/), for tests in any runtime: counts are read with
// GET, every other control is a POST. One client, so every test asks the same way.
export function localZohoAdmin(origin: string | (() => string), doFetch: typeof fetch = (input, init) => fetch(input, init)) {
  const base = () => (typeof origin === 'function' ? origin() : origin);
  return async function admin<T = unknown>(op: string, params: Record<string, string> = {}): Promise<T> {
    const response = await doFetch(`${base()}/__admin/${op}?${new URLSearchParams(params)}`, { method: op === 'counts' ? 'GET' : 'POST' });
    return (await response.json()) as T;
  };
}
