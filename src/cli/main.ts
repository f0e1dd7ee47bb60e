// The `annal` command line: `annal serve` (what `npm start` runs), `annal demo`, `annal info`,
// `annal verify`, `annal reindex` and `annal scavenge`.

import { Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { runDemo } from './demo.js';
import { runInfo } from './info.js';
import { runReindex, runScavenge } from './maintenance.js';
import { DEFAULT_TCP_PORT, runServe } from './serve.js';
import { VERIFY_EXIT_CODES_HELP, VERIFY_EXIT_FAILED, runVerify } from './verify.js';

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CommanderArgumentError('must be a port number in 0..65535');
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new CommanderArgumentError('must be a positive integer');
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('annal').description('Annal, a durable event store').showHelpAfterError();
  program
    .command('demo')
    .description('append events to an embedded store, read them back and print the throughput')
    .option('--data-dir <dir>', 'data directory', './data')
    .option('--events <count>', 'events to append', positiveInteger, 200_000)
    .action(async (options: { dataDir: string; events: number }) => runDemo(options.dataDir, options.events));
  program
    .command('serve')
    .description('serve the EventStoreDB-compatible TCP protocol on a store (port 0: any free port)')
    .option('--data-dir <dir>', 'data directory', './data')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--tcp-port <port>', 'TCP port (0: any free port, printed on start)', portNumber, DEFAULT_TCP_PORT)
    .option('--tls-cert <file>', 'PEM certificate: serve TLS')
    .option('--tls-key <file>', 'PEM private key of the certificate')
    .option('--dev-cert', 'serve TLS with a self-signed certificate made at start-up', false)
    .option('--admin-password <password>', 'password of the admin user when it is created (first run); default changeit')
    .option('--no-anonymous', 'refuse anonymous access to user streams')
    .action(async (options: { dataDir: string; host: string; tcpPort: number; tlsCert?: string; tlsKey?: string; devCert: boolean; adminPassword?: string; anonymous: boolean }) => runServe(options));
  program
    .command('info')
    .description('open a store and print what it holds')
    .argument('<dir>', 'data directory')
    .action(async (dir: string) => runInfo(dir));
  program
    .command('verify')
    .description('check every chunk, CRC and invariant of a store without changing any file, and print a report')
    .argument('<dir>', 'data directory')
    .addHelpText('after', VERIFY_EXIT_CODES_HELP)
    // Usage errors exit with 2 ("could not run"), so that 1 always means damage was found.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : VERIFY_EXIT_FAILED))
    .action(async (dir: string) => {
      process.exitCode = await runVerify(dir);
    });
  program
    .command('reindex')
    .description('discard the persisted index files and rebuild every index from the log (progress bar on a terminal)')
    .argument('<dir>', 'data directory')
    .action(async (dir: string) => runReindex(dir));
  program
    .command('scavenge')
    .description('rewrite sealed chunks without the events that metadata or deletes made unreadable')
    .argument('<dir>', 'data directory')
    .option('--max-bytes-per-second <bytes>', 'throttle: pause between chunks to read at most this many bytes per second', positiveInteger)
    .action(async (dir: string, options: { maxBytesPerSecond?: number }) => runScavenge(dir, options.maxBytesPerSecond));
  await program.parseAsync(argv);
}
