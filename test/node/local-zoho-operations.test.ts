/**
 * The local Zoho's CRM beyond Leads, and its OAuth as Zoho documents it: every module's
 * operations (list with ids, cvid, If-Modified-Since; get; insert; update; upsert; delete;
 * search; COQL; attachments), users and org, per-operation scopes, the concurrency limit; and
 * access_type / prompt, parameters in the query string, revoking access tokens, unknown
 * scopes, the device flow's names, a refused consent. Answers are checked with ajv against
 * schemas written from Zoho's OpenAPI description (test/shared/crm-schemas.ts).
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { exchangedTokens } from '../shared/local-zoho.ts';
import { APP_SCOPE, DEFAULT_CLIENT, LocalZoho, type LocalZohoOptions } from 'edge-token-store/testing';
import {
  attachmentList,
  attachmentWritten,
  coqlAnswer,
  crmError,
  oneRecord,
  orgAnswer,
  recordList,
  searchAnswer,
  usersAnswer,
  expectValid,
  writeAnswer,
} from '../shared/crm-schemas.ts';

const ORIGIN = 'http://zoho.local';
const REDIRECT = DEFAULT_CLIENT.redirectUris[0]!;
const FULL = `${APP_SCOPE},ZohoCRM.coql.READ`;

async function setup(scope = FULL, options: LocalZohoOptions = {}, email = 'ana@example.com') {
  const zoho = new LocalZoho({ grantsPerWindow: 100, refreshTokensPerWindow: 100, ...options });
  const tokens = await exchangedTokens(zoho, scope, email);
  const crm = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Zoho-oauthtoken ${tokens.access_token}`);
    return zoho.fetch(new Request(`${ORIGIN}/crm/v8/${path}`, { ...init, headers }));
  };
  const send = (method: string, path: string, body: unknown) =>
    crm(path, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { zoho, tokens, crm, send };
}

describe('local Zoho CRM: every module has the same operations [notes: CRM API v8, list records]', () => {
  it('Contacts, Accounts and Deals exist, each with its own mandatory fields', async () => {
    const { send } = await setup();
    await expectValid(await send('POST', 'Contacts', { data: [{ Last_Name: 'Curie', Email: 'marie@example.com' }] }), 201, writeAnswer('record added'));
    await expectValid(await send('POST', 'Accounts', { data: [{ Account_Name: 'Radium Ltd' }] }), 201, writeAnswer('record added'));
    const deal = await expectValid(await send('POST', 'Deals', { data: [{ Deal_Name: 'Big one', Stage: 'Qualification' }] }), 400, writeAnswer('record added'));
    expect(deal.data[0]).toMatchObject({ code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Closing_Date' } });
    await expectValid(
      await send('POST', 'Deals', { data: [{ Deal_Name: 'Big one', Stage: 'Qualification', Closing_Date: '2027-01-31', Amount: 1200.5 }] }),
      201,
      writeAnswer('record added'),
    );
    const wrongType = await expectValid(
      await send('POST', 'Deals', { data: [{ Deal_Name: 'x', Stage: 'y', Closing_Date: 'tomorrow' }] }),
      400,
      writeAnswer('record added'),
    );
    expect(wrongType.data[0]).toMatchObject({ code: 'INVALID_DATA', details: { api_name: 'Closing_Date', expected_data_type: 'date' } });
  });

  it("a module of the user's own, through an option", async () => {
    const { send, crm } = await setup('ZohoCRM.modules.ALL', {
      modules: [
        {
          apiName: 'Projects',
          fields: [
            { apiName: 'Name', mandatory: true },
            { apiName: 'Budget', type: 'currency' },
          ],
        },
      ],
    });
    await expectValid(await send('POST', 'Projects', { data: [{ Name: 'Apollo', Budget: 10 }] }), 201, writeAnswer('record added'));
    const list = await expectValid(await crm('Projects?fields=Name,Budget'), 200, recordList);
    expect(list.data[0]).toMatchObject({ Name: 'Apollo', Budget: 10 });
    await expectValid(await crm('Nothing?fields=Name'), 400, crmError('INVALID_MODULE', 'The module name given seems to be invalid'));
  });

  it('list: ids, cvid, sort, converted and approved, page and page_token never together, If-Modified-Since answers 304', async () => {
    const { zoho, send, crm } = await setup();
    const made = await expectValid(
      await send('POST', 'Leads', { data: [{ Last_Name: 'A' }, { Last_Name: 'B' }, { Last_Name: 'C' }] }),
      201,
      writeAnswer('record added'),
    );
    const ids = made.data.map((r: { details: { id: string } }) => r.details.id);
    const one = await expectValid(await crm(`Leads?fields=Last_Name&ids=${ids[1]}`), 200, recordList);
    expect(one.data.map((r: { id: string }) => r.id)).toEqual([ids[1]]);
    expect((await crm('Leads?fields=Last_Name&ids=1')).status).toBe(204);
    const asc = await expectValid(await crm('Leads?fields=Last_Name&sort_by=id&sort_order=asc'), 200, recordList);
    expect(asc.data.map((r: { Last_Name: string }) => r.Last_Name)).toEqual(['A', 'B', 'C']);
    await expectValid(await crm('Leads?fields=Last_Name&cvid=123'), 400, crmError('INVALID_DATA'));
    expect((await crm('Leads?fields=Last_Name&converted=true')).status).toBe(204);
    expect((await crm('Leads?fields=Last_Name&converted=both')).status).toBe(200);
    expect((await crm('Leads?fields=Last_Name&approved=false')).status).toBe(204);
    await expectValid(await crm('Leads?fields=Last_Name&page=1&page_token=abc'), 400, crmError('INVALID_DATA'));
    const later = new Date(zoho.now() + 5_000).toUTCString();
    expect((await crm('Leads?fields=Last_Name', { headers: { 'if-modified-since': later } })).status).toBe(304);
    zoho.advance(60_000);
    await send('PUT', `Leads/${ids[0]}`, { data: [{ First_Name: 'Ada' }] });
    const changed = await expectValid(await crm('Leads?fields=Last_Name', { headers: { 'if-modified-since': later } }), 200, recordList);
    expect(changed.data.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
  });

  it('update by id and in bulk, upsert by duplicate-check fields, delete by id and by ids', async () => {
    const { send, crm } = await setup();
    const made = await expectValid(
      await send('POST', 'Contacts', { data: [{ Last_Name: 'Doe', Email: 'jo@example.com' }, { Last_Name: 'Roe' }] }),
      201,
      writeAnswer('record added'),
    );
    const [first, second] = made.data.map((r: { details: { id: string } }) => r.details.id);
    await expectValid(await send('PUT', `Contacts/${first}`, { data: [{ Title: 'CTO' }] }), 200, writeAnswer('record updated'));
    const bulk = await expectValid(
      await send('PUT', 'Contacts', { data: [{ id: second, Title: 'CEO' }, { id: '1234', Title: 'x' }, { Title: 'no id' }] }),
      207,
      writeAnswer('record updated'),
    );
    expect(bulk.data.map((r: { code: string }) => r.code)).toEqual(['SUCCESS', 'INVALID_DATA', 'MANDATORY_NOT_FOUND']);
    const emptied = await expectValid(await send('PUT', `Contacts/${first}`, { data: [{ Last_Name: '' }] }), 400, writeAnswer('record updated'));
    expect(emptied.data[0].code).toBe('MANDATORY_NOT_FOUND');
    const upsert = await expectValid(
      await send('POST', 'Contacts/upsert', {
        data: [
          { Last_Name: 'Doe', Email: 'JO@example.com', Title: 'CFO' },
          { Last_Name: 'New', Email: 'new@example.com' },
        ],
      }),
      200,
      writeAnswer('upsert'),
    );
    expect(upsert.data.map((r: { action: string; duplicate_field?: string }) => [r.action, r.duplicate_field])).toEqual([
      ['update', 'Email'],
      ['insert', undefined],
    ]);
    const byName = await expectValid(
      await send('POST', 'Contacts/upsert', { data: [{ Last_Name: 'Roe', Title: 'COO' }], duplicate_check_fields: ['Last_Name'] }),
      200,
      writeAnswer('upsert'),
    );
    expect(byName.data[0].details.id).toBe(second);
    const got = await expectValid(await crm(`Contacts/${first}`), 200, oneRecord);
    expect(got.data[0]).toMatchObject({ Title: 'CFO', Email: 'JO@example.com' });
    await expectValid(await crm(`Contacts/${first}`, { method: 'DELETE' }), 200, writeAnswer('record deleted'));
    const many = await expectValid(await crm(`Contacts?ids=${second},${first}`, { method: 'DELETE' }), 207, writeAnswer('record deleted'));
    expect(many.data.map((r: { code: string }) => r.code)).toEqual(['SUCCESS', 'INVALID_DATA']);
    expect((await crm(`Contacts/${first}`)).status).toBe(204);
    await expectValid(await crm('Contacts', { method: 'DELETE' }), 400, crmError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing'));
  });

  it('search: criteria with and / or and escapes, email, phone, word; exactly one of them; 204 when nothing matches', async () => {
    const { send, crm } = await setup();
    await send('POST', 'Leads', {
      data: [
        { Last_Name: 'Burns', First_Name: 'Bo', Email: 'bo@x.example', Phone: '555-1' },
        { Last_Name: 'Smith (Jr)', Company: 'Acme, Inc' },
        { Last_Name: 'Burke' },
      ],
    });
    const q = (s: string) => crm(`Leads/search?${s}`);
    const both = await expectValid(await q(`criteria=${encodeURIComponent('((Last_Name:starts_with:Bur)and(First_Name:equals:Bo))')}`), 200, searchAnswer);
    expect(both.data.map((r: { Last_Name: string }) => r.Last_Name)).toEqual(['Burns']);
    const either = await expectValid(
      await q(`criteria=${encodeURIComponent('((Last_Name:equals:Burke)or(Last_Name:equals:Smith \\(Jr\\)))')}`),
      200,
      searchAnswer,
    );
    expect(either.data).toHaveLength(2);
    const within = await expectValid(await q(`criteria=${encodeURIComponent('(Last_Name:in:Burke,Burns)')}`), 200, searchAnswer);
    expect(within.data).toHaveLength(2);
    expect((await expectValid(await q('email=bo@x.example'), 200, searchAnswer)).data).toHaveLength(1);
    expect((await expectValid(await q('phone=555-1'), 200, searchAnswer)).data).toHaveLength(1);
    expect((await expectValid(await q('word=acme'), 200, searchAnswer)).data).toHaveLength(1);
    expect((await q('word=nothing-like-it')).status).toBe(204);
    await expectValid(await q('criteria=(Nope:equals:1)'), 400, crmError('INVALID_QUERY', 'invalid query formed'));
    await expectValid(await q('email=a@b.c&word=xy'), 400, crmError('INVALID_QUERY'));
    await expectValid(await q(''), 400, crmError('REQUIRED_PARAM_MISSING'));
  });

  it('COQL: fields, where with =, !=, like, in, between, is null, and / or in brackets, order by, limit and offset', async () => {
    const { send, crm } = await setup();
    await send('POST', 'Deals', {
      data: [1, 2, 3, 4].map((n) => ({ Deal_Name: `D${n}`, Stage: n % 2 ? 'Won' : 'Lost', Closing_Date: `2027-01-0${n}`, Amount: n * 100 })),
    });
    const coql = (select_query: string) => send('POST', 'coql', { select_query });
    const won = await expectValid(await coql("select Deal_Name, Amount from Deals where Stage = 'Won' order by Amount desc"), 200, coqlAnswer);
    expect(won.data.map((r: { Deal_Name: string }) => r.Deal_Name)).toEqual(['D3', 'D1']);
    expect(won.info).toEqual({ count: 2, more_records: false });
    const paged = await expectValid(
      await coql('select Deal_Name from Deals where (Amount between 100 and 400) order by Deal_Name limit 1, 2'),
      200,
      coqlAnswer,
    );
    expect(paged.data.map((r: { Deal_Name: string }) => r.Deal_Name)).toEqual(['D2', 'D3']);
    expect(paged.info.more_records).toBe(true);
    const mixed = await expectValid(
      await coql("select Deal_Name from Deals where ((Deal_Name like 'D%') and (Stage != 'Won')) or (Deal_Name in ('D1'))"),
      200,
      coqlAnswer,
    );
    expect(mixed.data).toHaveLength(3);
    expect((await coql('select Deal_Name from Deals where Description is not null')).status).toBe(204);
    await expectValid(await coql('select Deal_Name from Deals'), 400, crmError('SYNTAX_ERROR'));
    await expectValid(await coql("select Deal_Name from Deals where Stage = 'Won' and Amount > 1 and Amount < 9"), 400, crmError('SYNTAX_ERROR'));
    await expectValid(await coql("select Nope from Deals where Stage = 'Won'"), 400, crmError('INVALID_QUERY', 'column given seems to be invalid'));
    await expectValid(await coql("select Deal_Name from Deals where Stage = 'Won' limit 2001"), 400, crmError('LIMIT_EXCEEDED'));
    expect((await crm('coql')).status).toBe(400);
  });

  it('attachments: upload a file or a link, list (fields required), download, delete one and several', async () => {
    const { crm, send } = await setup();
    const made = await send('POST', 'Accounts', { data: [{ Account_Name: 'Files Inc' }] });
    const id = ((await made.json()) as { data: { details: { id: string } }[] }).data[0]!.details.id;
    const form = new FormData();
    form.set('file', new File([new Uint8Array([1, 2, 3])], 'a.bin', { type: 'application/octet-stream' }));
    const up = await expectValid(await crm(`Accounts/${id}/Attachments`, { method: 'POST', body: form }), 200, attachmentWritten);
    const fileId = up.data[0].details.id;
    await expectValid(
      await crm(`Accounts/${id}/Attachments?attachmentUrl=${encodeURIComponent('https://files.example/x.pdf')}&title=x.pdf`, { method: 'POST' }),
      200,
      attachmentWritten,
    );
    await expectValid(await crm(`Accounts/${id}/Attachments`), 400, crmError('REQUIRED_PARAM_MISSING'));
    const list = await expectValid(await crm(`Accounts/${id}/Attachments?fields=File_Name`), 200, attachmentList);
    expect(list.data.map((a: { File_Name: string }) => a.File_Name)).toEqual(['a.bin', 'x.pdf']);
    expect(new Uint8Array(await (await crm(`Accounts/${id}/Attachments/${fileId}`)).arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    await expectValid(await crm(`Accounts/${id}/Attachments/${fileId}`, { method: 'DELETE' }), 200, attachmentWritten);
    const rest = list.data[1].id;
    await expectValid(await crm(`Accounts/${id}/Attachments?ids=${rest}`, { method: 'DELETE' }), 200, attachmentWritten);
    expect((await crm(`Accounts/${id}/Attachments?fields=File_Name`)).status).toBe(204);
    await expectValid(await crm('Accounts/1234/Attachments?fields=File_Name'), 400, crmError('INVALID_DATA'));
  });

  it('users with and without type, one user by id, and the org with every field', async () => {
    const { crm, zoho } = await setup(FULL, {}, 'user2@org5.example');
    zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'user3@org5.example', redirectUri: REDIRECT });
    const all = await expectValid(await crm('users'), 200, usersAnswer);
    expect(all.users.map((u: { email: string }) => u.email).sort()).toEqual(['user2@org5.example', 'user3@org5.example']);
    const me = await expectValid(await crm('users?type=CurrentUser'), 200, usersAnswer);
    expect(me.users).toHaveLength(1);
    const byId = await expectValid(await crm(`users/${me.users[0].id}`), 200, usersAnswer);
    expect(byId.users[0].email).toBe('user2@org5.example');
    await expectValid(await crm('users?type=Nobody'), 400, crmError('INVALID_DATA'));
    await expectValid(await crm('org'), 200, orgAnswer);
  });
});

describe('local Zoho CRM: scopes per operation [notes: CRM API v8, scopes]', () => {
  const status = async (scope: string, method: string, path: string, body?: unknown) => {
    const { send, crm } = await setup(scope);
    return (body === undefined ? await crm(path, { method }) : await send(method, path, body)).status;
  };
  it('WRITE inserts and updates, READ only reads, DELETE deletes, attachments.ALL reaches attachments, COQL needs its own scope too', async () => {
    expect(await status('ZohoCRM.modules.Leads.WRITE', 'POST', 'Leads', { data: [{ Last_Name: 'W' }] })).toBe(201);
    expect(await status('ZohoCRM.modules.Leads.READ', 'PUT', 'Leads', { data: [{ id: '1', Last_Name: 'W' }] })).toBe(401);
    expect(await status('ZohoCRM.modules.Leads.READ', 'DELETE', 'Leads?ids=1')).toBe(401);
    expect(await status('ZohoCRM.modules.Leads.DELETE', 'DELETE', 'Leads?ids=1')).toBe(400);
    expect(await status('ZohoCRM.modules.Leads.CREATE', 'GET', 'Leads?fields=Last_Name')).toBe(401);
    expect(await status('ZohoCRM.modules.attachments.ALL', 'GET', 'Leads/1/Attachments?fields=File_Name')).toBe(400);
    expect(await status('ZohoCRM.modules.ALL', 'POST', 'coql', { select_query: "select Last_Name from Leads where Last_Name = 'x'" })).toBe(401);
    expect(
      await status('ZohoCRM.coql.READ,ZohoCRM.modules.Leads.READ', 'POST', 'coql', { select_query: "select Last_Name from Leads where Last_Name = 'x'" }),
    ).toBe(204);
  });
});

describe('local Zoho CRM: concurrency limits per edition [notes: CRM API v8, concurrency]', () => {
  it('one call more than the edition allows in flight for an org answers 429 TOO_MANY_REQUESTS; once they finish, calls pass again', async () => {
    const { zoho, crm } = await setup(FULL, { edition: 'free' });
    const release = zoho.holdCrm();
    const inFlight = Array.from({ length: 5 }, () => crm('org'));
    await expectValid(await crm('org'), 429, crmError('TOO_MANY_REQUESTS'));
    expect(zoho.counts().crmThrottled).toBe(1);
    release();
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await crm('org')).status).toBe(200);
    expect(() => new LocalZoho({ edition: 'gold' as never })).toThrow(/edition/);
  });
});

describe('local Zoho accounts: OAuth as documented [notes: Token endpoint; zoho.com/accounts/protocol/oauth]', () => {
  const zohoAt = () => new LocalZoho({ grantsPerWindow: 100, refreshTokensPerWindow: 100 });
  const authorize = (extra: Record<string, string> = {}) =>
    `${ORIGIN}/oauth/v2/auth?${new URLSearchParams({ response_type: 'code', client_id: DEFAULT_CLIENT.clientId, redirect_uri: REDIRECT, scope: APP_SCOPE, state: 'st', ...extra })}`;
  const exchange = async (zoho: LocalZoho, location: string, inQuery = false) => {
    const params = new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: DEFAULT_CLIENT.clientId,
      client_secret: DEFAULT_CLIENT.clientSecret,
      redirect_uri: REDIRECT,
      code: new URL(location).searchParams.get('code')!,
    });
    const request = inQuery
      ? new Request(`${ORIGIN}/oauth/v2/token?${params}`, { method: 'POST' })
      : new Request(`${ORIGIN}/oauth/v2/token`, { method: 'POST', body: params });
    return (await (await zoho.fetch(request)).json()) as Record<string, string>;
  };

  it('access_type: online (the default) gives no refresh token; offline gives one on the first consent, and again only with prompt=consent', async () => {
    const zoho = zohoAt();
    expect(await exchange(zoho, await zoho.consent(authorize(), { email: 'ana@example.com' }))).not.toHaveProperty('refresh_token');
    expect(await exchange(zoho, await zoho.consent(authorize({ access_type: 'offline' }), { email: 'ana@example.com' }))).toHaveProperty('refresh_token');
    const again = await exchange(zoho, await zoho.consent(authorize({ access_type: 'offline' }), { email: 'ana@example.com' }));
    expect(again).toHaveProperty('access_token');
    expect(again).not.toHaveProperty('refresh_token');
    expect(await exchange(zoho, await zoho.consent(authorize({ access_type: 'offline', prompt: 'consent' }), { email: 'ana@example.com' }))).toHaveProperty(
      'refresh_token',
    );
    await expect(zoho.consent(authorize({ access_type: 'sometimes' }), { email: 'ana@example.com' })).rejects.toThrow(/access_type/);
  });

  it('access tokens last an hour, or accessTokenSeconds; a CRM call with one past its life is INVALID_TOKEN', async () => {
    const standard = zohoAt();
    const hour = await exchange(standard, await standard.consent(authorize(), { email: 'ana@example.com' }));
    expect(hour.expires_in).toBe(3600);
    const zoho = new LocalZoho({ accessTokenSeconds: 330 });
    const short = await exchange(zoho, await zoho.consent(authorize(), { email: 'ana@example.com' }));
    expect(short.expires_in).toBe(330);
    const list = () =>
      zoho.fetch(new Request(`${ORIGIN}/crm/v8/Leads?fields=Last_Name`, { headers: { authorization: `Zoho-oauthtoken ${short.access_token}` } }));
    expect((await list()).status).not.toBe(401);
    zoho.advance(331_000);
    expect(await (await list()).json()).toMatchObject({ code: 'INVALID_TOKEN' });
    expect(() => new LocalZoho({ accessTokenSeconds: 0.5 })).toThrow(/accessTokenSeconds/);
  });

  it("the token endpoint takes its parameters in the query string, as Zoho's pages show them", async () => {
    const zoho = zohoAt();
    const answer = await exchange(zoho, await zoho.consent(authorize({ access_type: 'offline' }), { email: 'ana@example.com' }), true);
    expect(answer).toHaveProperty('refresh_token');
  });

  it('revoke takes access tokens as well as refresh tokens; an unknown token is 400 with no body', async () => {
    const zoho = zohoAt();
    const tokens = await exchange(zoho, await zoho.consent(authorize({ access_type: 'offline' }), { email: 'ana@example.com' }));
    const revoke = (token: string) => zoho.fetch(new Request(`${ORIGIN}/oauth/v2/token/revoke?token=${encodeURIComponent(token)}`, { method: 'POST' }));
    expect(await (await revoke(tokens.access_token!)).json()).toEqual({ status: 'success' });
    const crm = await zoho.fetch(new Request(`${ORIGIN}/crm/v8/org`, { headers: { authorization: `Zoho-oauthtoken ${tokens.access_token}` } }));
    expect(crm.status).toBe(401);
    expect(zoho.usageOf(tokens.refresh_token!).live).toBe(true);
    const unknown = await revoke('1000.nothing');
    expect([unknown.status, await unknown.text()]).toEqual([400, '']);
  });

  it('unknown scopes are refused at consent; known ones in any case pass', async () => {
    const zoho = zohoAt();
    await expect(zoho.consent(authorize({ scope: 'ZohoCRM.modules.ALL,ZohoCRM.everything.ALL' }), { email: 'ana@example.com' })).rejects.toThrow(
      /Invalid OAuth Scope.*ZohoCRM\.everything\.ALL/,
    );
    await expect(
      zoho.consent(authorize({ scope: 'zohocrm.modules.contacts.read,ZohoCRM.settings.fields.READ,ZohoCRM.coql.READ,email' }), { email: 'ana@example.com' }),
    ).resolves.toContain('code=');
  });

  it('a person may refuse: the redirect carries error=access_denied and the state, and no code', async () => {
    const zoho = zohoAt();
    const back = new URL(await zoho.consent(authorize(), { email: 'ana@example.com', reject: true }));
    expect([...back.searchParams]).toEqual([
      ['error', 'access_denied'],
      ['state', 'st'],
    ]);
    const page = await (await zoho.fetch(new Request(authorize()))).text();
    expect(page).toContain('id="reject"');
  });

  it('the device flow: user_code, device_code, interval, expires_in, verification_url; access_denied when refused, expired after 5 minutes', async () => {
    const device = { clientId: '1000.DEVICE', type: 'device' as const, clientSecret: 'device-secret' };
    const zoho = new LocalZoho({ clients: [device] });
    const start = async () =>
      (await (
        await zoho.fetch(
          new Request(
            `${ORIGIN}/oauth/v3/device/code?${new URLSearchParams({ client_id: device.clientId, grant_type: 'device_request', scope: APP_SCOPE, access_type: 'offline' })}`,
            { method: 'POST' },
          ),
        )
      ).json()) as Record<string, unknown>;
    const poll = async (code: unknown) =>
      (
        await zoho.fetch(
          new Request(
            `${ORIGIN}/oauth/v3/device/token?${new URLSearchParams({ client_id: device.clientId, client_secret: device.clientSecret, grant_type: 'device_token', code: String(code) })}`,
            { method: 'POST' },
          ),
        )
      ).json();
    const started = await start();
    expect(Object.keys(started).sort()).toEqual(['device_code', 'expires_in', 'interval', 'user_code', 'verification_url']);
    expect(started.verification_url).toBe(`${ORIGIN}/oauth/v3/device`);
    await zoho.fetch(new Request(`${ORIGIN}/__admin/device?user_code=${started.user_code}&email=ana@example.com&decision=reject`, { method: 'POST' }));
    expect(await poll(started.device_code)).toEqual({ error: 'access_denied' });
    const late = await start();
    zoho.advance(5 * 60_000 + 1);
    expect(await poll(late.device_code)).toEqual({ error: 'expired' });
  });
});

describe('the served local Zoho: loopback names only, test controls behind a token', () => {
  it('answers loopback Host names and refuses any other (DNS rebinding); /__admin/ wants the admin token', async () => {
    const { serveLocalZoho } = await import('edge-token-store/testing/node');
    const served = await serveLocalZoho({ adminToken: 'a-token-for-this-test' });
    const { port } = new URL(served.url);
    // Node's fetch does not let a caller set Host: a raw request does, as a rebinding page's would arrive.
    const withHost = (host: string, path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { host, ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    try {
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `app.localhost:${port}`]) {
        expect(await withHost(host, '/oauth/v2/token')).toBe(200);
      }
      for (const host of [`attacker.example:${port}`, `127.0.0.1.attacker.example:${port}`, 'zoho.local']) {
        expect(await withHost(host, '/oauth/v2/token')).toBe(421);
      }
      expect(await withHost(`127.0.0.1:${port}`, '/__admin/pkce?mode=ignore-server')).toBe(401);
      expect(await withHost(`127.0.0.1:${port}`, '/__admin/pkce?mode=ignore-server', { authorization: 'Bearer wrong' })).toBe(401);
      expect(served.zoho.pkceMode()).toBe('check');
      expect(await withHost(`127.0.0.1:${port}`, '/__admin/pkce?mode=ignore-server', { authorization: 'Bearer a-token-for-this-test' })).toBe(200);
      expect(served.zoho.pkceMode()).toBe('ignore-server');
    } finally {
      await served.close();
    }
  });

  it('makes a token when none is given, and takes LOCAL_ZOHO_ADMIN_TOKEN when it is set', async () => {
    const { serveLocalZoho } = await import('edge-token-store/testing/node');
    const made = await serveLocalZoho();
    process.env.LOCAL_ZOHO_ADMIN_TOKEN = 'from-the-environment';
    const fromEnv = await serveLocalZoho();
    delete process.env.LOCAL_ZOHO_ADMIN_TOKEN;
    try {
      expect(made.adminToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(fromEnv.adminToken).toBe('from-the-environment');
      const counts = await fetch(`${fromEnv.url}/__admin/counts`, { headers: { authorization: 'Bearer from-the-environment' } });
      expect(counts.status).toBe(200);
    } finally {
      await Promise.all([made.close(), fromEnv.close()]);
    }
  });
});
