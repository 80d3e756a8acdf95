/**
 * The Zoho CRM tools of the MCP server: list, get, search and create records of any module.
 * Each answers Zoho's data as JSON text, and Zoho's errors as tool errors that say what to do.
 * One CRM call each, through the grant's pipeline (grant.ts).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpScope } from './consent.ts';
import type { GrantState } from './grant.ts';

export type GrantCrm = (path: string, init?: RequestInit) => Promise<{ response: Response; grant: GrantState }>;

const module = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,99}$/)
  .describe("A module's API name: Leads, Contacts, Accounts, Deals, or a custom module's");
const fields = z
  .string()
  .regex(/^[A-Za-z0-9_$]+(,[A-Za-z0-9_$]+){0,49}$/)
  .describe('Field API names, comma-separated (at most 50), e.g. Last_Name,Email');
const recordId = z
  .string()
  .regex(/^\d{1,19}$/)
  .describe("A record's id (a string of digits)");

/** What to do about each of Zoho's error codes, for the model calling the tool. */
const ADVICE: Record<string, string> = {
  INVALID_MODULE: "Use a module's API name (Leads, Contacts, Accounts, Deals, or a custom module's).",
  REQUIRED_PARAM_MISSING: 'Give the parameter the details name.',
  MANDATORY_NOT_FOUND: 'Add the mandatory field the details name.',
  INVALID_DATA: 'Check the field names and values against the module (the details say which).',
  INVALID_QUERY: 'Fix the criteria: groups like (Field:operator:value), joined by and / or.',
  LIMIT_EXCEEDED: 'Ask for fewer fields or records.',
  OAUTH_SCOPE_MISMATCH: 'The login lacks the scope for this; the user must log in again and grant it.',
  NO_PERMISSION: "The user's Zoho profile does not allow this.",
  TOO_MANY_REQUESTS: "Too many calls at once for the org's edition: wait a moment and retry.",
  forbidden: "This server's rules do not allow this call.",
  insufficient_scope: 'This grant may only read; the client must authorize again asking for crm.write.',
};

const text = (value: unknown, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }],
  ...(isError ? { isError } : {}),
});

/** A tool's result from Zoho's response: its data, "nothing found", or an error that says what to do. */
async function toolResult(call: Promise<{ response: Response; grant: GrantState }>): Promise<CallToolResult> {
  const { response, grant } = await call;
  if (grant === 'dead') return text('Zoho no longer accepts this login: the user must authorize again.', true);
  if (grant === 'busy') {
    const wait = response.headers.get('retry-after') ?? '1';
    return text(`Zoho asks to wait: retry after ${wait} seconds.`, true);
  }
  if (response.status === 204 || response.status === 304) return text('No records.');
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (response.ok || response.status === 207) return text(body);
  const code = String(body?.code ?? body?.error ?? response.status);
  const message = String(body?.message ?? 'the call failed');
  return text(
    `Zoho answered ${code}: ${message}. ${ADVICE[code] ?? 'Check the arguments.'}${body?.details ? ` Details: ${JSON.stringify(body.details)}` : ''}`,
    true,
  );
}

/** The CRM tools a grant's scopes allow: the three that read always, `create_record` only with `crm.write`. */
export function registerCrmTools(server: McpServer, crm: GrantCrm, scope: readonly McpScope[]): void {
  server.registerTool(
    'list_records',
    {
      description: "List a module's records (up to 200 a page), with the fields named.",
      inputSchema: { module, fields, page: z.number().int().min(1).max(10).optional().describe('Page of 200, 1 to 10') },
    },
    ({ module, fields, page }) => toolResult(crm(`/crm/v8/${module}?fields=${fields}${page ? `&page=${page}` : ''}`)),
  );
  server.registerTool('get_record', { description: 'Get one record by id, with all its fields.', inputSchema: { module, id: recordId } }, ({ module, id }) =>
    toolResult(crm(`/crm/v8/${module}/${id}`)),
  );
  server.registerTool(
    'search_records',
    {
      description: 'Search a module by criteria ((Last_Name:equals:Curie)and(Email:starts_with:m)), by email, or by a word. Give exactly one.',
      inputSchema: {
        module,
        criteria: z.string().min(3).max(2000).optional(),
        email: z.string().min(3).max(200).optional(),
        word: z.string().min(2).max(200).optional(),
      },
    },
    ({ module, criteria, email, word }) => {
      const given = Object.entries({ criteria, email, word }).filter(([, v]) => v !== undefined);
      if (given.length !== 1) return text('Give exactly one of criteria, email and word.', true);
      const [name, value] = given[0]!;
      return toolResult(crm(`/crm/v8/${module}/search?${new URLSearchParams({ [name]: value! })}`));
    },
  );
  if (!scope.includes('crm.write')) return;
  server.registerTool(
    'create_record',
    {
      description: "Create one record in a module; `record` holds its fields by API name (the module's mandatory ones included).",
      inputSchema: { module, record: z.record(z.string().regex(/^[A-Za-z0-9_$]+$/), z.unknown()) },
    },
    ({ module, record }) =>
      toolResult(crm(`/crm/v8/${module}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: [record] }) })),
  );
}
