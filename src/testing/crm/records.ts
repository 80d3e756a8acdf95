// Records of any module: list, get, insert, update, upsert, delete, answered as Zoho's CRM v8
// docs and its OpenAPI description (record.json) have them.
import { json, type LocalZohoUser } from '../model.ts';
import { crmError, invalidParam, jsonBody, MESSAGES, missingParam, recordError, userRef, zohoTime } from './answers.ts';
import type { Module } from './modules.ts';
import type { CrmRecord, OrgData } from './org-data.ts';

export const MAX_FIELDS = 50;
export const MAX_PER_PAGE = 200;
/** `page` and `per_page` reach the first 2,000 records; beyond them Zoho wants `page_token`. */
export const DISCRETE_LIMIT = 2_000;
/** Records per insert, update, upsert or delete. */
export const MAX_RECORDS = 100;
const PAGE_TOKEN_TTL_MS = 24 * 3_600_000;
const SORTABLE = ['id', 'Created_Time', 'Modified_Time'];

export interface RecordContext {
  user: LocalZohoUser;
  org: OrgData;
  module: Module;
  now: number;
}

export function pick(record: CrmRecord, fields: string[]): CrmRecord {
  const out: CrmRecord = { id: record.id };
  for (const field of fields) if (field in record) out[field] = record[field];
  return out;
}

/** The `fields` parameter: at most 50, each a field this module has; required where Zoho requires it. */
export function fieldsOf(url: URL, module: Module, required: boolean): string[] | Response {
  const raw = url.searchParams.get('fields');
  if (raw === null || raw.trim() === '')
    return required ? missingParam('fields') : [...module.fields.keys(), 'Owner', 'Created_Time', 'Modified_Time', 'Created_By', 'Modified_By'];
  const fields = raw.split(',').map((f) => f.trim());
  if (fields.length > MAX_FIELDS) return crmError(400, 'LIMIT_EXCEEDED', MESSAGES.fieldLimit, { limit: MAX_FIELDS, param_name: 'fields' });
  const unknown = fields.find((f) => !module.readable(f));
  if (unknown !== undefined) return invalidParam('fields', { api_name: unknown });
  return fields;
}

export function integerParam(url: URL, name: string, fallback: number, min: number, max: number): number | Response {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= min && value <= max ? value : invalidParam(name);
}

/** `true`, `false` or `both`, as the list's `converted` and `approved` take them. */
function tristate(url: URL, name: string, fallback: 'true' | 'false'): ((value: unknown) => boolean) | Response {
  const raw = url.searchParams.get(name) ?? fallback;
  if (raw === 'both') return () => true;
  if (raw === 'true' || raw === 'false') return (value) => value === (raw === 'true');
  return invalidParam(name, { supported_values: ['true', 'false', 'both'] });
}

/** Ids as Zoho writes them: 19-digit strings. */
const isId = (value: unknown): value is string => typeof value === 'string' && /^\d{1,19}$/.test(value);

function compareBy(field: string, order: 'asc' | 'desc') {
  return (a: CrmRecord, b: CrmRecord) => {
    const [x, y] = [String(a[field] ?? ''), String(b[field] ?? '')];
    const c = x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
    return order === 'asc' ? c : -c;
  };
}

