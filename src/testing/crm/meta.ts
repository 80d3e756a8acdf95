// The org and its users, and field metadata: GET /users (with or without `type`), /users/{id},
// /org and /settings/fields, in the shapes of users.json, org.json and fields.json of Zoho's
// OpenAPI description.
import { json, type LocalZohoUser } from '../model.ts';
import { crmError, invalidParam, MESSAGES, missingParam, orgEntityId, userIdOf, zohoTime } from './answers.ts';
import type { Module } from './modules.ts';
import { integerParam } from './records.ts';

/** The `type` values the description lists for GET /users; without one, every user. */
const USER_TYPES = [
  'AllUsers',
  'ActiveUsers',
  'DeactiveUsers',
  'ConfirmedUsers',
  'NotConfirmedUsers',
  'ActiveConfirmedUsers',
  'AdminUsers',
  'ActiveConfirmedAdmins',
  'CurrentUser',
];
/** When this stand-in's org and users were made: a fixed time, so answers are stable. */
const CREATED = Date.UTC(2024, 0, 15, 9, 30);

function userOf(user: LocalZohoUser, admin: boolean) {
  const [first, ...rest] = user.name.split(' ');
  const id = userIdOf(user);
  const me = { name: user.name, id, email: user.email };
  return {
    id,
    zuid: `${user.orgId}${id.slice(-6)}`,
    email: user.email,
    full_name: user.name,
    first_name: first ?? user.name,
    last_name: rest.join(' ') || null,
    status: 'active',
    confirm: true,
    role: admin ? { name: 'CEO', id: orgEntityId(user.orgId, 101) } : { name: 'Manager', id: orgEntityId(user.orgId, 102) },
    profile: admin ? { name: 'Administrator', id: orgEntityId(user.orgId, 201) } : { name: 'Standard', id: orgEntityId(user.orgId, 202) },
    language: 'en_US',
    locale: 'en_US',
    country_locale: 'en_US',
    country: null,
    time_format: 'HH:mm',
    date_format: 'MMM d, yyyy',
    decimal_separator: 'Period',
    offset: 0,
    category: 'regular_user',
    sort_order_preference__s: 'First Name,Last Name',
    default_tab_group: '0',
    personal_account: false,
    microsoft: false,
    sandboxDeveloper: false,
    Isonline: false,
    created_time: zohoTime(CREATED),
    Modified_Time: zohoTime(CREATED),
    created_by: me,
    Modified_By: { ...me, first_name: first ?? user.name, last_name: rest.join(' ') || null },
  };
}

/**
 * GET /users and /users/{id} for `me`'s org, whose users are `orgUsers` (the first is its
 * administrator). Every user here is active and confirmed.
 */
