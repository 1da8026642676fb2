import { z } from 'zod';

// IDs travel in URL paths and NATS subject tokens, so dots, slashes and spaces are kept out.
const id = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
    'must be 1-64 letters, digits, "-" or "_", starting with a letter or digit',
  );

// A KME's ID also names its site's NATS streams (upper-cased, "-" as "_") and subjects, and its files (dev PKI,
// sealing identity): a DNS label in lower case, so no two IDs that differ only in case or "-"/"_" collide.
const kmeId = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be 1-63 lower-case letters, digits or inner "-" (it names NATS streams and files)',
  )
  .refine((value) => value !== 'ca', 'must not be "ca", the name of the certificate authority');

// X.520 caps a certificate's common name at 64 characters.
const certificateCn = z.string().min(1).max(64);

const bits = () => z.int().positive().multipleOf(8);

export const limitsSchema = z.strictObject({
  key_size: bits().max(1 << 20),
  min_key_size: bits().max(1 << 20),
  max_key_size: bits().max(1 << 20),
  max_key_per_request: z.int().positive().max(65536),
  max_key_count: z.int().positive(),
  max_SAE_ID_count: z.int().nonnegative().max(1024),
  // DESIGN: decodes are time-gated to at most one hour.
  default_ttl_seconds: z.int().positive().max(3600),
  max_ttl_seconds: z.int().positive().max(3600),
  low_watermark_bits: bits(),
  high_watermark_bits: bits(),
  max_request_body_bytes: z
    .int()
    .min(1024)
    .max(16 * 1024 * 1024),
  max_key_ids_per_request: z.int().positive().max(65536),
  sae_requests_per_second: z.number().positive(),
  sae_request_burst: z.int().positive(),
});

export type LimitsInput = z.infer<typeof limitsSchema>;

export const defaultLimits: Readonly<LimitsInput> = Object.freeze({
  key_size: 256,
  min_key_size: 64,
  max_key_size: 65536,
  max_key_per_request: 1024,
  max_key_count: 100000,
  max_SAE_ID_count: 8,
  default_ttl_seconds: 3600,
  max_ttl_seconds: 3600,
  // Sized so that the load benchmark (16 clients taking 100 keys of 256 bits at a time) never drains a pool:
  // 16 and 64 blocks of the default size.
  low_watermark_bits: 1 << 22,
  high_watermark_bits: 1 << 24,
  // 1024 key_IDs entries fit also when a client adds master_SAE_ID to each (about 80 bytes) and indents.
  max_request_body_bytes: 131072,
  max_key_ids_per_request: 1024,
  sae_requests_per_second: 50,
  sae_request_burst: 100,
});

/**
 * 256 kbit blocks: a block's fixed cost (three sealed samples each way, the metadata envelope) dominates small
 * blocks, while the target reads a whole block for each assignment it applies, which large blocks make slow.
 * The load benchmark ran its round trips fastest at this size (beside 64 kbit and 1 Mbit).
 */
export const blastDefaults = Object.freeze({ t: 3, h: 1, block_bits: 1 << 18 });

const publicKeysSchema = z.union(
  [
    z.string().min(1),
    z.strictObject({
      kem_public_key: z.string().min(1),
      sig_public_key: z.string().min(1),
    }),
  ],
  { error: 'a path to a .sealing.pub.json file or a mapping with kem_public_key and sig_public_key' },
);

export const networkSchema = z.strictObject({
  version: z.literal(1),
  kmes: z
    .array(
      z.strictObject({
        id: kmeId,
        site: z.string().min(1),
        api_url: z.string().min(1),
        nats_domain: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "-" or "_"')
          .optional(),
        public_keys: publicKeysSchema,
      }),
    )
    .min(2),
  saes: z.array(z.strictObject({ id, certificate_cn: certificateCn, kme: z.string().min(1) })),
  entropy_servers: z
    .array(
      z.strictObject({
        id,
        url: z.string().min(1),
        certificate_cn: certificateCn,
        // The Ed25519 key that signs the samples it seals to KMEs; KMEs refuse samples from a server without one.
        public_keys: publicKeysSchema.optional(),
      }),
    )
    .min(3),
  blast: z
    .strictObject({
      // One server alone would see the whole key; BLAST's guarantee needs at least two.
      t: z.int().min(2).default(blastDefaults.t),
      h: z.number().positive().max(1).default(blastDefaults.h),
      block_bits: bits()
        .min(256)
        .max(1 << 24)
        .default(blastDefaults.block_bits),
    })
    .default(blastDefaults),
  limits: limitsSchema.partial().default({}),
  links: z
    .array(
      z.strictObject({
        source: z.string().min(1),
        target: z.string().min(1),
        limits: limitsSchema.partial(),
      }),
    )
    .default([]),
});

export type NetworkInput = z.infer<typeof networkSchema>;
export type PublicKeysInput = z.infer<typeof publicKeysSchema>;
