import { ByteReader, ByteWriter, isUuid } from './bytes';
import { BlastParameterInvalid, MetadataMalformed } from './errors';
import {
  checkLayout,
  ExtractorLayout,
  KCV_BITS,
  layoutSampleBytes,
  layoutSeedBytes,
} from './extractor/layout';

/**
 * 2 since the kcv hashes the sub-blocks' check rows instead of XOR-ing them (see extract): a target refuses a
 * block of a source on version 1 as malformed rather than raise a kcv alarm for it.
 */
export const METADATA_VERSION = 2;

/** Where one sample lies on its entropy server: what the target asks for to read it a second time. */
export interface SampleRef {
  readonly serverId: string;
  readonly poolId: string;
  readonly offset: number;
  readonly length: number;
  /** UTC ms after which the server shreds the sample. */
  readonly notAfter: number;
}

/** Everything the target of a link needs to regenerate a block; the block itself is never in it. */
export interface BlockMetadata {
  readonly blockId: string;
  readonly source: string;
  readonly target: string;
  readonly layout: ExtractorLayout;
  readonly samples: readonly SampleRef[];
  readonly seed: Uint8Array;
  readonly kcv: Uint8Array;
  /** UTC ms. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * Version 2, big-endian: u8 version, 16-byte block ID, source and target (u8 length + UTF-8),
 * u64 createdAt, u64 expiresAt, u32 blockBits, u32 sub-block input bits, u32 sub-block output bits,
 * u8 sample count and per sample (server ID, pool ID, u64 offset, u32 length, u64 notAfter),
 * the seed (length fixed by the layout), the 4-byte kcv.
 */
export function encodeMetadata(metadata: BlockMetadata): Uint8Array {
  const problem = metadataProblem(metadata);
  if (problem) throw new BlastParameterInvalid(`metadata: ${problem}`);
  const { layout } = metadata;
  const writer = new ByteWriter()
    .u8(METADATA_VERSION)
    .uuid(metadata.blockId, 'block ID')
    .shortText(metadata.source, 'source')
    .shortText(metadata.target, 'target')
    .u64(metadata.createdAt, 'createdAt')
    .u64(metadata.expiresAt, 'expiresAt')
    .u32(layout.blockBits, 'blockBits')
    .u32(layout.subBlockInputBits, 'sub-block input bits')
    .u32(layout.subBlockOutputBits, 'sub-block output bits')
    .u8(metadata.samples.length);
  for (const sample of metadata.samples) {
    writer
      .shortText(sample.serverId, 'server ID')
      .shortText(sample.poolId, 'pool ID')
      .u64(sample.offset, 'sample offset')
      .u32(sample.length, 'sample length')
      .u64(sample.notAfter, 'sample notAfter');
  }
  return writer.raw(metadata.seed).raw(metadata.kcv).finish();
}

/** Refuses unknown versions, truncation, trailing bytes and inconsistent fields with `MetadataMalformed`. */
export function decodeMetadata(bytes: Uint8Array): BlockMetadata {
  const reader = new ByteReader(bytes, (fault, detail) => new MetadataMalformed(fault, detail));
  const version = reader.u8();
  if (version !== METADATA_VERSION) throw new MetadataMalformed('unsupported-version', `version ${version}`);
  const blockId = reader.uuid();
  const source = reader.shortText('source');
  const target = reader.shortText('target');
  const createdAt = reader.u64('createdAt');
  const expiresAt = reader.u64('expiresAt');
  const layout = {
    blockBits: reader.u32(),
    subBlockInputBits: reader.u32(),
    subBlockOutputBits: reader.u32(),
  };
  const layoutProblem = problemOf(() => checkLayout(layout));
  if (layoutProblem) throw new MetadataMalformed('invalid-field', layoutProblem);
  const samples: SampleRef[] = Array.from({ length: reader.u8() }, () => ({
    serverId: reader.shortText('server ID'),
    poolId: reader.shortText('pool ID'),
    offset: reader.u64('sample offset'),
    length: reader.u32(),
    notAfter: reader.u64('sample notAfter'),
  }));
  const seed = new Uint8Array(reader.raw(layoutSeedBytes(layout)));
  const kcv = new Uint8Array(reader.raw(KCV_BITS / 8));
  reader.end();
  const metadata = { blockId, source, target, layout, samples, seed, kcv, createdAt, expiresAt };
  const problem = metadataProblem(metadata);
  if (problem) throw new MetadataMalformed('invalid-field', problem);
  return metadata;
}

/**
 * Rules both ends hold metadata to. Two references to one server would XOR a sample with itself or
 * with a sample of the same source, so every server must appear once.
 */
function metadataProblem(metadata: BlockMetadata): string | undefined {
  const { layout, samples } = metadata;
  if (!isUuid(metadata.blockId.toLowerCase())) return 'block ID is not a UUID';
  if (metadata.source === metadata.target) return 'source and target are the same KME';
  if (metadata.expiresAt < metadata.createdAt) return 'expires before it was created';
  const layoutProblem = problemOf(() => checkLayout(layout));
  if (layoutProblem) return layoutProblem;
  if (samples.length < 2 || samples.length > 255) return 'needs 2 to 255 samples';
  if (new Set(samples.map((sample) => sample.serverId)).size !== samples.length) {
    return 'a server is referenced twice';
  }
  if (samples.some((sample) => sample.length !== layoutSampleBytes(layout))) {
    return `every sample must be ${layoutSampleBytes(layout)} bytes`;
  }
  if (metadata.seed.length !== layoutSeedBytes(layout))
    return `seed must be ${layoutSeedBytes(layout)} bytes`;
  if (metadata.kcv.length !== KCV_BITS / 8) return `kcv must be ${KCV_BITS / 8} bytes`;
  return undefined;
}

function problemOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof BlastParameterInvalid) return error.message;
    throw error;
  }
}
