// `annal verify <dir>`: checks every chunk, CRC and invariant of a store without changing it,
// prints a report (with a progress bar on a terminal) and returns the exit code.

import cliProgress from 'cli-progress';
import { verifyStore, type VerifyIssue, type VerifyProgress, type VerifyReport } from '../store/verify.js';

/** 0: no errors (warnings allowed); 1: errors found; 2: could not run. */
export const VERIFY_EXIT_CLEAN = 0;
export const VERIFY_EXIT_DAMAGED = 1;
export const VERIFY_EXIT_FAILED = 2;

export const VERIFY_EXIT_CODES_HELP = `
Exit codes:
  ${VERIFY_EXIT_CLEAN}  no errors (warnings, such as a torn tail that recovery will cut, are allowed)
  ${VERIFY_EXIT_DAMAGED}  errors found: damaged chunks, records, footers or checkpoint (each named by file and offset)
  ${VERIFY_EXIT_FAILED}  could not run (the directory is missing, unreadable or not an Annal store, or bad usage)`;

/** Stores of more chunks than this get a progress bar (on a terminal). */
const PROGRESS_CHUNKS_MIN = 4;
const MiB = 1024 * 1024;

/** A progress bar that appears on the first report of a large store, when stdout is a terminal. */
function progressBar(): { update(progress: VerifyProgress): void; stop(): void } {
  let bar: cliProgress.SingleBar | null = null;
  let decided = false;
  return {
    update(progress) {
      if (!decided) {
        decided = true;
        if (process.stdout.isTTY && progress.chunkCount > PROGRESS_CHUNKS_MIN) {
          bar = new cliProgress.SingleBar(
            { format: 'verifying [{bar}] {percentage}% | {chunks} chunks | {mib} MiB', hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(progress.bytesTotal, 0, { chunks: `0/${progress.chunkCount}`, mib: '0' });
        }
      }
      bar?.update(progress.bytesDone, { chunks: `${progress.chunksDone}/${progress.chunkCount}`, mib: (progress.bytesDone / MiB).toFixed(1) });
    },
    stop() {
      bar?.stop();
    },
  };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function issueLines(title: string, issues: readonly VerifyIssue[]): string[] {
  if (issues.length === 0) return [];
  return [`${title} (${issues.length}):`, ...issues.map((i) => `  ${i.file} at offset ${i.offset}: ${i.reason}`)];
}

/** The report as printed: a summary, then every error and warning with its file and offset. */
export function formatVerifyReport(report: VerifyReport): string {
  const checkpoint = report.checkpoint;
  const lines = [
    `annal verify ${report.dir}`,
    `  chunks      ${report.chunks} (${report.sealedChunks} sealed)`,
    `  events      ${report.events} in ${plural(report.streams, 'stream')}`,
    `  bytes       ${report.bytes}`,
    `  checkpoint  ${checkpoint ? `chunk ${checkpoint.chunkNumber} offset ${checkpoint.chunkOffset}, next position ${checkpoint.nextPosition}${checkpoint.clean ? ' (clean shutdown)' : ''}` : 'none'}`,
    ...issueLines('errors', report.errors),
    ...issueLines('warnings', report.warnings),
  ];
  if (report.omittedIssues > 0) lines.push(`(${report.omittedIssues} more issues not listed)`);
  const counts = `${plural(report.errors.length, 'error')}, ${plural(report.warnings.length, 'warning')}`;
  lines.push(report.errors.length === 0 ? `result: clean (${counts})` : `result: DAMAGED (${counts})`);
  return lines.join('\n') + '\n';
}

/** Verifies `dir`, prints the report and returns the exit code (never throws). */
export async function runVerify(dir: string): Promise<number> {
  const bar = progressBar();
  let report: VerifyReport;
  try {
    report = await verifyStore(dir, { onProgress: (progress) => bar.update(progress) });
  } catch (error) {
    bar.stop();
    process.stderr.write(`annal verify: cannot verify ${dir}: ${error instanceof Error ? error.message : String(error)}\n`);
    return VERIFY_EXIT_FAILED;
  }
  bar.stop();
  process.stdout.write(formatVerifyReport(report));
  return report.errors.length === 0 ? VERIFY_EXIT_CLEAN : VERIFY_EXIT_DAMAGED;
}
