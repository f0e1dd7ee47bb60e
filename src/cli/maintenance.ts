// `annal reindex <dir>` (rebuild every index from the log, with a progress bar) and
// `annal scavenge <dir>` (rewrite sealed chunks without the events no read can show, merging
// neighbours left small).

import cliProgress from 'cli-progress';
import { EventStore } from '../annal.js';

/** Stores of more chunks than this get a progress bar (on a terminal). */
const PROGRESS_CHUNKS_MIN = 4;

function chunkBar(label: string): { update(done: number, total: number): void; stop(): void } {
  let bar: cliProgress.SingleBar | null = null;
  let decided = false;
  return {
    update(done, total) {
      if (!decided) {
        decided = true;
        if (process.stdout.isTTY && total > PROGRESS_CHUNKS_MIN) {
          bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} chunks`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
          bar.start(total, 0);
        }
      }
      bar?.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}

export async function runReindex(dir: string): Promise<void> {
  const bar = chunkBar('rebuilding indexes');
  const started = performance.now();
  let store: EventStore;
  try {
    store = await EventStore.open(dir, { rebuildIndexes: true, onOpenProgress: ({ chunksDone, chunkCount }) => bar.update(chunksDone, chunkCount) });
  } finally {
    bar.stop();
  }
  const rebuiltMs = performance.now() - started;
  try {
    const events = Number(await store.countEvents());
    console.log(`${dir}: indexes of ${events} events rebuilt from the log in ${rebuiltMs.toFixed(0)} ms (${Math.round(events / (rebuiltMs / 1000)).toLocaleString('en-US')} events/s)`);
  } finally {
    const closing = performance.now();
    await store.close();
    console.log(`index files written and merged in ${(performance.now() - closing).toFixed(0)} ms`);
  }
}

export async function runScavenge(dir: string, maxBytesPerSecond: number | undefined): Promise<void> {
  const store = await EventStore.open(dir);
  try {
    const result = await store.scavenge(maxBytesPerSecond === undefined ? {} : { maxBytesPerSecond });
    console.log(
      `${dir}: scavenged ${result.chunksScanned} sealed chunk files in ${result.durationMs.toFixed(0)} ms: ${result.chunksRewritten} rewritten `
      + `(${result.chunksMerged} of them merging neighbours), ${result.eventsRemoved} events removed, ${(result.bytesReclaimed / (1024 * 1024)).toFixed(1)} MiB reclaimed; `
      + `chunk files ${result.chunkFilesBefore} before, ${result.chunkFilesAfter} after`,
    );
  } finally {
    await store.close();
  }
}
