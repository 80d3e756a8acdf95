// The workers tests' entry: the Worker as deployed (SELF), plus the library's own
// TokenStoreObject under a binding of its own (LIBRARY_STORE), for the conformance suite:
// the Worker's user object does not expose the raw store methods.
export { default, ObjectDirectory, SessionsObject, TokenStoreObject } from '../../worker/index.ts';
export { TokenStoreObject as LibraryStoreObject } from '../../src/durable-object.ts';