/** GET /{module}: `fields` required; ids, cvid, sort, page or page_token, converted, approved, If-Modified-Since. */
export function listRecords(request: Request, url: URL, ctx: RecordContext): Response {
  const { module, org } = ctx;
  const params = url.searchParams;
  const fields = fieldsOf(url, module, true);
  if (fields instanceof Response) return fields;
  const perPage = integerParam(url, 'per_page', MAX_PER_PAGE, 1, MAX_PER_PAGE);
  if (perPage instanceof Response) return perPage;
  const sortBy = params.get('sort_by') ?? 'id';
  if (!SORTABLE.includes(sortBy)) return invalidParam('sort_by', { supported_values: SORTABLE });
  const sortOrder = params.get('sort_order') ?? 'desc';
  if (sortOrder !== 'asc' && sortOrder !== 'desc') return invalidParam('sort_order', { supported_values: ['asc', 'desc'] });
  const converted = tristate(url, 'converted', 'false');
  if (converted instanceof Response) return converted;
  const approved = tristate(url, 'approved', 'true');
  if (approved instanceof Response) return approved;
  let records = org.of(module).filter((r) => converted(r.$converted ?? false) && approved(r.$approved ?? true));
  const cvid = params.get('cvid');
  if (cvid !== null && cvid !== module.allViewId) return invalidParam('cvid');
  const ids = params.get('ids');
  if (ids !== null) {
    const wanted = ids.split(',').map((id) => id.trim());
    if (wanted.length === 0 || wanted.length > MAX_RECORDS || !wanted.every(isId)) return invalidParam('ids');
    records = records.filter((r) => wanted.includes(r.id));
  }
  const since = request.headers.get('if-modified-since');
  if (since !== null) {
    const at = Date.parse(since);
    if (Number.isNaN(at)) return crmError(400, 'INVALID_DATA', MESSAGES.invalidData, { header_name: 'If-Modified-Since' });
    records = records.filter((r) => Date.parse(String(r.Modified_Time)) > at);
    if (records.length === 0) return new Response(null, { status: 304 });
  }
  // Where this page starts: `page` within the first 2,000 records, or a page token past them; never both.
  const pageToken = params.get('page_token');
  if (pageToken !== null && params.has('page')) return invalidParam('page_token', { reason: 'page and page_token cannot be used together' });
  let start: number;
  let page = 1;
  if (pageToken !== null) {
    const [offset, expires] = safeAtob(pageToken).split(':').map(Number);
    if (!Number.isInteger(offset) || !(Number(expires) > ctx.now)) return invalidParam('page_token');
    start = offset!;
  } else {
    const asked = integerParam(url, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
    if (asked instanceof Response) return asked;
    page = asked;
    start = (page - 1) * perPage;
    if (start + perPage > DISCRETE_LIMIT)
      return crmError(400, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED', 'The limit for discrete pagination has been exceeded', { limit: DISCRETE_LIMIT });
  }
  const sorted = [...records].sort(compareBy(sortBy, sortOrder));
  const slice = sorted.slice(start, start + perPage);
  if (slice.length === 0) return new Response(null, { status: 204 });
  const more = start + perPage < sorted.length;
  const expiry = ctx.now + PAGE_TOKEN_TTL_MS;
  // Page tokens are left out when there is none: the description types them as strings, never null.
  return json({
    data: slice.map((r) => pick(r, fields)),
    info: {
      per_page: perPage,
      count: slice.length,
      page,
      sort_by: sortBy,
      sort_order: sortOrder,
      more_records: more,
      ...(more ? { next_page_token: btoa(`${start + perPage}:${expiry}`) } : {}),
      ...(start > 0 ? { previous_page_token: btoa(`${Math.max(0, start - perPage)}:${expiry}`) } : {}),
      ...(more || start > 0 ? { page_token_expiry: zohoTime(expiry) } : {}),
    },
  });
}

function safeAtob(value: string): string {
  try {
    return atob(value);
  } catch {
    return '';
  }
}

/** GET /{module}/{id}: the record with every field (or those `fields` names), 204 when there is none. */
export function getRecord(url: URL, id: string, ctx: RecordContext): Response {
  const fields = fieldsOf(url, ctx.module, false);
  if (fields instanceof Response) return fields;
  const record = ctx.org.of(ctx.module).find((r) => r.id === id);
  return record ? json({ data: [pick(record, ['$approved', '$converted', ...fields])] }) : new Response(null, { status: 204 });
}

type RecordResult = {
  code: string;
  details: Record<string, unknown>;
  message: string;
  status: 'success' | 'error';
  action?: string;
  duplicate_field?: string | null;
};

/** A write's `data` (1 to 100 objects), or the answer Zoho gives for one that is not. */
async function writeData(request: Request): Promise<{ data: unknown[]; body: Record<string, unknown> } | Response> {
  const body = await jsonBody(request);
  if (body instanceof Response) return body;
  if (!Array.isArray(body.data) || body.data.length === 0) return missingParam('data');
  if (body.data.length > MAX_RECORDS) return crmError(400, 'LIMIT_EXCEEDED', MESSAGES.recordLimit, { limit: MAX_RECORDS, param_name: 'data' });
  return { data: body.data, body };
}

/** The writable fields of one record in a write, or its error: unknown fields, system fields, wrong types. */
function writableFields(value: unknown, i: number, module: Module, allowId: boolean): Record<string, unknown> | RecordResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return recordError('INVALID_DATA', MESSAGES.invalidData, { json_path: `$.data[${i}]`, expected_data_type: 'jsonobject' });
  const fields: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    if (name === 'id' && allowId) continue;
    const field = module.fields.get(name);
    const at = { api_name: name, json_path: `$.data[${i}].${name}` };
    if (!field) return recordError('INVALID_DATA', MESSAGES.invalidData, at);
    if (v !== null && !fitsType(field.type, v)) return recordError('INVALID_DATA', MESSAGES.invalidData, { ...at, expected_data_type: field.type });
    fields[name] = v;
  }
  return fields;
}

