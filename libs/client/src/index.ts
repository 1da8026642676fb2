export { EtsiClient, type EtsiClientOptions, type GetOption, type PostOption } from './etsi-client';
export { EtsiClientError, EtsiHttpError, type EtsiClientErrorCode } from './errors';
export {
  decKeysRequest,
  encKeysRequest,
  statusRequest,
  toKeyIds,
  type KeyIdsInput,
  type PlannedRequest,
  type SimpleKeyRequest,
} from './requests';
export { readErrorBody, readKeyContainer, readStatus } from './responses';
