import { DurableObject } from "cloudflare:workers";
import {
  byeCloseReason,
  CLOSE_ARCHIVED,
  CLOSE_RESTART,
  changedRows,
  DEFAULT_LIVE_LIMIT,
  type LiveMessage,
  type LiveWindow,
  parseLiveLimit,
  reconnectDelayMs,
  relayObjectName,
  relayParent,
} from "../domain/live-protocol";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { leaderboardStub } from "../stores/objects/leaderboard";
import { liveRelayByName, liveRelayStub } from "../stores/objects/live-relay";

/** Where a relay sits: its board-period, its index in the tree and the tree's fan-out. */
export interface RelayIdentity {
  boardId: string;
  periodKey: string;
  index: number;
  fanout: number;
}

/** What the relay stores on each socket (survives hibernation). */
interface SocketAttachment {
  limit: number;
}

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

function checkIdentity(identity: RelayIdentity): void {
  const { boardId, periodKey, index, fanout } = identity;
  if (
    !ID_PATTERN.test(boardId) ||
    !ID_PATTERN.test(periodKey) ||
    !Number.isSafeInteger(index) ||
    index < 0 ||
    !Number.isSafeInteger(fanout) ||
    fanout < 1 ||
    fanout > 1_000
  ) {
    throw new RangeError("relay identity: bad board, period, index or fanout");
  }
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

function isOpen(ws: WebSocket): boolean {
  return ws.readyState !== WebSocket.CLOSING && ws.readyState !== WebSocket.CLOSED;
}

/**
 * One relay of a board-period's live feed (docs/design.md, "Live feed"): up to a capacity of
 * hibernatable client sockets, fed by its parent (the board's LeaderboardDO for the first
 * `fanout` relays, another relay below them), and feeding its own child relays. Each push is one
 * window; the relay turns it into one message per distinct socket limit, a delta against what
 * those sockets have when it can, and sends it to each socket. Which relays it feeds and whether
 * it is subscribed are in SQLite; the last window and what each limit was last sent are memory
 * only, so after hibernation the next push goes out whole (`update`) and deltas resume after it.
 */
export class LiveRelay extends DurableObject<AppBindings> {
  #identity: RelayIdentity | null = null;
  #subscribed = false;
  readonly #children = new Set<string>();
  /** The last window received (memory only). */
  #window: LiveWindow | null = null;
  /** Per socket limit: the seq of the last message its sockets got (their window's seq). */
  readonly #sentSeq = new Map<number, number>();
  #windowLoad: Promise<LiveWindow> | null = null;
  /** Subscribe and unsubscribe calls to the parent run one after another, in order. */
  #parentChain: Promise<unknown> = Promise.resolve();
  /** Connections between the capacity check and their accept. */
  #connecting = 0;
  #pushesReceived = 0;
  #pushesSent = 0;

  constructor(ctx: DurableObjectState, env: AppBindings) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    const sql = ctx.storage.sql;
    sql.exec("create table if not exists relay_meta (key text primary key, value text not null)");
    sql.exec("create table if not exists relay_children (name text primary key)");
    for (const row of sql.exec<{ key: string; value: string }>("select * from relay_meta")) {
      if (row.key === "identity") this.#identity = JSON.parse(row.value) as RelayIdentity;
      if (row.key === "subscribed") this.#subscribed = row.value === "1";
    }
    for (const row of sql.exec<{ name: string }>("select name from relay_children")) {
      this.#children.add(row.name);
    }
  }

  /**
   * A client socket (the Worker's route picks the relay): `?board&period&index&fanout` place the
   * relay, `capacity` bounds its sockets (503 with `x-relay-full` when reached, so the route
   * tries the next tier), `limit` is the client's window.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", {
        status: 426,
        headers: { Upgrade: "websocket" },
      });
    }
    const params = new URL(request.url).searchParams;
    const limit = parseLiveLimit(params.get("limit"));
    const capacity = Number(params.get("capacity"));
    const identity: RelayIdentity = {
      boardId: params.get("board") ?? "",
      periodKey: params.get("period") ?? "",
      index: Number(params.get("index")),
      fanout: Number(params.get("fanout")),
    };
    if (limit === null) return new Response("limit must be an integer in 1..100", { status: 400 });
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      return new Response("capacity must be a positive integer", { status: 400 });
    }
    try {
      this.#adopt(identity);
    } catch (error) {
      return new Response(describeError(error), { status: 400 });
    }
    if (this.ctx.getWebSockets().length + this.#connecting >= capacity) {
      return new Response("relay full", { status: 503, headers: { "x-relay-full": "1" } });
    }
    this.#connecting += 1;
    let window: LiveWindow;
    try {
      window = await this.#ensureWindow();
    } catch (error) {
      log.warn("live-relay: subscribe failed", { error: describeError(error) });
      return new Response("the live feed is unavailable", { status: 503 });
    } finally {
      this.#connecting -= 1;
    }
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ limit } satisfies SocketAttachment);
    trySend(server, this.#snapshot(this.#window ?? window, limit));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Clients may send "snapshot" to get their window again; anything else is ignored. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message !== "snapshot") return;
    try {
      trySend(ws, this.#snapshot(await this.#ensureWindow(), limitOf(ws)));
    } catch (error) {
      log.warn("live-relay: snapshot failed", { error: describeError(error) });
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed, or a code (1005/1006) that cannot be sent back.
    }
    await this.#unsubscribeIfIdle(ws);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    log.warn("live-relay: websocket error", { error: describeError(error) });
    await this.#unsubscribeIfIdle(ws);
  }

  // ---------------------------------------------------------------------------------------------
  // RPC from the parent and the children
  // ---------------------------------------------------------------------------------------------

  /**
   * A window from the parent: forwarded to the children, then one message per socket limit.
   * False when the relay has nothing left to serve: the parent then drops it.
   */
  push(window: LiveWindow): boolean {
    this.#pushesReceived += 1;
    if (!this.#hasListeners()) {
      this.#forget();
      return false;
    }
    const previous = this.#window;
    if (previous !== null && window.seq <= previous.seq) return true;
    this.#window = window;
    for (const child of this.#children) {
      this.#pushesSent += 1;
      liveRelayByName(this.env, child)
        .push(window)
        .then(
          (keep) => {
            if (!keep) this.#dropChild(child);
          },
          (error: unknown) => {
            log.warn("live-relay: push to a child failed", { error: describeError(error) });
          },
        );
    }
    this.#broadcast(previous, window);
    return true;
  }

  /** A child relay subscribes (idempotent) and gets the current window. */
  async attach(identity: RelayIdentity, child: string): Promise<LiveWindow> {
    this.#adopt(identity);
    if (!this.#children.has(child)) {
      this.ctx.storage.sql.exec("insert or ignore into relay_children (name) values (?)", child);
      this.#children.add(child);
    }
    return this.#ensureWindow();
  }

  /** A child relay with nothing left to serve unsubscribes. */
  async detach(child: string): Promise<void> {
    this.#dropChild(child);
    await this.#unsubscribeIfIdle(null);
  }

  /**
   * Closes every socket with a `bye` carrying its own random reconnect delay, and every child
   * the same way: the period is archived, or the relay is drained (a planned restart).
   */
  async close(reason: "archived" | "restart"): Promise<void> {
    const code = reason === "archived" ? CLOSE_ARCHIVED : CLOSE_RESTART;
    for (const ws of this.ctx.getWebSockets()) {
      const reconnectAfterMs = reconnectDelayMs();
      const bye: LiveMessage = { type: "bye", reason, reconnectAfterMs };
      trySend(ws, JSON.stringify(bye));
      try {
        ws.close(code, byeCloseReason(reconnectAfterMs));
      } catch {
        // Already closing.
      }
    }
    const children = [...this.#children];
    await Promise.allSettled(children.map((c) => liveRelayByName(this.env, c).close(reason)));
    for (const child of children) this.#dropChild(child);
    this.#forget();
  }

  /** Diagnostics for tests. */
  stats(): {
    sockets: number;
    children: number;
    subscribed: boolean;
    pushesReceived: number;
    pushesSent: number;
  } {
    return {
      sockets: this.ctx.getWebSockets().filter(isOpen).length,
      children: this.#children.size,
      subscribed: this.#subscribed,
      pushesReceived: this.#pushesReceived,
      pushesSent: this.#pushesSent,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  /** Takes the relay's place in the tree on first use; it never changes afterwards. */
  #adopt(identity: RelayIdentity): void {
    checkIdentity(identity);
    if (this.#identity !== null) return;
    this.#identity = { ...identity };
    this.#setMeta("identity", JSON.stringify(this.#identity));
  }

  #setMeta(key: string, value: string): void {
    this.ctx.storage.sql.exec(
      "insert into relay_meta (key, value) values (?, ?) " +
        "on conflict (key) do update set value = excluded.value",
      key,
      value,
    );
  }

  #setSubscribed(subscribed: boolean): void {
    if (this.#subscribed === subscribed) return;
    this.#subscribed = subscribed;
    this.#setMeta("subscribed", subscribed ? "1" : "0");
  }

  #hasListeners(except: WebSocket | null = null): boolean {
    if (this.#children.size > 0 || this.#connecting > 0) return true;
    return this.ctx.getWebSockets().some((ws) => ws !== except && isOpen(ws));
  }

  #dropChild(child: string): void {
    if (!this.#children.delete(child)) return;
    this.ctx.storage.sql.exec("delete from relay_children where name = ?", child);
  }

  /** Forgets the window and the subscription (the parent has dropped or will drop this relay). */
  #forget(): void {
    this.#window = null;
    this.#sentSeq.clear();
    this.#setSubscribed(false);
  }

  /** The relay's window, subscribing to the parent first when it has none (single flight). */
  #ensureWindow(): Promise<LiveWindow> {
    if (this.#window !== null) return Promise.resolve(this.#window);
    if (this.#windowLoad !== null) return this.#windowLoad;
    const load = this.#viaParent(async () => {
      const window = await this.#subscribe();
      this.#setSubscribed(true);
      if (this.#window === null || this.#window.seq < window.seq) this.#window = window;
      return this.#window;
    }).finally(() => {
      this.#windowLoad = null;
    });
    this.#windowLoad = load;
    return load;
  }

  #subscribe(): Promise<LiveWindow> {
    const identity = this.#identity;
    if (identity === null) throw new Error("live-relay: no identity yet");
    const { boardId, periodKey, index, fanout } = identity;
    const name = relayObjectName(boardId, periodKey, index);
    const parent = relayParent(index, fanout);
    if (parent === null) return leaderboardStub(this.env, boardId, periodKey).attachRelay(name);
    return liveRelayStub(this.env, boardId, periodKey, parent).attach(
      { boardId, periodKey, index: parent, fanout },
      name,
    );
  }

  async #unsubscribeIfIdle(closing: WebSocket | null): Promise<void> {
    if (this.#hasListeners(closing) || !this.#subscribed) return;
    const identity = this.#identity;
    this.#forget();
    if (identity === null) return;
    const { boardId, periodKey, index, fanout } = identity;
    const name = relayObjectName(boardId, periodKey, index);
    const parent = relayParent(index, fanout);
    try {
      await this.#viaParent(() =>
        parent === null
          ? leaderboardStub(this.env, boardId, periodKey).detachRelay(name)
          : liveRelayStub(this.env, boardId, periodKey, parent).detach(name),
      );
    } catch (error) {
      // The parent drops this relay at its next push anyway (the push answers false).
      log.warn("live-relay: unsubscribe failed", { error: describeError(error) });
    }
  }

  #viaParent<T>(call: () => Promise<T>): Promise<T> {
    const run = this.#parentChain.catch(() => undefined).then(call);
    this.#parentChain = run;
    return run;
  }

  /** The full window of `limit` rows; its seq is the one the limit's sockets are at. */
  #snapshot(window: LiveWindow, limit: number): string {
    let seq = this.#sentSeq.get(limit);
    if (seq === undefined) {
      seq = window.seq;
      this.#sentSeq.set(limit, seq);
    }
    const message: LiveMessage = {
      type: "snapshot",
      seq,
      entries: window.entries.slice(0, limit),
      total: window.total,
      complete: window.complete,
    };
    return JSON.stringify(message);
  }

  /**
   * One message per distinct socket limit: a delta against the previous window when this limit's
   * sockets have it, nothing when their rows did not change, the whole window otherwise.
   */
  #broadcast(previous: LiveWindow | null, window: LiveWindow): void {
    const byLimit = new Map<number, WebSocket[]>();
    for (const ws of this.ctx.getWebSockets()) {
      const limit = limitOf(ws);
      const group = byLimit.get(limit);
      if (group) group.push(ws);
      else byLimit.set(limit, [ws]);
    }
    for (const limit of this.#sentSeq.keys()) {
      if (!byLimit.has(limit)) this.#sentSeq.delete(limit);
    }
    for (const [limit, sockets] of byLimit) {
      const entries = window.entries.slice(0, limit);
      const baseSeq = this.#sentSeq.get(limit);
      let message: LiveMessage;
      if (previous !== null && baseSeq !== undefined) {
        const before = previous.entries.slice(0, limit);
        const rows = changedRows(before, entries);
        const same =
          rows.length === 0 &&
          before.length === entries.length &&
          previous.complete === window.complete;
        if (same) continue;
        message = {
          type: "delta",
          seq: window.seq,
          baseSeq,
          size: entries.length,
          rows,
          total: window.total,
          complete: window.complete,
        };
      } else {
        message = {
          type: "update",
          seq: window.seq,
          entries,
          total: window.total,
          complete: window.complete,
        };
      }
      this.#sentSeq.set(limit, window.seq);
      const payload = JSON.stringify(message);
      for (const ws of sockets) trySend(ws, payload);
    }
  }
}
