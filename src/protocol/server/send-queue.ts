// The outgoing side of one connection: frames wait here and go to the socket only while it keeps
// up, so a heartbeat reply can overtake queued responses (it waits at most for the frame already
// being written), and a peer that stops reading is dropped once the queue passes its bounds.
// A big frame goes to the socket in slices, so the queue sees the peer take its bytes as they go
// (a 'drain' per slice), not once per 64 MiB page.
// Frames queued in one turn of the event loop leave in one corked write (one writev): with 64
// concurrent writers a write per reply was a fifth of the server's time. format-spec/protocol.md §10.

import type { Socket } from 'node:net';
import type { BudgetedQueue, SharedSendBudget } from './send-budget.js';
import type { ServerLimits } from './server-limits.js';

/** Bytes handed to the socket at most before waiting for it to drain; also the largest slice of a frame written at once. */
const SOCKET_BUFFER_BYTES_MAX = 256 * 1024;

export class SendQueue implements BudgetedQueue {
  private readonly urgent: Uint8Array[] = [];
  private readonly normal: Uint8Array[] = [];
  /** The part of a frame not yet handed to the socket; it goes before any other frame, urgent ones included. */
  private rest: Uint8Array | null = null;
  private queuedBytes = 0;
  private waitingForDrain = false;
  private closed = false;
  /** Date.now() when the socket last refused more bytes and the peer has not drained it since; 0 otherwise. */
  private waitingSinceMs = 0;
  private flushScheduled = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.pump();
  };

  /**
   * `overflow` is called once, when `limits.sendQueueBytesMax` or `limits.sendQueuePackagesMax` is
   * passed, or when the server-wide `budget` drops this queue as the largest; the caller closes the
   * connection. `shrank` is called after frames left the queue for the socket (so that reads
   * waiting for room in it can start).
   */
  constructor(
    private readonly socket: Socket,
    private readonly overflow: (reason: string) => void,
    private readonly limits: Pick<ServerLimits, 'sendQueueBytesMax' | 'sendQueuePackagesMax'>,
    private readonly shrank: () => void = () => {},
    private readonly budget: SharedSendBudget | null = null,
  ) {
    budget?.register(this);
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.waitingSinceMs = 0;
      this.pump();
    });
  }

  /** Queues a framed package; `urgent` ones (heartbeat replies) go before every normal one. */
  send(frame: Uint8Array, urgent = false): void {
    if (this.closed) return;
    (urgent ? this.urgent : this.normal).push(frame);
    this.queuedBytes += frame.length;
    // May drop this queue (or another) when all queues together are over the server's budget.
    this.budget?.add(frame.length);
    if (this.closed) return;
    const packages = this.urgent.length + this.normal.length;
    const { sendQueueBytesMax, sendQueuePackagesMax } = this.limits;
    if (this.queuedBytes > sendQueueBytesMax || packages > sendQueuePackagesMax) {
      const queuedBytes = this.queuedBytes;
      this.close();
      this.overflow(`send queue over its bounds: ${packages} packages, ${queuedBytes} bytes (SEND_QUEUE_PACKAGES_MAX ${sendQueuePackagesMax}, SEND_QUEUE_BYTES_MAX ${sendQueueBytesMax})`);
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Hands what it can to the socket now (before a close, so a last BadRequest is not lost). */
  flushNow(): void {
    this.pump();
  }

  /** Bytes queued and not yet handed to the socket. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Packages queued and not yet wholly handed to the socket. */
  get packages(): number {
    return this.urgent.length + this.normal.length + (this.rest === null ? 0 : 1);
  }

  /**
   * Date.now() since when the peer has not taken the bytes already handed to its socket (the
   * socket is waiting for a 'drain'), or 0 while it keeps up.
   */
  get stalledSinceMs(): number {
    return this.waitingSinceMs;
  }

  private pump(): void {
    if (this.closed || this.waitingForDrain) return;
    let sent = false;
    this.socket.cork();
    try {
      while (!this.closed && !this.waitingForDrain && this.socket.writableLength < SOCKET_BUFFER_BYTES_MAX) {
        const frame = this.rest ?? this.urgent.shift() ?? this.normal.shift();
        if (frame === undefined) break;
        const slice = frame.length > SOCKET_BUFFER_BYTES_MAX ? frame.subarray(0, SOCKET_BUFFER_BYTES_MAX) : frame;
        this.rest = slice === frame ? null : frame.subarray(slice.length);
        this.queuedBytes -= slice.length;
        this.budget?.release(slice.length);
        sent = true;
        if (!this.socket.write(slice)) {
          this.waitingForDrain = true;
          this.waitingSinceMs = Date.now();
        }
      }
    } finally {
      this.socket.uncork();
    }
    if (sent && !this.closed) this.shrank();
  }

  /** Called by the server-wide budget when this queue is the largest of an over-budget server. */
  overflowServerWide(reason: string): void {
    if (this.closed) return;
    this.close();
    this.overflow(reason);
  }

  close(): void {
    if (!this.closed) {
      this.budget?.release(this.queuedBytes);
      this.budget?.unregister(this);
    }
    this.closed = true;
    this.urgent.length = 0;
    this.normal.length = 0;
    this.rest = null;
    this.queuedBytes = 0;
  }
}
