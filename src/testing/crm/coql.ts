// POST /coql: the SELECT queries Zoho's COQL docs describe over one module: up to 50 fields,
// `where` with =, !=, <, >, <=, >=, like, not like, in, not in, is (not) null, between, joined
// by and / or (two criteria per bracket, as the docs require), `order by`, `limit` with an
// offset. No joins, aggregates or aliases.
import { json } from '../model.ts';
import { crmError, jsonBody } from './answers.ts';
import type { Module } from './modules.ts';
import type { CrmRecord, OrgData } from './org-data.ts';
import { MAX_FIELDS, pick } from './records.ts';

const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 2_000;
/** LIMIT and OFFSET reach the first 100,000 records. */
const MAX_REACH = 100_000;
const MAX_CRITERIA = 25;

type Value = string | number | boolean;
type Condition =
  | { field: string; op: '=' | '!=' | '<' | '>' | '<=' | '>=' | 'like' | 'not like'; value: Value }
  | { field: string; op: 'in' | 'not in'; values: Value[] }
  | { field: string; op: 'is null' | 'is not null' }
  | { field: string; op: 'between'; low: Value; high: Value }
  | { join: 'and' | 'or'; left: Condition; right: Condition };

const syntaxError = (near: string) => crmError(400, 'SYNTAX_ERROR', 'error occured while parsing the query', { near, line: 1, column: 1 });
const invalidColumn = (column: string) => crmError(400, 'INVALID_QUERY', 'column given seems to be invalid', { column_name: column });

/** Words, quoted strings, numbers and operators, with their text. */
function tokens(query: string): string[] | null {
  const out: string[] = [];
  const re = /\s*(?:('(?:[^'\\]|\\.)*')|(-?\d+(?:\.\d+)?)|([A-Za-z_$][A-Za-z0-9_$.]*)|(!=|<=|>=|[=<>(),]))/y;
  let match: RegExpExecArray | null;
  let at = 0;
  while (at < query.length && (match = re.exec(query))) {
    out.push(match[1] ?? match[2] ?? match[3] ?? match[4]!);
    at = re.lastIndex;
    if (/^\s*$/.test(query.slice(at))) return out;
  }
  return at >= query.length || /^\s*$/.test(query.slice(at)) ? out : null;
}

