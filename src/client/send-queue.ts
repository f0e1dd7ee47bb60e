// The outgoing side of one client connection: frames wait here and go to the socket only while
// it keeps up, so a heartbeat reply overtakes queued requests (waiting at most for what the socket
// already holds), and the client can see how many bytes are still unsent. Frames queued in one
// turn of the event loop leave in one corked write (one writev), not one system call each: with
// many concurrent requests that was a fifth of the client's time.

import type { Socket } from 'node:net';
import { SOCKET_BUFFER_BYTES_MAX } from './client-limits.js';

export class SendQueue {
  private readonly urgent: Uint8Array[] = [];
  private readonly normal: Uint8Array[] = [];
  private normalHead = 0;
  private queued = 0;
  private closed = false;
  private flushScheduled = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.pump();
  };

  /** `drained` is called when the socket emptied its buffer (never from inside send()). */
  constructor(private readonly socket: Socket, private readonly drained: () => void) {
    socket.on('drain', () => {
      this.pump();
      if (!this.closed) this.drained();
    });
  }

  /** Bytes not yet taken by the kernel: queued here plus buffered in the socket. */
  get bytes(): number {
    return this.queued + this.socket.writableLength;
  }

  /** Queues a framed package; `urgent` ones (heartbeats) go before every normal one. */
  send(frame: Uint8Array, urgent = false): void {
    if (this.closed) return;
    if (urgent) this.urgent.push(frame);
    else this.normal.push(frame);
    this.queued += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private pump(): void {
    if (this.closed) return;
    this.socket.cork();
    try {
      while (!this.closed && this.socket.writableLength < SOCKET_BUFFER_BYTES_MAX) {
        const frame = this.urgent.shift() ?? this.nextNormal();
        if (frame === undefined) return;
        this.queued -= frame.length;
        this.socket.write(frame);
      }
    } finally {
      this.socket.uncork();
    }
  }

  private nextNormal(): Uint8Array | undefined {
    if (this.normalHead === this.normal.length) return undefined;
    const frame = this.normal[this.normalHead];
    this.normal[this.normalHead++] = EMPTY;
    // Compact once the consumed prefix dominates, so a long queue is not shifted per frame.
    if (this.normalHead > 1024 && this.normalHead * 2 > this.normal.length) {
      this.normal.splice(0, this.normalHead);
      this.normalHead = 0;
    }
    return frame;
  }

  close(): void {
    this.closed = true;
    this.urgent.length = 0;
    this.normal.length = 0;
    this.normalHead = 0;
    this.queued = 0;
  }
}

const EMPTY = new Uint8Array(0);
