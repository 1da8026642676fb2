import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written within a context carries: the app and KME, a request's ID and SAE. */
export type LogFields = Record<string, string>;

// One store per process: the embedded default runs every app in one process, and each app's work (its
// timers, consumers and servers, all created while it starts) inherits the fields of the app it belongs to.
const storage = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` added to the current context's; what it starts asynchronously keeps them. */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, work);
}

/**
 * Adds fields to the current context, e.g. the SAE once its certificate is checked. Only inside
 * withLogContext, whose context is this request's own; elsewhere it does nothing.
 */
export function addLogFields(fields: LogFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

export function currentLogFields(): LogFields {
  return { ...storage.getStore() };
}

/**
 * Runs `work` later in the context current now, fields added meanwhile included: cheaper than binding an
 * AsyncResource for a callback that runs once per request.
 */
export function inCurrentLogContext<A extends unknown[]>(work: (...args: A) => void): (...args: A) => void {
  const store = storage.getStore();
  return store === undefined ? work : (...args) => storage.run(store, () => work(...args));
}
