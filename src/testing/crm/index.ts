// The CRM v8 API of the local Zoho: which operation a request is, whether its token's scope
// allows it, and its answer. Records (any module), search, COQL, attachments, users, org and
// field metadata; every other path is Zoho's 404 INVALID_URL_PATTERN.
import type { LocalZohoUser } from '../model.ts';
import { crmError, invalidUrl, MESSAGES } from './answers.ts';
import { answerAttachments, relatedInvalid } from './attachments.ts';
import { runCoql } from './coql.ts';
import { answerFields, answerOrg, answerUsers } from './meta.ts';
import type { Module } from './modules.ts';
import type { OrgData } from './org-data.ts';
import { deleteRecords, getRecord, insertRecords, listRecords, updateRecords, upsertRecords, type RecordContext } from './records.ts';
import { allows, type CrmOperation } from './scopes.ts';
import { searchRecords } from './search.ts';

export interface CrmContext {
  user: LocalZohoUser;
  /** Everyone in the user's org this stand-in knows of; the first is its administrator. */
  orgUsers: LocalZohoUser[];
  org: OrgData;
  modules: Map<string, Module>;
  /** The scope the token was granted. */
  scope: string;
  now: number;
}

const scopeMismatch = () => crmError(401, 'OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL');
const wrongMethod = () => crmError(400, 'INVALID_REQUEST_METHOD', 'The http request method type is not a valid one');

/** Answers one CRM call (`route` is the path after `/crm/v8/`) for a user whose token has been checked. */
export async function answerCrm(request: Request, url: URL, route: string, ctx: CrmContext): Promise<Response> {
  const method = request.method;
  const guard = (op: CrmOperation, answer: () => Response | Promise<Response>) => (allows(ctx.scope, op) ? answer() : scopeMismatch());
  const moduleOf = (name: string) => ctx.modules.get(name) ?? [...ctx.modules.values()].find((m) => m.apiName.toLowerCase() === name.toLowerCase());
  const parts = route.split('/');
  if (parts.some((p) => p === '')) return invalidUrl();
  const [first = '', second, third, fourth, ...rest] = parts;
  if (rest.length > 0) return invalidUrl();

  if (first === 'users' && third === undefined) {
    if (method !== 'GET') return wrongMethod();
    return guard({ kind: 'users' }, () => answerUsers(url, second, ctx.user, ctx.orgUsers));
  }
  if (first === 'org' && second === undefined)
    return method === 'GET' ? guard({ kind: 'org' }, () => answerOrg(ctx.user, ctx.orgUsers[0] ?? ctx.user)) : wrongMethod();
  if (first === 'settings' && second === 'fields' && third === undefined)
    return method === 'GET' ? guard({ kind: 'fields' }, () => answerFields(url, moduleOf)) : wrongMethod();
  if (first === 'coql' && second === undefined) {
    if (method !== 'POST') return wrongMethod();
    return runCoql(request, ctx.org, moduleOf, (module) => allows(ctx.scope, { kind: 'coql', module: module.apiName }));
  }
  if (first === 'settings' || first === 'coql' || first === 'org') return invalidUrl();

  const module = ctx.modules.get(first);
  if (!module)
    return /^[A-Za-z][A-Za-z0-9_]*$/.test(first) ? crmError(400, 'INVALID_MODULE', MESSAGES.invalidModule, { resource_path_index: 0 }) : invalidUrl();
  const rc: RecordContext = { user: ctx.user, org: ctx.org, module, now: ctx.now };
  const m = module.apiName;

  if (second === undefined) {
    if (method === 'GET') return guard({ kind: 'read', module: m }, () => listRecords(request, url, rc));
    if (method === 'POST') return guard({ kind: 'create', module: m }, () => insertRecords(request, rc));
    if (method === 'PUT') return guard({ kind: 'update', module: m }, () => updateRecords(request, rc));
    if (method === 'DELETE') return guard({ kind: 'delete', module: m }, () => deleteRecords(url, rc));
    return wrongMethod();
  }
  if (second === 'upsert' && third === undefined)
    return method === 'POST' ? guard({ kind: 'upsert', module: m }, () => upsertRecords(request, rc)) : wrongMethod();
  if (second === 'search' && third === undefined) return method === 'GET' ? guard({ kind: 'read', module: m }, () => searchRecords(url, rc)) : wrongMethod();
  if (!/^\d{1,19}$/.test(second)) return invalidUrl();

  if (third === undefined) {
    if (method === 'GET') return guard({ kind: 'read', module: m }, () => getRecord(url, second, rc));
    if (method === 'PUT') return guard({ kind: 'update', module: m }, () => updateRecords(request, rc, second));
    if (method === 'DELETE') return guard({ kind: 'delete', module: m }, () => deleteRecords(url, rc, second));
    return wrongMethod();
  }
  if (third === 'Attachments' && (fourth === undefined || /^\d{1,19}$/.test(fourth))) {
    return guard({ kind: 'attachments', module: m, method }, async () => {
      const record = ctx.org.of(module).find((r) => r.id === second);
      if (!record) return relatedInvalid('INVALID_DATA', 1);
      const name = String(record[module.mandatory[0] ?? 'id'] ?? record.id);
      return (await answerAttachments(request, url, second, fourth, name, rc)) ?? wrongMethod();
    });
  }
  return invalidUrl();
}
