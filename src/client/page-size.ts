// Read pages that shrink when the server cannot fit one in a frame: a page of large events
// (4096 × 3 MiB) is over the 64 MiB frame limit, and the server answers BadRequest FRAME_TOO_LARGE.
// The page is then asked for again with half as many events, down to one.

import type { ClientCore, Operation } from './client-core.js';
import { BadRequestError } from './client-errors.js';

/** How many events the next page asks for; shared by the pages of one read or subscription. */
export class PageSize {
  constructor(public events: number) {}
}

function tooLarge(error: unknown): boolean {
  // The server says so only in the BadRequest text (src/protocol/server/connection.ts).
  return error instanceof BadRequestError && error.message.includes('FRAME_TOO_LARGE');
}

/** Runs the page request built for `size.events` (at most `wantEvents`), halving the size while the page is too large. */
export async function readPage<T>(core: ClientCore, size: PageSize, wantEvents: number, build: (maxCount: number) => Operation<T>): Promise<T> {
  for (;;) {
    try {
      return await core.execute(build(Math.min(size.events, wantEvents)));
    } catch (error) {
      if (!tooLarge(error) || Math.min(size.events, wantEvents) <= 1) throw error;
      size.events = Math.max(1, Math.floor(Math.min(size.events, wantEvents) / 2));
    }
  }
}
