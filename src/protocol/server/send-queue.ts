// The outgoing side of one connection: frames wait here and go to the socket only while it keeps
// up, so a heartbeat reply can overtake queued responses (it waits at most for the frame already
// being written), and a peer that stops reading is dropped once the queue passes its bounds.
// Frames queued in one turn of the event loop leave in one corked write (one writev): with 64
// concurrent writers a write per reply was a fifth of the server's time.

import type { Socket } from 'node:net';
import type { ServerLimits } from './server-limits.js';

/** Bytes handed to the socket at most before waiting for it to drain. */
const SOCKET_BUFFER_BYTES_MAX = 256 * 1024;

export class SendQueue {
  private readonly urgent: Uint8Array[] = [];
  private readonly normal: Uint8Array[] = [];
  private queuedBytes = 0;
  private waitingForDrain = false;
  private closed = false;
  private flushScheduled = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.pump();
  };

  /**
   * `overflow` is called once, when `limits.sendQueueBytesMax` or `limits.sendQueuePackagesMax` is
   * passed; the caller closes the connection.
   */
  constructor(
    private readonly socket: Socket,
    private readonly overflow: (reason: string) => void,
    private readonly limits: Pick<ServerLimits, 'sendQueueBytesMax' | 'sendQueuePackagesMax'>,
  ) {
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.pump();
    });
  }

  /** Queues a framed package; `urgent` ones (heartbeat replies) go before every normal one. */
  send(frame: Uint8Array, urgent = false): void {
    if (this.closed) return;
    (urgent ? this.urgent : this.normal).push(frame);
    this.queuedBytes += frame.length;
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

  get bytes(): number {
    return this.queuedBytes;
  }

  private pump(): void {
    if (this.closed || this.waitingForDrain) return;
    this.socket.cork();
    try {
      while (!this.closed && !this.waitingForDrain && this.socket.writableLength < SOCKET_BUFFER_BYTES_MAX) {
        const frame = this.urgent.shift() ?? this.normal.shift();
        if (frame === undefined) return;
        this.queuedBytes -= frame.length;
        if (!this.socket.write(frame)) this.waitingForDrain = true;
      }
    } finally {
      this.socket.uncork();
    }
  }

  close(): void {
    this.closed = true;
    this.urgent.length = 0;
    this.normal.length = 0;
    this.queuedBytes = 0;
  }
}
