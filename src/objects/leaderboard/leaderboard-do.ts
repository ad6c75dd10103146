import { DurableObject } from "cloudflare:workers";
import type {
  ApplyResult,
  AroundResult,
  BoardPeriod,
  CountedTotal,
  EntryState,
  LeaderboardStats,
  PageJsonResult,
  PageOptions,
  PageResult,
  RankedEntryView,
  RankResult,
  RebuildResult,
  ScoreRankResult,
} from "../../domain/leaderboard";
import { DEFAULT_TOP_SIZE, MAX_AROUND } from "../../domain/leaderboard";
import type { LiveWindow } from "../../domain/live-protocol";
import type { AppBindings } from "../../env";
import { describeError, log } from "../../lib/log";
import { loadTopFromPostgres } from "../../stores/postgres/top-entries";
import { effectiveArchiveAt, isArchiveDue } from "./archive-schedule";
import { LiveUpdates } from "./live-updates";
import { RebuildJournal } from "./rebuild-journal";
import { RecentVersions } from "./recent-versions";
import { countAtOrAhead, toSortScore, upperBound } from "./sorted-entries";
import { SqliteStore } from "./sqlite-store";
import { TopSet, type TopSetDiff } from "./top-set";

/** Players one standingsOf call may name (the friends route takes 100). */
const MAX_STANDINGS = 1_000;

/** Distinct page slices kept serialized at once (page sizes x cursors readers use). */
const PAGE_JSON_SLOTS = 64;

import { apiEntry } from "../../domain/leaderboard";
import {
  checkBoard,
  checkChanges,
  checkCount,
  checkCountedTotal,
  checkPageOptions,
  checkRemovals,
  checkScore,
} from "./validate";
import { toView, viewsOf } from "./views";

function checkRelayName(name: unknown): void {
  if (typeof name !== "string" || name.length === 0 || name.length > 512) {
    throw new RangeError("relay name must be a string of 1..512 characters");
  }
}

/** Delay before a rebuild once the set is known to be incomplete (lets a burst settle). */
const REBUILD_DELAY_MS = 1000;
/** After this many platform retries of a failing rebuild alarm, retry on our own slower clock. */
const ALARM_RETRY_LIMIT = 5;
const ALARM_SLOW_RETRY_MS = 60_000;

/**
 * One object per (board, period key), named `leaderboardObjectName(boardId, periodKey)`: the
 * single writer of that board-period's hot top-N. It keeps the best topSize entries sorted in
 * memory (mirrored in its SQLite storage, so eviction costs no Postgres query), serves top-N
 * pages, ranks and around-me windows with zero database queries, and pushes live updates to the
 * LiveRelay objects that hold the sockets (one RPC per subscribed relay per update). Postgres
 * stays the system of record: the queue consumer projects committed record states here
 * (`applyChanges`), and a rebuild reloads from Postgres whenever the object can no longer vouch
 * for its top-N (see top-set.ts) or when told to.
 */
