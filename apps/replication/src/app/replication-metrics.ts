import {
  blocksBurnedProvider,
  counterProvider,
  gaugeProvider,
  histogramProvider,
  type Counter,
  type Gauge,
  type Histogram,
} from '@dqkd/metrics';
import { HeldReservations } from '@dqkd/ledger';

import { ClockSkew } from './inbound/clock-skew';
import { LAG_BUCKETS, LAGGING_KINDS } from './inbound/lag';

export const REFUSED = 'dqkd_replication_refused_total';
export const REGENERATED = 'dqkd_blocks_regenerated_total';
export const KCV_MISMATCHES = 'dqkd_kcv_mismatches_total';
export const ASSIGNMENTS = 'dqkd_replication_assignments_applied_total';
export const REDELIVERED = 'dqkd_messages_redelivered_total';
export const LAG = 'dqkd_replication_lag_seconds';
export const CLOCK_SKEW = 'dqkd_peer_clock_skew_seconds';
export const HELD_BYTES = 'dqkd_held_reservation_bytes';

const MESSAGE_KINDS = ['metadata', 'block-ack', 'assignment', 'unknown'];

/** `peers`: the other KMEs of the network file, the only values of the `peer` label. */
export function replicationMetricProviders(peers: readonly string[]) {
  return [
    counterProvider({
      name: REFUSED,
      help: 'Messages refused: altered, mis-addressed, expired or malformed envelopes, unknown subjects, or deadlines and blocks beyond what a peer may ask for.',
      labels: { kind: MESSAGE_KINDS },
    }),
    counterProvider({
      name: REGENERATED,
      help: 'Blocks regenerated here, as the target of their link, and stored ready.',
    }),
    counterProvider({
      name: KCV_MISMATCHES,
      help: 'Regenerated blocks whose check value differed: an alarm.',
    }),
    counterProvider({ name: ASSIGNMENTS, help: 'Key assignments applied (each once).' }),
    blocksBurnedProvider(),
    counterProvider({
      name: REDELIVERED,
      help: 'Messages from peers delivered again (a handler failed, a process stopped holding them, or an ack was lost).',
      labels: { kind: MESSAGE_KINDS },
    }),
    histogramProvider({
      name: LAG,
      help: 'From the source creating metadata (or answering enc_keys) to its block (or assignment) applied here.',
      labels: { kind: LAGGING_KINDS },
      buckets: LAG_BUCKETS,
    }),
    { provide: ClockSkew, useFactory: () => new ClockSkew() },
    gaugeProvider({
      name: CLOCK_SKEW,
      help: "Estimated offset of this site's clock from each peer's: receive time minus the peer's send time, minimum over a minute.",
      labels: { peer: peers },
      inject: [ClockSkew],
      collect: (gauge: Gauge, skew: ClockSkew) => {
        for (const [peer, seconds] of skew.estimates()) gauge.set({ peer }, seconds);
      },
    }),
    gaugeProvider({
      name: HELD_BYTES,
      help: 'Plaintext bytes of reservations held in memory here for their later assignments (bounded; zeroed when they go).',
      inject: [HeldReservations],
      collect: (gauge: Gauge, held: HeldReservations) => gauge.set(held.heldBytes),
    }),
  ];
}

export interface ReplicationMetrics {
  readonly refused: Counter;
  readonly regenerated: Counter;
  readonly kcvMismatches: Counter;
  readonly assignments: Counter;
  readonly burned: Counter;
  readonly redelivered: Counter;
  readonly lag: Histogram;
}
