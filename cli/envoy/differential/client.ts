// The scenario's TCP client (its HTTP requests go through the CLI's HTTP client, cli/http_client.ts).
import net from "node:net";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a TCP exchange saw. */
export interface TcpExchange {
  received: string;
  ended: "closed" | "reset" | "open";
}

/** Writes `send` (chunks `delayMs` apart) to `host:port`, half-closes unless `keepOpen`, reads until the end or `waitMs`. */
export function tcpExchange(base: string, o: { send: string[]; delayMs?: number; keepOpen?: boolean; waitMs?: number }): Promise<TcpExchange> {
  const url = new URL(base);
  return new Promise((resolve) => {
    let received = "";
    let settled = false;
    const socket = net.connect(Number(url.port), url.hostname);
    const done = (ended: TcpExchange["ended"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, ended });
    };
    let timer: NodeJS.Timeout | undefined;
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.on("end", () => done("closed"));
    socket.on("close", (hadError) => done(hadError ? "reset" : "closed"));
    socket.on("error", () => done("reset"));
    socket.on("connect", () => {
      void (async () => {
        for (const [i, c] of o.send.entries()) {
          if (i > 0 && o.delayMs) await sleep(o.delayMs);
          if (socket.destroyed) return;
          socket.write(c);
        }
        if (!o.keepOpen) socket.end();
        timer = setTimeout(() => done("open"), o.waitMs ?? 2000);
      })();
    });
  });
}
