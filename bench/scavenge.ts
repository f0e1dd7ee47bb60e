// The scavenge group (SC1–SC3): a store of SCAVENGE_STORE_EVENTS 200-byte JSON events in
// SCAVENGE_STREAMS streams, every other stream given `$maxCount: 1`, closed, copied and reopened;
// one copy is scavenged alone (SC1 throughput, SC2 space), the other while 64 writers append (SC3).

import { cpSync, openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EventStore, type AppendRequest, type EventData, type ExpectedRevision, type ScavengeResult } from '../src/annal.js';
import { CHUNK_HEADER_BYTES, decodeChunkHeader, parseChunkFileName } from '../src/format/chunk-layout.js';
import { Crc32c } from '../src/wasm/crc32c.js';
import { Wasm } from '../src/wasm/kernels.js';
import { eventRecordBytes, sampleEvents, withFreshDir, pipeline } from './fixture.js';
import { perSecond, quantile, type Figure } from './figure.js';

/** About 1.2 GB of log: four sealed chunks of the default 256 MiB and the active one. */
export const SCAVENGE_STORE_EVENTS = 4_000_000;
export const SCAVENGE_STREAMS = 10_000;
/** Events per stream per build round: each round appends this many to every stream, so every stream spans the log. */
const BUILD_ROUND_EVENTS = 10;
const BUILD_STREAMS_PER_APPEND = 1000;
const BUILD_IN_FLIGHT_MAX = 8;
const METADATA_IN_FLIGHT_MAX = 64;
export const SC3_WRITERS = 64;
const BYTES_PER_MB = 1e6;

export interface ScavengeTiming {
  readonly durationMs: number;
  readonly warmupMs: number;
}

export interface ScavengeGroupResult {
  readonly figures: Figure[];
  /** Kept beside the figures in the result file. */
  readonly details: Record<string, unknown>;
}

/** 'sc-00042' (8 bytes): stream number `n`. Even-numbered streams get `$maxCount: 1`. */
function streamId(n: number): string {
  return `sc-${String(n).padStart(5, '0')}`;
}

/** Fills the store round by round (BUILD_ROUND_EVENTS per stream each), then sets `$maxCount: 1` on the even streams. */
async function fill(store: EventStore): Promise<void> {
  const events = sampleEvents(BUILD_ROUND_EVENTS);
  const rounds = SCAVENGE_STORE_EVENTS / (SCAVENGE_STREAMS * BUILD_ROUND_EVENTS);
  const appendsPerRound = SCAVENGE_STREAMS / BUILD_STREAMS_PER_APPEND;
  await pipeline(rounds * appendsPerRound, BUILD_IN_FLIGHT_MAX, (a) => {
    const first = (a % appendsPerRound) * BUILD_STREAMS_PER_APPEND;
    const requests: AppendRequest[] = [];
    for (let n = first; n < first + BUILD_STREAMS_PER_APPEND; n++) requests.push({ streamId: streamId(n), events });
    return store.appendMulti(requests);
  });
  await pipeline(SCAVENGE_STREAMS / 2, METADATA_IN_FLIGHT_MAX, (i) => store.setStreamMetadata(streamId(2 * i), { $maxCount: 1 }));
}

interface ChunkFile {
  readonly chunkNumber: number;
  readonly path: string;
  readonly bytes: number;
  /** What the file occupies on the disk: the active chunk is preallocated sparse to the full chunk size. */
  readonly diskBytes: number;
}

function chunkFiles(dir: string): ChunkFile[] {
  const out: ChunkFile[] = [];
  for (const name of readdirSync(dir)) {
    const chunkNumber = parseChunkFileName(name);
    if (chunkNumber === null) continue;
    const stat = statSync(join(dir, name));
    out.push({ chunkNumber, path: join(dir, name), bytes: stat.size, diskBytes: stat.blocks * 512 });
  }
  return out.sort((a, b) => a.chunkNumber - b.chunkNumber);
}

