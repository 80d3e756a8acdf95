/**
 * Where a Durable Object is created: a jurisdiction its data never leaves (the same name is
 * another object there), or a location hint, a preference for where it is first created.
 */

/** Where an object is created: a jurisdiction it may never leave, or a hint near its users. */
export interface ObjectPlacement {
  jurisdiction?: 'eu';
  locationHint?: 'wnam' | 'enam' | 'sam' | 'weur' | 'eeur' | 'apac' | 'oc' | 'afr' | 'me';
}

/** The parts of a `DurableObjectNamespace` binding this library uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: never, options?: { locationHint?: string }): unknown;
  jurisdiction?(name: string): DurableObjectNamespaceLike;
}

/** The namespace and `get` options for an object placed as `placement` says. */
export function placedNamespace(namespace: DurableObjectNamespaceLike, placement: ObjectPlacement = {}) {
  const placed = placement.jurisdiction ? namespace.jurisdiction!(placement.jurisdiction) : namespace;
  return { namespace: placed, options: placement.locationHint ? { locationHint: placement.locationHint } : undefined };
}
