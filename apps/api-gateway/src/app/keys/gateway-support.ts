import { Ledger } from '@dqkd/ledger';

/** An error as one log line: its class and message, never a stack or anything a request carried. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Link IDs by their two ends, each looked up once: a link's ID never changes. */
export class LinkIds {
  private readonly ids = new Map<string, number>();

  constructor(private readonly ledger: Ledger) {}

  async of(sourceKmeId: string, targetKmeId: string): Promise<number | undefined> {
    const key = `${sourceKmeId} ${targetKmeId}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = await this.ledger.links.idOf(sourceKmeId, targetKmeId);
      if (id !== undefined) this.ids.set(key, id);
    }
    return id;
  }
}
