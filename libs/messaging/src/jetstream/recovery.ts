import { setTimeout as sleep } from 'node:timers/promises';

import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { Logger } from '@nestjs/common';

import { BusProvisionError } from '../errors';
import { subjectMatches } from '../subjects';
import type { ResolvedConsumer, ResolvedStream } from '../topology';
import { ensureConsumer, ensureStream } from './provision';

/** How often a failing publish looks whether a stream left to the operator is back. */
const LOOK_AGAIN_MS = 2_000;
/**
 * Between finding a stream deleted (or deleting one whose store was lost) and making it again: nats-server
 * 2.9.10 finishes a deletion in the background (see restoreStream).
 */
const REMAKE_PAUSE_MS = 1_000;

interface Lost {
  readonly provision: () => Promise<unknown>;
  /** Why the last attempt failed; undefined while the first one runs. */
  error?: unknown;
}

/**
 * Puts back a stream or consumer that disappeared from the server while the bus ran (an operator deleted it,
 * or JetStream lost its store), with the configuration provisioning at connect gave it. Nothing else would:
 * pulls and publishes would just fail from then on. Until it is back it counts as lost, and `check` (the
 * bus' readiness) fails and tries again, so a process whose traffic a failing probe stops still recovers.
 * A stream the peers copy is the exception: it is left to the operator (see leaveToOperator).
 */
export class Recovery {
  private readonly lost = new Map<string, Lost>();
  /** Streams the peers copy that are gone, with when they were last looked for. */
  private readonly leftToOperator = new Map<string, number>();
  private readonly attempts = new Map<string, Promise<boolean>>();
  private readonly logger = new Logger('JetStreamBus');

  /** `missing`: streams the peers copy that connect found gone and left to the operator. */
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly streams: readonly ResolvedStream[],
    missing: readonly string[] = [],
  ) {
    missing.forEach((stream) => this.leaveToOperator(stream));
  }

  /**
   * After a publish that nobody stored: provisions the topology's stream of the subject again if the server
   * lacks it. Resolves whether the stream is there now, i.e. whether the publish is worth one more try.
   */
  async restoreStreamOf(subject: string): Promise<boolean> {
    const stream = this.streams.find((s) => s.subjects.some((filter) => subjectMatches(filter, subject)));
    if (!stream) return false;
    // A stream left to the operator is looked for now and then, not at every publish that fails meanwhile.
    const looked = this.leftToOperator.get(stream.name);
    if (looked !== undefined && Date.now() - looked < LOOK_AGAIN_MS) return false;
    const found = await presence(this.jsm.streams.info(stream.name));
    if (found === 'there') this.stored(stream.name);
    if (found === 'no-stream') return this.restoreStream(stream);
    return found === 'there';
  }

  /**
   * `stream` holds messages again (a publish was stored there): a stream left to the operator is back, and
   * losing it once more is told again.
   */
  stored(stream: string): void {
    if (this.leftToOperator.delete(stream)) this.logger.log(`stream ${stream} is there again`);
  }

  /**
   * After a failed pull. A pull fails alike when the server is out of reach and when the consumer or its
   * stream is gone, so the server is asked which; the caller's backoff covers the rest.
   */
  async restoreConsumer(spec: ResolvedConsumer): Promise<void> {
    const found = await presence(this.jsm.consumers.info(spec.stream, spec.durable));
    if (found !== 'no-stream' && found !== 'no-consumer') return;
    const stream = this.streams.find((s) => s.name === spec.stream);
    if (found === 'no-stream' && stream) await this.restoreStream(stream);
    await this.reprovisionConsumer(spec);
  }

  /**
   * After a pull that brought nothing. nats-server 2.9.10 removes a deleted stream's files in the background,
   * and a stream made again under the same name meanwhile (by anyone, or by restoreStream should the removal
   * take longer than its pause) can lose its store to that removal: the server then counts the messages that
   * reach it but keeps none, and its consumers deliver nothing, for good (16 of 354 trials of a throwaway
   * loaded run, when this process made streams again at once). Such a stream is deleted and made again, with
   * the consumer. Never throws: a server out of reach is the failed pulls' business.
   */
  async restoreLostStore(spec: ResolvedConsumer): Promise<void> {
    const stream = this.streams.find((s) => s.name === spec.stream);
    // A stream the peers copy is not made again here; nor is one already being made again.
    if (!stream || stream.copiedByPeers || this.attempts.has(`stream ${stream.name}`)) return;
    const lost = await storeLost(this.jsm, spec).catch(() => undefined);
    if (lost === undefined) return;
    this.logger.warn(
      `stream ${stream.name} counts messages (${lost}) that its store does not hold (nats-server removed the ` +
        'files of a deleted stream of that name under it); making it again',
    );
    // Not deleted (a user without the right, a timeout): the next empty pull tries again.
    if (!(await this.jsm.streams.delete(stream.name).catch(() => false))) return;
    if (await this.restoreStream(stream)) await this.reprovisionConsumer(spec);
  }

  private reprovisionConsumer(spec: ResolvedConsumer): Promise<boolean> {
    return this.restore(`consumer ${spec.stream}/${spec.durable}`, () => ensureConsumer(this.jsm, spec));
  }

  /** Tries again whatever is still lost, in the order it was found so (a stream before its consumer). */
  async check(): Promise<void> {
    for (const [resource, { provision }] of this.lost) await this.restore(resource, provision);
    const [still] = this.lost;
    if (still) throw new BusProvisionError(still[0], { cause: still[1].error });
  }

  /**
   * Makes a deleted stream again, REMAKE_PAUSE_MS after finding it gone. nats-server 2.9.10 finishes deleting a
   * stream in the background, and a namesake made meanwhile can lose its store to that (see restoreLostStore)
   * or never copy a message its sources held then (seen under load: an IN stream made again within 20 ms of
   * its deletion reported its source caught up without the message a peer sent at that moment). The stream
   * counts as lost at once (the bus is not ready meanwhile); the readiness checks that try it again later
   * (check) do not wait again.
   */
  private restoreStream(spec: ResolvedStream): Promise<boolean> {
    if (spec.copiedByPeers) return Promise.resolve(this.leaveToOperator(spec.name));
    let paused = false;
    return this.restore(`stream ${spec.name}`, async () => {
      if (!paused) await sleep(REMAKE_PAUSE_MS);
      paused = true;
      return ensureStream(this.jsm, spec);
    });
  }

  /**
   * A stream the peers copy is not made again here (see StreamSpec.copiedByPeers): its publishes fail until it
   * is back, and the operator is told once what to do. The process stays ready, so that a gateway still hands
   * out the keys of dec_keys and answers status while its enc_keys fail.
   */
  private leaveToOperator(stream: string): false {
    if (!this.leftToOperator.has(stream)) {
      this.logger.error(
        `stream ${stream} is gone from NATS and other sites copy it from the sequence they reached: were it ` +
          'made again, its first messages would never reach them, so publishing to it fails until the operator ' +
          'has it made again and each peer copy it from its start (docs/operations.md, "A stream deleted ' +
          'while running")',
      );
    }
    this.leftToOperator.set(stream, Date.now());
    return false;
  }

  /** One attempt at a time per resource: a burst of failed publishes and pulls shares it. */
  private restore(resource: string, provision: () => Promise<unknown>): Promise<boolean> {
    const running = this.attempts.get(resource);
    if (running) return running;
    const entry = this.lost.get(resource) ?? this.lose(resource, provision);
    const attempt = provision()
      .then(
        () => {
          this.lost.delete(resource);
          this.logger.log(`${resource} provisioned again`);
          return true;
        },
        (error: unknown) => {
          // Once per reason: readiness probes try again every few seconds.
          if (reason(entry.error) !== reason(error)) {
            this.logger.warn(
              `${resource} could not be provisioned again (${reason(error)}); the bus is not ready`,
            );
          }
          entry.error = error;
          return false;
        },
      )
      .finally(() => this.attempts.delete(resource));
    this.attempts.set(resource, attempt);
    return attempt;
  }

  private lose(resource: string, provision: () => Promise<unknown>): Lost {
    this.logger.warn(`${resource} is gone from NATS; provisioning it again as at start-up`);
    const lost = { provision };
    this.lost.set(resource, lost);
    return lost;
  }
}

