/**
 * A child process that floods a UDP port with junk and replayed knocks, for
 * bench-pipeline.ts `benchJunkFlood`. Bounded in time and rate. Started with one argument,
 * JSON: { host, port, perSecond, durationMs, sources: string[], replay: base64[] }.
 * Reports { sent } on stdout when done.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

interface FloodPlan {
  readonly host: string;
  readonly port: number;
  readonly perSecond: number;
  readonly durationMs: number;
  /** Source addresses to send from (127.0.0.0/8 on loopback). */
  readonly sources: readonly string[];
  /** Valid knocks to replay as they are (base64). */
  readonly replay: readonly string[];
  /**
   * 'mixed' (default): a quarter each of random bytes, knock-shaped random (its "point" is
   * almost never on the curve), replayed knocks, replayed points with changed ciphertext.
   * 'fresh-points': every datagram knock-shaped with a fresh valid P-256 point — the worst
   * case, each costs the server a full ECDH and decryption.
   * 'copies': what an attacker on the path makes of captured knocks: half replayed as they
   * are, half with one ciphertext bit flipped (same point), each at another position.
   */
  readonly mix?: 'mixed' | 'fresh-points' | 'copies';
}

const plan = JSON.parse(process.argv[2] ?? '{}') as FloodPlan;
const TICK_MS = 10;
const MAX_DURATION_MS = 30_000;

function bind(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind({ address, port: 0 }, () => resolve(s));
  });
}

function freshPointKnock(): Buffer {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const d = randomBytes(869);
  d.set([0x61, 1, 0, 0]);
  ecdh.getPublicKey().copy(d, 804);
  return d;
}

function copyOf(i: number, replay: readonly Buffer[]): Buffer {
  const base = replay.length > 0 ? (replay[(i >> 1) % replay.length] as Buffer) : randomBytes(869);
  if (i % 2 === 0) return base;
  const copy = Buffer.from(base);
  const at = 4 + ((i * 7) % (copy.length - 69));
  copy[at] = (copy[at] as number) ^ (1 << (i % 8));
  return copy;
}

function junk(i: number, replay: readonly Buffer[]): Buffer {
  if (plan.mix === 'fresh-points') return freshPointKnock();
  if (plan.mix === 'copies') return copyOf(i, replay);
  switch (i % 4) {
    case 0: // random bytes, random length
      return randomBytes(1 + (i % 1500));
    case 1: {
      // knock-shaped: right magic, version and size, a fresh random "point"
      const d = randomBytes(869);
      d[0] = 0x61;
      d[1] = 1;
      d[2] = 0;
      d[3] = 0;
      d[804] = 4;
      return d;
    }
    case 2: // a valid knock replayed as it is
      return replay.length > 0 ? (replay[i % replay.length] as Buffer) : randomBytes(869);
    default: {
      // a valid knock with its ciphertext changed: same point, so a replayed key
      const base = replay.length > 0 ? Buffer.from(replay[i % replay.length] as Buffer) : randomBytes(869);
      base[20] = (base[20] as number) ^ (i & 0xff);
      return base;
    }
  }
}

async function main(): Promise<void> {
  const sockets = await Promise.all(plan.sources.map(bind));
  const replay = plan.replay.map((b) => Buffer.from(b, 'base64'));
  const perTick = Math.max(1, Math.round((plan.perSecond * TICK_MS) / 1000));
  const duration = Math.min(plan.durationMs, MAX_DURATION_MS);
  const started = Date.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= duration) {
        clearInterval(timer);
        resolve();
        return;
      }
      // catch up to the planned rate (timers drift)
      const due = Math.min(Math.floor((elapsed * plan.perSecond) / 1000) + perTick, Math.ceil((duration * plan.perSecond) / 1000));
      while (sent < due) {
        const socket = sockets[sent % sockets.length] as Socket;
        socket.send(junk(sent, replay), plan.port, plan.host);
        sent += 1;
      }
    }, TICK_MS);
  });
  await new Promise((r) => setTimeout(r, 50));
  for (const s of sockets) s.close();
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`flood-sender: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
