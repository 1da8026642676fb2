export interface UrlRule {
  readonly protocols: readonly string[];
  /** Plain-text protocols accepted only for a loopback host (development on one machine). */
  readonly loopbackProtocols?: readonly string[];
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

const listing = (protocols: readonly string[]) => protocols.map((protocol) => `${protocol}//`).join(' or ');

/**
 * Checks a base URL and returns it normalised (lower-case host, default port dropped, no trailing slash),
 * or the reason it is refused. The URL itself is not echoed: it may carry credentials.
 */
export function checkBaseUrl(text: string, rule: UrlRule): { url: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'not a valid URL' };
  }
  const allowed =
    rule.protocols.includes(url.protocol) ||
    (isLoopback(url.hostname) && (rule.loopbackProtocols ?? []).includes(url.protocol));
  if (!allowed) {
    const loopback = rule.loopbackProtocols?.length
      ? ` (${listing(rule.loopbackProtocols)} only on a loopback host)`
      : '';
    return { problem: `must be a ${listing(rule.protocols)} URL${loopback}` };
  }
  if (!url.hostname) return { problem: 'must name a host' };
  if (url.username || url.password) return { problem: 'must not carry credentials' };
  if (url.search || url.hash) return { problem: 'must not have a query or fragment' };
  return { url: normaliseBaseUrl(text) };
}

/** Lower-case host, default port dropped, no trailing slash; only for a URL that passed checkBaseUrl. */
export function normaliseBaseUrl(text: string): string {
  return new URL(text).href.replace(/\/+$/, '');
}

/**
 * The mark of a value the example manifests leave to the operator (deploy/base/secrets.example.yaml): a URL
 * that still carries it would log in with a password everyone can read there, and the NATS server of the same
 * Secret would take it.
 */
const PLACEHOLDER = /REPLACE-ME/i;

/**
 * Checks a service URL (database, message bus), which may carry credentials and a path, but not the example
 * manifests' placeholder as one.
 */
export function checkServiceUrl(
  text: string,
  protocols: readonly string[],
  requireHost: boolean,
): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid URL';
  }
  if (!protocols.includes(url.protocol)) return `must be a ${listing(protocols)} URL`;
  if (requireHost && !url.hostname) return 'must name a host';
  if (PLACEHOLDER.test(url.username) || PLACEHOLDER.test(url.password)) {
    return "carries the example's placeholder REPLACE-ME as a credential: set the real one";
  }
  return undefined;
}

/** How a NATS_URL logs in: `user:password@`, or `token@`. */
export type UrlCredentials = { readonly user: string; readonly pass: string } | { readonly token: string };

/**
 * The credentials the servers' URLs carry (percent-encoded characters decoded), undefined for none; every URL
 * of a cluster must carry the same, or none.
 */
export function urlCredentials(urls: readonly URL[]): { auth?: UrlCredentials } | { problem: string } {
  const given = urls.filter((url) => url.username !== '' || url.password !== '');
  const [first] = given;
  if (first === undefined) return {};
  const differ = (url: URL) => url.username !== first.username || url.password !== first.password;
  if (given.length !== urls.length || given.some(differ)) {
    return { problem: 'must carry the same credentials on every server, or none' };
  }
  try {
    const user = decodeURIComponent(first.username);
    return first.password === ''
      ? { auth: { token: user } }
      : { auth: { user, pass: decodeURIComponent(first.password) } };
  } catch {
    return { problem: 'has credentials that are not percent-encoded correctly' };
  }
}
