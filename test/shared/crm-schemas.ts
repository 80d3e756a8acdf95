/**
 * JSON Schemas of the CRM v8 answers the local Zoho gives, written here from the response
 * schemas of Zoho's OpenAPI description of CRM v8 (the public zoho/crm-oas repository:
 * record.json, coql.json, users.json, org.json, attachments.json); the description itself is
 * not copied. Checked with ajv. `valid(schema, value)` lists where a value departs; [] fits.
 */
import { Ajv, type AnySchema } from 'ajv';
import { expect } from 'vitest';

const ajv = new Ajv({ allErrors: true, strict: true });

const string = { type: 'string' } as const;
const integer = { type: 'integer' } as const;
const boolean = { type: 'boolean' } as const;
/** Record ids: int64 in the description, strings of digits on the wire. */
const id = { type: 'string', pattern: '^[0-9]{1,19}$' } as const;
/** Zoho's times: ISO 8601 with an offset, no milliseconds. */
const time = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}[+-]\\d{2}:\\d{2}$' } as const;
const object = (required: Record<string, unknown>, optional: Record<string, unknown> = {}, extra = false) => ({
  type: 'object',
  required: Object.keys(required),
  properties: { ...required, ...optional },
  additionalProperties: extra,
});
const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });
const user = object({ name: string, id }, { email: string });

/** Every CRM error: `{ code, details, message, status: "error" }`. */
export const crmError = (code: string, message?: string) =>
  object({ code: { const: code }, details: { type: 'object' }, message: message === undefined ? string : { const: message }, status: { const: 'error' } });

const record = object({ id }, {}, true);
/** getRecords 200 (Response_Wrapper with Info): page tokens only when there is one (the description types them as strings). */
export const recordList = object({
  data: { type: 'array', items: record, minItems: 1 },
  info: object(
    { per_page: integer, count: integer, page: integer, more_records: boolean, sort_by: string, sort_order: { enum: ['asc', 'desc'] } },
    { next_page_token: string, previous_page_token: string, page_token_expiry: time },
  ),
});
export const oneRecord = object({ data: { type: 'array', items: record, minItems: 1, maxItems: 1 } });
/** searchRecords 200: data and the paging half of Info. */
export const searchAnswer = object({
  data: { type: 'array', items: record, minItems: 1 },
  info: object({ per_page: integer, count: integer, page: integer, more_records: boolean }),
});
/** coql 200: data and Info's count and more_records. */
export const coqlAnswer = object({ data: { type: 'array', items: record }, info: object({ count: integer, more_records: boolean }) });

const success = (message: string, details: object) =>
  object(
    { code: { const: 'SUCCESS' }, details, message: { const: message }, status: { const: 'success' } },
    { action: { enum: ['insert', 'update'] }, duplicate_field: string },
  );
const written = object({ id, Created_Time: time, Modified_Time: time, Created_By: user, Modified_By: user });
const failed = object({ code: string, details: { type: 'object' }, message: string, status: { const: 'error' } });
/** createRecords, updateRecords, upsertRecords, deleteRecords: one result per record, in order. */
export const writeAnswer = (message: 'record added' | 'record updated' | 'record deleted' | 'upsert') =>
  object({
    data: {
      type: 'array',
      minItems: 1,
      items: {
        anyOf: [
          message === 'upsert'
            ? { anyOf: [success('record added', written), success('record updated', written)] }
            : success(message, message === 'record deleted' ? object({ id }) : written),
          failed,
        ],
      },
    },
  });

/** getUsers 200: users (each at least these) and info with every paging key. */
export const usersAnswer = object({
  users: {
    type: 'array',
    minItems: 1,
    items: object(
      { id, email: string, full_name: string, status: string, role: object({ name: string, id }), profile: object({ name: string, id }), confirm: boolean },
      {},
      true,
    ),
  },
  info: object({ per_page: integer, count: integer, page: integer, more_records: boolean }),
});

/** getOrganization 200: one org with every field of the description's Org schema. */
export const orgAnswer = object({
  org: {
    type: 'array',
    minItems: 1,
    maxItems: 1,
    items: object({
      ...Object.fromEntries(
        [
          'country',
          'domain_name',
          'currency',
          'id',
          'employee_count',
          'website',
          'currency_symbol',
          'currency_locale',
          'primary_zuid',
          'time_zone',
          'zgid',
          'country_code',
          'phone',
          'company_name',
          'primary_email',
          'iso_code',
          'ezgid',
          'call_icon',
        ].map((k) => [k, string]),
      ),
      ...Object.fromEntries(
        ['photo_id', 'city', 'description', 'street', 'alias', 'state', 'fax', 'zip', 'mobile', 'zia_portal_id'].map((k) => [k, nullable(string)]),
      ),
      ...Object.fromEntries(
        [
          'mc_status',
          'gapps_enabled',
          'translation_enabled',
          'deletable_org_account',
          'privacy_settings',
          'hipaa_compliance_enabled',
          'lite_users_enabled',
          'oauth_presence',
        ].map((k) => [k, boolean]),
      ),
      max_per_page: integer,
      zia_zgid: integer,
      type: { enum: ['Bigin', 'Production', 'Developer', 'Sandbox'] },
      created_time: time,
      license_details: object({
        paid_expiry: time,
        users_license_purchased: integer,
        trial_type: nullable(string),
        trial_expiry: nullable(string),
        paid: boolean,
        paid_type: string,
        trial_action: string,
      }),
      hierarchy_preferences: object({ type: { enum: ['Role_Hierarchy', 'Reporting_To_Hierarchy'] }, strictly_reporting: boolean }),
      checkin_preferences: object({ restricted_event_types: nullable(string) }),
    }),
  },
});

/** getAttachments 200: every key the description's Attachment requires. */
export const attachmentList = object({
  data: {
    type: 'array',
    minItems: 1,
    items: object(
      {
        Owner: user,
        Modified_By: user,
        Created_By: user,
        Parent_Id: object({ id, name: string }),
        id,
        Modified_Time: time,
        Created_Time: time,
        File_Name: nullable(string),
        Size: string,
        $editable: boolean,
        $file_id: string,
        $type: string,
        $se_module: string,
        $state: string,
        $link_url: nullable(string),
      },
      { $sharing_permission: string, $attachment_type: integer },
    ),
  },
  info: object({ per_page: integer, page: integer, count: integer, more_records: boolean }),
});
export const attachmentWritten = object({
  data: {
    type: 'array',
    minItems: 1,
    items: object({
      code: { const: 'SUCCESS' },
      details: object({ id }, { Modified_Time: time, Created_Time: time, Modified_By: user, Created_By: user }),
      message: string,
      status: { const: 'success' },
    }),
  },
});

const compiled = new WeakMap<object, ReturnType<typeof ajv.compile>>();
export function valid(schema: object, value: unknown): string[] {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = ajv.compile(schema as AnySchema)));
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath || '$'} ${e.message} ${JSON.stringify(e.params)}`);
}

/** An answer with this status whose JSON body fits `schema`; the body, for further checks. */
export async function expectValid(response: Response, status: number, schema: object): Promise<Record<string, any>> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as Record<string, any>;
  expect(valid(schema, body)).toEqual([]);
  return body;
}
