import { BlastParameterInvalid, planExtractor } from '@dqkd/blast';

import { fieldPath } from '../field-path';
import { poolCeilingBits } from './pool-ceiling';
import { checkBaseUrl } from '../url';
import type { SchemaIssue } from '../zod-issues';
import { defaultLimits, type LimitsInput, type NetworkInput } from './network-schema';

type LimitField = keyof LimitsInput;

/**
 * A gateway's 2 × (KMEs − 1) links fit in the 32 values one metric label may take (bounded series); with more
 * KMEs the gateways would not start.
 */
const MAX_KMES = 17;

interface Relation {
  readonly fields: readonly [LimitField, LimitField];
  readonly holds: (limits: LimitsInput) => boolean;
  readonly message: (limits: LimitsInput) => string;
}

const relations: readonly Relation[] = [
  {
    fields: ['min_key_size', 'key_size'],
    holds: (l) => l.min_key_size <= l.key_size,
    message: (l) => `min_key_size (${l.min_key_size}) must not exceed key_size (${l.key_size})`,
  },
  {
    fields: ['key_size', 'max_key_size'],
    holds: (l) => l.key_size <= l.max_key_size,
    message: (l) => `key_size (${l.key_size}) must not exceed max_key_size (${l.max_key_size})`,
  },
  {
    fields: ['default_ttl_seconds', 'max_ttl_seconds'],
    holds: (l) => l.default_ttl_seconds <= l.max_ttl_seconds,
    message: (l) =>
      `default_ttl_seconds (${l.default_ttl_seconds}) must not exceed max_ttl_seconds (${l.max_ttl_seconds})`,
  },
  {
    fields: ['low_watermark_bits', 'high_watermark_bits'],
    holds: (l) => l.low_watermark_bits < l.high_watermark_bits,
    message: (l) =>
      `low_watermark_bits (${l.low_watermark_bits}) must be less than high_watermark_bits (${l.high_watermark_bits})`,
  },
];

/**
 * Checks the relations between limits, reporting each at a field the operator set in `given`;
 * `only` skips relations already reported for the network-wide defaults.
 */
function checkLimits(
  limits: LimitsInput,
  given: Partial<LimitsInput>,
  at: readonly PropertyKey[],
  only: (relation: Relation) => boolean,
): SchemaIssue[] {
  return relations
    .filter((relation) => only(relation) && !relation.holds(limits))
    .map((relation) => ({
      path: [...at, relation.fields.find((field) => field in given) ?? relation.fields[0]],
      message: relation.message(limits),
    }));
}

/** The limits of the link source -> target: defaults, then network-wide limits, then the link's overrides. */
export function mergedLimits(input: NetworkInput, source: string, target: string): LimitsInput {
  const overrides = input.links.filter((link) => link.source === source && link.target === target);
  return Object.assign({}, defaultLimits, input.limits, ...overrides.map((link) => link.limits));
}

function uniqueness(kind: string) {
  const seen = new Map<string, readonly PropertyKey[]>();
  return (value: string, path: readonly PropertyKey[], key = value): SchemaIssue[] => {
    const first = seen.get(key);
    if (!first) {
      seen.set(key, path);
      return [];
    }
    return [{ path, message: `duplicate ${kind} "${value}" (already used at ${fieldPath(first)})` }];
  };
}