/** What the server answered about a stream or consumer; undefined when it did not answer that. */
async function presence(info: Promise<unknown>): Promise<'there' | 'no-stream' | 'no-consumer' | undefined> {
  try {
    await info;
    return 'there';
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) return undefined;
    if (error.code === JetStreamApiCodes.StreamNotFound) return 'no-stream';
    if (error.code === JetStreamApiCodes.ConsumerNotFound) return 'no-consumer';
    return undefined;
  }
}

/**
 * How many messages the consumer's stream counts while it can read neither its first nor its last one;
 * undefined when the consumer has nothing waiting or the stream reads. Both exist while the stream holds any,
 * unless the first was removed meanwhile (acknowledged off a work queue, aged out), which moves the first
 * sequence, or the stream was made again meanwhile (by a process beside this one), which changes `created`.
 * So the stream is asked again, and that answer is also the one deleting it goes by.
 */
async function storeLost(jsm: JetStreamManager, spec: ResolvedConsumer): Promise<number | undefined> {
  const consumer = await jsm.consumers.info(spec.stream, spec.durable);
  if (consumer.num_pending === 0) return undefined;
  const before = await jsm.streams.info(spec.stream);
  if (before.state.messages === 0) return undefined;
  // Neither end: a first sequence reported may be gone from a stream that reads fine (nats-server issue 3996).
  const { first_seq: first, last_seq: last } = before.state;
  if (await jsm.streams.getMessage(spec.stream, { seq: first })) return undefined;
  if (await jsm.streams.getMessage(spec.stream, { seq: last })) return undefined;
  const after = await jsm.streams.info(spec.stream);
  const same = after.created === before.created && after.state.first_seq === first;
  return same && after.state.messages > 0 ? after.state.messages : undefined;
}

/** A BusProvisionError names only the resource; the server's reason is in its cause. */
function reason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return error === undefined ? undefined : String(error);
  const cause = reason(error.cause);
  return cause === undefined ? error.message : `${error.message}: ${cause}`;
}
