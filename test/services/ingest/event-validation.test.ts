import { describe, expect, it } from "vitest";
import type { EventInput } from "../../../src/services/ingest/event-input";
import { toEventMessage } from "../../../src/services/ingest/event-validation";
import { acceptanceWindow } from "../../../src/services/leaderboards/period-selection";
import { testEnv } from "../../helpers/factories";

const limits = { ...acceptanceWindow(testEnv), maxPayloadBytes: 8 * 1024 };
const now = Date.parse("2026-03-10T12:00:00.000Z");

/** An analytics event (no board), so only the rules under test apply. */
function event(occurredAt: number, id = "0b9f1c52-4a8e-4d4b-9a57-6f1e2d3c4b5a"): EventInput {
  return { id, type: "level_up", playerId: "p1", occurredAt: new Date(occurredAt).toISOString() };
}

const verdict = (input: EventInput) => {
  const checked = toEventMessage(input, 3, undefined, now, limits);
  return checked.ok ? "ok" : checked.rejection.error.code;
};

describe("toEventMessage's time window", () => {
  it("accepts an event exactly maxAge old, refuses one a millisecond older: TOO_OLD", () => {
    expect(verdict(event(now - limits.maxAgeMs))).toBe("ok");
    const checked = toEventMessage(event(now - limits.maxAgeMs - 1), 3, undefined, now, limits);
    expect(checked).toEqual({
      ok: false,
      rejection: {
        index: 3,
        error: {
          code: "TOO_OLD",
          message: "occurredAt is more than 168 h in the past; such events are not accepted",
        },
      },
    });
  });

  it("accepts an event exactly maxFuture ahead and refuses one a millisecond further", () => {
    expect(verdict(event(now + limits.maxFutureMs))).toBe("ok");
    expect(verdict(event(now + limits.maxFutureMs + 1))).toBe("TOO_FAR_IN_FUTURE");
  });
});

describe("toEventMessage's event ids", () => {
  it("spells each id one way: UUIDs in lower case, ULIDs in upper case", () => {
    const idOf = (id: string) => {
      const checked = toEventMessage(event(now, id), 0, undefined, now, limits);
      if (!checked.ok) throw new Error(checked.rejection.error.message);
      return checked.message.id;
    };
    const uuid = "0b9f1c52-4a8e-4d4b-9a57-6f1e2d3c4b5a";
    expect(idOf(uuid.toUpperCase())).toBe(uuid);
    expect(idOf(uuid)).toBe(uuid);
    const ulid = "01JD3M8Y7W2Q5V0R9S4T6X8Z1A";
    expect(idOf(ulid.toLowerCase())).toBe(ulid);
    expect(idOf(ulid)).toBe(ulid);
  });
});
