/** A KME's status answer (§5.1), as the client's tests and the test servers of its e2e give it. */
export const STATUS = {
  source_KME_ID: 'kme-east',
  target_KME_ID: 'kme-west',
  master_SAE_ID: 'sae-alice',
  slave_SAE_ID: 'sae-bob',
  key_size: 256,
  stored_key_count: 10,
  max_key_count: 100000,
  max_key_per_request: 128,
  max_key_size: 1024,
  min_key_size: 64,
  max_SAE_ID_count: 2,
};
