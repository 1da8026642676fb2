import { randomUUID } from 'node:crypto';

import { DqkdConfig, type Sae } from '@dqkd/config';
import {
  buildKeyContainer,
  fail,
  ok,
  parseEncKeysBody,
  parseEncKeysQuery,
  type KeyContainer,
  type QueryInput,
  type Result,
} from '@dqkd/etsi014';
import { Ledger, type Reservation } from '@dqkd/ledger';
import {
  assignmentMessageId,
  assignmentSubject,
  BUS,
  sealAssignment,
  type Assignment,
  type Bus,
} from '@dqkd/messaging';
import type { SealingIdentity } from '@dqkd/pki';
import { Inject, Injectable } from '@nestjs/common';

import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';
import { resolveAddressees, resolvePeerKme } from './addressing';
import { SEALING_IDENTITY } from './sealing';

/** How long a request waits for the key-generator when the ready pool cannot cover it (issue 4: 2 s). */
const POOL_WAIT_MS = 2_000;
const POOL_POLL_MS = 50;

/** The enc_keys request as it came: a query (GET) or a parsed JSON body (POST). */
export type EncKeysInput = { readonly query: QueryInput } | { readonly body: unknown };

interface Carved {
  readonly assignment: Assignment;
  readonly material: Buffer;
  readonly subject: string;
  readonly msgId: string;
  readonly sealed: Buffer;
}

/**
 * enc_keys at the source: reserves the bits on the link, takes them out of the ledger (zeroed there in the
 * same transaction), records the keys without material and the sealed assignment in the outbox, publishes the
 * assignment and waits for JetStream's ack, and only then answers with the material, keeping no copy.
 */
@Injectable()
export class EncKeysService {
  constructor(
    private readonly config: DqkdConfig,
    private readonly ledger: Ledger,
    @Inject(BUS) private readonly bus: Bus,
    @Inject(SEALING_IDENTITY) private readonly identity: SealingIdentity,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
  ) {}

  async encKeys(master: Sae, pathId: string, input: EncKeysInput): Promise<Result<KeyContainer>> {
    const { network, kme } = this.config;
    const target = resolvePeerKme(network, kme.id, pathId, 'slave_SAE_ID');
    if (!target.ok) return target;
    const limits = network.linkLimits(kme.id, target.value);
    const peer = network.kme(target.value);
    if (limits === undefined || peer === undefined) return fail({ kind: 'server-error' });
    const request =
      'query' in input ? parseEncKeysQuery(input.query, limits) : parseEncKeysBody(input.body, limits);
    if (!request.ok) return request;
    const addressees = resolveAddressees(network, kme.id, pathId, request.value.additionalSlaveSaeIds);
    if (!addressees.ok) return addressees;

    const { number, size, ttlSeconds } = request.value;
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const carved = await this.carve(
      target.value,
      number * size,
      (reservation) => ({
        reservation: {
          id: reservation.id,
          linkSource: kme.id,
          linkTarget: target.value,
          bits: reservation.bits,
          segments: reservation.segments,
        },
        keys: Array.from({ length: number }, (_, i) => ({ keyId: randomUUID(), offset: i * size, size })),
        masterSaeId: master.id,
        slaves: addressees.value.slaves,
        expiresAt,
      }),
      peer.sealing.kemPublicKey,
    );
    if (carved === undefined) return fail({ kind: 'insufficient-key-material' });
    try {
      await this.bus.publish(carved.subject, carved.sealed, { msgId: carved.msgId });
      await this.ledger.outbox.markPublishedByMsgIds([carved.msgId]);
      return ok(
        buildKeyContainer(
          carved.assignment.keys.map((key) => ({
            keyId: key.keyId,
            material: carved.material.subarray(key.offset / 8, (key.offset + key.size) / 8),
            expiresAt,
          })),
        ),
      );
    } finally {
      carved.material.fill(0);
    }
  }

  /** Retries while the pool is short, up to POOL_WAIT_MS; undefined when it stayed short. */
  private async carve(
    targetKmeId: string,
    bits: number,
    assign: (reservation: Reservation) => Assignment,
    recipientKemPublicKey: Uint8Array,
  ): Promise<Carved | undefined> {
    const deadline = Date.now() + POOL_WAIT_MS;
    for (;;) {
      const carved = await this.tryCarve(targetKmeId, bits, assign, recipientKemPublicKey);
      if (carved !== undefined || Date.now() + POOL_POLL_MS > deadline) return carved;
      await new Promise((resolve) => setTimeout(resolve, POOL_POLL_MS));
    }
  }

  /** One attempt, in one transaction; undefined when the link has no pool (yet) or it is short. */
  private async tryCarve(
    targetKmeId: string,
    bits: number,
    assign: (reservation: Reservation) => Assignment,
    recipientKemPublicKey: Uint8Array,
  ): Promise<Carved | undefined> {
    const link = await this.ledger.links.find(this.config.kme.id, targetKmeId);
    if (link === undefined) return undefined;
    return this.ledger.transaction(async (scope): Promise<Carved | undefined> => {
      const reserved = await scope.reservations.reserve(link.id, bits);
      if (!reserved.ok) return undefined;
      const material = await scope.blocks.takeBits(reserved.reservation.segments);
      if (material === undefined) throw new Error(`reserved blocks of link ${link.id} hold no material`);
      try {
        const assignment = assign(reserved.reservation);
        await scope.keys.record(
          assignment.keys.map((key) => ({
            keyId: key.keyId,
            linkId: link.id,
            masterSaeId: assignment.masterSaeId,
            size: key.size,
            reservationId: assignment.reservation.id,
            offset: key.offset,
            expiresAt: assignment.expiresAt,
            slaves: assignment.slaves,
          })),
        );
        const subject = assignmentSubject(link.sourceKmeId, link.targetKmeId, {
          prefix: this.options.subjectPrefix,
        });
        const msgId = assignmentMessageId(assignment.reservation.id);
        const sealed = Buffer.from(
          sealAssignment(assignment, this.identity.sigSecretKey, recipientKemPublicKey),
        );
        await scope.outbox.append(subject, msgId, sealed);
        return { assignment, material, subject, msgId, sealed };
      } catch (error) {
        material.fill(0);
        throw error;
      }
    });
  }
}
