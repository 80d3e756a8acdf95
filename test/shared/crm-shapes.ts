/**
 * The response shapes of the CRM v8 calls this project makes, written here from Zoho's
 * official OpenAPI description of CRM v8 (the zoho/crm-oas repository: getRecords, getRecord,
 * createRecords, the users and org operations, their error schemas), in a small checker of our
 * own. `problems(value, shape)` lists where a value departs from a shape; [] means it fits.
 */
export type Shape =
  | 'string'
  | 'integer'
  | 'boolean'
  | 'any'
  /** A record id: a string of digits (int64 in the description, a string on the wire). */
  | 'id'
  | { enum: readonly (string | boolean)[] }
  | { nullable: Shape }
  | { array: Shape; min?: number; max?: number }
  /** An array of exactly these items, in this order. */
  | { tuple: Shape[] }
  /** `required` keys must be there; `optional` ones may be; others only with `extra`. */
  | { object: { required?: Record<string, Shape>; optional?: Record<string, Shape> }; extra?: boolean };

export function problems(value: unknown, shape: Shape, path = '$'): string[] {
  if (shape === 'any') return [];
  if (shape === 'string') return typeof value === 'string' ? [] : [`${path}: not a string`];
  if (shape === 'integer') return Number.isInteger(value) ? [] : [`${path}: not an integer`];
  if (shape === 'boolean') return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
  if (shape === 'id') return typeof value === 'string' && /^\d{1,19}$/.test(value) ? [] : [`${path}: not an id (a string of digits)`];
  if ('enum' in shape) return shape.enum.includes(value as string) ? [] : [`${path}: ${JSON.stringify(value)} not one of ${shape.enum.join(', ')}`];
  if ('nullable' in shape) return value === null ? [] : problems(value, shape.nullable, path);
  if ('tuple' in shape) {
    if (!Array.isArray(value) || value.length !== shape.tuple.length) return [`${path}: not ${shape.tuple.length} items`];
    return shape.tuple.flatMap((inner, i) => problems(value[i], inner, `${path}[${i}]`));
  }
  if ('array' in shape) {
    if (!Array.isArray(value)) return [`${path}: not an array`];
    const size = value.length < (shape.min ?? 0) || value.length > (shape.max ?? Infinity) ? [`${path}: ${value.length} items`] : [];
    return [...size, ...value.flatMap((item, i) => problems(item, shape.array, `${path}[${i}]`))];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: not an object`];
  const record = value as Record<string, unknown>;
  const { required = {}, optional = {} } = shape.object;
  const out: string[] = [];
  for (const [key, inner] of Object.entries(required)) out.push(...(key in record ? problems(record[key], inner, `${path}.${key}`) : [`${path}.${key}: missing`]));
  for (const [key, inner] of Object.entries(optional)) if (key in record) out.push(...problems(record[key], inner, `${path}.${key}`));
  if (!shape.extra) for (const key of Object.keys(record)) if (!(key in required) && !(key in optional)) out.push(`${path}.${key}: not in the description`);
  return out;
}

const user = { object: { required: { name: 'string', id: 'id' }, optional: { email: 'string' } } } as const satisfies Shape;

/** Every CRM error answer: `{ code, details, message, status: "error" }`. */
export const crmError = (code: string, details: Shape = { object: {}, extra: true }): Shape => ({
  object: { required: { code: { enum: [code] }, message: 'string', status: { enum: ['error'] }, details } },
});

/** getRecords 200 (RecordGETSuccessResponse): data, and info with every required key. */
export const recordList: Shape = {
  object: {
    required: {
      data: { array: { object: { required: { id: 'id' } }, extra: true }, min: 1 },
      info: {
        object: {
          required: {
            page: 'integer',
            per_page: 'integer',
            count: 'integer',
            more_records: 'boolean',
            sort_by: 'string',
            sort_order: { enum: ['asc', 'desc'] },
            next_page_token: { nullable: 'string' },
            previous_page_token: { nullable: 'string' },
            page_token_expiry: { nullable: 'string' },
          },
          optional: { call: 'boolean', email: 'boolean' },
        },
      },
    },
  },
};

/** getRecord 200: the one record in `data`. */
export const oneRecord: Shape = { object: { required: { data: { array: { object: { required: { id: 'id' } }, extra: true }, min: 1, max: 1 } } } };

const createdDetails: Shape = {
  object: { required: { id: 'id', Created_Time: 'string', Modified_Time: 'string', Created_By: user, Modified_By: user }, optional: { $approval_state: 'string' } },
};
/** One entry of createRecords' `data`: a success, or an error naming the field and its JSON path. */
export const createResult = (code: string): Shape =>
  code === 'SUCCESS'
    ? { object: { required: { code: { enum: ['SUCCESS'] }, details: createdDetails, message: 'string', status: { enum: ['success'] } } } }
    : { object: { required: { code: { enum: [code] }, details: { object: { required: { api_name: 'string', json_path: 'string' } } }, message: 'string', status: { enum: ['error'] } } } };

/** createRecords 201/207/400 (per-record): one result per record sent, in that order, each with its code. */
export const createAnswer = (codes: string[]): Shape => ({ object: { required: { data: { tuple: codes.map(createResult) } } } });

/** users?type=CurrentUser: one user with an email; org: the org with its zgid. */
export const currentUser: Shape = {
  object: { required: { users: { array: { object: { required: { id: 'id', email: 'string' } }, extra: true }, min: 1, max: 1 } }, optional: { info: 'any' } },
};
export const org: Shape = { object: { required: { org: { array: { object: { required: { id: 'id', zgid: 'string' } }, extra: true }, min: 1, max: 1 } } } };
