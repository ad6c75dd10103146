/**
 * Structured logs: one JSON object per line, so Workers Logs / Logpush can filter on fields.
 * Only errors carry stacks.
 */
type Fields = Record<string, unknown>;
type Level = "info" | "warn" | "error";

const RANK: Record<Level, number> = { info: 0, warn: 1, error: 2 };
let lowest = RANK.info;

/**
 * Sets the lowest level written (the LOG_LEVEL var), once per request or batch: the tests set
 * "warn", so the line every request writes at "info" stays out of their output. An unknown value
 * keeps "info", so a typo never hides anything.
 */
export function setLogLevel(level: string | undefined): void {
  lowest = level === "warn" || level === "error" ? RANK[level] : RANK.info;
}

function emit(level: Level, message: string, fields?: Fields): void {
  if (RANK[level] < lowest) return;
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const log = {
  info: (message: string, fields?: Fields) => emit("info", message, fields),
  warn: (message: string, fields?: Fields) => emit("warn", message, fields),
  error: (message: string, fields?: Fields) => emit("error", message, fields),
};

/**
 * A short description of an unknown thrown value for logs (never for response bodies: it keeps
 * the driver's text). The cause chain is followed a few levels, since our wrappers name the step
 * and the driver's error says what went wrong.
 */
export function describeError(error: unknown, depth = 0): string {
  // drizzle wraps driver errors as "Failed query: <the whole SQL> params: ..."; the cause is what
  // an operator needs, and logging every statement's text would drown the logs.
  if (
    error instanceof Error &&
    error.message.startsWith("Failed query:") &&
    error.cause instanceof Error
  ) {
    return describeError(error.cause, depth);
  }
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (error as { code?: unknown }).code;
    const parts = [error.message || error.name];
    if (typeof code === "string") parts.push(`(code ${code})`);
    if (cause instanceof Error && depth < 3) {
      const described = describeError(cause, depth + 1);
      if (described && described !== error.message) parts.push(`caused by: ${described}`);
    }
    return parts.join(" ");
  }
  return String(error);
}
