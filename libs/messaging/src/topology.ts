import { BusConfigError } from './errors';
import { isValidSubject, subjectsOverlap } from './subjects';

/**
 * What the bus provisions at connect. Both adapters read the same description, and
 * provisioning is idempotent: an existing stream or consumer is updated to match.
 */
export interface StreamSpec {
  name: string;
  /** Subjects published into it; may be empty for a stream that only gathers other streams' messages. */
  subjects: string[];
  /** `workqueue` deletes a message once a consumer acks it; `limits` keeps it until maxAge. */
  retention: 'limits' | 'workqueue';
  maxAgeMs: number;
  /** How long a msgId is remembered for de-duplication; at most maxAgeMs. */
  duplicateWindowMs: number;
  storage?: 'file' | 'memory';
  replicas?: number;
  /** Streams whose messages this one copies in, from their first message on (JetStream stream sources). */
  sources?: StreamSource[];
  /**
   * Other sites' streams copy this one. A stream made again under its name starts at sequence 1 while they
   * resume after the last sequence they copied, so they would skip its first messages without a word: it is
   * not provisioned again while the bus runs (see Recovery), and at connect only when the site holds no record
   * of it (see StreamRegister).
   */
  copiedByPeers?: boolean;
}

/**
 * Where a site records the streams its peers copy once they are on its NATS, kept apart from NATS (the
 * ledger), so a process that starts after NATS lost such a stream tells that from a new site and leaves the
 * stream to the operator instead of making it again.
 */
export interface StreamRegister {
  /** When `stream` was first recorded; undefined when it never was (or the operator had it forgotten). */
  recordedAt(stream: string): Promise<Date | undefined>;
  /** Records that `stream` is on the site's NATS; a stream recorded before keeps its first time. */
  record(stream: string): Promise<void>;
}

/**
 * Another stream whose messages are copied in. The origin may not exist yet or may be out of reach:
 * copying starts or resumes when it is there, so a site can start before its peer and catch up later.
 */
export interface StreamSource {
  name: string;
  /** Only the origin's messages on matching subjects are copied. */
  filterSubject?: string;
  /** JetStream domain of the origin when it lives on another server (joined by a leaf node); unset = this one. */
  domain?: string;
}

/** A durable pull consumer with explicit acks, delivering the stream from its start. */
export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject?: string;
  ackWaitMs: number;
  maxDeliver: number;
  /** Messages delivered but not yet acked, across every client of this durable. */
  maxAckPending?: number;
}

export interface Topology {
  streams: StreamSpec[];
  consumers?: ConsumerSpec[];
}

export type ResolvedStream = Required<StreamSpec>;
export type ResolvedConsumer = Required<Omit<ConsumerSpec, 'filterSubject'>> & { filterSubject?: string };

const resourceName = /^[A-Za-z0-9_-]{1,200}$/;
const DEFAULT_MAX_ACK_PENDING = 1000;

export function resolveStream(spec: StreamSpec): ResolvedStream {
  const at = `stream ${spec.name}`;
  name(`${at}: name`, spec.name);
  const sources = (spec.sources ?? []).map((source) => resolveSource(at, spec.name, source));
  if (spec.subjects.length === 0 && sources.length === 0) {
    throw new BusConfigError(`${at}: subjects`, 'must not be empty for a stream without sources');
  }
  for (const s of spec.subjects) {
    if (!isValidSubject(s, { wildcards: true }))
      throw new BusConfigError(`${at}: subjects`, `"${s}" is not a subject`);
  }
  if (spec.retention !== 'limits' && spec.retention !== 'workqueue') {
    throw new BusConfigError(`${at}: retention`, 'must be limits or workqueue');
  }
  positive(`${at}: maxAgeMs`, spec.maxAgeMs);
  positive(`${at}: duplicateWindowMs`, spec.duplicateWindowMs);
  if (spec.duplicateWindowMs > spec.maxAgeMs) {
    throw new BusConfigError(`${at}: duplicateWindowMs`, 'must not exceed maxAgeMs');
  }
  const replicas = spec.replicas ?? 1;
  positive(`${at}: replicas`, replicas);
  return {
    ...spec,
    subjects: [...spec.subjects],
    storage: spec.storage ?? 'file',
    replicas,
    sources,
    copiedByPeers: spec.copiedByPeers ?? false,
  };
}

