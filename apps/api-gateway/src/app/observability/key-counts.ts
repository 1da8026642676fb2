import { DqkdConfig } from '@dqkd/config';
import type { Result } from '@dqkd/etsi014';
import { InjectMetric, linkLabel, type Counter } from '@dqkd/metrics';
import { Injectable } from '@nestjs/common';

import { resolvePeerKme } from '../keys/addressing';
import { KEYS_DELIVERED, KEYS_ISSUED } from './gateway-metrics';

/** Counts the keys of each enc_keys and dec_keys answer sent, by link; never which keys. */
@Injectable()
export class KeyCounts {
  constructor(
    private readonly config: DqkdConfig,
    @InjectMetric(KEYS_ISSUED) private readonly issued: Counter,
    @InjectMetric(KEYS_DELIVERED) private readonly delivered: Counter,
  ) {}

  /** enc_keys answered the master: `pathId` names the slave's side of the link. */
  encKeys(pathId: string, answer: Result<unknown>): void {
    const keys = keyCount(answer);
    const target = resolvePeerKme(this.config.network, this.config.kme.id, pathId, 'slave_SAE_ID');
    if (keys === 0 || !target.ok) return;
    const link = linkLabel(this.config.kme.id, target.value);
    this.issued.inc({ link }, keys);
    this.delivered.inc({ link, role: 'master' }, keys);
  }

  /** dec_keys answered a slave: `pathId` names the master's side, the link's source. */
  decKeys(pathId: string, answer: Result<unknown>): void {
    const keys = keyCount(answer);
    const source = resolvePeerKme(this.config.network, this.config.kme.id, pathId, 'master_SAE_ID');
    if (keys === 0 || !source.ok) return;
    this.delivered.inc({ link: linkLabel(source.value, this.config.kme.id), role: 'slave' }, keys);
  }
}

function keyCount(answer: Result<unknown>): number {
  if (!answer.ok) return 0;
  const keys = (answer.value as { keys?: unknown }).keys;
  return Array.isArray(keys) ? keys.length : 0;
}