export function answerUsers(url: URL, userId: string | undefined, me: LocalZohoUser, orgUsers: LocalZohoUser[]): Response {
  const admin = orgUsers[0]?.email ?? me.email;
  const all = orgUsers.map((u) => userOf(u, u.email === admin));
  if (userId !== undefined) {
    const found = all.find((u) => u.id === userId);
    return found ? json({ users: [found], info: { per_page: 200, count: 1, page: 1, more_records: false } }) : new Response(null, { status: 204 });
  }
  const type = url.searchParams.get('type') ?? 'AllUsers';
  if (!USER_TYPES.includes(type)) return invalidParam('type', { supported_values: USER_TYPES });
  const perPage = integerParam(url, 'per_page', 200, 1, 200);
  if (perPage instanceof Response) return perPage;
  const page = integerParam(url, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
  if (page instanceof Response) return page;
  const chosen =
    type === 'CurrentUser'
      ? all.filter((u) => u.email === me.email)
      : type === 'DeactiveUsers' || type === 'NotConfirmedUsers'
        ? []
        : type === 'AdminUsers' || type === 'ActiveConfirmedAdmins'
          ? all.filter((u) => u.email === admin)
          : all;
  const slice = chosen.slice((page - 1) * perPage, page * perPage);
  if (slice.length === 0) return new Response(null, { status: 204 });
  return json({ users: slice, info: { per_page: perPage, count: slice.length, page, more_records: page * perPage < chosen.length } });
}

/** GET /org: every field of the description's Org schema. */
export function answerOrg(user: LocalZohoUser, admin: LocalZohoUser): Response {
  const domain = user.email.split('@')[1] ?? 'example.com';
  return json({
    org: [
      {
        id: orgEntityId(user.orgId, 1),
        zgid: user.orgId,
        ezgid: `e${user.orgId}`,
        zia_zgid: Number(user.orgId),
        zia_portal_id: null,
        primary_zuid: `${admin.orgId}${userIdOf(admin).slice(-6)}`,
        primary_email: admin.email,
        company_name: `Org ${user.orgId}`,
        alias: null,
        domain_name: `org${user.orgId}`,
        website: `https://${domain}`,
        phone: '+1 555 0100',
        mobile: null,
        fax: null,
        street: null,
        city: null,
        state: null,
        zip: null,
        country: 'United States',
        country_code: 'US',
        description: null,
        employee_count: '10',
        currency: 'US Dollar - USD',
        currency_symbol: '$',
        currency_locale: 'en_US',
        iso_code: 'USD',
        time_zone: 'UTC',
        mc_status: false,
        gapps_enabled: false,
        translation_enabled: false,
        privacy_settings: false,
        hipaa_compliance_enabled: false,
        lite_users_enabled: false,
        deletable_org_account: false,
        oauth_presence: true,
        max_per_page: 200,
        call_icon: 'default',
        photo_id: null,
        type: 'Production',
        created_time: zohoTime(CREATED),
        license_details: {
          paid_expiry: zohoTime(CREATED + 365 * 86_400_000),
          users_license_purchased: 10,
          trial_type: null,
          trial_expiry: null,
          paid: true,
          paid_type: 'enterprise',
          trial_action: 'none',
        },
        hierarchy_preferences: { type: 'Role_Hierarchy', strictly_reporting: false },
        checkin_preferences: { restricted_event_types: null },
      },
    ],
  });
}

/** A field as Zoho's metadata describes it: the few keys SDKs type records by. */
interface FieldMeta {
  apiName: string;
  label: string;
  dataType: string;
  jsonType: string;
  /** `field_read_only`: the field's definition is Zoho's (its value may still be set, as Owner's is). */
  readOnly: boolean;
  mandatory: boolean;
}

const SINGULAR: Record<string, string> = { Leads: 'Lead', Contacts: 'Contact', Accounts: 'Account', Deals: 'Deal' };
/** The standard modules whose records have an image (Zoho's `Record_Image`). */
const WITH_IMAGE = new Set(['Leads', 'Contacts', 'Accounts']);

/**
 * The fields Zoho keeps on every record of a module, with the data types its field metadata
 * gives them (the getFields examples of Zoho's OpenAPI description: `Owner` is an
 * `ownerlookup` whose JSON is an object, "Lead Owner" in Leads).
 */
function systemFields(module: Module): FieldMeta[] {
  const singular = SINGULAR[module.apiName] ?? module.apiName.replace(/s$/, '');
  const meta = (apiName: string, label: string, dataType: string, jsonType: string, readOnly: boolean): FieldMeta => ({
    apiName,
    label,
    dataType,
    jsonType,
    readOnly,
    mandatory: false,
  });
  return [
    meta('Owner', `${singular} Owner`, 'ownerlookup', 'jsonobject', true),
    meta('Created_By', 'Created By', 'ownerlookup', 'jsonobject', true),
    meta('Modified_By', 'Modified By', 'ownerlookup', 'jsonobject', true),
    meta('Created_Time', 'Created Time', 'datetime', 'string', true),
    meta('Modified_Time', 'Modified Time', 'datetime', 'string', true),
    meta('Last_Activity_Time', 'Last Activity Time', 'datetime', 'string', true),
    meta('Layout', 'Layout', 'layout', 'jsonobject', false),
    meta('Tag', 'Tag', 'text', 'jsonarray', false),
    meta('Locked__s', 'Locked', 'boolean', 'boolean', true),
    ...(WITH_IMAGE.has(module.apiName) ? [meta('Record_Image', `${singular} Image`, 'profileimage', 'string', false)] : []),
  ];
}

const JSON_TYPES: Partial<Record<string, string>> = { integer: 'integer', currency: 'double', boolean: 'boolean' };

/** GET /settings/fields?module=: a module's fields, its own and Zoho's system ones, in the shape of Zoho's field metadata. */
export function answerFields(url: URL, moduleOf: (name: string) => Module | undefined): Response {
  const name = url.searchParams.get('module');
  if (!name) return missingParam('module');
  const module = moduleOf(name);
  if (!module) return crmError(400, 'INVALID_MODULE', MESSAGES.invalidModule, { param_name: 'module' });
  const own: FieldMeta[] = [...module.fields.values()].map((field) => ({
    apiName: field.apiName,
    label: field.apiName.replace(/_/g, ' '),
    dataType: field.type,
    jsonType: JSON_TYPES[field.type] ?? 'string',
    readOnly: false,
    mandatory: field.mandatory,
  }));
  return json({
    fields: [...systemFields(module), ...own].map((field, i) => ({
      id: `${module.allViewId.slice(0, 7)}${String(7000 + i).padStart(12, '0')}`,
      api_name: field.apiName,
      field_label: field.label,
      display_label: field.label,
      data_type: field.dataType,
      json_type: field.jsonType,
      system_mandatory: field.mandatory,
      custom_field: false,
      read_only: false,
      field_read_only: field.readOnly,
    })),
  });
}