function fitsType(type: string, value: unknown): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'currency') return typeof value === 'number' && Number.isFinite(value);
  if (type === 'boolean') return typeof value === 'boolean';
  if (type === 'date') return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
  if (type === 'datetime') return typeof value === 'string' && !Number.isNaN(Date.parse(value));
  if (type === 'email') return typeof value === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
  return typeof value === 'string';
}

const isRecordResult = (v: Record<string, unknown> | RecordResult): v is RecordResult =>
  typeof v.status === 'string' && typeof v.code === 'string' && 'details' in v;

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

const missingMandatory = (fields: Record<string, unknown>, module: Module, i: number): RecordResult | null => {
  const missing = module.mandatory.find((name) => isBlank(fields[name]));
  return missing ? recordError('MANDATORY_NOT_FOUND', MESSAGES.mandatory, { api_name: missing, json_path: `$.data[${i}].${missing}` }) : null;
};

function stamp(ctx: RecordContext) {
  const time = zohoTime(ctx.now);
  const by = { name: ctx.user.name, id: userRef(ctx.user).id };
  return { time, by };
}

function insertOne(fields: Record<string, unknown>, ctx: RecordContext): RecordResult {
  const { time, by } = stamp(ctx);
  const id = ctx.org.newId();
  ctx.org.of(ctx.module).push({
    ...fields,
    id,
    Owner: userRef(ctx.user),
    Created_Time: time,
    Modified_Time: time,
    Created_By: by,
    Modified_By: by,
    $approved: true,
    ...(ctx.module.apiName === 'Leads' ? { $converted: false } : {}),
  });
  return {
    code: 'SUCCESS',
    details: { Modified_Time: time, Modified_By: by, Created_Time: time, id, Created_By: by },
    message: MESSAGES.added,
    status: 'success',
  };
}

function updateOne(record: CrmRecord, fields: Record<string, unknown>, ctx: RecordContext): RecordResult {
  const { time, by } = stamp(ctx);
  Object.assign(record, fields, { Modified_Time: time, Modified_By: by });
  return {
    code: 'SUCCESS',
    details: { Modified_Time: time, Modified_By: by, Created_Time: record.Created_Time, id: record.id, Created_By: record.Created_By },
    message: MESSAGES.updated,
    status: 'success',
  };
}

/** 201 (inserts) or 200 when every record succeeded, 207 when some did, 400 when none did. */
function writeResults(results: RecordResult[], allSucceeded: number): Response {
  const succeeded = results.filter((r) => r.status === 'success').length;
  return json({ data: results }, succeeded === results.length ? allSucceeded : succeeded === 0 ? 400 : 207);
}

/** POST /{module}: insert up to 100 records, each checked on its own. */
export async function insertRecords(request: Request, ctx: RecordContext): Promise<Response> {
  const write = await writeData(request);
  if (write instanceof Response) return write;
  const results = write.data.map((value, i): RecordResult => {
    const fields = writableFields(value, i, ctx.module, false);
    if (isRecordResult(fields)) return fields;
    return missingMandatory(fields, ctx.module, i) ?? insertOne(fields, ctx);
  });
  return writeResults(results, 201);
}

