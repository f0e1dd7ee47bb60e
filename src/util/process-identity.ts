// Who a process is, well enough to tell a live lock owner from a stale one: its pid, the boot it
// runs in, and its start time. After a reboot or a pid reuse the same pid names someone else.

import { readFileSync } from 'node:fs';

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** The kernel's id of the current boot ('-' where the platform has none). */
export function bootId(): string {
  return readOr('/proc/sys/kernel/random/boot_id', '-').trim() || '-';
}

/** Start time of a process in clock ticks since boot ('-' where unknown), or null if it does not run. */
export function processStartTime(pid: number): string | null {
  const stat = readOr(`/proc/${pid}/stat`, '');
  if (stat === '') {
    try {
      process.kill(pid, 0);
      return '-';
    } catch (error) {
      return (error as { code?: string }).code === 'EPERM' ? '-' : null;
    }
  }
  // Field 22 (starttime) follows the command name in parentheses, which may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '-';
}