/** Cross-field rules of a network file whose shape already passed the schema. */
export function checkNetwork(input: NetworkInput): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  // IDs name the caller in ETSI paths, where a KME ID and an SAE ID must never be confused.
  const ids = uniqueness('ID');
  const apiUrls = uniqueness('api_url');
  const domains = uniqueness('nats_domain');
  const saeCns = uniqueness('certificate_cn');
  const entropyUrls = uniqueness('url');
  const entropyCns = uniqueness('certificate_cn');
  const kmeIds = new Set(input.kmes.map((kme) => kme.id));

  input.kmes.forEach((kme, i) => {
    issues.push(...ids(kme.id, ['kmes', i, 'id'], kme.id.toLowerCase()));
    const api = checkBaseUrl(kme.api_url, { protocols: ['https:'] });
    if ('problem' in api) issues.push({ path: ['kmes', i, 'api_url'], message: api.problem });
    else issues.push(...apiUrls(api.url, ['kmes', i, 'api_url']));
    issues.push(...domains(kme.nats_domain ?? kme.id, ['kmes', i, kme.nats_domain ? 'nats_domain' : 'id']));
  });
  // Peers know a KME by the CN of its certificate, its ID (entropy servers grant leases by it), and an
  // entropy server by its certificate_cn: a certificate of one of those names, issued to anyone else by the
  // network's CA, would be taken for that party.
  const entropyCnSet = new Set(input.entropy_servers.map((server) => server.certificate_cn));
  input.saes.forEach((sae, i) => {
    const cnPath = ['saes', i, 'certificate_cn'];
    issues.push(...ids(sae.id, ['saes', i, 'id'], sae.id.toLowerCase()));
    issues.push(...saeCns(sae.certificate_cn, cnPath));
    if (!kmeIds.has(sae.kme)) issues.push({ path: ['saes', i, 'kme'], message: `unknown KME "${sae.kme}"` });
    if (kmeIds.has(sae.certificate_cn) || entropyCnSet.has(sae.certificate_cn)) {
      issues.push({
        path: cnPath,
        message: `"${sae.certificate_cn}" is the certificate name of a KME or an entropy server`,
      });
    }
  });
  input.entropy_servers.forEach((server, i) => {
    if (kmeIds.has(server.certificate_cn)) {
      issues.push({
        path: ['entropy_servers', i, 'certificate_cn'],
        message: `"${server.certificate_cn}" is the certificate name of a KME`,
      });
    }
    issues.push(...ids(server.id, ['entropy_servers', i, 'id'], server.id.toLowerCase()));
    const url = checkBaseUrl(server.url, { protocols: ['https:'], loopbackProtocols: ['http:'] });
    if ('problem' in url) issues.push({ path: ['entropy_servers', i, 'url'], message: url.problem });
    else issues.push(...entropyUrls(url.url, ['entropy_servers', i, 'url']));
    issues.push(...entropyCns(server.certificate_cn, ['entropy_servers', i, 'certificate_cn']));
  });
  if (input.kmes.length > MAX_KMES) {
    issues.push({
      path: ['kmes'],
      message: `at most ${MAX_KMES} KMEs: each gateway's metrics label its links to and from every other KME`,
    });
  }
  const blastProblem = extractorProblem(input.blast.block_bits, input.blast.h);
  if (blastProblem !== undefined) issues.push({ path: ['blast', 'h'], message: blastProblem });
  if (input.blast.t > input.entropy_servers.length) {
    issues.push({
      path: ['blast', 't'],
      message: `must not exceed the number of entropy servers (${input.entropy_servers.length})`,
    });
  }

  issues.push(...checkLimits({ ...defaultLimits, ...input.limits }, input.limits, ['limits'], () => true));
  issues.push(...unservableKeySizes(input));
  const pairs = new Set<string>();
  input.links.forEach((link, i) => {
    const at = ['links', i];
    for (const end of ['source', 'target'] as const) {
      if (!kmeIds.has(link[end])) issues.push({ path: [...at, end], message: `unknown KME "${link[end]}"` });
    }
    if (link.source === link.target) {
      issues.push({ path: [...at, 'target'], message: `must differ from source "${link.source}"` });
    }
    const pair = `${link.source} -> ${link.target}`;
    if (pairs.has(pair)) issues.push({ path: at, message: `duplicate link ${pair}` });
    pairs.add(pair);
    issues.push(
      ...checkLimits(
        mergedLimits(input, link.source, link.target),
        link.limits,
        [...at, 'limits'],
        (relation) => relation.fields.some((field) => field in link.limits),
      ),
    );
  });
  return issues;
}

/** Why no block of `blockBits` can be extracted from samples of min-entropy rate `h`, or undefined. */
function extractorProblem(blockBits: number, h: number): string | undefined {
  try {
    planExtractor(blockBits, h);
    return undefined;
  } catch (error) {
    if (!(error instanceof BlastParameterInvalid)) throw error;
    return `too low for blocks of ${blockBits} bits: no extractor layout can serve it (${error.message})`;
  }
}

/**
 * A link whose default key size is beyond what its pool ever holds would refuse every request of that size
 * (503): reported once per place the operator set it, the link's override or the network-wide limits.
 */
function unservableKeySizes(input: NetworkInput): SchemaIssue[] {
  const issues = new Map<string, SchemaIssue>();
  for (const source of input.kmes) {
    for (const target of input.kmes) {
      if (source.id === target.id) continue;
      const limits = mergedLimits(input, source.id, target.id);
      const ceiling = poolCeilingBits(limits.high_watermark_bits, input.blast.block_bits);
      if (limits.key_size <= ceiling) continue;
      const index = input.links.findIndex(
        (link) =>
          link.source === source.id &&
          link.target === target.id &&
          ('key_size' in link.limits || 'high_watermark_bits' in link.limits),
      );
      const field =
        index >= 0 && !('key_size' in input.links[index]!.limits) ? 'high_watermark_bits' : 'key_size';
      const at = index >= 0 ? ['links', index, 'limits', field] : ['limits', 'key_size'];
      if (issues.has(fieldPath(at))) continue;
      issues.set(fieldPath(at), {
        path: at,
        message:
          `key_size (${limits.key_size}) is more than the pool of ${source.id} -> ${target.id} ever holds ` +
          `(${ceiling} bits: 2 × (high_watermark_bits + block_bits)): every request of that size would be refused`,
      });
    }
  }
  return [...issues.values()];
}
