import { BusConfigError } from './errors';

/**
 * Names scoped to one site, so that several sites (and parallel test runs, through
 * the prefix) share a NATS account without colliding:
 * subjects `<prefix>.<site>.<tokens…>` and streams `<PREFIX>_<SITE>_<NAME>`.
 */
export interface SiteNaming {
  readonly site: string;
  readonly prefix: string;
  subject(...tokens: string[]): string;
  /** Every subject under the given tokens, e.g. for a stream's subject list. */
  wildcard(...tokens: string[]): string;
  stream(name: string): string;
}

export const DEFAULT_PREFIX = 'dqkd';

const lowerName = /^[a-z0-9][a-z0-9-]*$/;
// No "-" in the prefix: streams write "-" and the separator alike as "_", so prefix dqkd-kme with site east
// and prefix dqkd with site kme-east would both name DQKD_KME_EAST_OUT, and two networks would share a
// stream.
const prefixName = /^[a-z0-9]+$/;
const subjectToken = /^[a-z0-9][a-z0-9_-]*$/;

export function siteNaming(site: string, options: { prefix?: string } = {}): SiteNaming {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  check('prefix', prefix, prefixName);
  check('site', site, lowerName);
  const base = `${prefix}.${site}`;
  const tokens = (parts: string[]): string[] => parts.map((t) => check('subject token', t, subjectToken));
  return {
    site,
    prefix,
    subject: (...parts) => {
      if (parts.length === 0) throw new BusConfigError('subject', 'needs at least one token after the site');
      return [base, ...tokens(parts)].join('.');
    },
    wildcard: (...parts) => [base, ...tokens(parts), '>'].join('.'),
    stream: (name) => upper(`${prefix}_${site}_${check('stream name', name, subjectToken)}`),
  };
}

function check(field: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new BusConfigError(field, `"${value}" must match ${pattern}`);
  return value;
}

function upper(name: string): string {
  return name.toUpperCase().replaceAll('-', '_');
}
