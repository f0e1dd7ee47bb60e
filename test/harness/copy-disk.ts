// An exact copy of a simulated disk, for tests that damage one copy per case: every pending write
// and directory operation is kept, so the copy holds what the original's page cache shows.

import { SimDisk } from './sim-disk.js';

/** A new SimDisk whose files (durable and cached) equal `disk`'s current contents. */
export function copyDisk(disk: SimDisk): SimDisk {
  const { ops, dirOps } = disk.pending();
  return disk.image(ops.map(() => ({ kind: 'keep' as const })), dirOps, () => {
    throw new Error('a kept write never needs garbage');
  });
}
