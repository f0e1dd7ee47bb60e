// Fixed maxima of the TCP wire layer, with their units (format-spec/protocol.md §5). Relations
// between them are asserted when this module loads.

import { assert } from '../../util/assert.js';

const MiB = 1024 * 1024;

/** §1: a frame's length field counts the package bytes after the 4-byte prefix; 1..FRAME_BYTES_MAX. */
export const FRAME_BYTES_MAX = 64 * MiB;
/** §1: the length prefix in front of every package. */
export const FRAME_PREFIX_BYTES = 4;
/** A frame being assembled from several chunks starts with a buffer of at most this size and doubles. */
export const FRAME_ASSEMBLY_INITIAL_BYTES = 64 * 1024;

/** §3: login and password are each at most this many UTF-8 bytes (EventStoreDB's server limit). */
export const CREDENTIAL_BYTES_MAX = 127;

/** §7.4: a read page holds at most this many events (EventStoreDB rejects larger max_count). */
export const READ_PAGE_EVENTS_MAX = 4096;

/**
 * §7.10: one decoded protobuf payload may hold at most this many nested messages plus repeated-field
 * elements. A 2-byte empty sub-message decodes to an object of ~100 bytes, so without this bound a
 * 64 MiB frame could cost gigabytes of heap.
 */
export const PROTOBUF_ELEMENTS_MAX = 100_000;

assert(FRAME_BYTES_MAX > 0 && FRAME_BYTES_MAX <= 0x7fffffff, 'the frame length must fit a positive int32');
assert(FRAME_ASSEMBLY_INITIAL_BYTES <= FRAME_BYTES_MAX, 'assembly buffers start below the frame maximum');
assert(CREDENTIAL_BYTES_MAX <= 255, 'credential lengths are one byte on the wire');
// A full read page of resolved events (ResolvedEvent + event + link per event) must decode.
assert(PROTOBUF_ELEMENTS_MAX >= 3 * READ_PAGE_EVENTS_MAX, 'a full read page fits the element budget');
