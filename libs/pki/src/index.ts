export {
  CA_COMMON_NAME,
  certificateMatchesKey,
  isIssuedBy,
  issueCaCertificate,
  issueLeafCertificate,
  type CertificateAuthority,
  type LeafRequest,
  type LeafRole,
} from './certificates';
export { ensureDevPki, type DevPkiOptions, type DevPkiReport } from './dev-pki';
export { PkiError, type PkiErrorCode } from './errors';
export { generatePrivateKeyPem, RSA_MODULUS_BITS } from './keys';
export {
  DEFAULT_ENTROPY_SERVER_IDS,
  DEFAULT_KME_IDS,
  DEFAULT_SAE_IDS,
  entropyServerIds,
  validateIdentities,
  type PkiIdentities,
} from './names';
export {
  CA_CERTIFICATE_FILE,
  CA_KEY_FILE,
  certificateFile,
  defaultPkiDir,
  pkcs12File,
  privateKeyFile,
  sealingIdentityFile,
  sealingPublicKeysFile,
} from './paths';
export { buildPkcs12, type Pkcs12Contents } from './pkcs12';
export {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  encodeSealingIdentity,
  encodeSealingPublicKeys,
  generateSealingIdentity,
  parseSealingIdentity,
  parseSealingPublicKeys,
  SEALING_IDENTITY_VERSION,
  SEALING_KEM,
  SEALING_SIGNATURE,
  sealingPublicKeysOf,
  X_WING_PUBLIC_KEY_BYTES,
  X_WING_SECRET_KEY_BYTES,
  type SealingIdentity,
  type SealingPublicKeys,
} from './sealing-identity';
export { loadSealingIdentity, loadSealingPublicKeys } from './sealing-identity-files';
export {
  certificateIdentity,
  tlsSources,
  readMutualTlsServerOptions,
  readTlsMaterial,
  readTlsOptions,
  HANDSHAKE_TIMEOUT_MS,
  MUTUAL_TLS_SERVER,
  TLS_POLICY,
  tlsMaterialProblem,
  type MutualTlsServerOptions,
  type PeerCertificateLike,
  type PemSource,
  type TlsMaterialProblem,
  type TlsOptions,
  type TlsSources,
} from './tls';
