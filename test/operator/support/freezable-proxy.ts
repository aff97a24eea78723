import net from 'node:net';

/**
 * A TCP relay in front of the API server that can be frozen: while frozen it keeps every connection
 * open but moves no byte, which is exactly a half-open connection (the silent watch stall client-node
 * 1.x suffers from). It injects a network fault; the API server behind it is the real one.
 */
export class FreezableProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
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

  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const s of this.sockets) s.resume();
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
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.frozen) {
        client.pause();
        upstream.pause();
      }
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
