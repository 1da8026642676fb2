export type {
  ErrorBody,
  EtsiErrorStatus,
  JsonObject,
  Key,
  KeyContainer,
  KeyIdEntry,
  KeyIDs,
  KeyRequest,
  Status,
} from './dto';
export {
  MESSAGE_KEYS_NOT_FOUND,
  MESSAGE_SIZE_NOT_MULTIPLE_OF_8,
  MESSAGE_UNMET_MANDATORY_EXTENSION,
  MESSAGE_UNSUPPORTED_MANDATORY_EXTENSION,
  toEtsiResponse,
  type EtsiError,
  type EtsiErrorKind,
  type EtsiResponse,
} from './errors';
export { DQKD_TTL } from './extensions';
export { canonicalUuid, isUuid, isValidId, MAX_ID_LENGTH, parsePathId } from './ids';
export { buildKeyContainer, type DeliveredKey } from './key-container';
export { parseDecKeysBody, parseDecKeysQuery, type DecKeysRequest } from './key-ids';
export { parseEncKeysBody, parseEncKeysQuery, type EncKeysRequest } from './key-request';
export { MAX_TTL_SECONDS, type EtsiLimits } from './limits';
export { openApiDocument } from './openapi/openapi-document';
export type { QueryInput } from './query';
export { fail, ok, type Result } from './result';
export { buildStatus, storedKeyCount, type StatusInput } from './status';
