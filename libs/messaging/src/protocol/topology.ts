import { DEFAULT_PREFIX, siteNaming } from '../naming';
import type { ConsumerSpec, StreamSpec, Topology } from '../topology';

/** What crosses sites; each kind has its own subject under the sender's `out` tokens. */
export type ProtocolKind = 'metadata' | 'block-ack' | 'assignment';
const KINDS: readonly ProtocolKind[] = ['metadata', 'block-ack', 'assignment'];

export interface ProtocolNamingOptions {
  /** Subject prefix; tests give each run its own. */
  readonly prefix?: string;
}

export interface SiteTopologyOptions extends ProtocolNamingOptions {
  /** JetStream domain of a peer whose NATS is joined to ours by a leaf node; undefined = the same NATS. */
  readonly peerDomain?: (peer: string) => string | undefined;
  /** Stream max age: how long a peer may be down and still catch up. */
  readonly maxAgeMs?: number;
  /** How long a message of a peer may stay unacknowledged before it comes again. */
  readonly ackWaitMs?: number;
  /** Copies JetStream keeps of each stream (a NATS cluster's); 1 by default. */
  readonly replicas?: number;
}

export const OUT_MAX_AGE_MS = 2 * 3_600_000;
export const OUT_DUPLICATE_WINDOW_MS = 20 * 60_000;
/**
 * JetStream also checks what a stream copies from its sources against the message IDs of all of them, and
 * NATS 2.9 cannot switch that off: a copy under an ID seen within the window is dropped (on 2.9.10 the
 * source's later messages still come; later servers may hold the source back instead, nats-server issue
 * 4459), as the in-memory bus does. With a long window, a peer publishing first under the ID of another
 * peer's message would have that message dropped for as long. Each OUT stream already de-duplicates its
 * sender's retries, and the receiver's inbox (keyed by subject and ID) every redelivery, so the IN stream
 * keeps the shortest window NATS accepts.
 */
export const IN_DUPLICATE_WINDOW_MS = 100;
const ACK_WAIT_MS = 30_000;
// Large on purpose: a message whose entropy servers or ledger are briefly out of reach comes again
// (after the handler's retry delay) for as long as the stream keeps it.
const MAX_DELIVER = 10_000;
// A message waiting for its retry still counts as unacknowledged, and once this many are, nothing behind them
// is delivered. Metadata waits for entropy servers out of reach up to its samples' deadline (the source's ack
// timeout), and a link sends a burst of up to its high watermark in blocks (64 by default): the limit must
// leave room for several such bursts, or the assignments behind them (keys already handed to masters) stall.
// The replication app's own limit of handlers at once (8) bounds the work; this only bounds what waits.
const MAX_ACK_PENDING = 1024;

/** `<prefix>.<source>.out.<target>.<kind>`: published by the source site into its OUT stream. */
export function protocolSubject(
  source: string,
  target: string,
  kind: ProtocolKind,
  options: ProtocolNamingOptions = {},
): string {
  return siteNaming(source, options).subject('out', target, kind);
}

export interface ParsedSubject {
  readonly source: string;
  readonly target: string;
  readonly kind: ProtocolKind;
}

/** The inverse of protocolSubject; undefined for anything else. */
export function parseProtocolSubject(
  subject: string,
  options: ProtocolNamingOptions = {},
): ParsedSubject | undefined {
  const tokens = subject.split('.');
  const [prefix, source, out, target, kind] = tokens;
  if (tokens.length !== 5 || prefix !== (options.prefix ?? DEFAULT_PREFIX) || out !== 'out') return undefined;
  if (!KINDS.includes(kind as ProtocolKind)) return undefined;
  return { source, target, kind: kind as ProtocolKind };
}

/** `DQKD_<KME>_OUT`: everything this site sends to its peers, kept long enough for a peer to catch up. */
export function outStream(kmeId: string, options: SiteTopologyOptions = {}): StreamSpec {
  const naming = siteNaming(kmeId, options);
  return {
    name: naming.stream('out'),
    subjects: [naming.wildcard('out')],
    retention: 'limits',
    maxAgeMs: options.maxAgeMs ?? OUT_MAX_AGE_MS,
    duplicateWindowMs: OUT_DUPLICATE_WINDOW_MS,
    ...(options.replicas !== undefined && { replicas: options.replicas }),
    copiedByPeers: true,
  };
}

/**
 * `DQKD_<KME>_IN`: what the peers sent this site, copied in from their OUT streams (stream sources), so the
 * site's consumers read a stream of their own NATS even while a peer or the link to it is down.
 */
export function inStream(
  kmeId: string,
  peers: readonly string[],
  options: SiteTopologyOptions = {},
): StreamSpec {
  return {
    name: siteNaming(kmeId, options).stream('in'),
    subjects: [],
    retention: 'limits',
    maxAgeMs: options.maxAgeMs ?? OUT_MAX_AGE_MS,
    duplicateWindowMs: IN_DUPLICATE_WINDOW_MS,
    ...(options.replicas !== undefined && { replicas: options.replicas }),
    sources: peers.map((peer) => ({
      name: outStream(peer, options).name,
      filterSubject: siteNaming(peer, options).wildcard('out', kmeId),
      ...(options.peerDomain?.(peer) === undefined ? {} : { domain: options.peerDomain(peer) }),
    })),
  };
}

/**
 * The durable consumer through which this site's replication applies what its peers sent it. One for all
 * peers, unfiltered: NATS 2.9 accepts no filter on a stream that only gathers sources; the subject names
 * the sender of each message.
 */
export function inConsumer(kmeId: string, options: SiteTopologyOptions = {}): ConsumerSpec {
  return {
    stream: inStream(kmeId, [], options).name,
    durable: 'replication',
    ackWaitMs: options.ackWaitMs ?? ACK_WAIT_MS,
    maxDeliver: MAX_DELIVER,
    maxAckPending: MAX_ACK_PENDING,
  };
}

/** Everything replication at `kmeId` needs: its OUT stream, its IN stream and the consumer of the latter. */
export function siteTopology(
  kmeId: string,
  peers: readonly string[],
  options: SiteTopologyOptions = {},
): Topology {
  return {
    streams: [outStream(kmeId, options), inStream(kmeId, peers, options)],
    consumers: [inConsumer(kmeId, options)],
  };
}

/** What an app that only publishes to peers (key-generator, api-gateway) provisions. */
export function publisherTopology(kmeId: string, options: SiteTopologyOptions = {}): Topology {
  return { streams: [outStream(kmeId, options)] };
}
