// A write to stream S is decided from S's metadata as it is durable when the write is prepared:
// whether S is hard-deleted (refused), soft-deleted (the append also undeletes it, with `$tb` = its
// event count) or neither. A write to `$$S` that is still in flight changes that metadata when it
// lands, and the committer keeps file order, so a write to S prepared meanwhile would land after
// it yet have been decided against the state before it: an append after a soft delete that does
// not undelete (its events hidden for good by the next undelete), an event after a tombstone, or a
// second undelete of one stream conflicting on `$$S`. The gate makes a write to S (or `$$S`) wait
// until the metadata writes of S in flight have settled, then be prepared again.
//
// Appends to streams with no metadata write in flight — all of them, almost always — pass with one
// size check.

export class MetadataGate {
  /** S → settles when the latest write to `$$S` issued so far has succeeded or failed. */
  private readonly inFlight = new Map<string, Promise<void>>();

  /**
   * A promise to wait on before preparing a write to these streams (S or `$$S`: keyed by S), or
   * null when none of them has a metadata write in flight.
   */
  blocking(ownerIds: readonly string[]): Promise<void> | null {
    if (this.inFlight.size === 0) return null;
    let waits: Promise<void>[] | null = null;
    for (const id of ownerIds) {
      const settles = this.inFlight.get(id);
      if (settles !== undefined) (waits ??= []).push(settles);
    }
    if (waits === null) return null;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /** Records that `write`, just submitted, writes to the metastreams of `ownerIds`. */
  track(ownerIds: readonly string[], write: Promise<unknown>): void {
    if (ownerIds.length === 0) return;
    const settles = write.then(() => undefined, () => undefined);
    for (const id of ownerIds) this.inFlight.set(id, settles);
    void settles.then(() => {
      for (const id of ownerIds) if (this.inFlight.get(id) === settles) this.inFlight.delete(id);
    });
  }
}