/** The first position of a chunk, from its header: the events of every chunk before it. */
function firstPosition(chunk: ChunkFile): number {
  const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
  const fd = openSync(chunk.path, 'r');
  try {
    readSync(fd, bytes, 0, CHUNK_HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  return decodeChunkHeader(bytes, chunk.path, new Crc32c(new Wasm())).firstPosition;
}

interface Scanned {
  readonly result: ScavengeResult;
  /** Bytes of the chunk files the scavenge scanned (the sealed ones), before it. */
  readonly bytesScanned: number;
  readonly eventsScanned: number;
  /** Disk space of every chunk file (the log) before and after the scavenge, as `du` counts it. */
  readonly logDiskBytesBefore: number;
  readonly logDiskBytesAfter: number;
}

/** Scavenges the open store in `dir` and measures what it scanned and freed. */
async function measuredScavenge(store: EventStore, dir: string): Promise<Scanned> {
  const before = chunkFiles(dir);
  const result = await store.scavenge();
  const scanned = before.slice(0, result.chunksScanned);
  const after = chunkFiles(dir);
  return {
    result,
    bytesScanned: scanned.reduce((sum, c) => sum + c.bytes, 0),
    eventsScanned: firstPosition(before[result.chunksScanned]),
    logDiskBytesBefore: before.reduce((sum, c) => sum + c.diskBytes, 0),
    logDiskBytesAfter: after.reduce((sum, c) => sum + c.diskBytes, 0),
  };
}

/** SC3_WRITERS writers, each appending one event at a time to its own stream with the exact expected revision. */
class Writers {
  private readonly expected: ExpectedRevision[] = Array.from({ length: SC3_WRITERS }, () => 'no_stream');
  private readonly events: EventData[] = sampleEvents(1);

  constructor(private readonly store: EventStore) {}

  /** Appends until `done()`; resolves with the appends acknowledged, the time taken and their latencies. */
  async run(done: () => boolean): Promise<{ appends: number; elapsedMs: number; latenciesMs: number[] }> {
    const started = performance.now();
    const latenciesMs: number[] = [];
    const counts = await Promise.all(this.expected.map(async (_, w) => {
      let appends = 0;
      while (!done()) {
        const sent = performance.now();
        const result = await this.store.appendToStream(`sc3-writer-${w}`, this.events, { expectedRevision: this.expected[w] });
        this.expected[w] = result.nextExpectedRevision;
        latenciesMs.push(performance.now() - sent);
        appends++;
      }
      return appends;
    }));
    return { appends: counts.reduce((sum, n) => sum + n, 0), elapsedMs: performance.now() - started, latenciesMs };
  }

  /** Appends for `durationMs`. */
  runFor(durationMs: number): Promise<{ appends: number; elapsedMs: number; latenciesMs: number[] }> {
    const deadline = performance.now() + durationMs;
    return this.run(() => performance.now() >= deadline);
  }
}

function latencies(latenciesMs: number[]): Record<string, number> {
  return { p50LatencyMs: quantile(latenciesMs, 0.5), p99LatencyMs: quantile(latenciesMs, 0.99), maxLatencyMs: quantile(latenciesMs, 1) };
}

const mb = (bytes: number): number => bytes / BYTES_PER_MB;

/**
 * Builds the store, copies it, scavenges one copy alone (SC1, SC2) and the other while
 * SC3_WRITERS writers append (SC3, against the same writers alone before and after it).
 */
export async function scavenge(timing: ScavengeTiming): Promise<ScavengeGroupResult> {
  const log = (line: string): void => console.log(line);
  return withFreshDir('scavenge', async (parent) => {
    const alone = join(parent, 'alone');
    const loaded = join(parent, 'loaded');
    const n = SCAVENGE_STORE_EVENTS.toLocaleString('en-US');
    log(`scavenge: ${n} events (${eventRecordBytes(streamId(0))}-byte records) in ${SCAVENGE_STREAMS.toLocaleString('en-US')} streams, every other stream with $maxCount 1, default chunk size`);
    const buildStarted = performance.now();
    const built = await EventStore.open(alone);
    try {
      await fill(built);
    } finally {
      await built.close();
    }
    const buildMs = performance.now() - buildStarted;
    cpSync(alone, loaded, { recursive: true });
    log(`     built in ${(buildMs / 1000).toFixed(1)} s and copied; the chunks are in the page cache (the machine has the memory), so SC1 measures CPU and writes, not reads from the disk`);

    // SC1, SC2: a scavenge with nothing else running.
    const store = await EventStore.open(alone);
    let scanned: Scanned;
    try {
      scanned = await measuredScavenge(store, alone);
    } finally {
      await store.close();
    }
    const { result } = scanned;
    const seconds = result.durationMs / 1000;
    log(`     scavenged ${result.chunksScanned} sealed chunks (${mb(scanned.bytesScanned).toFixed(0)} MB) in ${seconds.toFixed(1)} s, ${result.eventsRemoved.toLocaleString('en-US')} events removed`);
    const sc1Details = {
      durationMs: result.durationMs, chunksScanned: result.chunksScanned, chunksRewritten: result.chunksRewritten,
      bytesScanned: scanned.bytesScanned, eventsScanned: scanned.eventsScanned, eventsRemoved: result.eventsRemoved,
    };
    const figures: Figure[] = [
      {
        id: 'SC1a', name: 'scavenge alone, sealed chunk bytes scanned', value: mb(scanned.bytesScanned) / seconds, unit: 'MB/s',
        comparesToBaseline: false, details: sc1Details,
      },
      {
        id: 'SC1b', name: 'scavenge alone, events scanned', value: scanned.eventsScanned / seconds, unit: 'events/s',
        comparesToBaseline: false, details: { ...sc1Details, eventsRemovedPerSecond: result.eventsRemoved / seconds },
      },
      {
        id: 'SC2a', name: 'scavenge, space reclaimed', value: mb(result.bytesReclaimed), unit: 'MB',
        comparesToBaseline: false,
        details: { bytesReclaimed: result.bytesReclaimed, logDiskBytesBefore: scanned.logDiskBytesBefore, logDiskBytesAfter: scanned.logDiskBytesAfter },
      },
      {
        id: 'SC2b', name: 'scavenge, space reclaimed of the log', value: (100 * result.bytesReclaimed) / scanned.logDiskBytesBefore, unit: '%',
        comparesToBaseline: false, details: { ofScannedPercent: (100 * result.bytesReclaimed) / scanned.bytesScanned, eventsRemovedPercent: (100 * result.eventsRemoved) / SCAVENGE_STORE_EVENTS },
      },
    ];

    // SC3: the same writers alone, during a scavenge of the copy, and alone again.
    const busy = await EventStore.open(loaded);
    try {
      const writers = new Writers(busy);
      await writers.runFor(timing.warmupMs);
      const before = await writers.runFor(timing.durationMs / 2);
      let finished = false;
      const during = writers.run(() => finished);
      const loadedScan = await measuredScavenge(busy, loaded).finally(() => {
        finished = true;
      });
      const duringRun = await during;
      const after = await writers.runFor(timing.durationMs / 2);
      const aloneAppends = before.appends + after.appends;
      const aloneMs = before.elapsedMs + after.elapsedMs;
      const aloneLatencies = [...before.latenciesMs, ...after.latenciesMs];
      figures.push(
        {
          id: 'SC3a', name: `${SC3_WRITERS} writers x 1 event, no scavenge`, value: perSecond(aloneAppends, aloneMs), unit: 'events/s',
          comparesToBaseline: true,
          details: { writers: SC3_WRITERS, appends: aloneAppends, elapsedMs: aloneMs, beforeEventsPerSecond: perSecond(before.appends, before.elapsedMs), afterEventsPerSecond: perSecond(after.appends, after.elapsedMs), ...latencies(aloneLatencies) },
        },
        {
          id: 'SC3b', name: `${SC3_WRITERS} writers x 1 event, during a scavenge`, value: perSecond(duringRun.appends, duringRun.elapsedMs), unit: 'events/s',
          comparesToBaseline: true, comparedTo: 'SC3a',
          details: {
            writers: SC3_WRITERS, appends: duringRun.appends, elapsedMs: duringRun.elapsedMs, ...latencies(duringRun.latenciesMs),
            scavengeMs: loadedScan.result.durationMs, scavengeAloneMs: result.durationMs, eventsRemoved: loadedScan.result.eventsRemoved,
            scavengeMBPerSecond: mb(loadedScan.bytesScanned) / (loadedScan.result.durationMs / 1000),
          },
        },
      );
    } finally {
      await busy.close();
    }
    return {
      figures,
      details: { events: SCAVENGE_STORE_EVENTS, streams: SCAVENGE_STREAMS, recordBytes: eventRecordBytes(streamId(0)), buildMs, buildEventsPerSecond: perSecond(SCAVENGE_STORE_EVENTS, buildMs) },
    };
  });
}
