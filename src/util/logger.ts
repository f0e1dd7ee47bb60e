// The logging seam: recovery reports truncated torn tails and rebuilt derived data through it.
// The default writes warnings to stderr; embedders pass their own (pino fits this shape).

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export const stderrLogger: Logger = {
  info() {},
  warn(message, fields) {
    process.stderr.write(`annal warn: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
  },
};

export const silentLogger: Logger = { info() {}, warn() {} };
