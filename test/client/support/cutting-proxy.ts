// A TCP proxy between a client and the server that a test can cut (every connection destroyed at
// once, as a network failure would), freeze (everything silently dropped, as a hung server would
// look) or hold (replies kept back until released, to show requests do not wait for them).

import net from 'node:net';

interface Pair {
  readonly client: net.Socket;
  readonly server: net.Socket;
  frozen: boolean;
  /** Bytes from the server held back while replies are held. */
  held: Buffer[] | null;
}

export class CuttingProxy {
  private readonly pairs = new Set<Pair>();
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(private readonly listener: net.Server, readonly targetPort: number) {}

  static async start(targetPort: number): Promise<CuttingProxy> {
    let proxy: CuttingProxy | undefined;
    const listener = net.createServer((client) => proxy!.accept(client));
    proxy = new CuttingProxy(listener, targetPort);
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  get connectionCount(): number {
    return this.pairs.size;
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const server = net.connect({ host: '127.0.0.1', port: this.targetPort });
    const pair: Pair = { client, server, frozen: false, held: null };
    this.pairs.add(pair);
    const end = (): void => {
      client.destroy();
      server.destroy();
      this.pairs.delete(pair);
    };
    client.on('data', (chunk) => {
      if (!pair.frozen) server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (pair.frozen) return;
      if (pair.held !== null) pair.held.push(chunk);
      else client.write(chunk);
    });
    client.on('error', end);
    server.on('error', end);
    client.on('close', end);
    server.on('close', end);
  }

  /** Destroys every open connection in both directions; returns how many there were. */
  cutAll(): number {
    const count = this.pairs.size;
    for (const pair of [...this.pairs]) {
      pair.client.destroy();
      pair.server.destroy();
      this.pairs.delete(pair);
    }
    return count;
  }

  /** Holds back what the server sends on open connections until release() (requests still pass). */
  hold(): void {
    for (const pair of this.pairs) pair.held ??= [];
  }

  /** Sends on what hold() held back, and forwards normally again. */
  release(): void {
    for (const pair of this.pairs) {
      const held = pair.held ?? [];
      pair.held = null;
      for (const chunk of held) pair.client.write(chunk);
    }
  }

  /** From now on, open connections forward nothing either way (new ones work normally). */
  freeze(): void {
    for (const pair of this.pairs) pair.frozen = true;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}
