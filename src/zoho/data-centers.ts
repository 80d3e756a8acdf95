/**
 * Zoho's data centers, in one place: the table (accounts server, API domain, and the name people
 * know it by), one lookup of a data center from any URL, and which of them a deployment serves,
 * read from its environment:
 *   ZOHO_DATA_CENTER         "us" (default), a list such as "us,eu", or "any" (every one)
 *   ZOHO_ACCOUNTS_URL        development: the one data center served at this origin (a local Zoho)
 *   ZOHO_LOCAL_DATA_CENTERS  development: JSON {"us": "<origin>", "eu": "<origin>"}, one stand-in per data center
 * Zoho's accounts docs list these (their multi-DC page); a deployment serves the ones it names.
 * Errors name the setting, never its value.
 */

import { misconfigured } from '../store/errors.ts';

export const DATA_CENTERS = {
  us: { accounts: 'https://accounts.zoho.com', apiDomain: 'https://www.zohoapis.com', name: 'United States' },
  eu: { accounts: 'https://accounts.zoho.eu', apiDomain: 'https://www.zohoapis.eu', name: 'European Union' },
  in: { accounts: 'https://accounts.zoho.in', apiDomain: 'https://www.zohoapis.in', name: 'India' },
  au: { accounts: 'https://accounts.zoho.com.au', apiDomain: 'https://www.zohoapis.com.au', name: 'Australia' },
  jp: { accounts: 'https://accounts.zoho.jp', apiDomain: 'https://www.zohoapis.jp', name: 'Japan' },
  ca: { accounts: 'https://accounts.zohocloud.ca', apiDomain: 'https://www.zohoapis.ca', name: 'Canada' },
  sa: { accounts: 'https://accounts.zoho.sa', apiDomain: 'https://www.zohoapis.sa', name: 'Saudi Arabia' },
  cn: { accounts: 'https://accounts.zoho.com.cn', apiDomain: 'https://www.zohoapis.com.cn', name: 'China' },
  uk: { accounts: 'https://accounts.zoho.uk', apiDomain: 'https://www.zohoapis.uk', name: 'United Kingdom' },
} as const;
export type DataCenter = keyof typeof DATA_CENTERS;

/** Every data center's id, in the table's order. */
export const DATA_CENTER_IDS = Object.keys(DATA_CENTERS) as DataCenter[];

export const isDataCenter = (value: unknown): value is DataCenter => typeof value === 'string' && Object.hasOwn(DATA_CENTERS, value);

/** Where one data center's accounts server and CRM API live. */
export interface DataCenterOrigins {
  accounts: string;
  apiDomain: string;
}

/** A table of data centers: Zoho's own, or the ones a deployment serves (local stand-ins included). */
export type DataCenterTable = Partial<Record<DataCenter, DataCenterOrigins>>;

/** A Zoho API domain and its sandbox and developer variants. */
const apiVariants = (apiDomain: string) => ['www.', 'sandbox.', 'developer.'].map((prefix) => apiDomain.replace('://www.', `://${prefix}`));

/** Every Zoho CRM API origin: each data center's, and its sandbox and developer variants. */
export const ZOHO_API_DOMAINS: readonly string[] = DATA_CENTER_IDS.flatMap((dc) => apiVariants(DATA_CENTERS[dc].apiDomain));

const originOrNull = (url: string | null | undefined) => {
  try {
    return typeof url === 'string' ? new URL(url).origin : null;
  } catch {
    return null;
  }
};

/**
 * The data center whose accounts server (`accounts`) or API domain (`api`; for a Zoho API
 * domain, its `sandbox.` and `developer.` variants too) is the origin of `url`, in `table`
 * (default: Zoho's own). Null for anything else, a URL that does not parse included.
 */
export function dataCenterAt(url: string | null | undefined, kind: 'accounts' | 'api', table: DataCenterTable = DATA_CENTERS): DataCenter | null {
  const origin = originOrNull(url);
  if (origin === null) return null;
  for (const [dc, origins] of Object.entries(table) as [DataCenter, DataCenterOrigins][]) {
    if (
      kind === 'accounts'
        ? origins.accounts === origin
        : origins.apiDomain === origin || (origins.apiDomain === DATA_CENTERS[dc].apiDomain && apiVariants(origins.apiDomain).includes(origin))
    )
      return dc;
  }
  return null;
}

/** The settings a deployment names its data centers with. */
export interface DataCenterEnv {
  ZOHO_DATA_CENTER?: string;
  ZOHO_ACCOUNTS_URL?: string;
  ZOHO_LOCAL_DATA_CENTERS?: string;
}

export interface ZohoDataCenters {
  /** The data centers served, in the order configured. */
  served: DataCenter[];
  /** Where each served data center's accounts server and API are. */
  table: DataCenterTable;
}

const origin = (value: string, setting: string) => {
  const at = originOrNull(value);
  if (at === null) throw misconfigured(`${setting} must hold absolute URLs`);
  return at;
};

/** The data centers a deployment serves, and where, from its environment. */
export function zohoDataCenters(env: DataCenterEnv): ZohoDataCenters {
  const setting = (env.ZOHO_DATA_CENTER || 'us').trim();
  const served = (setting === 'any' ? DATA_CENTER_IDS : setting.split(',').map((dc) => dc.trim())) as DataCenter[];
  for (const dc of served) {
    if (!isDataCenter(dc)) throw misconfigured(`ZOHO_DATA_CENTER must be "any" or Zoho data centers (${DATA_CENTER_IDS.join(', ')}), comma-separated`);
  }
  const table: DataCenterTable = {};
  if (env.ZOHO_LOCAL_DATA_CENTERS) {
    let local: Record<string, unknown>;
    try {
      local = JSON.parse(env.ZOHO_LOCAL_DATA_CENTERS) as Record<string, unknown>;
    } catch {
      throw misconfigured('ZOHO_LOCAL_DATA_CENTERS must be a JSON object of data center -> origin');
    }
    for (const dc of served) {
      const at = local[dc];
      if (typeof at !== 'string') throw misconfigured(`ZOHO_LOCAL_DATA_CENTERS has no origin for ${dc}`);
      table[dc] = { accounts: origin(at, 'ZOHO_LOCAL_DATA_CENTERS'), apiDomain: origin(at, 'ZOHO_LOCAL_DATA_CENTERS') };
    }
  } else if (env.ZOHO_ACCOUNTS_URL) {
    if (served.length !== 1) throw misconfigured('ZOHO_ACCOUNTS_URL serves one data center; use ZOHO_LOCAL_DATA_CENTERS for several');
    const at = origin(env.ZOHO_ACCOUNTS_URL, 'ZOHO_ACCOUNTS_URL');
    table[served[0]!] = { accounts: at, apiDomain: at };
  } else {
    for (const dc of served) table[dc] = { accounts: DATA_CENTERS[dc].accounts, apiDomain: DATA_CENTERS[dc].apiDomain };
  }
  return { served, table };
}
