// The reads of one connection that may build their answers at once: at most READS_IN_FLIGHT_MAX,
// and a read starts only while the connection's send queue holds at most READ_START_QUEUE_BYTES_MAX
// (answers already built and not yet taken count against it). The rest wait, in order, and the
// connection stops reading its socket meanwhile. format-spec/protocol.md §10.

import { assert } from '../../util/assert.js';
import { TcpCommand } from '../wire/commands.js';

/** The requests whose answer is a page of events, up to 64 MiB each. */
const READ_COMMANDS: ReadonlySet<number> = new Set([
  TcpCommand.ReadEvent,
  TcpCommand.ReadStreamEventsForward,
  TcpCommand.ReadStreamEventsBackward,
  TcpCommand.ReadAllEventsForward,
  TcpCommand.ReadAllEventsBackward,
  TcpCommand.FilteredReadAllEventsForward,
  TcpCommand.FilteredReadAllEventsBackward,
]);

export function isReadCommand(command: number): boolean {
  return READ_COMMANDS.has(command);
}

export class ReadGate {
  private running = 0;
  private readonly waiters: ((started: boolean) => void)[] = [];
  private closed = false;

  /**
   * `queuedBytes` reads the send queue's size; `waitingChanged` is called when reads begin to wait
   * and when none waits any more (the connection pauses and resumes its socket).
   */
  constructor(
    private readonly readsMax: number,
    private readonly startQueueBytesMax: number,
    private readonly queuedBytes: () => number,
    private readonly waitingChanged: () => void,
  ) {}

  /** Reads waiting for their turn. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Resolves true when the read may build its answer — the caller then queues the answer and calls
   * `release` — or false when the gate closed first (the connection ended; nothing to answer).
   */
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.waiters.length === 0 && this.mayStart()) {
      this.running++;
      return Promise.resolve(true);
    }
    const turn = new Promise<boolean>((resolve) => this.waiters.push(resolve));
    if (this.waiters.length === 1) this.waitingChanged();
    return turn;
  }

  /** Ends a read that `acquire` let start, after its answer was queued. */
  release(): void {
    assert(this.running > 0, 'release without acquire');
    this.running--;
    this.admit();
  }

  /** Starts waiting reads while there is room; called again whenever the send queue shrinks. */
  admit(): void {
    if (this.closed || this.waiters.length === 0) return;
    while (this.waiters.length > 0 && this.mayStart()) {
      this.running++;
      this.waiters.shift()!(true);
    }
    if (this.waiters.length === 0) this.waitingChanged();
  }

  /** Ends every wait with false; later acquires resolve false at once. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(false);
  }

  private mayStart(): boolean {
    return this.running < this.readsMax && this.queuedBytes() <= this.startQueueBytesMax;
  }
}
