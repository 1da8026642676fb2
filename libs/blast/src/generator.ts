import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

import { zero } from './bytes';
import { combine } from './combine';
import { BlastParameterInvalid, EntropyUnavailable, KcvMismatch } from './errors';
import { extract, Extracted } from './extractor/extract';
import { ExtractorLayout, layoutSampleBytes, layoutSeedBytes, planExtractor } from './extractor/layout';
import { BlockMetadata, SampleRef } from './metadata';

export interface LeasedSample {
  readonly ref: SampleRef;
  readonly bytes: Uint8Array;
}

/**
 * One entropy server as BLAST sees it. Implementations do the transport and open the sealed samples;
 * the bytes they return become BLAST's to zero.
 */
export interface EntropySource {
  readonly serverId: string;
  /** First read: `bytes` fresh bytes that only `readers` may read, and only until `deadline` (UTC ms). */
  lease(bytes: number, readers: readonly string[], deadline: number): Promise<LeasedSample>;
  /** Second read, by the other end of the link, of a sample `leasedBy` (the block's source) leased. */
  read(ref: SampleRef, leasedBy: string): Promise<Uint8Array>;
}

export interface GenerateBlockRequest {
  readonly source: string;
  readonly target: string;
  readonly blockBits: number;
  /** h of the entropy servers (see `planExtractor`). */
  readonly minEntropyRate: number;
  /** All of them are used; a block is never made from fewer. */
  readonly sources: readonly EntropySource[];
  /** UTC ms. */
  readonly now: number;
  readonly expiresAt: number;
  /** Until when the target may read the samples; defaults to `expiresAt`. */
  readonly sampleDeadline?: number;
  /** Lets a caller that claimed work under an ID keep it; a fresh UUID otherwise. */
  readonly blockId?: string;
}

export interface GeneratedBlock {
  readonly block: Uint8Array;
  readonly kcv: Uint8Array;
  readonly metadata: BlockMetadata;
}

/**
 * Pool fill at the source: lease one sample from every entropy server in parallel, XOR them, extract
 * with a fresh seed. Samples and the combined sample are zeroed before returning or throwing.
 */
export async function generateBlock(request: GenerateBlockRequest): Promise<GeneratedBlock> {
  const layout = planExtractor(request.blockBits, request.minEntropyRate);
  if (request.sources.length < 2) throw new BlastParameterInvalid('a block needs at least 2 entropy servers');
  if (new Set(request.sources.map((source) => source.serverId)).size !== request.sources.length) {
    throw new BlastParameterInvalid('each entropy server may be used once per block');
  }
  if (!(request.expiresAt > request.now))
    throw new BlastParameterInvalid('a block must expire after it is made');
  const sampleBytes = layoutSampleBytes(layout);
  const readers = [request.source, request.target];
  const deadline = request.sampleDeadline ?? request.expiresAt;
  const leases = await gather(
    request.sources,
    (source) => source.lease(sampleBytes, readers, deadline),
    (lease) => lease.bytes,
    (source, lease) =>
      lease.ref.serverId !== source.serverId ||
      lease.ref.length !== sampleBytes ||
      lease.bytes.length !== sampleBytes
        ? `lease of ${lease.bytes.length} bytes does not match its reference or the ${sampleBytes} bytes asked for`
        : undefined,
  );
  const seed = new Uint8Array(randomBytes(layoutSeedBytes(layout)));
  const { block, kcv } = combineAndExtract(
    leases.map((lease) => lease.bytes),
    seed,
    layout,
  );
  const metadata: BlockMetadata = {
    blockId: request.blockId ?? randomUUID(),
    source: request.source,
    target: request.target,
    layout,
    samples: leases.map((lease) => lease.ref),
    seed,
    kcv,
    createdAt: request.now,
    expiresAt: request.expiresAt,
  };
  return { block, kcv, metadata };
}

/**
 * Regeneration at the target: read every referenced sample (all of them; any failure fails the
 * block), XOR, extract with the metadata's seed and compare the kcv in constant time.
 */
export async function regenerateBlock(
  metadata: BlockMetadata,
  sources: readonly EntropySource[],
): Promise<Uint8Array> {
  const byServer = new Map(sources.map((source) => [source.serverId, source]));
  const samples = await gather(
    metadata.samples,
    (ref) => {
      const source = byServer.get(ref.serverId);
      if (!source) return Promise.reject(new Error('no such entropy server is configured'));
      return source.read(ref, metadata.source);
    },
    (bytes) => bytes,
    (ref, bytes) =>
      bytes.length !== ref.length
        ? `answered ${bytes.length} bytes for a ${ref.length}-byte sample`
        : undefined,
  );
  const { block, kcv } = combineAndExtract(samples, metadata.seed, metadata.layout);
  const matches = kcv.length === metadata.kcv.length && timingSafeEqual(kcv, metadata.kcv);
  if (!matches) {
    zero(block);
    throw new KcvMismatch(metadata.blockId);
  }
  return block;
}

/**
 * Runs one request per server in parallel and waits for every answer, so that no sample is left
 * un-zeroed behind a failure. The first failed or unacceptable answer names its server; the error also
 * carries why the other servers failed and how many answered.
 */
async function gather<Item extends { serverId: string }, Result>(
  items: readonly Item[],
  request: (item: Item) => Promise<Result>,
  bytesOf: (result: Result) => Uint8Array,
  problemOf: (item: Item, result: Result) => string | undefined,
): Promise<Result[]> {
  const settled = await Promise.allSettled(items.map((item) => request(item)));
  const received = settled.flatMap((outcome) =>
    outcome.status === 'fulfilled' ? [bytesOf(outcome.value)] : [],
  );
  const failures = settled.flatMap((outcome, i) => {
    const problem =
      outcome.status === 'rejected' ? messageOf(outcome.reason) : problemOf(items[i], outcome.value);
    const cause = outcome.status === 'rejected' ? (outcome.reason as unknown) : undefined;
    return problem === undefined ? [] : [{ serverId: items[i].serverId, problem, cause }];
  });
  const [first, ...others] = failures;
  if (first !== undefined) {
    zero(...received);
    throw new EntropyUnavailable(first.serverId, first.problem, {
      cause: first.cause,
      otherCauses: others.map((other) => other.cause ?? new Error(other.problem)),
      answered: received.length,
    });
  }
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<Result>).value);
}

/** Samples and the combined sample are zeroed whatever happens. */
function combineAndExtract(samples: Uint8Array[], seed: Uint8Array, layout: ExtractorLayout): Extracted {
  try {
    const combined = combine(samples);
    try {
      return extract(combined, seed, layout);
    } finally {
      zero(combined);
    }
  } finally {
    zero(...samples);
  }
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