class Parser {
  #at = 0;
  criteria = 0;
  readonly t: string[];
  readonly module: Module | undefined;
  constructor(t: string[], module: Module | undefined) {
    this.t = t;
    this.module = module;
  }
  peek(word = 0) {
    return (this.t[this.#at + word] ?? '').toLowerCase();
  }
  next() {
    return this.t[this.#at++] ?? '';
  }
  done() {
    return this.#at >= this.t.length;
  }
  near() {
    return this.t[this.#at] ?? 'end of query';
  }
  value(): Value | null {
    const token = this.next();
    if (/^'.*'$/.test(token)) return token.slice(1, -1).replace(/\\(.)/g, '$1');
    if (/^-?\d/.test(token)) return Number(token);
    if (token.toLowerCase() === 'true' || token.toLowerCase() === 'false') return token.toLowerCase() === 'true';
    return null;
  }
  /** One bracketed group or one criterion; a group holds at most two criteria joined by and / or. */
  condition(): Condition | string {
    let left = this.term();
    if (typeof left === 'string') return left;
    if (this.peek() === 'and' || this.peek() === 'or') {
      const join = this.next().toLowerCase() as 'and' | 'or';
      const right = this.term();
      if (typeof right === 'string') return right;
      left = { join, left, right };
      if (this.peek() === 'and' || this.peek() === 'or') return this.near();
    }
    return left;
  }
  term(): Condition | string {
    if (this.peek() === '(') {
      this.next();
      const inner = this.condition();
      if (typeof inner === 'string') return inner;
      if (this.next() !== ')') return this.near();
      return inner;
    }
    if (++this.criteria > MAX_CRITERIA) return `more than ${MAX_CRITERIA} criteria`;
    const field = this.next();
    if (!/^[A-Za-z_$]/.test(field)) return field || 'end of query';
    if (this.module && !this.module.readable(field)) return `column:${field}`;
    const op = this.peek();
    if (['=', '!=', '<', '>', '<=', '>=', 'like'].includes(op)) {
      this.next();
      const value = this.value();
      return value === null ? this.near() : { field, op: op as '=', value };
    }
    if (op === 'not' && this.peek(1) === 'like') {
      (this.next(), this.next());
      const value = this.value();
      return value === null ? this.near() : { field, op: 'not like', value };
    }
    if (op === 'in' || (op === 'not' && this.peek(1) === 'in')) {
      if (op === 'not') this.next();
      this.next();
      if (this.next() !== '(') return this.near();
      const values: Value[] = [];
      do {
        const value = this.value();
        if (value === null) return this.near();
        values.push(value);
      } while (this.peek() === ',' && this.next());
      if (this.next() !== ')' || values.length > 50) return this.near();
      return { field, op: op === 'not' ? 'not in' : 'in', values };
    }
    if (op === 'is') {
      this.next();
      const not = this.peek() === 'not' ? (this.next(), true) : false;
      if (this.next().toLowerCase() !== 'null') return this.near();
      return { field, op: not ? 'is not null' : 'is null' };
    }
    if (op === 'between') {
      this.next();
      const low = this.value();
      if (low === null || this.next().toLowerCase() !== 'and') return this.near();
      const high = this.value();
      return high === null ? this.near() : { field, op: 'between', low, high };
    }
    return this.near();
  }
}

const raw = (record: CrmRecord, field: string) => {
  const value = record[field];
  return typeof value === 'object' && value !== null ? ((value as { id?: unknown }).id ?? null) : (value ?? null);
};
const cmp = (a: unknown, b: Value) => (typeof b === 'number' ? Number(a) - b : String(a).localeCompare(String(b)));
const likeToRegExp = (pattern: string) => new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*')}$`, 'i');
const same = (a: unknown, b: Value) => (typeof b === 'string' ? String(a ?? '').toLowerCase() === b.toLowerCase() : a === b || Number(a) === b);

function holds(record: CrmRecord, c: Condition): boolean {
  if ('join' in c) return c.join === 'and' ? holds(record, c.left) && holds(record, c.right) : holds(record, c.left) || holds(record, c.right);
  const value = raw(record, c.field);
  switch (c.op) {
    case 'is null':
      return value === null || value === '';
    case 'is not null':
      return value !== null && value !== '';
    case 'in':
      return c.values.some((v) => same(value, v));
    case 'not in':
      return !c.values.some((v) => same(value, v));
    case 'between':
      return value !== null && cmp(value, c.low) >= 0 && cmp(value, c.high) <= 0;
    case '=':
      return same(value, c.value);
    case '!=':
      return !same(value, c.value);
    case 'like':
      return value !== null && likeToRegExp(String(c.value)).test(String(value));
    case 'not like':
      return value === null || !likeToRegExp(String(c.value)).test(String(value));
    default:
      return (
        value !== null &&
        (c.op === '<' ? cmp(value, c.value) < 0 : c.op === '>' ? cmp(value, c.value) > 0 : c.op === '<=' ? cmp(value, c.value) <= 0 : cmp(value, c.value) >= 0)
      );
  }
}

/** Answers a COQL query over `org`'s records; `moduleOf` finds a module by API name (the query may name it in any case). */
export async function runCoql(
  request: Request,
  org: OrgData,
  moduleOf: (name: string) => Module | undefined,
  scopeAllows: (module: Module) => boolean,
): Promise<Response> {
  const body = await jsonBody(request);
  if (body instanceof Response) return body;
  if (typeof body.select_query !== 'string' || body.select_query.trim() === '')
    return crmError(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: 'select_query' });
  const t = tokens(body.select_query);
  if (!t) return syntaxError(body.select_query);
  const from = t.findIndex((token) => token.toLowerCase() === 'from');
  if (t[0]?.toLowerCase() !== 'select' || from < 2) return syntaxError(t[0] ?? '');
  const fields = t.slice(1, from).filter((token) => token !== ',');
  if (fields.length !== Math.ceil((from - 1) / 2) || t.slice(1, from).some((token, i) => (i % 2 === 1) !== (token === ','))) return syntaxError(t[1] ?? '');
  if (fields.length > MAX_FIELDS) return crmError(400, 'LIMIT_EXCEEDED', 'Max field limit exceeded', { limit: MAX_FIELDS, clause: 'select' });
  const module = moduleOf(t[from + 1] ?? '');
  if (!module)
    return crmError(400, 'INVALID_QUERY', 'invalid query formed', { reason: 'the module name given seems to be invalid', module: t[from + 1] ?? '' });
  if (!scopeAllows(module)) return crmError(401, 'OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL');
  const unknown = fields.find((f) => !module.readable(f));
  if (unknown !== undefined) return invalidColumn(unknown);
  const parser = new Parser(t.slice(from + 2), module);
  // The docs' stricter reading: a query names its criteria (WHERE is part of every example and rule).
  if (parser.peek() !== 'where') return syntaxError(parser.near());
  parser.next();
  const where = parser.condition();
  if (typeof where === 'string') return where.startsWith('column:') ? invalidColumn(where.slice(7)) : syntaxError(where);
  const order: { field: string; desc: boolean }[] = [];
  if (parser.peek() === 'order' && parser.peek(1) === 'by') {
    (parser.next(), parser.next());
    do {
      const field = parser.next();
      if (!module.readable(field)) return invalidColumn(field);
      const desc = parser.peek() === 'desc';
      if (parser.peek() === 'asc' || parser.peek() === 'desc') parser.next();
      order.push({ field, desc });
    } while (parser.peek() === ',' && parser.next());
  }
  let limit = DEFAULT_LIMIT;
  let offset = 0;
  if (parser.peek() === 'limit') {
    parser.next();
    const first = Number(parser.next());
    if (parser.peek() === ',') (parser.next(), (offset = first), (limit = Number(parser.next())));
    else limit = first;
    if (parser.peek() === 'offset') (parser.next(), (offset = Number(parser.next())));
    if (!Number.isInteger(limit) || !Number.isInteger(offset) || limit < 1 || offset < 0) return syntaxError('limit');
    if (limit > MAX_LIMIT || offset + limit > MAX_REACH)
      return crmError(400, 'LIMIT_EXCEEDED', 'limit exceeded', { by: 'limit', limit: limit > MAX_LIMIT ? MAX_LIMIT : MAX_REACH });
  }
  if (!parser.done()) return syntaxError(parser.near());
  // Sorted by id ascending unless the query says otherwise (the docs' default).
  const sorted = org
    .of(module)
    .filter((r) => holds(r, where))
    .sort((a, b) => {
      for (const { field, desc } of [...order, { field: 'id', desc: false }]) {
        const [x, y] = [String(raw(a, field) ?? ''), String(raw(b, field) ?? '')];
        const c = field === 'id' ? x.length - y.length || x.localeCompare(y) : x.localeCompare(y);
        if (c !== 0) return desc ? -c : c;
      }
      return 0;
    });
  const slice = sorted.slice(offset, offset + limit);
  if (slice.length === 0) return new Response(null, { status: 204 });
  return json({ data: slice.map((r) => pick(r, fields)), info: { count: slice.length, more_records: offset + limit < sorted.length } });
}
