import { ApiError } from "../../lib/errors";
import type { Database } from "../../stores/postgres/client";
import { auditRows } from "../../stores/postgres/moderation";
import type { AuditRow } from "../../stores/postgres/schema";

const PREFIX = "a1:";

/** The audit cursor: the last row's id, base64url-encoded (opaque, so the order may change). */
function encodeCursor(id: number): string {
  return btoa(`${PREFIX}${id}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): number {
  let text = "";
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    // Not base64: refused below like any other cursor we did not issue.
  }
  const id = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1 || encodeCursor(id) !== cursor)
    throw new ApiError(
      "BAD_REQUEST",
      "cursor is not a nextCursor of GET /v1/admin/audit; start again without it",
    );
  return id;
}

/** The audit trail as the API serves it. */
function auditView(row: AuditRow) {
  return {
    id: String(row.id),
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action as "remove" | "ban" | "unban",
    playerId: row.playerId,
    boardId: row.boardId,
    periodKey: row.periodKey,
    reason: row.reason,
    records: row.records,
    detail: row.detail ?? null,
  };
}

/** A page of the audit trail, newest first, of one player when asked. */
export async function auditPage(
  db: Database,
  options: { limit: number; cursor?: string | undefined; player?: string | undefined },
) {
  const beforeId = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const rows = await auditRows(db, {
    limit: options.limit + 1,
    beforeId,
    playerId: options.player,
  });
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    entries: page.map(auditView),
    nextCursor: rows.length > options.limit && last ? encodeCursor(last.id) : null,
  };
}
