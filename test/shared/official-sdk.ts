// The official Zoho TypeScript SDK (a dev dependency) pointed at a local Zoho served over
// HTTP, as the adapter's tests and the storm benchmark drive it.
import { createRequire } from 'node:module';
import { DEFAULT_CLIENT, SDK_SCOPE, type LocalZoho } from 'edge-token-store/testing';

const require = createRequire(import.meta.url);
// The SDK is CommonJS; an application in Node loads it the same way (or with `import`).
export const ZohoSdk = require('@zohocrm/typescript-sdk-8.0') as typeof import('@zohocrm/typescript-sdk-8.0');

type SdkToken = InstanceType<typeof ZohoSdk.OAuthToken>;

/** Initializes the SDK against the local Zoho at `url`, with `store`; returns the token given. */
export async function initializeSdk(url: string, token: SdkToken, store: unknown, resourcePath: string): Promise<SdkToken> {
  const builder = new ZohoSdk.InitializeBuilder();
  // The builder copies a previous initialization's settings in asynchronously from its
  // constructor; set ours after that, or a re-initialization would get the old token back.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const environment = new ZohoSdk.Environment(url, `${url}/oauth/v2/token`, url);
  await builder
    .environment(environment)
    .token(token)
    .store(store as never)
    .resourcePath(resourcePath)
    .initialize();
  return token;
}

/**
 * The SDK token a new user starts with: a grant code `email` consented to (with the scopes the
 * SDK needs: it reads field metadata before a record call), and the client.
 */
export function grantToken(zoho: LocalZoho, email: string, redirectUrl: string, scope = SDK_SCOPE): SdkToken {
  const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: email, redirectUri: redirectUrl, scope });
  if (!code) throw new Error('local Zoho refused to issue a grant');
  return new ZohoSdk.OAuthBuilder()
    .clientId(DEFAULT_CLIENT.clientId)
    .clientSecret(DEFAULT_CLIENT.clientSecret)
    .grantToken(code)
    .redirectURL(redirectUrl)
    .build();
}

/** A CRM record call through the SDK: the Leads list, naming the fields CRM v8 requires a list to name. */
export async function getLeads() {
  const params = new ZohoSdk.ParameterMap();
  await params.add(ZohoSdk.Record.GetRecordsParam.FIELDS, 'Last_Name,Company');
  return new ZohoSdk.Record.RecordOperations('Leads').getRecords(params, new ZohoSdk.HeaderMap());
}
