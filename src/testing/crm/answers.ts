// What every CRM answer is made of: Zoho's error body, its times, its user references, and the
// messages Zoho's OpenAPI description of CRM v8 lists for each code (its API_Exception enums).
import { json, orgIdPrefix, type LocalZohoUser } from '../model.ts';

/** A CRM error body: `{ code, details, message, status: "error" }`. */
export const crmError = (status: number, code: string, message: string, details: Record<string, unknown> = {}) =>
  json({ code, details, message, status: 'error' }, status);

/** One record's error inside a `data` array of a write's answer. */
export const recordError = (code: string, message: string, details: Record<string, unknown>) => ({ code, details, message, status: 'error' as const });

export const MESSAGES = {
  missingParam: 'One of the expected parameter is missing',
  fieldLimit: 'Max field limit exceeded',
  recordLimit: 'Record count exceeded',
  invalidData: 'invalid data',
  invalidId: 'the id given seems to be invalid',
  invalidModule: 'The module name given seems to be invalid',
  mandatory: 'required field not found',
  urlPattern: 'Please check if the URL trying to access is a correct one',
  invalidQuery: 'invalid query formed',
  added: 'record added',
  updated: 'record updated',
  deleted: 'record deleted',
} as const;

export const invalidUrl = () => crmError(404, 'INVALID_URL_PATTERN', MESSAGES.urlPattern);
export const missingParam = (param: string) => crmError(400, 'REQUIRED_PARAM_MISSING', MESSAGES.missingParam, { param_name: param });
export const invalidParam = (param: string, extra: Record<string, unknown> = {}) =>
  crmError(400, 'INVALID_DATA', MESSAGES.invalidData, { param_name: param, ...extra });

/** Zoho's times: ISO 8601 with an offset and no milliseconds (`2026-12-01T10:00:00+00:00`). */
export const zohoTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');

/** A user as records name them (Owner, Created_By): name, id, email. */
export function userRef(user: LocalZohoUser): { name: string; id: string; email: string } {
  return { name: user.name, id: userIdOf(user), email: user.email };
}

/**
 * A user's CRM id: their org's seven digits and a number of their own, stable for the same
 * email, in a range no record id of the org reaches (records count up from 1).
 */
export function userIdOf(user: LocalZohoUser): string {
  let n = 0;
  for (const char of user.email) n = (n * 33 + char.charCodeAt(0)) % 1_000_000;
  return `${orgIdPrefix(user.orgId)}9${String(n).padStart(11, '0')}`;
}

/** Ids of the org's other entities (its own id, roles, profiles), in a range of their own. */
export const orgEntityId = (orgId: string, n: number) => `${orgIdPrefix(orgId)}8${String(n).padStart(11, '0')}`;

/** A request body as JSON, or the INVALID_DATA answer Zoho gives for one that is not. */
export async function jsonBody(request: Request): Promise<Record<string, unknown> | Response> {
  try {
    const body: unknown = await request.json();
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // falls through: not JSON
  }
  return crmError(400, 'INVALID_DATA', MESSAGES.invalidData, { expected_data_type: 'jsonobject' });
}
