/**
 * A budget of bytes held in memory at once (part and file buffers), shared by
 * every transfer in a run: peak memory stays flat whatever --jobs, --parallel
 * and the file sizes are. Buffers are reused, so the garbage collector never
 * has hundreds of MiB of dead parts to catch up with.
 */
const POOL_MIN = 1024 * 1024;

export class BufferBudget {
  private used = 0;
  private readonly waiting: { size: number; grant: () => void }[] = [];
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  constructor(readonly capacity: number) {}

  /** A buffer of exactly `size` bytes, once the budget allows; give it back with release(). */
  async take(size: number): Promise<Buffer> {
    // One oversized request must still be able to run alone.
    const cost = Math.min(size, this.capacity);
    if (this.used + cost > this.capacity || this.waiting.length > 0) {
      await new Promise<void>((grant) => this.waiting.push({ size: cost, grant }));
    } else {
      this.used += cost;
    }
    const reused = this.free.get(size)?.pop();
    if (reused) this.pooledBytes -= reused.length;
    return reused ?? Buffer.allocUnsafe(size);
  }

  release(buf: Buffer): void {
    // Only part-sized buffers are worth keeping; small ones the allocator serves well.
    if (buf.length >= POOL_MIN && this.pooledBytes + buf.length <= this.capacity) {
      const list = this.free.get(buf.length) ?? [];
      list.push(buf);
      this.free.set(buf.length, list);
      this.pooledBytes += buf.length;
    }
    this.used -= Math.min(buf.length, this.capacity);
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.size <= this.capacity) {
      const next = this.waiting.shift()!;
      this.used += next.size;
      next.grant();
    }
  }
}
