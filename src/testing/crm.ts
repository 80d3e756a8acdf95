/**
 * The CRM v8 side of the local Zoho: the calls this project makes (list, get and create Leads,
 * a lead's attachments, the current user, the org, field metadata), answered in the shapes and with the errors of
 * Zoho's CRM v8 API documentation and its OpenAPI description of CRM v8 (the public
 * zoho/crm-oas repository). Only what a live, unexpired access token with the right scope may see.
 */
import type { LocalZohoUser } from './model.ts';
import { json } from './model.ts';

/** A CRM error body: `{ code, details, message, status: "error" }`. */
export const crmError = (status: number, code: string, message: string, details: Record<string, unknown> = {}) =>
  json({ code, details, message, status: 'error' }, status);

/** Leads fields this stand-in knows, in the shape of Zoho's field metadata. */
const LEAD_FIELDS = ['Last_Name', 'First_Name', 'Company', 'Email'].map((apiName, i) => ({
  id: String(7000 + i),
  api_name: apiName,
  field_label: apiName.replace('_', ' '),
  data_type: apiName === 'Email' ? 'email' : 'text',
  json_type: 'string',
  system_mandatory: apiName === 'Last_Name',
}));
const WRITABLE = new Set(LEAD_FIELDS.map((f) => f.api_name));
/** Fields Zoho sets itself; they may be asked for, never written. */
const SYSTEM_FIELDS = ['Owner', 'Created_Time', 'Modified_Time', 'Created_By', 'Modified_By'];
const READABLE = new Set(['id', ...WRITABLE, ...SYSTEM_FIELDS]);

export const MAX_FIELDS = 50;
export const MAX_PER_PAGE = 200;
/** `page` and `per_page` reach the first 2,000 records; beyond them Zoho wants `page_token`. */
export const DISCRETE_LIMIT = 2_000;
export const MAX_INSERT = 100;
const PAGE_TOKEN_TTL_MS = 24 * 3_600_000;

/**
 * Scopes each call accepts (any one of them), by Zoho's scope names; a module's own scope may
 * name it in any case (`ZohoCRM.modules.leads.READ`).
 */
function scopesFor(route: string, method: string): string[] | null {
  if (route === 'users') return ['zohocrm.users.all', 'zohocrm.users.read'];
  if (route === 'org') return ['zohocrm.org.all', 'zohocrm.org.read'];
  if (route === 'settings/fields') return ['zohocrm.settings.all', 'zohocrm.settings.read', 'zohocrm.settings.fields.all', 'zohocrm.settings.fields.read'];
  const module = /^([A-Za-z_]+)(?:\/|$)/.exec(route)?.[1]?.toLowerCase();
  if (!module) return null;
  const op = method === 'POST' ? 'create' : 'read';
  return ['zohocrm.modules.all', `zohocrm.modules.${op}`, `zohocrm.modules.${module}.all`, `zohocrm.modules.${module}.${op}`];
}

export function hasScope(granted: string, route: string, method: string): boolean {
  const wanted = scopesFor(route, method);
  if (!wanted) return true;
  const have = granted.split(/[\s,]+/).map((s) => s.toLowerCase());
  return wanted.some((scope) => have.includes(scope));
}

export interface CrmContext {
  user: LocalZohoUser;
  /** The org's Leads, in creation order; the handler appends to it. */
  leads: Record<string, unknown>[];
  /** The org's attachments (files on its records), by attachment id; the handler adds to it. Not kept across restarts. */
  attachments: Map<string, Attachment>;
  now: number;
  newId: () => string;
}

/** A file attached to a record: its bytes served back as uploaded, with the type it was uploaded with. */
export interface Attachment {
  recordId: string;
  fileName: string;
  contentType: string;
  bytes: Uint8Array<ArrayBuffer>;
}

/** Zoho's limit on one attached file: 20 MB. */
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

/** POST {module}/{id}/Attachments: a multipart form with `file`, as Zoho's upload takes it. */
async function uploadAttachment(request: Request, recordId: string, ctx: CrmContext): Promise<Response> {
  const form = await request.formData().catch(() => null);
  const file = form?.get('file');
  if (!file || typeof file === 'string') return crmError(400, 'REQUIRED_PARAM_MISSING', 'required param is missing', { param_name: 'file' });
  // Zoho's docs give the limit, not the error's code: this code is the stand-in's.
  if (file.size > MAX_ATTACHMENT_BYTES) return crmError(400, 'FILE_SIZE_MORE_THAN_ALLOWED_SIZE', 'file size exceeds the allowed size', { maximum_size: '20 MB' });
  const id = `${recordId}9${String(ctx.attachments.size + 1).padStart(4, '0')}`;
  ctx.attachments.set(id, { recordId, fileName: file.name, contentType: file.type || 'application/octet-stream', bytes: new Uint8Array(await file.arrayBuffer()) });
  const time = new Date(ctx.now).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  return json({ data: [{ code: 'SUCCESS', details: { id, Modified_Time: time, Created_Time: time, Modified_By: owner(ctx.user), Created_By: owner(ctx.user) }, message: 'attachment uploaded successfully', status: 'success' }] });
}