/** PUT /{module} (each record names its `id`) and PUT /{module}/{id} (one record, the id in the path). */
export async function updateRecords(request: Request, ctx: RecordContext, pathId?: string): Promise<Response> {
  const write = await writeData(request);
  if (write instanceof Response) return write;
  if (pathId !== undefined && write.data.length > 1) return crmError(400, 'LIMIT_EXCEEDED', MESSAGES.recordLimit, { limit: 1, param_name: 'data' });
  const records = ctx.org.of(ctx.module);
  const results = write.data.map((value, i): RecordResult => {
    const fields = writableFields(value, i, ctx.module, true);
    if (isRecordResult(fields)) return fields;
    const id = pathId ?? (value as { id?: unknown }).id;
    if (id === undefined) return recordError('MANDATORY_NOT_FOUND', MESSAGES.mandatory, { api_name: 'id', json_path: `$.data[${i}].id` });
    const record = isId(id) ? records.find((r) => r.id === id) : undefined;
    if (!record) return recordError('INVALID_DATA', MESSAGES.invalidId, { api_name: 'id', json_path: `$.data[${i}].id` });
    // A mandatory field may be left out of an update, never emptied by one.
    const emptied = ctx.module.mandatory.find((name) => name in fields && isBlank(fields[name]));
    if (emptied) return recordError('MANDATORY_NOT_FOUND', MESSAGES.mandatory, { api_name: emptied, json_path: `$.data[${i}].${emptied}` });
    return updateOne(record, fields, ctx);
  });
  return writeResults(results, 200);
}

/**
 * POST /{module}/upsert: each record updates the first one whose duplicate-check fields match
 * (`duplicate_check_fields` of the request, else the module's), or is inserted.
 */
export async function upsertRecords(request: Request, ctx: RecordContext): Promise<Response> {
  const write = await writeData(request);
  if (write instanceof Response) return write;
  const named = write.body.duplicate_check_fields;
  if (named !== undefined && (!Array.isArray(named) || named.length === 0 || !named.every((f) => typeof f === 'string' && ctx.module.fields.has(f)))) {
    return invalidParam('duplicate_check_fields');
  }
  const checks = (named as string[] | undefined) ?? ctx.module.duplicateCheckFields;
  const records = ctx.org.of(ctx.module);
  const results = write.data.map((value, i): RecordResult => {
    const fields = writableFields(value, i, ctx.module, false);
    if (isRecordResult(fields)) return fields;
    for (const check of checks) {
      if (fields[check] === undefined || fields[check] === null) continue;
      const match = records.find((r) => String(r[check] ?? '').toLowerCase() === String(fields[check]).toLowerCase());
      if (match) return { ...updateOne(match, fields, ctx), action: 'update', duplicate_field: check };
    }
    const missing = missingMandatory(fields, ctx.module, i);
    if (missing) return missing;
    return { ...insertOne(fields, ctx), action: 'insert' };
  });
  const inserts = results.every((r) => r.action === 'insert');
  return writeResults(results, inserts ? 201 : 200);
}

/** DELETE /{module}?ids= (up to 100) and DELETE /{module}/{id}. */
export function deleteRecords(url: URL, ctx: RecordContext, pathId?: string): Response {
  const raw = pathId ?? url.searchParams.get('ids');
  if (raw === null || raw.trim() === '') return missingParam('ids');
  const ids = raw.split(',').map((id) => id.trim());
  if (ids.length > MAX_RECORDS) return crmError(400, 'LIMIT_EXCEEDED', MESSAGES.recordLimit, { limit: MAX_RECORDS, param_name: 'ids' });
  const records = ctx.org.of(ctx.module);
  const results = ids.map((id): RecordResult => {
    const at = records.findIndex((r) => r.id === id);
    if (at < 0) return recordError('INVALID_DATA', MESSAGES.invalidId, { id });
    records.splice(at, 1);
    for (const [key, file] of ctx.org.attachments) if (file.recordId === id) ctx.org.attachments.delete(key);
    return { code: 'SUCCESS', details: { id }, message: MESSAGES.deleted, status: 'success' };
  });
  return writeResults(results, 200);
}
