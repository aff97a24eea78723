import net from 'node:net';

/**
 * A TCP relay in front of the API server that can be frozen: while frozen it keeps every connection
 * open but moves no byte, which is exactly a half-open connection (the silent watch stall client-node
 * 1.x suffers from). It injects a network fault; the API server behind it is the real one.
 */
export class FreezableProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Each relayed connection: the client's socket and the API server's. */
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private frozen = false;
  private held: Array<() => void> = [];

  private constructor(
    private readonly target: { host: string; port: number },
    server: net.Server,
  ) {
    this.server = server;
  }

  static async start(target: {
    host: string;
    port: number;
  }): Promise<{ proxy: FreezableProxy; port: number }> {
    let proxy: FreezableProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client));
    proxy = new FreezableProxy(target, server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { proxy, port: (server.address() as net.AddressInfo).port };
  }

  /**
   * Unpiped as well as paused: a pipe resumes its source when the destination drains, which would let
   * bytes through a frozen relay.
   */
  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
    for (const s of this.sockets) s.pause();
  }

  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    // pipe() resumes its source (unless the destination still has to drain).
    for (const pair of this.pairs) pipeBothWays(pair);
    for (const connect of this.held.splice(0)) connect();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    const connect = () => {
      const upstream = net.connect(this.target.port, this.target.host);
      this.track(upstream);
      const pair = { client, upstream };
      this.pairs.add(pair);
      const forget = () => this.pairs.delete(pair);
      client.once('close', forget);
      upstream.once('close', forget);
      pipeBothWays(pair);
    };
    if (this.frozen) {
      client.pause();
      this.held.push(connect);
    } else {
      connect();
    }
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => this.sockets.delete(s));
  }
}

function pipeBothWays({ client, upstream }: { client: net.Socket; upstream: net.Socket }): void {
  client.pipe(upstream);
  upstream.pipe(client);
}