function owner(user: LocalZohoUser) {
  return { name: user.name, id: `${user.orgId}000001`, email: user.email };
}

function pick(record: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { id: record.id };
  for (const field of fields) if (field in record) out[field] = record[field];
  return out;
}

/** The `fields` parameter: required, at most 50, each a field this module has. */
function fieldsOf(url: URL, required: boolean): string[] | Response {
  const raw = url.searchParams.get('fields');
  if (raw === null || raw.trim() === '') {
    return required ? crmError(400, 'REQUIRED_PARAM_MISSING', 'required param is missing', { param_name: 'fields' }) : [...READABLE];
  }
  const fields = raw.split(',').map((f) => f.trim());
  if (fields.length > MAX_FIELDS) return crmError(400, 'LIMIT_EXCEEDED', 'limit exceeded', { limit: MAX_FIELDS, param_name: 'fields' });
  if (fields.some((f) => !READABLE.has(f))) return crmError(400, 'INVALID_DATA', 'invalid data', { param_name: 'fields' });
  return fields;
}

function integerParam(url: URL, name: string, fallback: number, min: number, max: number): number | Response {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= min && value <= max ? value : crmError(400, 'INVALID_DATA', 'invalid data', { param_name: name });
}

function listLeads(url: URL, ctx: CrmContext): Response {
  const fields = fieldsOf(url, true);
  if (fields instanceof Response) return fields;
  const perPage = integerParam(url, 'per_page', MAX_PER_PAGE, 1, MAX_PER_PAGE);
  if (perPage instanceof Response) return perPage;
  const sortBy = url.searchParams.get('sort_by') ?? 'id';
  if (!['id', 'Created_Time', 'Modified_Time'].includes(sortBy)) {
    return crmError(400, 'INVALID_DATA', 'invalid data', { param_name: 'sort_by', supported_values: ['id', 'Created_Time', 'Modified_Time'] });
  }
  const sortOrder = url.searchParams.get('sort_order') ?? 'desc';
  if (sortOrder !== 'asc' && sortOrder !== 'desc') {
    return crmError(400, 'INVALID_DATA', 'invalid data', { param_name: 'sort_order', supported_values: ['asc', 'desc'] });
  }
  // Where this page starts: `page` within the first 2,000 records, or a page token past them.
  let start: number;
  let page = 1;
  const pageToken = url.searchParams.get('page_token');
  if (pageToken !== null) {
    const [offset, expires] = atob(pageToken.replace(/[^A-Za-z0-9+/=]/g, '')).split(':').map(Number);
    if (!Number.isInteger(offset) || !(Number(expires) > ctx.now)) return crmError(400, 'INVALID_DATA', 'invalid data', { param_name: 'page_token' });
    start = offset!;
  } else {
    const asked = integerParam(url, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
    if (asked instanceof Response) return asked;
    page = asked;
    start = (page - 1) * perPage;
    if (start + perPage > DISCRETE_LIMIT) return crmError(400, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED', 'pagination limit exceeded', { limit: DISCRETE_LIMIT });
  }
  const sorted = [...ctx.leads].sort((a, b) => {
    const [x, y] = [String(a[sortBy]), String(b[sortBy])];
    const order = x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
    return sortOrder === 'asc' ? order : -order;
  });
  const slice = sorted.slice(start, start + perPage);
  if (slice.length === 0) return new Response(null, { status: 204 });
  const more = start + perPage < sorted.length;
  const expiry = ctx.now + PAGE_TOKEN_TTL_MS;
  return json({
    data: slice.map((lead) => pick(lead, fields)),
    info: {
      per_page: perPage,
      count: slice.length,
      page,
      sort_by: sortBy,
      sort_order: sortOrder,
      more_records: more,
      next_page_token: more ? btoa(`${start + perPage}:${expiry}`) : null,
      previous_page_token: start > 0 ? btoa(`${Math.max(0, start - perPage)}:${expiry}`) : null,
      page_token_expiry: more || start > 0 ? new Date(expiry).toISOString() : null,
    },
  });
}

async function createLeads(request: Request, ctx: CrmContext): Promise<Response> {
  let body: { data?: unknown };
  try {
    body = (await request.json()) as typeof body;
  } catch {
    return crmError(400, 'INVALID_DATA', 'body is not valid JSON', {});
  }
  if (!Array.isArray(body?.data) || body.data.length === 0) return crmError(400, 'INVALID_DATA', 'data is required', { param_name: 'data' });
  if (body.data.length > MAX_INSERT) return crmError(400, 'LIMIT_EXCEEDED', 'limit exceeded', { limit: MAX_INSERT, param_name: 'data' });
  const time = new Date(ctx.now).toISOString().replace(/\.\d+Z$/, '+00:00');
  const by = { name: ctx.user.name, id: owner(ctx.user).id };
  const results = body.data.map((record: unknown, i: number) => {
    const at = (field: string) => ({ api_name: field, json_path: `$.data[${i}].${field}` });
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return { code: 'INVALID_DATA', details: { json_path: `$.data[${i}]` }, message: 'invalid data', status: 'error' };
    }
    const fields = record as Record<string, unknown>;
    const unknown = Object.keys(fields).find((f) => !WRITABLE.has(f));
    if (unknown) return { code: 'INVALID_DATA', details: at(unknown), message: 'the field api name given seems to be invalid', status: 'error' };
    if (typeof fields.Last_Name !== 'string' || fields.Last_Name.trim() === '') {
      return { code: 'MANDATORY_NOT_FOUND', details: at('Last_Name'), message: 'required field not found', status: 'error' };
    }
    const id = ctx.newId();
    ctx.leads.push({ ...fields, id, Owner: owner(ctx.user), Created_Time: time, Modified_Time: time, Created_By: by, Modified_By: by });
    return { code: 'SUCCESS', details: { id, Created_Time: time, Modified_Time: time, Created_By: by, Modified_By: by }, message: 'record added', status: 'success' };
  });
  const succeeded = results.filter((r) => r.status === 'success').length;
  return json({ data: results }, succeeded === results.length ? 201 : succeeded === 0 ? 400 : 207);
}

/** Answers one CRM call for `ctx.user`, whose token has been checked (and its scope, by the caller). */
export async function answerCrm(request: Request, url: URL, route: string, ctx: CrmContext): Promise<Response> {
  const { user } = ctx;
  const method = request.method;
  if (route === 'users' && method === 'GET') {
    if (url.searchParams.get('type') !== 'CurrentUser') return crmError(400, 'INVALID_DATA', 'invalid data', { param_name: 'type' });
    return json({ users: [{ id: owner(user).id, email: user.email, full_name: user.name, status: 'active' }], info: { per_page: 200, count: 1, page: 1, more_records: false } });
  }
  if (route === 'org' && method === 'GET') return json({ org: [{ id: `${user.orgId}000`, zgid: user.orgId, company_name: `Org ${user.orgId}` }] });
  if (route === 'settings/fields' && method === 'GET') {
    const module = url.searchParams.get('module');
    if (!module) return crmError(400, 'REQUIRED_PARAM_MISSING', 'required param is missing', { param_name: 'module' });
    if (module !== 'Leads') return crmError(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { param_name: 'module' });
    return json({ fields: LEAD_FIELDS });
  }
  const attachment = /^([A-Za-z_]+)\/(\d+)\/Attachments(?:\/(\d+))?$/.exec(route);
  if (attachment) {
    const [, module, recordId, attachmentId] = attachment;
    if (module !== 'Leads') return crmError(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 });
    if (!ctx.leads.some((l) => l.id === recordId)) return crmError(400, 'INVALID_DATA', 'the related id given seems to be invalid', { resource_path_index: 1 });
    if (attachmentId === undefined && method === 'POST') return uploadAttachment(request, recordId!, ctx);
    const file = attachmentId === undefined ? undefined : ctx.attachments.get(attachmentId);
    if (method === 'GET' && file && file.recordId === recordId) return new Response(file.bytes.slice(), { headers: { 'content-type': file.contentType } });
    if (method === 'GET' && attachmentId !== undefined) return new Response(null, { status: 204 });
  }
  const match = /^([A-Za-z_]+)(?:\/(\d+))?$/.exec(route);
  if (!match) return crmError(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
  const [, module, id] = match;
  if (module !== 'Leads') return crmError(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 });
  if (id === undefined && method === 'GET') return listLeads(url, ctx);
  if (id === undefined && method === 'POST') return createLeads(request, ctx);
  if (id !== undefined && method === 'GET') {
    const fields = fieldsOf(url, false);
    if (fields instanceof Response) return fields;
    const lead = ctx.leads.find((l) => l.id === id);
    return lead ? json({ data: [pick(lead, fields)] }) : new Response(null, { status: 204 });
  }
  return crmError(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
}
