// The stores of the scale benchmark: N events in N/10 streams of 10, and one stream of
// SINGLE_STREAM_EVENTS events, built as fast as the embedded API allows and cached on the
// benchmark disk, keyed by their size and the log format version (format-spec/log.md).

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventStore, type AppendRequest } from '../src/annal.js';
import { FORMAT_VERSION } from '../src/format/chunk-layout.js';
import { benchParentDir, EVENT_JSON_BYTES, sampleEvents, pipeline } from './fixture.js';
import { perSecond } from './figure.js';

/**
 * ANNAL_BENCH_SCALE picks the size of the scale store: unset or '1m' for 1,000,000 events (the
 * default), '10m' for 10,000,000. Anything else is an error rather than a silent default.
 */
export const SCALE_ENV = 'ANNAL_BENCH_SCALE';
const SCALE_SIZES: Readonly<Record<string, number>> = { '1m': 1_000_000, '10m': 10_000_000 };

export const STREAM_EVENTS = 10;
export const SINGLE_STREAM_EVENTS = 1_000_000;
export const SINGLE_STREAM_ID = 'scale-single';
/** Digits of the stream number in a stream id: room for 10^8 streams (10^9 events). */
const STREAM_NUMBER_DIGITS = 8;
/** One appendMulti of the build: 1,000 streams x 10 events = 10,000 events, about 3 MB. */
const BUILD_STREAMS_PER_APPEND = 1000;
const BUILD_IN_FLIGHT_MAX = 8;
const SINGLE_BATCH_EVENTS = 10_000;

export interface ScaleSize {
  readonly label: string;
  readonly events: number;
  readonly streams: number;
}

/** The size ANNAL_BENCH_SCALE asks for. */
export function scaleSize(): ScaleSize {
  const label = (process.env[SCALE_ENV] ?? '1m').toLowerCase();
  const events = SCALE_SIZES[label];
  if (events === undefined) throw new Error(`${SCALE_ENV}='${label}': choose from ${Object.keys(SCALE_SIZES).join(', ')}`);
  return { label, events, streams: events / STREAM_EVENTS };
}

/** The id of stream number `n` of the scale store: 'scale-00000042' (14 bytes). */
export function scaleStreamId(n: number): string {
  return `scale-${String(n).padStart(STREAM_NUMBER_DIGITS, '0')}`;
}
export const SCALE_STREAM_ID_BYTES = 'scale-'.length + STREAM_NUMBER_DIGITS;

/** What the marker beside a cached store says about how it was built. */
export interface BuildInfo {
  readonly formatVersion: number;
  readonly events: number;
  readonly streams: number;
  readonly eventJsonBytes: number;
  readonly builtAt: string;
  readonly buildMs: number;
  readonly eventsPerSecond: number;
  readonly method: string;
}

export interface CachedStore {
  readonly dir: string;
  readonly build: BuildInfo;
  /** Whether this run built it (false: reused from an earlier run). */
  readonly builtNow: boolean;
}

interface StoreSpec {
  readonly name: string;
  readonly events: number;
  readonly streams: number;
  readonly method: string;
  readonly fill: (store: EventStore) => Promise<void>;
}

// The marker lies beside the store, not in it, so the store directory holds only what Annal wrote;
// it is written after a clean close, so a build cut short leaves no marker and is rebuilt.
function markerPath(dir: string): string {
  return `${dir}.json`;
}

function readMarker(dir: string, spec: StoreSpec): BuildInfo | null {
  if (!existsSync(dir) || !existsSync(markerPath(dir))) return null;
  try {
    const info = JSON.parse(readFileSync(markerPath(dir), 'utf8')) as BuildInfo;
    const same = info.formatVersion === FORMAT_VERSION && info.events === spec.events && info.streams === spec.streams
      && info.eventJsonBytes === EVENT_JSON_BYTES && info.method === spec.method;
    return same ? info : null;
  } catch {
    return null;
  }
}

/** Removes a cached store and its marker (a later ensureStore builds it again). */
export function dropCachedStore(dir: string): void {
  rmSync(markerPath(dir), { force: true });
  rmSync(dir, { recursive: true, force: true });
}

async function ensureStore(spec: StoreSpec, log: (line: string) => void): Promise<CachedStore> {
  const dir = join(benchParentDir(), `annal-bench-${spec.name}-format-v${FORMAT_VERSION}-${spec.events}`);
  const cached = readMarker(dir, spec);
  if (cached !== null) return { dir, build: cached, builtNow: false };
  dropCachedStore(dir);
  log(`building ${dir} (${spec.events.toLocaleString('en-US')} events, ${spec.method}) ...`);
  const started = performance.now();
  const store = await EventStore.open(dir);
  try {
    await spec.fill(store);
    const count = Number((await store.headPosition()) + 1n);
    if (count !== spec.events) throw new Error(`the ${spec.name} store holds ${count} events, expected ${spec.events}`);
  } finally {
    await store.close();
  }
  const buildMs = performance.now() - started;
  const build: BuildInfo = {
    formatVersion: FORMAT_VERSION, events: spec.events, streams: spec.streams, eventJsonBytes: EVENT_JSON_BYTES,
    builtAt: new Date().toISOString(), buildMs, eventsPerSecond: perSecond(spec.events, buildMs), method: spec.method,
  };
  writeFileSync(markerPath(dir), JSON.stringify(build, null, 2) + '\n');
  return { dir, build, builtNow: true };
}

/** The store of `size.events` events in streams of STREAM_EVENTS, built (open to close) or reused. */
export function ensureScaleStore(size: ScaleSize, log: (line: string) => void): Promise<CachedStore> {
  const events = sampleEvents(STREAM_EVENTS);
  const appends = Math.ceil(size.streams / BUILD_STREAMS_PER_APPEND);
  return ensureStore({
    name: 'scale', events: size.events, streams: size.streams,
    method: `appendMulti of ${BUILD_STREAMS_PER_APPEND} streams x ${STREAM_EVENTS} events, ${BUILD_IN_FLIGHT_MAX} in flight`,
    fill: (store) => pipeline(appends, BUILD_IN_FLIGHT_MAX, (a) => {
      const first = a * BUILD_STREAMS_PER_APPEND;
      const last = Math.min(size.streams, first + BUILD_STREAMS_PER_APPEND);
      const requests: AppendRequest[] = [];
      for (let n = first; n < last; n++) requests.push({ streamId: scaleStreamId(n), events, expectedRevision: 'no_stream' });
      return store.appendMulti(requests);
    }),
  }, log);
}

/** The store holding one stream of SINGLE_STREAM_EVENTS events, built or reused. */
export function ensureSingleStreamStore(log: (line: string) => void): Promise<CachedStore> {
  const events = sampleEvents(SINGLE_BATCH_EVENTS);
  return ensureStore({
    name: 'scale-single', events: SINGLE_STREAM_EVENTS, streams: 1,
    method: `appendToStream of ${SINGLE_BATCH_EVENTS} events, ${BUILD_IN_FLIGHT_MAX} in flight`,
    fill: (store) => pipeline(SINGLE_STREAM_EVENTS / SINGLE_BATCH_EVENTS, BUILD_IN_FLIGHT_MAX, () => store.appendToStream(SINGLE_STREAM_ID, events)),
  }, log);
}
