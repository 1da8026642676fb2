/** Small helpers for the compact binary encodings of metadata and envelope headers. */

import { BlastParameterInvalid } from './errors';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** Overwrites buffers that held samples or secrets; the garbage collector gives no such promise. */
export function zero(...buffers: Uint8Array[]): void {
  for (const buffer of buffers) buffer.fill(0);
}

export class ByteWriter {
  private readonly parts: Uint8Array[] = [];

  u8(value: number): this {
    return this.push(Uint8Array.of(value));
  }

  u32(value: number, field: string): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new BlastParameterInvalid(`${field} must be an unsigned 32-bit integer`);
    }
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    return this.push(bytes);
  }

  /** Millisecond timestamps and offsets: stored in 64 bits, limited to safe JavaScript integers. */
  u64(value: number, field: string): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new BlastParameterInvalid(`${field} must be a non-negative safe integer`);
    }
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
    return this.push(bytes);
  }

  raw(bytes: Uint8Array): this {
    return this.push(bytes);
  }

  /** Written as 16 bytes; read back in lower case. */
  uuid(value: string, field: string): this {
    if (!isUuid(value.toLowerCase())) throw new BlastParameterInvalid(`${field} is not a UUID`);
    return this.push(Buffer.from(value.replaceAll('-', ''), 'hex'));
  }

  /** Identifiers are short; one length byte keeps them compact and bounded. */
  shortText(value: string, field: string): this {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length === 0 || bytes.length > 255) {
      throw new BlastParameterInvalid(`${field} must be 1 to 255 bytes of UTF-8`);
    }
    return this.u8(bytes.length).push(bytes);
  }

  finish(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }

  private push(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }
}

/** Reads what ByteWriter wrote; every failure goes through the caller's typed error factory. */
export class ByteReader {
  private position = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: (fault: 'truncated' | 'trailing-bytes' | 'invalid-field', detail: string) => Error,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  u8(): number {
    return this.take(1)[0];
  }

  u32(): number {
    const bytes = this.take(4);
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  }

  u64(field: string): number {
    const bytes = this.take(8);
    const value = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail('invalid-field', `${field} out of range`);
    return Number(value);
  }

  raw(length: number): Uint8Array {
    return this.take(length);
  }

  uuid(): string {
    const hex = Buffer.from(this.take(16)).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  shortText(field: string): string {
    const text = this.utf8(this.take(this.u8()), field);
    if (text.length === 0) throw this.fail('invalid-field', `${field} is empty`);
    return text;
  }

  end(): void {
    if (this.remaining !== 0) throw this.fail('trailing-bytes', `${this.remaining} bytes after the end`);
  }

  private utf8(bytes: Uint8Array, field: string): string {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw this.fail('invalid-field', `${field} is not UTF-8`);
    }
  }

  private take(length: number): Uint8Array {
    if (length > this.remaining)
      throw this.fail('truncated', `needs ${length} bytes, ${this.remaining} left`);
    const slice = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return slice;
  }
}
