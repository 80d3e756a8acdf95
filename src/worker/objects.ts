/**
 * How the Worker names and reaches its Durable Objects. No object on a request path is named
 * by a constant, and no name carries a user name (names and ids show up in dashboards):
 *   - a user's tokens and sessions: `u-` + HMAC-SHA-256(USER_OBJECT_SECRET, user name), placed
 *     by their Zoho data center (an EU user's in the `eu` jurisdiction, others with a location
 *     hint near their data center: DATA_CENTER_PLACEMENT). A reference to it, in a cookie or an
 *     API key, names the data center too, so the object is found where it was placed;
 *   - a login state: bucket `states-<k>`, k picked at random at login and signed into the state;
 *   - the directory of user objects, for operators only: shard `directory-<k>` by object id.
 */
import { unwrap, type Outcome } from '../backends/object-base.ts';
import { placedNamespace, type ObjectPlacement } from '../backends/placement.ts';
import { DATA_CENTER_PLACEMENT } from './naming.ts';
import type { DataCenter } from '../zoho/data-centers.ts';
import { callObject } from '../backends/object-call.ts';
import { shardName } from './directory.ts';
import type { Env } from './env.ts';

export { userObjectName } from './naming.ts';

/** A user's object: its name, and the data center that placed it. */
export interface UserRef {
  dataCenter: DataCenter;
  name: string;
}

/**
 * Where a data center's users' objects go. OBJECT_PLACEMENT = "off" is for local runs only:
 * workerd cannot place objects in a jurisdiction (it throws), so there every object is created
 * unplaced. Never change it on a deployment that has users: the same name is another object.
 */
export function placementOf(env: Env, dataCenter: DataCenter): ObjectPlacement {
  return env.OBJECT_PLACEMENT === 'off' ? {} : DATA_CENTER_PLACEMENT[dataCenter];
}

export function userObject(env: Env, ref: UserRef) {
  const { namespace, options } = placedNamespace(env.ZOHO_USERS, placementOf(env, ref.dataCenter));
  const id = namespace.idFromName(ref.name);
  return () => (namespace as Env['ZOHO_USERS']).get(id as DurableObjectId, options as DurableObjectNamespaceGetDurableObjectOptions);
}

/** A user's object id (hex), as the directory lists it. */
export function userObjectId(env: Env, ref: UserRef): string {
  const { namespace } = placedNamespace(env.ZOHO_USERS, placementOf(env, ref.dataCenter));
  return (namespace as Env['ZOHO_USERS']).idFromName(ref.name).toString();
}
export const stateBucket = (env: Env, k: number) => () => env.ZOHO_LOGIN_STATES.get(env.ZOHO_LOGIN_STATES.idFromName(`states-${k}`));
export const directoryShard = (env: Env, k: number) => () => env.ZOHO_DIRECTORY.get(env.ZOHO_DIRECTORY.idFromName(shardName(k)));

/**
 * One call to an object whose method answers an outcome, with retries of transient faults.
 * Only for calls that are safe to repeat; every caller in worker/ says why its call is.
 */
export async function ask<S, T>(stubFor: () => S, rpc: (stub: S) => Promise<Outcome<T>>): Promise<T> {
  return unwrap(await callObject(stubFor, rpc));
}
