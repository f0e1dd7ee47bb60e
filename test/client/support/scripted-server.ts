// A fake server speaking the wire format only, for tests of what the client itself does: it
// answers the handshake and heartbeats, records every package, and hands the rest to the test.

import net from 'node:net';
import { TcpCommand } from '../../../src/protocol/wire/commands.js';
import { LengthPrefixFramer } from '../../../src/protocol/wire/framer.js';
import { decodePackage, encodePackageFrame, makePackage, type TcpPackage } from '../../../src/protocol/wire/package.js';

export type Reply = (command: number, payload?: Uint8Array, correlationId?: string) => void;
export type Handler = (pkg: TcpPackage, reply: Reply, socket: net.Socket) => void;

export class ScriptedServer {
  /** Every package received (payloads copied), handshake included. */
  readonly received: TcpPackage[] = [];
  accepted = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly listener: net.Server) {}

  static async start(handler: Handler): Promise<ScriptedServer> {
    let self: ScriptedServer | undefined;
    const listener = net.createServer((socket) => self!.serve(socket, handler));
    self = new ScriptedServer(listener);
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  of(command: number): TcpPackage[] {
    return this.received.filter((p) => p.command === command);
  }

  private serve(socket: net.Socket, handler: Handler): void {
    this.accepted++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const framer = new LengthPrefixFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of framer.feed(chunk)) {
        const pkg = decodePackage(frame);
        this.received.push({ ...pkg, payload: pkg.payload.slice() });
        const reply: Reply = (command, payload = new Uint8Array(0), correlationId = pkg.correlationId) => {
          if (!socket.destroyed) socket.write(encodePackageFrame(makePackage(command, correlationId, payload)));
        };
        if (pkg.command === TcpCommand.Authenticate) reply(TcpCommand.Authenticated);
        else if (pkg.command === TcpCommand.IdentifyClient) reply(TcpCommand.ClientIdentified);
        else if (pkg.command === TcpCommand.HeartbeatRequestCommand) reply(TcpCommand.HeartbeatResponseCommand);
        else if (pkg.command !== TcpCommand.HeartbeatResponseCommand) handler(pkg, reply, socket);
      }
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}
