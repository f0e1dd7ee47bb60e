// Append-only numeric arrays backed by typed arrays that double when full: offsets and position
// lists of the indexes, without a JS number[] per element.

export class GrowableUint32Array {
  private data: Uint32Array;
  length = 0;

  constructor(initialCapacity = 64) {
    this.data = new Uint32Array(Math.max(4, initialCapacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = value;
  }

  /** Appends every value of `values` (one copy, not a push each). */
  pushAll(values: Uint32Array): void {
    while (this.data.length < this.length + values.length) this.grow();
    this.data.set(values, this.length);
    this.length += values.length;
  }

  get(i: number): number {
    return this.data[i];
  }

  /** A copy of the used part. */
  toArray(): Uint32Array {
    return this.data.slice(0, this.length);
  }

  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  /** Bytes it holds, the unused capacity included. */
  get capacityBytes(): number {
    return this.data.byteLength;
  }

  private grow(): void {
    const next = new Uint32Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
}

export class GrowableFloat64Array {
  private data: Float64Array;
  length = 0;

  constructor(initialCapacity = 16) {
    this.data = new Float64Array(Math.max(4, initialCapacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = value;
  }

  get(i: number): number {
    return this.data[i];
  }

  /** Appends every value of `values` (one copy, not a push each). */
  pushAll(values: Float64Array): void {
    while (this.data.length < this.length + values.length) this.grow();
    this.data.set(values, this.length);
    this.length += values.length;
  }

  set(i: number, value: number): void {
    this.data[i] = value;
  }

  /** A view of the used part (valid until the next push). */
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }

  private grow(): void {
    const next = new Float64Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
}
