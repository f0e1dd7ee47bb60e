// The one WebAssembly module of Annal: every kernel the JavaScript side calls (src/wasm loads it).
export { crc32cUpdate } from './crc32c';
export { xxhash64 } from './xxhash64';
export { encodeRecords, scanRecords, validateRecordsAt, bodyChecksumUpdate } from './record';
export {
  tableCreate, tableDestroy, tableStreamCount, tableSlotCapacity, tableFind, tableLocate, tableFindOrInsert,
  hashStreamId, streamIdPtr, streamIdLen, streamRevisionCount, streamPush, streamPositions, indexRecords,
  tableInsert, tableCompact, tableSetComplete, tableFilterInstall, tableFilterPtr, tableFilterLog2Bits,
  tableFilterMayContain, tableFilterAddStreams, filterAddIds, streamBaseRevision, tableTailEntries, tableDrainTails, tableExportIds, tableSelectedIdBytes, sortEntryOffsets,
} from './stream-table';
export { indexBlocksCheck } from './index-blocks';
export { alloc, realloc, free } from './memory';
