import type { NetworkConfig } from '@dqkd/config';
import {
  certificateExpiryProviders,
  counterProvider,
  gaugeProvider,
  histogramProvider,
  linkLabel,
  linkLabelValues,
} from '@dqkd/metrics';

import { KeyIssuer } from '../keys/issuance';
import { ETSI_ROUTES } from './etsi-route';

export const RESPONSES = 'dqkd_etsi_responses_total';
export const REQUEST_DURATION = 'dqkd_etsi_request_duration_seconds';
export const KEYS_ISSUED = 'dqkd_keys_issued_total';
export const KEYS_DELIVERED = 'dqkd_keys_delivered_total';
export const CLAIMS_LOST = 'dqkd_dec_keys_claims_lost_total';
export const LEASED_BYTES = 'dqkd_gateway_leased_bytes';

/** What the API answers: the spec's 200, 400, 401 and 503, 404 off its routes, and what a failure may add. */
const STATUSES = ['200', '400', '401', '404', '413', '500', '503'];
/** A status request takes milliseconds; dec_keys may wait (bounded) for an assignment still in flight. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The gateway's metrics; `kmeId`'s links (both ways) are the values of the `link` label. */
export function gatewayMetricProviders(network: NetworkConfig, kmeId: string) {
  const links = linkLabelValues(
    network.links.filter((link) => link.source === kmeId || link.target === kmeId),
  );
  const outgoing = linkLabelValues(network.linksFrom(kmeId));
  const incoming = linkLabelValues(network.links.filter((link) => link.target === kmeId));
  return [
    counterProvider({
      name: RESPONSES,
      help: 'ETSI GS QKD 014 answers by route and HTTP status.',
      labels: { route: ETSI_ROUTES, status: STATUSES },
    }),
    histogramProvider({
      name: REQUEST_DURATION,
      help: 'Time from a request reaching the mutual-TLS listener to its answer, by route.',
      labels: { route: ETSI_ROUTES },
      buckets: DURATION_BUCKETS,
    }),
    counterProvider({
      name: KEYS_ISSUED,
      help: 'Keys made by enc_keys on each outgoing link (answered to their master SAE).',
      labels: { link: outgoing },
    }),
    counterProvider({
      name: KEYS_DELIVERED,
      help: 'Keys handed to an SAE, by link and the role of the SAE: master (enc_keys) or slave (dec_keys).',
      labels: { link: links, role: ['master', 'slave'] },
    }),
    counterProvider({
      name: CLAIMS_LOST,
      help: 'dec_keys requests whose claim was refused after their keys were read: an entry delivered by another gateway replica, or the key expired or emptied, in between; answered as keys not found; by incoming link.',
      labels: { link: incoming },
    }),
    gaugeProvider({
      name: LEASED_BYTES,
      help: 'Bytes of key material this gateway took out of the ledger for an outgoing link and holds in memory, not yet carved into keys; zeroed when the lease ages out.',
      labels: { link: outgoing },
      inject: [KeyIssuer],
      collect: (gauge, issuer: KeyIssuer) => {
        for (const { target } of network.linksFrom(kmeId)) {
          gauge.set({ link: linkLabel(kmeId, target) }, issuer.leasedBytes(target));
        }
      },
    }),
    ...certificateExpiryProviders(
      ['api-server', 'sae-ca'],
      'End of validity (Unix seconds) of the certificates the ETSI API serves and trusts.',
    ),
  ];
}
