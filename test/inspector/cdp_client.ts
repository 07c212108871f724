// A minimal Chrome DevTools Protocol client over WebSocket (RFC 6455, client side: masked text
// frames out; text, continuation, ping and close frames in), enough to drive Node's inspector from
// a test on Node 20, which has no WebSocket client of its own.
import net from "node:net";
import { randomBytes } from "node:crypto";

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message: string } };

export class CdpClient {
  private buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Set<(m: Message) => void>();

  private constructor(private readonly socket: net.Socket) {
    socket.on("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("inspector connection closed"));
      this.pending.clear();
    });
  }

  /** Connects to an inspector's `ws://host:port/id` URL. */
  static connect(url: string): Promise<CdpClient> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(u.port), u.hostname);
      let head = Buffer.alloc(0);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
          + `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      const onHandshake = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onHandshake);
        if (!head.subarray(0, end).toString("latin1").startsWith("HTTP/1.1 101")) {
          socket.destroy();
          return reject(new Error(`inspector refused the WebSocket: ${head.subarray(0, end).toString("latin1").split("\r\n")[0]}`));
        }
        const client = new CdpClient(socket);
        socket.on("data", (x: Buffer) => client.receive(x));
        client.receive(head.subarray(end + 4));
        resolve(client);
      };
      socket.on("data", onHandshake);
    });
  }

  /** Sends a command; resolves with its result. */
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    this.frame(1, Buffer.from(JSON.stringify({ id, method, params })));
    return new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Calls `fn` with every event. */
  onEvent(fn: (method: string, params: Record<string, unknown>) => void): void {
    this.listeners.add((m) => m.method && fn(m.method, m.params ?? {}));
  }

  /** The next event `method` whose params satisfy `accept`, within `timeoutMs`. */
  waitFor<T = Record<string, unknown>>(method: string, timeoutMs = 20_000, accept: (p: T) => boolean = () => true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const listener = (m: Message) => {
        if (m.method !== method || !accept(m.params as T)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(m.params as T);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      const payload = b.subarray(offset, offset + length);
      this.buffer = b.subarray(offset + length);
      if (opcode === 9) this.frame(10, payload);
      else if (opcode === 8) this.socket.end();
      else if (opcode === 0 || opcode === 1) {
        this.fragments.push(payload);
        if (fin) this.dispatch(JSON.parse(Buffer.concat(this.fragments).toString("utf8")) as Message);
      }
      if (fin && opcode <= 1) this.fragments = [];
    }
  }

  private dispatch(m: Message): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m.result);
      return;
    }
    for (const l of [...this.listeners]) l(m);
  }

  private frame(opcode: number, data: Buffer): void {
    const mask = randomBytes(4);
    const n = data.length;
    let head: Buffer;
    if (n < 126) head = Buffer.from([0x80 | opcode, 0x80 | n]);
    else if (n < 65536) {
      head = Buffer.from([0x80 | opcode, 0x80 | 126, 0, 0]);
      head.writeUInt16BE(n, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = 0x80 | opcode;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    const body = Buffer.from(data);
    for (let i = 0; i < n; i++) body[i]! ^= mask[i & 3]!;
    this.socket.write(Buffer.concat([head, mask, body]));
  }
}