export class LeaderboardDO extends DurableObject<AppBindings> {
  readonly #store: SqliteStore;
  readonly #recent = new RecentVersions();
  readonly #live: LiveUpdates;
  #board: BoardPeriod | null = null;
  #top: TopSet;
  #total = 0;
  /** Statement time (epoch µs) of the exact count #total was last set from; 0: none yet. */
  #totalAt = 0;
  /**
   * The newest batch this object applied (its Postgres transaction time, epoch ms; 0: none): the
   * board-period's watermark. Redis' ready marker carries its own; one that falls behind this one
   * is a Redis that lost writes (a restore), which the projection and the cron detect.
   */
  #writtenAt = 0;
  #lastRebuildAt: number | null = null;
  #reads = 0;
  /** When this object drops its storage (see archive-schedule.ts); null: never. */
  #archiveAt: number | null = null;
  /** Set while a rebuild waits for Postgres; see rebuild-journal.ts. */
  #journal: RebuildJournal | null = null;
  /** Serialized page slices ("firstRank:count") of one revision of `#top`; see pageJson. */
  readonly #pageJson = new Map<string, string>();
  #pageJsonOwner: TopSet | null = null;
  #pageJsonRevision = -1;
  /** Rebuilds run one after another (an alarm and an admin call may overlap). */
  #rebuildChain: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: AppBindings) {
    super(ctx, env);
    this.#store = new SqliteStore(ctx.storage.sql);
    this.#top = new TopSet("desc", DEFAULT_TOP_SIZE, this.#recent);
    this.#live = new LiveUpdates(ctx, env, (limit) => this.#window(limit));
    void ctx.blockConcurrencyWhile(async () => {
      this.#load();
      // Safety net: an incomplete set always has a rebuild on the way, even if one was lost.
      if (!this.#top.complete && this.#board !== null && (await ctx.storage.getAlarm()) === null) {
        await ctx.storage.setAlarm(Date.now() + REBUILD_DELAY_MS);
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Writes
  // ---------------------------------------------------------------------------------------------

  /**
   * Projects final record states committed in Postgres (once per object per consumer batch).
   * A state applies only if its version is newer than the one known, so repeated and reordered
   * calls converge. Persisted before the reply (the output gate holds it until the write
   * commits). The total becomes `total`, Postgres' exact count after the batch, unless the
   * object already has a newer one; without it (the count could not be read) `newPlayers` is
   * added to what the object has.
   */
  async applyChanges(
    board: BoardPeriod,
    changes: EntryState[],
    newPlayers: number,
    total?: CountedTotal,
    writtenAt?: number,
  ): Promise<ApplyResult> {
    checkBoard(board);
    checkChanges(changes);
    checkCount("newPlayers", newPlayers);
    checkCountedTotal(total);
    if (writtenAt !== undefined) checkCount("writtenAt", writtenAt);
    this.#checkIdentity(board);
    const previousWrittenAt = this.#writtenAt;
    if (this.#board === null && isArchiveDue(board.archiveAt, Date.now())) {
      // An archived past period (a late event, a dead-letter replay): a top-N built from these
      // changes alone would be wrong. Postgres has them; the next read rebuilds from there.
      return { applied: 0, topChanged: false, total: 0, previousWrittenAt };
    }
    if (this.#board === null && total !== undefined && total.count > changes.length) {
      return { ...(await this.#startBehind(board, changes, total, writtenAt)), previousWrittenAt };
    }
    const wasComplete = this.#top.complete;
    this.#journal?.record(this.#top, changes);
    let applied = 0;
    let firstChanged = Number.POSITIVE_INFINITY;
    let archiveMoved = false;
    this.#commit(() => {
      const configured = this.#configure(board);
      archiveMoved = this.#adoptArchiveAt(board);
      const outcome = this.#top.apply(changes);
      applied = outcome.applied;
      firstChanged = Math.min(configured.firstChangedIndex, outcome.firstChangedIndex);
      this.#writeDiffs([configured, outcome]);
      // Rows written are billed: meta rows only when they change.
      if (total !== undefined) this.#adoptCount(total);
      else if (newPlayers > 0) {
        this.#total += newPlayers;
        this.#store.writeTotal(this.#total);
      }
      if (this.#top.complete !== wasComplete) this.#store.writeComplete(this.#top.complete);
      this.#adoptWrittenAt(writtenAt);
    });
    if (wasComplete && !this.#top.complete) await this.#scheduleRebuild();
    if (archiveMoved) await this.#armArchive();
    this.#live.notify(firstChanged);
    return {
      applied,
      topChanged: Number.isFinite(firstChanged),
      total: this.#reportedTotal(),
      previousWrittenAt,
    };
  }

  /**
   * Takes players out of the top-N after a moderator removed their records from Postgres, up to
   * `version` each (see TopSet.remove). `total` is Postgres' count after the removal; without it
   * (the board-period is now empty, or the count failed) each removal counts one record fewer. A
   * full set that lost an entry refills from Postgres (a rebuild, shortly). An object that was
   * never told its board holds nothing: its first read rebuilds it from Postgres anyway.
   */
  async removePlayers(
    board: BoardPeriod,
    removals: Array<{ playerId: string; version: number }>,
    total?: CountedTotal,
  ): Promise<{ removed: number; total: number }> {
    checkBoard(board);
    checkRemovals(removals);
    checkCountedTotal(total);
    this.#checkIdentity(board);
    if (this.#board === null) return { removed: 0, total: 0 };
    const wasComplete = this.#top.complete;
    this.#journal?.recordRemovals(this.#top, removals);
    let removed = 0;
    let firstChanged = Number.POSITIVE_INFINITY;
    this.#commit(() => {
      const outcome = this.#top.remove(removals);
      removed = outcome.applied;
      firstChanged = outcome.firstChangedIndex;
      this.#writeDiffs([outcome]);
      if (total !== undefined) this.#adoptCount(total);
      else {
        this.#total = Math.max(0, this.#total - removals.length);
        this.#store.writeTotal(this.#total);
      }
      if (this.#top.complete !== wasComplete) this.#store.writeComplete(this.#top.complete);
    });
    if (wasComplete && !this.#top.complete) await this.#scheduleRebuild();
    this.#live.notify(firstChanged);
    return { removed, total: this.#reportedTotal() };
  }

  /** The board-period's watermark: the newest batch applied (Postgres time, epoch ms; 0: none). */
  watermark(): number {
    return this.#writtenAt;
  }

  /**
   * Reloads the top-N and the player count from Postgres and replaces the held state in one
   * storage transaction; the set is complete afterwards. Changes that arrive meanwhile are
   * replayed on top of the snapshot, so none is lost.
   */
  async rebuild(board: BoardPeriod): Promise<RebuildResult> {
    checkBoard(board);
    this.#checkIdentity(board);
    const run = this.#rebuildChain.catch(() => undefined).then(() => this.#rebuildNow(board));
    this.#rebuildChain = run;
    return run;
  }

  /**
   * The one alarm means "archive" once the archive time has come, else "rebuild from Postgres"
   * if the set is incomplete (rebuilding twice is harmless); then it is set again for the archive
   * time. A rebuild alarm is always the sooner one, so it replaces the archive alarm meanwhile.
   */
  override async alarm(alarmInfo?: AlarmInvocationInfo): Promise<void> {
    const board = this.#board;
    if (board === null) return;
    if (isArchiveDue(this.#archiveAt, Date.now())) {
      await this.#archive(board);
      return;
    }
    if (this.#top.complete) {
      await this.#armArchive();
      return;
    }
    try {
      await this.rebuild(board);
      await this.#armArchive();
    } catch (error) {
      const retryCount = alarmInfo?.retryCount ?? 0;
      log.warn("leaderboard-do: rebuild alarm failed", {
        board: board.boardId,
        period: board.periodKey,
        retryCount,
        error: describeError(error),
      });
      if (retryCount < ALARM_RETRY_LIMIT) throw error;
      // The platform gives up after a few retries; an incomplete set must not stay that way.
      await this.ctx.storage.setAlarm(Date.now() + ALARM_SLOW_RETRY_MS);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reads (no storage or database access: memory only)
  // ---------------------------------------------------------------------------------------------

  /**
   * A page of the held top-N: rows strictly after `cursor` in board order (keyset, so pages
   * neither repeat nor skip rows while scores move), after skipping `offset`, at most `limit`.
   */
  page(options: PageOptions): PageResult {
    this.#reads += 1;
    const slice = this.#sliceOf(options);
    return {
      entries: viewsOf(this.#top.entries, slice.start, slice.end),
      total: slice.total,
      complete: this.#top.complete,
      hasMore: slice.hasMore,
      heldCount: this.#top.entries.length,
      initialized: this.#board !== null,
      writtenAt: this.#writtenAt,
    };
  }

  /**
   * `page` with its entries serialized once per version of the top-N: between two changes every
   * read of the same slice (the edge cache refreshing, live clients, bypassing benchmarks) gets
   * the cached string, without building the entries again.
   */
  pageJson(options: PageOptions): PageJsonResult {
    this.#reads += 1;
    const { start, end, total, hasMore } = this.#sliceOf(options);
    if (
      this.#pageJsonOwner !== this.#top ||
      this.#pageJsonRevision !== this.#top.revision ||
      this.#pageJson.size >= PAGE_JSON_SLOTS
    ) {
      this.#pageJson.clear();
      this.#pageJsonOwner = this.#top;
      this.#pageJsonRevision = this.#top.revision;
    }
    const key = `${start}:${end}`;
    let entriesJson = this.#pageJson.get(key);
    if (entriesJson === undefined) {
      entriesJson = JSON.stringify(viewsOf(this.#top.entries, start, end).map(apiEntry));
      this.#pageJson.set(key, entriesJson);
    }
    const lastEntry = end > start ? this.#top.entries[end - 1] : undefined;
    return {
      entriesJson,
      count: end - start,
      last: lastEntry
        ? {
            rank: end,
            score: lastEntry.score,
            reachedAt: lastEntry.reachedAt,
            playerId: lastEntry.playerId,
          }
        : null,
      total,
      hasMore,
      initialized: this.#board !== null,
      writtenAt: this.#writtenAt,
    };
  }

  /** Held positions [start, end) a page covers, clamped to what is held. */
  #sliceOf(options: PageOptions): { start: number; end: number; total: number; hasMore: boolean } {
    checkPageOptions(options);
    const entries = this.#top.entries;
    let start = 0;
    if (options.cursor !== undefined) {
      const { score, reachedAt, playerId } = options.cursor;
      start = upperBound(entries, {
        sortScore: toSortScore(this.#top.sortOrder, score),
        reachedAt,
        playerId,
      });
    }
    start += options.offset ?? 0;
    const end = start + options.limit;
    const total = this.#reportedTotal();
    return {
      start: Math.min(start, entries.length),
      end: Math.min(end, entries.length),
      total,
      hasMore: end < entries.length || total > entries.length,
    };
  }

  /** The player's held entry and rank, or null when not in the held top-N. */
  rankOf(playerId: string): RankResult | null {
    this.#reads += 1;
    return this.#heldRank(playerId);
  }

  #heldRank(playerId: string): RankResult | null {
    const index = this.#top.indexOf(playerId);
    const entry = this.#top.entries[index];
    if (index < 0 || entry === undefined) return null;
    return { entry: toView(entry, index), total: this.#reportedTotal() };
  }

  /**
   * The player's held entry (null when not in the top-N) with the board-period's total either
   * way, so a caller falling back to Redis or Postgres need not count the board itself.
   */
  standing(playerId: string): { entry: RankedEntryView | null; total: number; writtenAt: number } {
    this.#reads += 1;
    return {
      entry: this.#heldRank(playerId)?.entry ?? null,
      total: this.#reportedTotal(),
      writtenAt: this.#writtenAt,
    };
  }

  /**
   * The held entries of several players at once (a friends list) in one call, and the ids the
   * object does not hold, for the caller to look up beyond the top-N.
   */
  standingsOf(playerIds: string[]): {
    entries: RankedEntryView[];
    notHeld: string[];
    total: number;
  } {
    if (
      !Array.isArray(playerIds) ||
      playerIds.length > MAX_STANDINGS ||
      playerIds.some((id) => typeof id !== "string")
    ) {
      throw new RangeError(`standingsOf: playerIds must be at most ${MAX_STANDINGS} strings`);
    }
    this.#reads += 1;
    const entries: RankedEntryView[] = [];
    const notHeld: string[] = [];
    for (const playerId of playerIds) {
      const held = this.#heldRank(playerId);
      if (held) entries.push(held.entry);
      else notHeld.push(playerId);
    }
    return { entries, notHeld, total: this.#reportedTotal() };
  }

  /**
   * Up to `n` entries above and `n` below the player, the player included; fewer at the edges
   * of what is held. Null when the player is not in the held top-N.
   */
  around(playerId: string, n: number): AroundResult | null {
    this.#reads += 1;
    checkCount("n", n);
    const span = Math.min(n, MAX_AROUND);
    const index = this.#top.indexOf(playerId);
    if (index < 0) return null;
    return {
      entries: viewsOf(this.#top.entries, index - span, index + span + 1),
      total: this.#reportedTotal(),
    };
  }

  /**
   * The rank `score` would get now, after every held entry with an equal score. `withinTop` is
   * false when the object cannot vouch for it: the rank would fall past the last held entry
   * while players may exist beyond it (rank is then a lower bound).
   */
  rankForScore(score: number): ScoreRankResult {
    this.#reads += 1;
    checkScore(score);
    const ahead = countAtOrAhead(this.#top.entries, toSortScore(this.#top.sortOrder, score));
    return {
      rank: ahead + 1,
      withinTop: this.#top.allHeld || ahead < this.#top.size,
      total: this.#reportedTotal(),
    };
  }

  /** Diagnostics for reconciliation and tests. */
  stats(): LeaderboardStats {
    let versionSum = 0;
    let maxVersion = 0;
    for (const entry of this.#top.entries) {
      versionSum += entry.version;
      if (entry.version > maxVersion) maxVersion = entry.version;
    }
    return {
      board: this.#board === null ? null : { ...this.#board },
      held: this.#top.size,
      total: this.#reportedTotal(),
      complete: this.#top.complete,
      versionSum,
      maxVersion,
      rememberedVersions: this.#recent.size,
      sockets: this.ctx.getWebSockets().length,
      relays: this.#live.relayCount,
      relayPushes: this.#live.pushCount,
      lastRebuildAt: this.#lastRebuildAt,
      writtenAt: this.#writtenAt,
      reads: this.#reads,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Live updates
  // ---------------------------------------------------------------------------------------------

  /**
   * A relay subscribes (idempotent): it gets the current window, then every throttled update
   * until it detaches or answers a push with false. Sockets never connect here.
   */
  attachRelay(name: string): LiveWindow {
    checkRelayName(name);
    return this.#live.attach(name);
  }

  /** A relay with no sockets and no child relays left unsubscribes. */
  detachRelay(name: string): void {
    checkRelayName(name);
    this.#live.detach(name);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  async #rebuildNow(board: BoardPeriod): Promise<RebuildResult> {
    const journal = new RebuildJournal();
    this.#journal = journal;
    let snapshot: Awaited<ReturnType<typeof loadTopFromPostgres>>;
    try {
      snapshot = await loadTopFromPostgres(this.env, board);
    } finally {
      this.#journal = null;
    }
    let firstChanged = Number.POSITIVE_INFINITY;
    let archiveMoved = false;
    this.#commit(() => {
      const configured = this.#configure(board);
      const merged = journal.mergeInto(this.#top, snapshot.states);
      const diffs = [configured, ...merged];
      for (const diff of diffs) firstChanged = Math.min(firstChanged, diff.firstChangedIndex);
      this.#writeDiffs(diffs);
      // A projection applied while Postgres was read may carry a newer count than the snapshot's.
      this.#adoptCount({ count: snapshot.total, at: snapshot.totalAt });
      this.#lastRebuildAt = Date.now();
      this.#store.writeComplete(this.#top.complete);
      this.#store.writeLastRebuildAt(this.#lastRebuildAt);
      archiveMoved = this.#adoptArchiveAt(board);
    });
    // A replayed change can make the fresh set incomplete again.
    if (!this.#top.complete) await this.#scheduleRebuild();
    if (archiveMoved) await this.#armArchive();
    this.#live.notify(firstChanged);
    return { loaded: snapshot.states.length, total: this.#reportedTotal() };
  }

  /** Reads everything back from SQLite: on wake-up, and to undo memory after a failed write. */
  #load(): void {
    this.#store.migrate();
    const meta = this.#store.readMeta();
    this.#board = meta.board;
    this.#total = meta.total;
    this.#totalAt = meta.totalAt;
    this.#writtenAt = meta.writtenAt;
    this.#lastRebuildAt = meta.lastRebuildAt;
    this.#archiveAt = meta.archiveAt;
    const sortOrder = meta.board?.sortOrder ?? "desc";
    this.#top = new TopSet(sortOrder, meta.board?.topSize ?? DEFAULT_TOP_SIZE, this.#recent);
    this.#top.load(this.#store.readEntries(sortOrder), meta.complete);
  }

  /** A call for another board-period is a routing bug: refuse it before anything changes. */
  #checkIdentity(board: BoardPeriod): void {
    const current = this.#board;
    if (
      current !== null &&
      (current.boardId !== board.boardId || current.periodKey !== board.periodKey)
    ) {
      throw new Error(
        `LeaderboardDO: this object serves ${current.boardId}/${current.periodKey}, ` +
          `not ${board.boardId}/${board.periodKey}`,
      );
    }
  }

  /**
   * Adopts the caller's board config (it is the source of truth for topSize and sort order).
   * Must run inside #commit, after #checkIdentity.
   */
  #configure(board: BoardPeriod): TopSetDiff {
    const current = this.#board;
    const none: TopSetDiff = {
      upserts: new Map(),
      removals: new Set(),
      firstChangedIndex: Number.POSITIVE_INFINITY,
    };
    if (
      current !== null &&
      current.sortOrder === board.sortOrder &&
      current.topSize === board.topSize
    )
      return none;
    let diff = none;
    if (current === null) {
      // Nothing was ever stored, so the held set is empty: start it with the right config.
      this.#top = new TopSet(board.sortOrder, board.topSize, this.#recent);
    } else if (current.sortOrder !== board.sortOrder) {
      diff = this.#top.reset(board.sortOrder, board.topSize);
    } else {
      diff = this.#top.resize(board.topSize);
    }
    this.#board = {
      boardId: board.boardId,
      periodKey: board.periodKey,
      sortOrder: board.sortOrder,
      topSize: board.topSize,
    };
    this.#store.writeBoard(this.#board);
    return diff;
  }

  #writeDiffs(diffs: readonly TopSetDiff[]): void {
    for (const diff of diffs) this.#store.writeEntries(diff.upserts.values(), diff.removals);
  }

  /**
   * Runs memory and storage changes as one SQLite transaction. If anything throws, storage rolls
   * back and memory is reloaded from it, so the two never disagree.
   */
  #commit(change: () => void): void {
    try {
      this.ctx.storage.transactionSync(change);
    } catch (error) {
      this.#load();
      throw error;
    }
  }

  async #scheduleRebuild(): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + REBUILD_DELAY_MS);
  }

  /**
   * A new object for a board-period of which Postgres already holds more records than these
   * changes (its storage was lost, or it missed the period's first batches): a top-N of the
   * changes alone would rank them wrongly. It starts empty and incomplete, so reads continue past
   * it (Redis, Postgres), and rebuilds from Postgres, where the changes are already committed.
   */
  async #startBehind(
    board: BoardPeriod,
    changes: EntryState[],
    total: CountedTotal,
    writtenAt: number | undefined,
  ): Promise<Omit<ApplyResult, "previousWrittenAt">> {
    // A rebuild already reading Postgres replays them, in case its snapshot predates their commit.
    this.#journal?.record(this.#top, changes);
    let archiveMoved = false;
    this.#commit(() => {
      const configured = this.#configure(board);
      this.#writeDiffs([configured, this.#top.reset(board.sortOrder, board.topSize)]);
      archiveMoved = this.#adoptArchiveAt(board);
      this.#adoptCount(total);
      this.#adoptWrittenAt(writtenAt);
      this.#store.writeComplete(false);
    });
    await this.#scheduleRebuild();
    if (archiveMoved) await this.#armArchive();
    return { applied: 0, topChanged: false, total: this.#reportedTotal() };
  }

  /**
   * Takes an exact count unless a newer one is known (an older one already counts every record,
   * new players included, that it could). Inside #commit; writes only when the count changes.
   */
  #adoptCount(total: CountedTotal): void {
    if (total.at < this.#totalAt) return;
    this.#totalAt = total.at;
    if (total.count === this.#total) return;
    this.#total = total.count;
    this.#store.writeTotal(total.count, total.at);
  }

  /**
   * Keeps the newest batch time (a rebuild keeps it too: it is a lower bound of the truth). Inside
   * #commit.
   */
  #adoptWrittenAt(at: number | undefined): void {
    if (at === undefined || at <= this.#writtenAt) return;
    this.#writtenAt = at;
    this.#store.writeWrittenAt(at);
  }

  /** Stores the archive time the caller's config implies; true when it changed. Inside #commit. */
  #adoptArchiveAt(board: BoardPeriod): boolean {
    const next = effectiveArchiveAt(board.archiveAt, this.#archiveAt, this.#lastRebuildAt);
    if (next === this.#archiveAt) return false;
    this.#archiveAt = next;
    this.#store.writeArchiveAt(next);
    return true;
  }

  /** Sets the alarm for the archive time, unless a sooner one (a rebuild) is already set. */
  async #armArchive(): Promise<void> {
    if (this.#archiveAt === null) return;
    const pending = await this.ctx.storage.getAlarm();
    if (pending === null || pending > this.#archiveAt)
      await this.ctx.storage.setAlarm(this.#archiveAt);
  }

  /**
   * Drops everything: entries, meta, the alarm, live clients (a past period has no updates to
   * send). The object is then as new; the next read of the period rebuilds it from Postgres.
   */
  async #archive(board: BoardPeriod): Promise<void> {
    await this.#live.closeAll();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#pageJson.clear();
    this.#load();
    this.#live.load();
    log.info("leaderboard-do: past period archived (Postgres keeps its records)", {
      board: board.boardId,
      period: board.periodKey,
    });
  }

  /** The total never undercounts what is held (percentiles need rank <= total). */
  #reportedTotal(): number {
    return Math.max(this.#total, this.#top.size);
  }

  #window(limit: number): {
    entries: ReturnType<typeof viewsOf>;
    total: number;
    complete: boolean;
  } {
    return {
      entries: viewsOf(this.#top.entries, 0, limit),
      total: this.#reportedTotal(),
      complete: this.#top.complete,
    };
  }
}
