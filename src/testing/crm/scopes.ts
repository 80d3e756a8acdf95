// Zoho's CRM scopes: which scope names exist (the consent page refuses others, as Zoho's does)
// and which ones each CRM operation accepts, as each operation's page of the CRM v8 docs lists
// them. Scope names are matched in any case (`ZohoCRM.modules.leads.READ`).

const CRUD = ['all', 'read', 'create', 'update', 'delete'];
/** What `ZohoCRM.modules[.<module>].<op>` may say; WRITE is Zoho's "edit records" (insert and update). */
const MODULE_OPS = [...CRUD, 'write'];
const SETTINGS = [
  'fields',
  'layouts',
  'modules',
  'custom_views',
  'related_lists',
  'profiles',
  'roles',
  'tags',
  'variables',
  'territories',
  'pipeline',
  'currencies',
];
/** Scopes of other parts of Zoho accounts that a CRM app may ask for beside its CRM ones. */
const OTHER = [
  'email',
  'openid',
  'profile',
  'aaaserver.profile.read',
  'zohosearch.securesearch.read',
  'zohocrm.coql.read',
  'zohocrm.bulk.all',
  'zohocrm.bulk.read',
  'zohocrm.bulk.create',
  'zohocrm.files.read',
  'zohocrm.files.create',
];

export type CrmOperation =
  | { kind: 'read' | 'create' | 'update' | 'upsert' | 'delete'; module: string }
  | { kind: 'attachments'; module: string; method: string }
  | { kind: 'coql'; module: string }
  | { kind: 'users' | 'org' | 'fields' };

const split = (scope: string) =>
  scope
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => s.toLowerCase());

/** The scope names in `scope` Zoho does not know (for the consent page), given the org's modules. */
export function unknownScopes(scope: string, modules: string[]): string[] {
  const moduleNames = new Set(['attachments', 'notes', ...modules.map((m) => m.toLowerCase())]);
  return scope
    .split(/[\s,]+/)
    .filter(Boolean)
    .filter((name) => {
      const s = name.toLowerCase();
      if (OTHER.includes(s)) return false;
      const parts = s.split('.');
      if (parts[0] !== 'zohocrm') return true;
      if (parts[1] === 'modules')
        return !(parts.length === 3 ? MODULE_OPS.includes(parts[2]!) : parts.length === 4 && moduleNames.has(parts[2]!) && MODULE_OPS.includes(parts[3]!));
      if (parts[1] === 'users' || parts[1] === 'org' || parts[1] === 'notifications') return !(parts.length === 3 && CRUD.includes(parts[2]!));
      if (parts[1] === 'settings')
        return !(parts.length === 3 ? CRUD.includes(parts[2]!) : parts.length === 4 && SETTINGS.includes(parts[2]!) && CRUD.includes(parts[3]!));
      return true;
    });
}

/** `ZohoCRM.modules.<op>` and `ZohoCRM.modules.<module>.<op>` for each op. */
const moduleScopes = (module: string, ops: string[]) => ops.flatMap((op) => [`zohocrm.modules.${op}`, `zohocrm.modules.${module.toLowerCase()}.${op}`]);

/** Sets of scopes an operation accepts: it is allowed when the grant holds every scope of one set... */
function wanted(op: CrmOperation): string[][] {
  switch (op.kind) {
    case 'read':
      return moduleScopes(op.module, ['all', 'read']).map((s) => [s]);
    case 'create':
    case 'upsert':
      return moduleScopes(op.module, ['all', 'write', 'create']).map((s) => [s]);
    case 'update':
      return moduleScopes(op.module, ['all', 'write', 'update']).map((s) => [s]);
    case 'delete':
      return moduleScopes(op.module, ['all', 'delete']).map((s) => [s]);
    case 'attachments': {
      const action = op.method === 'GET' ? 'read' : op.method === 'POST' ? 'create' : 'delete';
      return [...moduleScopes(op.module, ['all', action]), `zohocrm.modules.attachments.all`, `zohocrm.modules.attachments.${action}`].map((s) => [s]);
    }
    case 'coql':
      // COQL needs its own scope and read access to the module it queries.
      return moduleScopes(op.module, ['all', 'read']).map((s) => ['zohocrm.coql.read', s]);
    case 'users':
      return [['zohocrm.users.all'], ['zohocrm.users.read']];
    case 'org':
      return [['zohocrm.org.all'], ['zohocrm.org.read']];
    case 'fields':
      return [['zohocrm.settings.all'], ['zohocrm.settings.read'], ['zohocrm.settings.fields.all'], ['zohocrm.settings.fields.read']];
  }
}

/** ...so this says whether a grant's scope lets it make this call. */
export function allows(granted: string, op: CrmOperation): boolean {
  const have = new Set(split(granted));
  return wanted(op).some((set) => set.every((s) => have.has(s)));
}
