// The server-wide budget of bytes waiting in send queues (SEND_QUEUES_BYTES_MAX). Each connection's
// queue is bounded on its own (SEND_QUEUE_BYTES_MAX, 96 MiB), but 10,000 slow readers could each
// fill theirs; when all queues together pass the budget, the connection holding the most is
// dropped — a peer that is not reading what it asked for — and the others go on.
// format-spec/protocol.md §10.

import { assert } from '../../util/assert.js';

/** What the budget needs of a send queue. */
export interface BudgetedQueue {
  /** Bytes it holds now. */
  readonly bytes: number;
  /** Drops the connection: called at most once, by the budget, with the reason to log. */
  overflowServerWide(reason: string): void;
}

export class SharedSendBudget {
  private heldBytes = 0;
  private readonly queues = new Set<BudgetedQueue>();

  constructor(readonly limitBytes: number) {
    assert(Number.isSafeInteger(limitBytes) && limitBytes > 0, () => `send budget of ${limitBytes} bytes`);
  }

  /** Bytes held by all send queues together. */
  get bytes(): number {
    return this.heldBytes;
  }

  register(queue: BudgetedQueue): void {
    this.queues.add(queue);
  }

  /** Forgets a closed queue; its bytes must have been released. */
  unregister(queue: BudgetedQueue): void {
    this.queues.delete(queue);
  }

  /** Counts `bytes` a queue took; past the limit, drops the largest queue (perhaps the caller's) until back within it. */
  add(bytes: number): void {
    this.heldBytes += bytes;
    while (this.heldBytes > this.limitBytes) {
      let largest: BudgetedQueue | null = null;
      for (const queue of this.queues) if (largest === null || queue.bytes > largest.bytes) largest = queue;
      // A queue that holds nothing cannot be why the budget is passed; the bytes were counted wrong.
      assert(largest !== null && largest.bytes > 0, () => `${this.heldBytes} bytes counted with no queue holding any`);
      this.queues.delete(largest);
      largest.overflowServerWide(
        `send queues of all connections over SEND_QUEUES_BYTES_MAX ${this.limitBytes} (${this.heldBytes} bytes); this connection held the most, ${largest.bytes} bytes`,
      );
    }
  }

  /** Counts `bytes` a queue handed to its socket or dropped. */
  release(bytes: number): void {
    assert(Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= this.heldBytes, () => `releasing ${bytes} of ${this.heldBytes} bytes held`);
    this.heldBytes -= bytes;
  }
}
