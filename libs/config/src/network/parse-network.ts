import * as path from 'node:path';

import { LineCounter, parseDocument, type Document } from 'yaml';

import { ConfigError, type ConfigIssue } from '../config-error';
import { fieldPath } from '../field-path';
import { normaliseBaseUrl } from '../url';
import { schemaIssues, type SchemaIssue } from '../zod-issues';
import { networkConfig, type Kme, type LinkLimits, type NetworkConfig } from './network-config';
import { checkNetwork, mergedLimits } from './network-rules';
import { networkSchema, type LimitsInput, type NetworkInput } from './network-schema';
import { resolvePublicKeys, type SealingPublicKeys } from './sealing-public-keys';

export interface NetworkSource {
  /** The file as the operator named it, for messages. */
  readonly file: string;
  /** Where the file is: the base of the relative key paths inside it. */
  readonly location: string;
  /** Reads a `.sealing.pub.json` file the network file refers to. */
  readonly readFile: (resolvedPath: string) => string;
}

/** Finds the line of the deepest node on a path that exists, so a missing field points at its parent. */
function locator(doc: Document, lines: LineCounter) {
  return (at: readonly PropertyKey[]): number | undefined => {
    for (let depth = at.length; depth >= 0; depth--) {
      const node = doc.getIn(at.slice(0, depth) as unknown[], true) as
        { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function limits(input: LimitsInput): LinkLimits {
  return {
    keySize: input.key_size,
    minKeySize: input.min_key_size,
    maxKeySize: input.max_key_size,
    maxKeyPerRequest: input.max_key_per_request,
    maxKeyCount: input.max_key_count,
    maxSaeIdCount: input.max_SAE_ID_count,
    defaultTtlSeconds: input.default_ttl_seconds,
    maxTtlSeconds: input.max_ttl_seconds,
    lowWatermarkBits: input.low_watermark_bits,
    highWatermarkBits: input.high_watermark_bits,
    maxRequestBodyBytes: input.max_request_body_bytes,
    maxKeyIdsPerRequest: input.max_key_ids_per_request,
    saeRequestsPerSecond: input.sae_requests_per_second,
    saeRequestBurst: input.sae_request_burst,
  };
}

function build(
  input: NetworkInput,
  sealing: ReadonlyMap<string, SealingPublicKeys>,
  location: string,
): NetworkConfig {
  const kmes: Kme[] = input.kmes.map((kme) => ({
    id: kme.id,
    site: kme.site,
    apiUrl: normaliseBaseUrl(kme.api_url),
    natsDomain: kme.nats_domain ?? kme.id,
    sealing: sealing.get(kme.id) as SealingPublicKeys,
  }));
  return networkConfig({
    file: location,
    kmes,
    saes: input.saes.map((sae) => ({ id: sae.id, certificateCn: sae.certificate_cn, kmeId: sae.kme })),
    entropyServers: input.entropy_servers.map((server) => ({
      id: server.id,
      url: normaliseBaseUrl(server.url),
      certificateCn: server.certificate_cn,
      ...(sealing.has(server.id) ? { sealing: sealing.get(server.id) } : {}),
    })),
    blast: { t: input.blast.t, h: input.blast.h, blockBits: input.blast.block_bits },
    links: kmes.flatMap((source) =>
      kmes
        .filter((target) => target.id !== source.id)
        .map((target) => ({
          source: source.id,
          target: target.id,
          limits: limits(mergedLimits(input, source.id, target.id)),
        })),
    ),
  });
}

/** Parses and validates a network file's text; throws one ConfigError listing every issue found. */
export function parseNetwork(text: string, source: NetworkSource): NetworkConfig {
  const { file } = source;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((error) => ({
        source: file,
        path: '',
        message: `malformed YAML: ${firstLine(error.message)}`,
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
      })),
    );
  }
  const locate = locator(doc, lines);
  const toIssue = (issue: SchemaIssue): ConfigIssue => ({
    source: file,
    path: fieldPath(issue.path),
    message: issue.message,
    line: locate(issue.path),
  });
  let content: unknown;
  try {
    content = doc.toJS();
  } catch (error) {
    // An alias without its anchor, or one anchor aliased more often than the parser allows (a guard against
    // exponential expansion), is found only here.
    throw new ConfigError([
      { source: file, path: '', message: `malformed YAML: ${firstLine((error as Error).message)}` },
    ]);
  }
  if (content === null || content === undefined) {
    throw new ConfigError([{ source: file, path: '', message: 'is empty' }]);
  }

  const parsed = networkSchema.safeParse(content, { reportInput: true });
  if (!parsed.success) throw new ConfigError(schemaIssues(parsed.error).map(toIssue));
  const input = parsed.data;

  const issues: SchemaIssue[] = [];
  const sealing = new Map<string, SealingPublicKeys>();
  const files = {
    resolve: (p: string) => path.resolve(path.dirname(source.location), p),
    readFile: source.readFile,
  };
  input.kmes.forEach((kme, i) => {
    const resolved = resolvePublicKeys(kme.public_keys, kme.id, files);
    if (resolved.keys) sealing.set(kme.id, resolved.keys);
    issues.push(...resolved.issues.map((issue) => ({ ...issue, path: ['kmes', i, ...issue.path] })));
  });
  input.entropy_servers.forEach((server, i) => {
    if (server.public_keys === undefined) return;
    const resolved = resolvePublicKeys(server.public_keys, server.id, files);
    if (resolved.keys) sealing.set(server.id, resolved.keys);
    issues.push(
      ...resolved.issues.map((issue) => ({ ...issue, path: ['entropy_servers', i, ...issue.path] })),
    );
  });
  issues.push(...checkNetwork(input));
  if (issues.length) throw new ConfigError(issues.map(toIssue));
  return build(input, sealing, path.resolve(source.location));
}
