// DNS for the dev proxy's envoy_resolve_dns: A and AAAA records with their TTLs from the system
// resolver; names it does not serve (e.g. localhost from /etc/hosts) fall back to getaddrinfo
// with TTL 0.
import { promises as dns } from "node:dns";
import type { DnsAnswer, DnsResolver } from "../services/transports.js";

export class SystemDnsResolver implements DnsResolver {
  resolve(name: string, done: (answers: DnsAnswer[] | undefined) => void): void {
    void (async () => {
      const answers: DnsAnswer[] = [];
      for (const family of [4, 6] as const) {
        try {
          const records = family === 4 ? await dns.resolve4(name, { ttl: true }) : await dns.resolve6(name, { ttl: true });
          for (const r of records) answers.push({ address: r.address, ttlSeconds: r.ttl });
        } catch {
          // No records of this family.
        }
      }
      if (answers.length === 0) {
        try {
          for (const r of await dns.lookup(name, { all: true })) answers.push({ address: r.address, ttlSeconds: 0 });
        } catch {
          return done(undefined);
        }
      }
      done(answers.length ? answers : undefined);
    })();
  }
}
