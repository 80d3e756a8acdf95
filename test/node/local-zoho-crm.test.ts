/**
 * Fidelity of the local Zoho's CRM side: each case states one documented behaviour of Zoho's
 * CRM API v8 and names its source ("notes": the project's digest of Zoho's CRM v8 API docs, by section; "oas": Zoho's OpenAPI
 * description of CRM v8, zoho/crm-oas, by operation). Answers are checked against shapes
 * written from that description (test/shared/crm-schemas.ts, checked with ajv). This file keeps the stand-in honest.
 */
import { describe, expect, it } from 'vitest';
import { exchangedTokens } from '../shared/local-zoho.ts';
import { APP_SCOPE, DEFAULT_CLIENT, LocalZoho } from 'edge-token-store/testing';
import { crmError, expectValid, oneRecord, orgAnswer, recordList, usersAnswer, writeAnswer } from '../shared/crm-schemas.ts';

const ORIGIN = 'http://zoho.local';
const REDIRECT = DEFAULT_CLIENT.redirectUris[0]!;
const PAGE = 'https://page.example';
const JS_CLIENT = { clientId: '1000.JSCLIENT', type: 'client' as const, redirectUris: [`${PAGE}/`], jsDomains: [PAGE] };

async function setup(scope = APP_SCOPE) {
  const zoho = new LocalZoho({ clients: [DEFAULT_CLIENT, JS_CLIENT], grantsPerWindow: 100, refreshTokensPerWindow: 100 });
  const tokens = await exchangedTokens(zoho, scope, 'ana@example.com');
  const crm = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token !== null) headers.set('authorization', `Zoho-oauthtoken ${init.token ?? tokens.access_token}`);
    return zoho.fetch(new Request(`${ORIGIN}/crm/v8/${path}`, { ...init, headers }));
  };
  const create = (data: unknown[]) => crm('Leads', { method: 'POST', body: JSON.stringify({ data }), headers: { 'content-type': 'application/json' } });
  return { zoho, tokens, crm, create };
}

