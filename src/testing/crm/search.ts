// GET /{module}/search: `criteria` (Zoho's `(field:operator:value)` groups joined by `and` /
// `or`), `email`, `phone` or `word`, exactly one of them; paged like a list, 204 when nothing matches.
import { json } from '../model.ts';
import { crmError, MESSAGES, missingParam } from './answers.ts';
import type { Module } from './modules.ts';
import type { CrmRecord } from './org-data.ts';
import { DISCRETE_LIMIT, fieldsOf, integerParam, MAX_PER_PAGE, pick, type RecordContext } from './records.ts';

/** Zoho's criteria operators. */
const OPERATORS = ['equals', 'not_equal', 'starts_with', 'in', 'greater_than', 'greater_equal', 'less_than', 'less_equal', 'between'] as const;
type Operator = (typeof OPERATORS)[number];
type Criteria = { field: string; operator: Operator; values: string[] } | { join: 'and' | 'or'; left: Criteria; right: Criteria };
const MAX_CRITERIA = 10;

const invalidQuery = (reason: string, extra: Record<string, unknown> = {}) => crmError(400, 'INVALID_QUERY', MESSAGES.invalidQuery, { reason, ...extra });

/** Splits on `sep` where it is not escaped with a backslash (Zoho's escape for `(`, `)`, `,` and `:` in values), keeping the escapes. */
function splitRaw(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) current += text[i] + text[++i]!;
    else if (text[i] === sep) (parts.push(current), (current = ''));
    else current += text[i];
  }
  return [...parts, current];
}
const unescape = (text: string) => text.replace(/\\(.)/g, '$1');

/** Parses criteria such as `((Last_Name:equals:Burns)and(First_Name:starts_with:B))`. */
export function parseCriteria(text: string, module: Module): Criteria | string {
  let pos = 0;
  let count = 0;
  const group = (): Criteria | string => {
    if (text[pos] !== '(') return 'expected (';
    pos++;
    let node: Criteria | string;
    if (text[pos] === '(') {
      node = group();
      if (typeof node === 'string') return node;
      while (text.startsWith('and', pos) || text.startsWith('or', pos)) {
        const join = text.startsWith('and', pos) ? 'and' : 'or';
        pos += join.length;
        const right = group();
        if (typeof right === 'string') return right;
        node = { join, left: node, right };
      }
    } else {
      let end = pos;
      while (end < text.length && text[end] !== ')') end += text[end] === '\\' ? 2 : 1;
      const [field, operator, ...rest] = splitRaw(text.slice(pos, end), ':');
      pos = end;
      if (!field || !module.readable(field)) return `unknown field ${field ?? ''}`;
      if (!OPERATORS.includes(operator as Operator)) return `unknown operator ${operator ?? ''}`;
      const value = rest.join(':');
      const values = (operator === 'in' || operator === 'between' ? splitRaw(value, ',') : [value]).map(unescape);
      if (operator === 'between' && values.length !== 2) return 'between takes two values';
      if (++count > MAX_CRITERIA) return `more than ${MAX_CRITERIA} criteria`;
      node = { field, operator: operator as Operator, values };
    }
    if (text[pos] !== ')') return 'expected )';
    pos++;
    return node;
  };
  const tree = group();
  if (typeof tree === 'string') return tree;
  if (pos !== text.length) return 'unexpected text after the criteria';
  return tree;
}

const compare = (a: unknown, b: string) => {
  const [x, y] = [Number(a), Number(b)];
  return Number.isFinite(x) && Number.isFinite(y) && String(a).trim() !== '' ? x - y : String(a ?? '').localeCompare(b);
};

function matches(record: CrmRecord, c: Criteria): boolean {
  if ('join' in c) return c.join === 'and' ? matches(record, c.left) && matches(record, c.right) : matches(record, c.left) || matches(record, c.right);
  const raw = record[c.field];
  const value = typeof raw === 'object' && raw !== null ? String((raw as { id?: unknown }).id ?? '') : raw;
  const text = String(value ?? '').toLowerCase();
  const [first = '', second = ''] = c.values;
  switch (c.operator) {
    case 'equals':
      return text === first.toLowerCase();
    case 'not_equal':
      return text !== first.toLowerCase();
    case 'starts_with':
      return text.startsWith(first.toLowerCase());
    case 'in':
      return c.values.some((v) => v.toLowerCase() === text);
    case 'greater_than':
      return compare(value, first) > 0;
    case 'greater_equal':
      return compare(value, first) >= 0;
    case 'less_than':
      return compare(value, first) < 0;
    case 'less_equal':
      return compare(value, first) <= 0;
    case 'between':
      return compare(value, first) >= 0 && compare(value, second) <= 0;
  }
}

export function searchRecords(url: URL, ctx: RecordContext): Response {
  const params = url.searchParams;
  const given = (['criteria', 'email', 'phone', 'word'] as const).filter((name) => params.has(name));
  if (given.length === 0) return missingParam('criteria');
  if (given.length > 1) return invalidQuery('only one of criteria, email, phone and word may be given', { param_name: given[1] });
  const [kind] = given;
  const term = params.get(kind!)!.trim();
  let test: (record: CrmRecord) => boolean;
  if (kind === 'criteria') {
    const tree = parseCriteria(term, ctx.module);
    if (typeof tree === 'string') return invalidQuery(tree);
    test = (r) => matches(r, tree);
  } else {
    // word: at least two characters, anywhere in a text field; email and phone: a field of that type equal to it.
    if (kind === 'word' && term.length < 2) return invalidQuery('word needs at least 2 characters', { param_name: 'word' });
    const fields =
      kind === 'word'
        ? ctx.module.ofType('text', 'textarea', 'email', 'phone', 'website', 'picklist')
        : ctx.module.ofType(kind === 'email' ? 'email' : 'phone');
    const needle = term.toLowerCase();
    test = (r) =>
      fields.some((f) =>
        kind === 'word'
          ? String(r[f] ?? '')
              .toLowerCase()
              .includes(needle)
          : String(r[f] ?? '').toLowerCase() === needle,
      );
  }
  const fields = fieldsOf(url, ctx.module, false);
  if (fields instanceof Response) return fields;
  const perPage = integerParam(url, 'per_page', MAX_PER_PAGE, 1, MAX_PER_PAGE);
  if (perPage instanceof Response) return perPage;
  const page = integerParam(url, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
  if (page instanceof Response) return page;
  const start = (page - 1) * perPage;
  // Search reaches its first 2,000 matches only.
  if (start + perPage > DISCRETE_LIMIT) return crmError(400, 'LIMIT_REACHED', 'Record count exceeded', { limit: DISCRETE_LIMIT });
  const found = ctx.org.of(ctx.module).filter(test);
  const slice = found.slice(start, start + perPage);
  if (slice.length === 0) return new Response(null, { status: 204 });
  return json({
    data: slice.map((r) => pick(r, fields)),
    info: { per_page: perPage, count: slice.length, page, more_records: start + perPage < found.length },
  });
}
