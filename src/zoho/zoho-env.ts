/**
 * Which Zoho data centers a Worker serves, and where they are, from its environment. The
 * Worker and its token objects read the same settings through this one function:
 *   ZOHO_DATA_CENTER         "us" (default), a list such as "us,eu", or "any" (all nine)
 *   ZOHO_ACCOUNTS_URL        development: the one data center served at this origin (a local Zoho)
 *   ZOHO_LOCAL_DATA_CENTERS  development: JSON {"us": "<origin>", "eu": "<origin>"}, one stand-in per data center
 * Errors name the setting, never its value.
 */
import { DATA_CENTERS, type DataCenter, type DataCenterOrigins } from './zoho.ts';

export interface ZohoEnv {
  ZOHO_DATA_CENTER?: string;
  ZOHO_ACCOUNTS_URL?: string;
  ZOHO_LOCAL_DATA_CENTERS?: string;
}

export interface ZohoDataCenters {
  /** The data centers served, in the order configured. */
  served: DataCenter[];
  /** Where each served data center's accounts server and API are. */
  table: Partial<Record<DataCenter, DataCenterOrigins>>;
}

const origin = (value: string, setting: string) => {
  try {
    return new URL(value).origin;
  } catch {
    throw new Error(`configuration: ${setting} must hold absolute URLs`);
  }
};

export function zohoDataCenters(env: ZohoEnv): ZohoDataCenters {
  const setting = (env.ZOHO_DATA_CENTER || 'us').trim();
  const served = (setting === 'any' ? Object.keys(DATA_CENTERS) : setting.split(',').map((dc) => dc.trim())) as DataCenter[];
  for (const dc of served) {
    if (!Object.hasOwn(DATA_CENTERS, dc)) throw new Error('configuration: ZOHO_DATA_CENTER must be "any" or Zoho data centers (us, eu, in, au, jp, ca, sa, cn, uk), comma-separated');
  }
  const table: ZohoDataCenters['table'] = {};
  if (env.ZOHO_LOCAL_DATA_CENTERS) {
    let local: Record<string, unknown>;
    try {
      local = JSON.parse(env.ZOHO_LOCAL_DATA_CENTERS) as Record<string, unknown>;
    } catch {
      throw new Error('configuration: ZOHO_LOCAL_DATA_CENTERS must be a JSON object of data center -> origin');
    }
    for (const dc of served) {
      const at = local[dc];
      if (typeof at !== 'string') throw new Error(`configuration: ZOHO_LOCAL_DATA_CENTERS has no origin for ${dc}`);
      table[dc] = { accounts: origin(at, 'ZOHO_LOCAL_DATA_CENTERS'), apiDomain: origin(at, 'ZOHO_LOCAL_DATA_CENTERS') };
    }
  } else if (env.ZOHO_ACCOUNTS_URL) {
    if (served.length !== 1) throw new Error('configuration: ZOHO_ACCOUNTS_URL serves one data center; use ZOHO_LOCAL_DATA_CENTERS for several');
    const at = origin(env.ZOHO_ACCOUNTS_URL, 'ZOHO_ACCOUNTS_URL');
    table[served[0]!] = { accounts: at, apiDomain: at };
  } else {
    for (const dc of served) table[dc] = DATA_CENTERS[dc];
  }
  return { served, table };
}