function resolveSource(at: string, streamName: string, source: StreamSource): StreamSource {
  name(`${at}: sources`, source.name);
  if (source.name === streamName)
    throw new BusConfigError(`${at}: sources`, 'must not name the stream itself');
  if (source.filterSubject !== undefined && !isValidSubject(source.filterSubject, { wildcards: true })) {
    throw new BusConfigError(`${at}: sources`, `"${source.filterSubject}" is not a subject`);
  }
  if (source.domain !== undefined && !/^[A-Za-z0-9_-]+$/.test(source.domain)) {
    throw new BusConfigError(`${at}: sources`, `"${source.domain}" is not a JetStream domain`);
  }
  return { ...source };
}

export function resolveConsumer(spec: ConsumerSpec): ResolvedConsumer {
  const at = `consumer ${spec.stream}/${spec.durable}`;
  name(`${at}: stream`, spec.stream);
  name(`${at}: durable`, spec.durable);
  if (spec.filterSubject !== undefined && !isValidSubject(spec.filterSubject, { wildcards: true })) {
    throw new BusConfigError(`${at}: filterSubject`, `"${spec.filterSubject}" is not a subject`);
  }
  positive(`${at}: ackWaitMs`, spec.ackWaitMs);
  positive(`${at}: maxDeliver`, spec.maxDeliver);
  const maxAckPending = spec.maxAckPending ?? DEFAULT_MAX_ACK_PENDING;
  positive(`${at}: maxAckPending`, maxAckPending);
  return { ...spec, maxAckPending };
}

/** Checks a whole topology, including what NATS would refuse only at run time. */
export function resolveTopology(topology: Topology): {
  streams: ResolvedStream[];
  consumers: ResolvedConsumer[];
} {
  const streams = topology.streams.map(resolveStream);
  const consumers = (topology.consumers ?? []).map(resolveConsumer);
  streams.forEach((a, i) =>
    streams.slice(i + 1).forEach((b) => {
      if (a.name === b.name) throw new BusConfigError(`stream ${a.name}`, 'is declared twice');
      const clash = a.subjects.find((x) => b.subjects.some((y) => subjectsOverlap(x, y)));
      if (clash) {
        throw new BusConfigError(`stream ${a.name}: subjects`, `overlap stream ${b.name} on ${clash}`);
      }
    }),
  );
  for (const c of consumers) {
    const stream = streams.find((s) => s.name === c.stream);
    if (!stream) throw new BusConfigError(`consumer ${c.stream}/${c.durable}: stream`, 'is not declared');
    const others = consumers.filter((o) => o.stream === c.stream && o.durable !== c.durable);
    if (stream.retention === 'workqueue') assertWorkQueueConsumer(stream, c, others);
  }
  return { streams, consumers };
}

/**
 * A work-queue stream hands each message to exactly one consumer, so JetStream
 * refuses consumers whose filters overlap; checking here lets both adapters agree.
 */
export function assertWorkQueueConsumer(
  stream: ResolvedStream,
  consumer: ResolvedConsumer,
  others: ResolvedConsumer[],
): void {
  const mine = consumer.filterSubject ?? '>';
  const clash = others.find(
    (o) => o.durable !== consumer.durable && subjectsOverlap(mine, o.filterSubject ?? '>'),
  );
  if (clash) {
    throw new BusConfigError(
      `consumer ${stream.name}/${consumer.durable}: filterSubject`,
      `overlaps consumer ${clash.durable} on work-queue stream ${stream.name}`,
    );
  }
}

function name(field: string, value: string): void {
  if (!resourceName.test(value)) throw new BusConfigError(field, `"${value}" must match ${resourceName}`);
}

function positive(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new BusConfigError(field, 'must be a positive integer');
  }
}
