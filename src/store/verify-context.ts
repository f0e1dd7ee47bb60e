// What `annal verify` carries from chunk to chunk: the kernels, the stream table that checks
// revision contiguity, counters, and the issues found so far (bounded by VERIFY_ISSUES_MAX).

import type { CorruptionError } from '../util/errors.js';
import { VERIFY_ISSUES_MAX } from '../util/limits.js';
import type { Crc32c } from '../wasm/crc32c.js';
import type { Wasm } from '../wasm/kernels.js';
import type { StreamTable } from '../wasm/stream-table.js';
import type { ChunkScanner } from '../log/chunk-scanner.js';
import type { FileSystem } from '../log/file-system.js';

/** One finding: the file, the byte offset in it, and what is wrong there. */
export interface VerifyIssue {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
}

/** Collects errors and warnings up to VERIFY_ISSUES_MAX; the rest are only counted. */
export class Issues {
  readonly errors: VerifyIssue[] = [];
  readonly warnings: VerifyIssue[] = [];
  omitted = 0;

  error(file: string, offset: number, reason: string): void {
    this.add(this.errors, { file, offset, reason });
  }

  warn(file: string, offset: number, reason: string): void {
    this.add(this.warnings, { file, offset, reason });
  }

  /** Records a CorruptionError thrown by a decoder as an error. */
  corruption(error: CorruptionError): void {
    this.error(error.file, error.offset, error.reason);
  }

  private add(list: VerifyIssue[], issue: VerifyIssue): void {
    if (this.errors.length + this.warnings.length < VERIFY_ISSUES_MAX) list.push(issue);
    else this.omitted++;
  }
}

export interface VerifyContext {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly wasm: Wasm;
  readonly crc: Crc32c;
  readonly scanner: ChunkScanner;
  /** Every committed record is indexed here while revisionsChecked holds. */
  readonly streams: StreamTable;
  revisionsChecked: boolean;
  /** Valid committed records seen. */
  events: number;
  readonly issues: Issues;
  /** Bytes of chunk files checked so far, for progress. */
  bytesDone: number;
  /** Reports progress (set up once the chunk sizes are known). */
  progress: () => void;
}

/** Turns revision checks off for the rest of the log: records before this point may be missing. */
export function stopRevisionChecks(ctx: VerifyContext, file: string, offset: number): void {
  if (!ctx.revisionsChecked) return;
  ctx.revisionsChecked = false;
  ctx.issues.warn(file, offset, 'stream revisions are not checked from here on: records before this point could not all be read');
}
