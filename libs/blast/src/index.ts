export * from './errors';
export { combine } from './combine';
export type { ExtractorLayout } from './extractor/layout';
export {
  checkLayout,
  KCV_BITS,
  layoutSampleBytes,
  layoutSeedBytes,
  planExtractor,
  sampleBytes,
  SECURITY_MARGIN_BITS,
  subBlockCount,
} from './extractor/layout';
export type { Extracted } from './extractor/extract';
export { extract } from './extractor/extract';
export type { BlockMetadata, SampleRef } from './metadata';
export { decodeMetadata, encodeMetadata, METADATA_VERSION } from './metadata';
export type { EnvelopeHeader, EnvelopeKind } from './envelope/header';
export { ENVELOPE_VERSION } from './envelope/header';
export type { Encapsulation, OpenedEnvelope, OpenOptions, SigningKeyLookup } from './envelope/envelope';
export {
  DecapsulationCache,
  encapsulate,
  KEM_PUBLIC_KEY_BYTES,
  KEM_SECRET_KEY_BYTES,
  open,
  seal,
  SIGNING_KEY_BYTES,
} from './envelope/envelope';
export type { OpenedMetadata } from './envelope/metadata-envelope';
export { openMetadata, sealMetadata } from './envelope/metadata-envelope';
export type { EntropySource, GenerateBlockRequest, GeneratedBlock, LeasedSample } from './generator';
export { generateBlock, regenerateBlock } from './generator';
