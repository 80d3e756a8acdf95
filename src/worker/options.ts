/**
 * What a user of the Worker library decides in code. Secrets and deployment settings stay in
 * `env` (src/worker/env.ts), because the Durable Objects only see `env`.
 */
import type { DataCenter } from '../zoho/zoho.ts';

/** The logged-in caller of a CRM call, as hooks see them: never a token. */
export interface ZohoCaller {
  dataCenter: DataCenter;
  /** The keyed hash that names the user's object (never the user name). */
  user: string;
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
  /**
   * After Zoho named the user, before their token is stored: `false` or a `Response` refuses
   * the login (an org allowlist, say); the new refresh token is then revoked at Zoho.
   */
  onLogin?: (login: ZohoCaller & { userName: string; request: Request }) => boolean | Response | Promise<boolean | Response>;
  /** Before every CRM call of a session or API key: `false` refuses it with 403 (read-only users, say). */
  authorizeCrm?: (call: ZohoCaller & { method: string; path: string }) => boolean | Promise<boolean>;
}

export interface ResolvedOptions {
  basePath: string;
  appUrl: string | undefined;
  scope: string | undefined;
  admin: boolean;
  onLogin: ZohoWorkerOptions['onLogin'];
  authorizeCrm: ZohoWorkerOptions['authorizeCrm'];
}

const invalid = (message: string) => new TypeError(`edge-token-store/worker: ${message}`);

/** A path on this origin: `/`, then no second `/` or `\` (which a browser reads as another host). */
export const isSameOriginPath = (value: string) => /^\/(?![/\\])/.test(value) && !/[\s\\]/.test(value);

/** Checks the options once, when the handler is made: a mistake fails at deploy, not at a request. */
export function resolveOptions(options: ZohoWorkerOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(basePath)) throw invalid('basePath must be a path such as "/zoho"');
  if (options.appUrl !== undefined && !isSameOriginPath(options.appUrl)) throw invalid('appUrl must be a path on this origin, such as "/app"');
  if (options.scope !== undefined && (typeof options.scope !== 'string' || options.scope.trim() === '')) throw invalid('scope must be a non-empty string');
  for (const hook of ['onLogin', 'authorizeCrm'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') throw invalid(`${hook} must be a function`);
  }
  return {
    basePath,
    appUrl: options.appUrl,
    scope: options.scope,
    admin: options.admin ?? true,
    onLogin: options.onLogin,
    authorizeCrm: options.authorizeCrm,
  };
}
