/**
 * What a user of the Worker library decides in code. Secrets and deployment settings stay in
 * `env` (src/worker/env.ts), because the Durable Objects only see `env`.
 */
import { misconfigured, TokenStoreError } from '../store/errors.ts';
import type { DataCenter } from '../zoho/data-centers.ts';

/** The logged-in caller of a CRM call, as hooks see them: never a token. */
export interface ZohoCaller {
  dataCenter: DataCenter;
  /** The keyed hash that names the user's object (never the user name). */
  user: string;
}

/** The names the three Durable Object namespaces are bound under in `env`. */
export interface ZohoBindings {
  /** `ZohoUserObject` (default `ZOHO_USERS`). */
  users?: string;
  /** `ZohoLoginStates` (default `ZOHO_LOGIN_STATES`). */
  loginStates?: string;
  /**
   * `ZohoDirectory` (default `ZOHO_DIRECTORY`). The user objects report to it from their alarms,
   * where they see only `env`: give your `ZohoUserObject` subclass the same name in its
   * static `directoryBinding`.
   */
  directory?: string;
}

export interface ZohoWorkerOptions {
  /** Where the routes are mounted, such as `/zoho` (default: the root). The redirect URI follows it. */
  basePath?: string;
  /** Where a finished login lands: a path on this origin (default: APP_URL, else `/`). */
  appUrl?: string;
  /** Scopes asked at login, comma-separated (default: ZOHO_SCOPE, else the CRM modules, users and org). */
  scope?: string;
  /** Whether the operators' routes exist (default true; they also need ADMIN_KEY_SHA256). */
  admin?: boolean;
  /** Binding names, when yours are not `ZOHO_USERS`, `ZOHO_LOGIN_STATES` and `ZOHO_DIRECTORY`. */
  bindings?: ZohoBindings;
  /**
   * After Zoho named the user, before their token is stored: `false` or a `Response` refuses
   * the login (an org allowlist, say); the new refresh token is then revoked at Zoho.
   */
  onLogin?: (login: ZohoCaller & { userName: string; request: Request }) => boolean | Response | Promise<boolean | Response>;
  /**
   * Before every CRM call of a session or API key, through `/crm/*` and `session.fetch()` alike:
   * only `true` allows it; anything else (`false`, a `Response`, a thrown error) refuses it with
   * 403 before Zoho is called. `org` is the org the call targets: its `X-CRM-ORG` header, else
   * the user's own (the zgid in their user name), null when unknown.
   */
  authorizeCrm?: (call: ZohoCaller & { method: string; path: string; org: string | null }) => boolean | Promise<boolean>;
}

/** What `getZohoSession()` and `zohoSession()` take: a handler's options, and whether other sites may use the session. */
export interface ZohoSessionOptions extends ZohoWorkerOptions {
  /**
   * By default a request another site made (a link, a form, an `<img>`, a frame, or a fetch from
   * an origin not in ALLOWED_ORIGINS; by Fetch Metadata, else by `Origin`) gets no session, as
   * on the library's own routes. `true` gives it one: any site can then make this route act as
   * the user with their cookie. Only for a route that must work from a link and changes nothing.
   */
  allowCrossSite?: boolean;
}

const DEFAULT_BINDINGS: Required<ZohoBindings> = { users: 'ZOHO_USERS', loginStates: 'ZOHO_LOGIN_STATES', directory: 'ZOHO_DIRECTORY' };

export interface ResolvedOptions {
  basePath: string;
  appUrl: string | undefined;
  scope: string | undefined;
  admin: boolean;
  bindings: Required<ZohoBindings>;
  onLogin: ZohoWorkerOptions['onLogin'];
  authorizeCrm: ZohoWorkerOptions['authorizeCrm'];
  allowCrossSite: boolean;
}

const invalid = (message: string) => new TokenStoreError('INVALID_INPUT', `edge-token-store/worker: ${message}`);

/** Dot segments, plain or percent-encoded: a browser resolves `/.//evil.example` to `//evil.example`. */
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

/**
 * A path a login may land on, on this origin: `/`, then printable ASCII only (non-ASCII
 * percent-encoded), no backslash, and in the path part no `//` and no dot segment, at most 512
 * bytes. Null for anything else, which lands on the default instead.
 */
export function landingPath(value: string | null | undefined): string | null {
  if (typeof value !== 'string' || value.length > 512 || !/^\/[\x21-\x7e]*$/.test(value) || value.includes('\\')) return null;
  const path = value.split(/[?#]/, 1)[0]!;
  return path.includes('//') || path.split('/').some((segment) => DOT_SEGMENT.test(segment)) ? null : value;
}

/** Checks the options once, when the handler is made: a mistake fails at deploy, not at a request. */
export function resolveOptions(options: ZohoSessionOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(basePath)) throw invalid('basePath must be a path such as "/zoho"');
  if (options.appUrl !== undefined && landingPath(options.appUrl) === null) throw invalid('appUrl must be a path on this origin, such as "/app"');
  if (options.scope !== undefined && (typeof options.scope !== 'string' || options.scope.trim() === '')) throw invalid('scope must be a non-empty string');
  const bindings = { ...DEFAULT_BINDINGS, ...options.bindings };
  for (const name of Object.values(bindings))
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalid('bindings are names of env bindings, such as "ZOHO_USERS"');
  for (const hook of ['onLogin', 'authorizeCrm'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') throw invalid(`${hook} must be a function`);
  }
  if (options.allowCrossSite !== undefined && typeof options.allowCrossSite !== 'boolean') throw invalid('allowCrossSite must be true or false');
  return {
    basePath,
    appUrl: options.appUrl,
    scope: options.scope,
    admin: options.admin ?? true,
    bindings,
    onLogin: options.onLogin,
    authorizeCrm: options.authorizeCrm,
    allowCrossSite: options.allowCrossSite ?? false,
  };
}

const views = new WeakMap<object, Map<string, unknown>>();

/**
 * `env` as the library reads it: the namespaces under their default names. With the default
 * names, `env` itself; otherwise one view per env object (so configuration is still read once).
 */
export function envWithBindings<E extends object>(env: E, bindings: Required<ZohoBindings>): E {
  if (bindings.users === DEFAULT_BINDINGS.users && bindings.loginStates === DEFAULT_BINDINGS.loginStates && bindings.directory === DEFAULT_BINDINGS.directory)
    return env;
  const key = `${bindings.users}/${bindings.loginStates}/${bindings.directory}`;
  let perEnv = views.get(env);
  if (!perEnv) views.set(env, (perEnv = new Map()));
  let view = perEnv.get(key) as E | undefined;
  if (!view) {
    const source = env as Record<string, unknown>;
    const missing = Object.values(bindings).filter((name) => !source[name]);
    if (missing.length > 0) throw misconfigured(`no binding named ${missing.join(', ')} in env`);
    view = { ...env, ZOHO_USERS: source[bindings.users], ZOHO_LOGIN_STATES: source[bindings.loginStates], ZOHO_DIRECTORY: source[bindings.directory] } as E;
    perEnv.set(key, view);
  }
  return view;
}