describe('local Zoho, CRM v8: authentication and scopes', () => {
  it('no or a malformed Authorization header: 401 AUTHENTICATION_FAILURE [notes: CRM API v8, 401 answers]', async () => {
    const { crm } = await setup();
    await expectValid(await crm('org', { token: null }), 401, crmError('AUTHENTICATION_FAILURE'));
    await expectValid(await crm('org', { token: null, headers: { authorization: 'Bearer x' } }), 401, crmError('AUTHENTICATION_FAILURE'));
  });

  it('an unknown or expired access token: 401 INVALID_TOKEN [notes: CRM API v8; Limits: access token valid 1 hour]', async () => {
    const { zoho, crm } = await setup();
    await expectValid(await crm('org', { token: '1000.access.unknown' }), 401, crmError('INVALID_TOKEN'));
    zoho.advance(60 * 60_000);
    await expectValid(await crm('org'), 401, crmError('INVALID_TOKEN'));
  });

  it('an access token pushed out by the 16th of its refresh token: 401 INVALID_OAUTHTOKEN [notes: Limits; Zoho token-validity docs]', async () => {
    const { zoho, tokens, crm } = await setup();
    const refresh = () =>
      zoho.fetch(
        new Request(`${ORIGIN}/oauth/v2/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            client_id: DEFAULT_CLIENT.clientId,
            client_secret: DEFAULT_CLIENT.clientSecret,
            refresh_token: tokens.refresh_token,
          }),
        }),
      );
    // The grant's token is the 1st; 10 refreshes (the window's limit), 4 more after it: 15 live, the 1st still works.
    for (let i = 0; i < 10; i++) await refresh();
    zoho.advance(10 * 60_000);
    for (let i = 0; i < 4; i++) await refresh();
    expect((await crm('org')).status).toBe(200);
    // The 16th pushes the 1st out.
    await refresh();
    await expectValid(await crm('org'), 401, crmError('INVALID_OAUTHTOKEN'));
  });

  it('a call outside the granted scopes: 401 OAUTH_SCOPE_MISMATCH, a refresh cannot cure it [notes: CRM API v8, scopes; oas: getRecords 401 RecordUnauthorizedResponse]', async () => {
    const { crm } = await setup('ZohoCRM.modules.leads.READ');
    expect((await crm('Leads?fields=Last_Name')).status).toBe(204);
    await expectValid(await crm('Leads', { method: 'POST', body: JSON.stringify({ data: [{ Last_Name: 'X' }] }) }), 401, crmError('OAUTH_SCOPE_MISMATCH'));
    await expectValid(await crm('users?type=CurrentUser'), 401, crmError('OAUTH_SCOPE_MISMATCH'));
    await expectValid(await crm('org'), 401, crmError('OAUTH_SCOPE_MISMATCH'));
    await expectValid(await crm('settings/fields?module=Leads'), 401, crmError('OAUTH_SCOPE_MISMATCH'));
  });

  it('each call takes its scope: users.READ, org.READ, settings.fields.READ, modules.ALL or the module own [notes: CRM API v8, scopes]', async () => {
    const { crm } = await setup('ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoCRM.settings.fields.READ,ZohoCRM.modules.Leads.CREATE');
    expect((await crm('users?type=CurrentUser')).status).toBe(200);
    expect((await crm('org')).status).toBe(200);
    expect((await crm('settings/fields?module=Leads')).status).toBe(200);
    expect((await crm('Leads', { method: 'POST', body: JSON.stringify({ data: [{ Last_Name: 'X' }] }) })).status).toBe(201);
    expect((await crm('Leads?fields=Last_Name')).status).toBe(401);
  });
});

describe('local Zoho, CRM v8: listing records', () => {
  it('fields is required: 400 REQUIRED_PARAM_MISSING naming it [notes: List records; oas: getRecords 400 RequiredParamMissingGETError]', async () => {
    const { crm } = await setup();
    const body = await expectValid(await crm('Leads?per_page=20'), 400, crmError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing'));
    expect(body.details).toEqual({ param_name: 'fields' });
  });

  it('at most 50 fields: 400 LIMIT_EXCEEDED with limit 50 [notes: List records; oas: getRecords 400 LimitExceededGETError]', async () => {
    const { crm } = await setup();
    const fields = Array.from({ length: 51 }, () => 'Last_Name').join(',');
    const body = await expectValid(await crm(`Leads?fields=${fields}`), 400, crmError('LIMIT_EXCEEDED', 'Max field limit exceeded'));
    expect(body.details).toEqual({ limit: 50, param_name: 'fields' });
  });

  it('nothing to list: 204 with no body [notes: List records; oas: getRecords 204]', async () => {
    const { crm } = await setup();
    const response = await crm('Leads?fields=Last_Name');
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('200: data with only the fields asked plus id, and the whole info [notes: List records; oas: getRecords 200 RecordGETSuccessResponse]', async () => {
    const { crm, create } = await setup();
    await create([{ Last_Name: 'Lovelace', Company: 'Engines', Email: 'ada@example.com' }]);
    const body = await expectValid(await crm('Leads?fields=Last_Name,Company'), 200, recordList);
    expect(Object.keys((body.data as object[])[0]!).sort()).toEqual(['Company', 'Last_Name', 'id']);
    // No next page: no page tokens (the description types them as strings, so none rather than null).
    expect(body.info).toEqual({ per_page: 200, page: 1, count: 1, more_records: false, sort_by: 'id', sort_order: 'desc' });
  });

  it('per_page at most 200, page and per_page reach 2,000 records, page_token beyond [notes: List records; oas: getRecords per_page max 200, DISCRETE_PAGINATION_LIMIT_EXCEEDED]', async () => {
    const { crm, create } = await setup();
    await create([{ Last_Name: 'A' }, { Last_Name: 'B' }, { Last_Name: 'C' }]);
    await expectValid(await crm('Leads?fields=Last_Name&per_page=201'), 400, crmError('INVALID_DATA'));
    await expectValid(await crm('Leads?fields=Last_Name&per_page=200&page=11'), 400, crmError('DISCRETE_PAGINATION_LIMIT_EXCEEDED'));
    const first = await expectValid(await crm('Leads?fields=Last_Name&per_page=2'), 200, recordList);
    const info = first.info as { more_records: boolean; next_page_token: string };
    expect(info.more_records).toBe(true);
    const next = await expectValid(await crm(`Leads?fields=Last_Name&per_page=2&page_token=${encodeURIComponent(info.next_page_token)}`), 200, recordList);
    expect([...(first.data as { Last_Name: string }[]), ...(next.data as { Last_Name: string }[])].map((l) => l.Last_Name).sort()).toEqual(['A', 'B', 'C']);
  });

  it('a module that does not exist: 400 INVALID_MODULE; a path that is no API: 404 INVALID_URL_PATTERN [notes: List records; oas: getRecords 400/404]', async () => {
    const { crm } = await setup();
    await expectValid(await crm('Nothing?fields=Last_Name'), 400, crmError('INVALID_MODULE'));
    await expectValid(await crm('Leads/1/2/3'), 404, crmError('INVALID_URL_PATTERN'));
  });

  it('one record by id: data holds it [notes: Get one record; oas: getRecord 200]', async () => {
    const { crm, create } = await setup();
    const created = (await (await create([{ Last_Name: 'Hopper' }])).json()) as { data: { details: { id: string } }[] };
    const body = await expectValid(await crm(`Leads/${created.data[0]!.details.id}`), 200, oneRecord);
    expect((body.data as { Last_Name: string }[])[0]!.Last_Name).toBe('Hopper');
  });
});

describe('local Zoho, CRM v8: creating records', () => {
  it('201 with SUCCESS and the new id, times and users in details [notes: Create; oas: createRecords 201]', async () => {
    const { create } = await setup();
    await expectValid(await create([{ Last_Name: 'Lovelace' }]), 201, writeAnswer('record added'));
  });

  it('no Last_Name: MANDATORY_NOT_FOUND inside data naming the field and its JSON path, 400 when no record succeeded [notes: Create; oas: createRecords 400]', async () => {
    const { create } = await setup();
    const body = await expectValid(await create([{ Company: 'Nameless' }]), 400, writeAnswer('record added'));
    const [result] = body.data as Record<string, unknown>[];
    expect(result!.code).toBe('MANDATORY_NOT_FOUND');
    expect(result!.details).toEqual({ api_name: 'Last_Name', json_path: '$.data[0].Last_Name' });
  });

  it('some succeed, some fail: 207, each result in the order sent [notes: Create; oas: createRecords 207]', async () => {
    const { create } = await setup();
    const body = await expectValid(
      await create([{ Last_Name: 'Ok' }, { Last_Name: '' }, { Last_Name: 'X', Not_A_Field: 1 }]),
      207,
      writeAnswer('record added'),
    );
    expect((body.data as { code: string }[]).map((r) => r.code)).toEqual(['SUCCESS', 'MANDATORY_NOT_FOUND', 'INVALID_DATA']);
  });

  it('at most 100 records in one insert [notes: Create]', async () => {
    const { create, crm } = await setup();
    await expectValid(await create(Array.from({ length: 101 }, (_, i) => ({ Last_Name: `L${i}` }))), 400, crmError('LIMIT_EXCEEDED'));
    expect((await crm('Leads?fields=Last_Name')).status).toBe(204);
    expect((await create(Array.from({ length: 100 }, (_, i) => ({ Last_Name: `L${i}` })))).status).toBe(201);
  });
});

describe('local Zoho, CRM v8: who is calling', () => {
  it('users?type=CurrentUser and org name the user and the org zgid, which differs from its id [notes: Current user]', async () => {
    const { crm } = await setup();
    const me = await expectValid(await crm('users?type=CurrentUser'), 200, usersAnswer);
    expect((me.users as { email: string }[])[0]!.email).toBe('ana@example.com');
    const body = await expectValid(await crm('org'), 200, orgAnswer);
    const [o] = body.org as { id: string; zgid: string }[];
    expect(o!.zgid).toBe('7001');
    expect(o!.id).not.toBe(o!.zgid);
  });
});

describe("local Zoho, CRM v8: CORS for client-based apps' JavaScript domains", () => {
  async function implicitToken(zoho: LocalZoho): Promise<string> {
    const form = new URLSearchParams({
      response_type: 'token',
      client_id: JS_CLIENT.clientId,
      redirect_uri: `${PAGE}/`,
      scope: APP_SCOPE,
      state: 's',
      email: 'ana@example.com',
    });
    const back = await zoho.fetch(new Request(`${ORIGIN}/oauth/v2/auth/approve`, { method: 'POST', body: form }));
    return new URLSearchParams(new URL(back.headers.get('location')!).hash.slice(1)).get('access_token')!;
  }

  it("answers the page's origin for its client's token, and no other origin or client [notes: Client types, CORS and the JS SDK]", async () => {
    const { zoho, crm } = await setup();
    const token = await implicitToken(zoho);
    const allowed = await crm('org', { token, headers: { origin: PAGE } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect((await crm('org', { token, headers: { origin: 'https://evil.example' } })).headers.get('access-control-allow-origin')).toBeNull();
    // A server-based client's token from that page: no CORS (its client registered no JavaScript domain).
    expect((await crm('org', { headers: { origin: PAGE } })).headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await crm('Leads', { method: 'OPTIONS', token: null, headers: { origin: PAGE, 'access-control-request-headers': 'authorization' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
  });
});

describe('local Zoho, CRM v8: field metadata and ids as Zoho writes them', () => {
  it('lists the system fields of every module with Zoho\'s data types: Owner an ownerlookup object, "Lead Owner" in Leads [oas: getFields, examples]', async () => {
    const { crm, create } = await setup(`${APP_SCOPE},ZohoCRM.settings.fields.READ`);
    for (const module of ['Leads', 'Contacts', 'Accounts', 'Deals']) {
      const { fields } = (await (await crm(`settings/fields?module=${module}`)).json()) as {
        fields: { api_name: string; data_type: string; json_type: string; field_label: string }[];
      };
      const byName = new Map(fields.map((f) => [f.api_name, f]));
      expect(byName.get('Owner')).toMatchObject({ data_type: 'ownerlookup', json_type: 'jsonobject', field_label: `${module.slice(0, -1)} Owner` });
      for (const by of ['Created_By', 'Modified_By']) expect(byName.get(by)).toMatchObject({ data_type: 'ownerlookup', json_type: 'jsonobject' });
      for (const time of ['Created_Time', 'Modified_Time', 'Last_Activity_Time'])
        expect(byName.get(time)).toMatchObject({ data_type: 'datetime', json_type: 'string' });
      expect(byName.get('Layout')).toMatchObject({ data_type: 'layout', json_type: 'jsonobject' });
      expect(byName.get('Tag')).toMatchObject({ data_type: 'text', json_type: 'jsonarray' });
      if (module !== 'Leads') continue;
      // Every field a record carries is described, so an SDK types each of them.
      const created = (await (await create([{ Last_Name: 'Lovelace' }])).json()) as { data: { details: { id: string } }[] };
      const { data } = (await (await crm(`Leads/${created.data[0]!.details.id}`)).json()) as { data: Record<string, unknown>[] };
      const undescribed = Object.keys(data[0]!).filter((key) => !key.startsWith('$') && key !== 'id' && !byName.has(key));
      expect(undescribed).toEqual([]);
    }
  });

  it("every id it issues is a decimal string of 18 or 19 digits that does not begin with 0, as Zoho's ids: read as a number, it is the same id [oas: users, org, records]", async () => {
    const { crm, create } = await setup();
    const ID = /^[1-9]\d{17,18}$/;
    const created = (await (await create([{ Last_Name: 'Hopper' }])).json()) as { data: { details: { id: string; Created_By: { id: string } } }[] };
    const { id, Created_By } = created.data[0]!.details;
    const { users } = (await (await crm('users?type=AllUsers')).json()) as { users: { id: string; role: { id: string }; profile: { id: string } }[] };
    const { org } = (await (await crm('org')).json()) as { org: { id: string }[] };
    const ids = [id, Created_By.id, org[0]!.id, ...users.flatMap((u) => [u.id, u.role.id, u.profile.id])];
    for (const value of ids) expect(value).toMatch(ID);
    // A client that parses ids as numbers (the SDKs do) and asks again by the id it got back finds the user.
    const back = BigInt(users[0]!.id).toString();
    expect((await crm(`users/${back}`)).status).toBe(200);
  });
});
