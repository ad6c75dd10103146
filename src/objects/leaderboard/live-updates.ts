/**
 * Live top-N over hibernatable WebSockets. A client connects, gets a snapshot of the top `limit`
 * (default 10, at most 100), then an `update` whenever its window of the top changes.
 *
 * Throttling: at most one broadcast per BROADCAST_INTERVAL_MS per object. A change inside the
 * quiet period arms one short timer that sends the latest state when the period ends, so bursts
 * coalesce and the last state of a burst is always sent. Messages carry the whole window, never
 * deltas, so a skipped or coalesced message loses nothing. The timer and the last-sent time are
 * memory only: if the object hibernates or is evicted, the next change simply broadcasts at once
 * (a coalesced message pending at that moment is lost, and the next change carries its state).
 * Each socket's limit is in its serialized attachment, so it survives hibernation.
 */
import type { LiveMessage, RankedEntryView } from "../../domain/leaderboard";

/** Rows in a live window when the client does not ask (`?limit=`). */
const DEFAULT_LIVE_LIMIT = 10;
/** Largest live window: updates are whole windows, so this bounds every message. */
const MAX_LIVE_LIMIT = 100;
/** At most one broadcast per object per this many ms. */
const BROADCAST_INTERVAL_MS = 250;

/** What the object stores on each socket. */
interface SocketAttachment {
  limit: number;
}

/** The current top window, as the object sees it. */
export type WindowReader = (limit: number) => {
  entries: RankedEntryView[];
  total: number;
  complete: boolean;
};

/** `?limit=` of a live request: DEFAULT_LIVE_LIMIT when absent, null when invalid. */
export function parseLiveLimit(url: URL): number | null {
  const raw = url.searchParams.get("limit");
  if (raw === null || raw === "") return DEFAULT_LIVE_LIMIT;
  if (!/^\d{1,3}$/.test(raw)) return null;
  const limit = Number(raw);
  return limit >= 1 && limit <= MAX_LIVE_LIMIT ? limit : null;
}

function limitOf(ws: WebSocket): number {
  const attachment = ws.deserializeAttachment() as SocketAttachment | null;
  return attachment?.limit ?? DEFAULT_LIVE_LIMIT;
}

function trySend(ws: WebSocket, payload: string): void {
  try {
    ws.send(payload);
  } catch {
    // Closing or closed: its close handler cleans up, and the platform drops it.
  }
}

/** The object's sockets and the broadcast throttle; state is memory-only by design (see above). */
export class LiveUpdates {
  #lastSentAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Lowest changed index not broadcast yet; Infinity when nothing is pending. */
  #pendingFrom = Number.POSITIVE_INFINITY;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly readWindow: WindowReader,
  ) {}

  /** Connected sockets (hibernated ones included). */
  get count(): number {
    return this.ctx.getWebSockets().length;
  }

  /** Accepts an upgrade request: hibernatable server socket, limit attached, snapshot sent. */
  accept(limit: number): Response {
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ limit } satisfies SocketAttachment);
    this.sendSnapshot(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends the socket's current window (on connect, and when a client asks again). */
  sendSnapshot(ws: WebSocket): void {
    const message: LiveMessage = { type: "snapshot", ...this.readWindow(limitOf(ws)) };
    trySend(ws, JSON.stringify(message));
  }

  /**
   * Records that rows from `firstChangedIndex` on changed; broadcasts now or at the end of the
   * quiet period. Cheap when nobody listens or the change is below every socket's window.
   */
  notify(firstChangedIndex: number): void {
    if (!Number.isFinite(firstChangedIndex)) return;
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    this.#pendingFrom = Math.min(this.#pendingFrom, firstChangedIndex);
    if (this.#timer !== undefined) return;
    const wait = this.#lastSentAt + BROADCAST_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.#flush();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, wait);
  }

  /** Closes every client (the object is being archived); nothing pending is sent. */
  closeAll(code: number, reason: string): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pendingFrom = Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(code, reason);
      } catch {
        // Already closing.
      }
    }
  }

  #flush(): void {
    const from = this.#pendingFrom;
    this.#pendingFrom = Number.POSITIVE_INFINITY;
    if (!Number.isFinite(from)) return;
    this.#lastSentAt = Date.now();
    const payloads = new Map<number, string>();
    for (const ws of this.ctx.getWebSockets()) {
      const limit = limitOf(ws);
      if (from >= limit) continue;
      let payload = payloads.get(limit);
      if (payload === undefined) {
        const message: LiveMessage = { type: "update", ...this.readWindow(limit) };
        payload = JSON.stringify(message);
        payloads.set(limit, payload);
      }
      trySend(ws, payload);
    }
  }
}
