/**
 * The JSON data formats of ETSI GS QKD 014 V1.1.1 §6, with the field names exactly as the spec spells them.
 * They describe what crosses the API edge and nothing else; inside DQKD the domain names apply.
 */

/** Any JSON object; ETSI extensions are objects of name/value pairs. */
export type JsonObject = { readonly [name: string]: unknown };

/** Status data format (§6.1, Table 9). */
export interface Status {
  readonly source_KME_ID: string;
  readonly target_KME_ID: string;
  readonly master_SAE_ID: string;
  readonly slave_SAE_ID: string;
  /** Default key size in bits. */
  readonly key_size: number;
  readonly stored_key_count: number;
  readonly max_key_count: number;
  readonly max_key_per_request: number;
  readonly max_key_size: number;
  readonly min_key_size: number;
  /** Additional slave SAEs allowed per request; 0 means no multicast. */
  readonly max_SAE_ID_count: number;
  readonly status_extension?: JsonObject;
}

/** Key request data format (§6.2, Table 10): every item is optional. */
export interface KeyRequest {
  readonly number?: number;
  /** Bits per key. */
  readonly size?: number;
  readonly additional_slave_SAE_IDs?: readonly string[];
  readonly extension_mandatory?: readonly JsonObject[];
  readonly extension_optional?: readonly JsonObject[];
}

/** One key of a key container (§6.3, Table 11). */
export interface Key {
  /** A UUID in its canonical textual form. */
  readonly key_ID: string;
  readonly key_ID_extension?: JsonObject;
  /** The key material, Base64 (RFC 4648, padded). */
  readonly key: string;
  readonly key_extension?: JsonObject;
}

/** Key container data format (§6.3, Table 11). */
export interface KeyContainer {
  readonly keys: readonly Key[];
  readonly key_container_extension?: JsonObject;
}

/** One entry of a key IDs list (§6.4, Table 12). */
export interface KeyIdEntry {
  readonly key_ID: string;
  readonly key_ID_extension?: JsonObject;
}

/** Key IDs data format (§6.4, Table 12). */
export interface KeyIDs {
  readonly key_IDs: readonly KeyIdEntry[];
  readonly key_IDs_extension?: JsonObject;
}

/** Error data format (§6.5, Table 13): the body of every non-200 answer. */
export interface ErrorBody {
  readonly message: string;
  readonly details?: readonly JsonObject[];
}

/** The status codes the spec defines besides 200 (Tables 4, 6, 8). */
export type EtsiErrorStatus = 400 | 401 | 503;
