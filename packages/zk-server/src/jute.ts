/**
 * Jute, ZooKeeper's binary record encoding (`BinaryInputArchive` / `BinaryOutputArchive`):
 * big-endian int32 and int64, one-byte booleans, int32-length-prefixed buffers and UTF-8
 * strings (-1 for null), int32-count-prefixed vectors. A reader never reads past its frame: a
 * short or inconsistent record throws `MalformedRecordError`, which closes that connection only.
 */

/** A frame whose bytes do not parse as the record its opcode names. */
export class MalformedRecordError extends Error {
  override readonly name = 'MalformedRecordError';
}

/** Reads one frame's payload front to back. */
export class JuteReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  int(): number {
    this.need(4);
    const value = this.bytes.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  long(): bigint {
    this.need(8);
    const value = this.bytes.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  /** A long known to be a zxid (below 2^53 in Cairn; clients only compare them). */
  zxid(): number {
    const value = this.long();
    if (value < 0n) return 0;
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  }

  boolean(): boolean {
    this.need(1);
    const value = this.bytes[this.offset] !== 0;
    this.offset += 1;
    return value;
  }

  /** A buffer; null (-1) reads as null. */
  buffer(): Buffer | null {
    const length = this.int();
    if (length === -1) return null;
    if (length < 0) throw new MalformedRecordError(`negative buffer length ${length}`);
    this.need(length);
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** A ustring; null (-1) reads as null. */
  string(): string | null {
    const bytes = this.buffer();
    return bytes === null ? null : bytes.toString('utf8');
  }

  /** A ustring where null makes no sense (paths, schemes): null is malformed. */
  text(): string {
    const value = this.string();
    if (value === null) throw new MalformedRecordError('null string');
    return value;
  }

  /** A vector; null (-1) reads as empty. The count is checked against the bytes left. */
  vector<T>(element: (reader: JuteReader) => T, elementBytesMin: number): T[] {
    const count = this.int();
    if (count === -1) return [];
    if (count < 0 || count * elementBytesMin > this.remaining)
      throw new MalformedRecordError(`vector count ${count} does not fit the frame`);
    const values: T[] = [];
    for (let i = 0; i < count; i++) values.push(element(this));
    return values;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.bytes.length)
      throw new MalformedRecordError(
        `record needs ${bytes} bytes at offset ${this.offset}, frame has ${this.bytes.length}`,
      );
  }
}

/** Builds one frame: `finish()` prepends the 4-byte length. */
export class JuteWriter {
  private chunks: Buffer[] = [];
  private size = 0;

  int(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(value | 0);
    return this.push(b);
  }

  long(value: bigint | number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt.asIntN(64, BigInt(value)));
    return this.push(b);
  }

  boolean(value: boolean): this {
    return this.push(Buffer.from([value ? 1 : 0]));
  }

  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    this.int(value.length);
    return this.push(Buffer.from(value.buffer, value.byteOffset, value.length));
  }

  string(value: string | null): this {
    return this.buffer(value === null ? null : Buffer.from(value, 'utf8'));
  }

  vector<T>(values: readonly T[] | null, element: (writer: JuteWriter, value: T) => void): this {
    if (values === null) return this.int(-1);
    this.int(values.length);
    for (const value of values) element(this, value);
    return this;
  }

  /** The frame: 4-byte big-endian length, then the payload. */
  finish(): Buffer {
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(this.size);
    return Buffer.concat([length, ...this.chunks], this.size + 4);
  }

  private push(bytes: Buffer): this {
    this.chunks.push(bytes);
    this.size += bytes.length;
    return this;
  }
}
